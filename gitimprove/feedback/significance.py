"""Rates with their 95% Wilson interval, and the two-proportion z-test that compares them.

The statistics of every "is this rate higher than that one" in gitimprove: the per-version
view (:mod:`gitimprove.metrics`) and the decision patterns (:mod:`gitimprove.patterns.decisions`).
A verdict needs at least :data:`MIN_RUNS` on both sides.
"""

from __future__ import annotations

import math
from typing import Literal

from gitimprove.dataclass import dataclass

MIN_RUNS = 20
ALPHA = 0.05
Z95 = 1.959963984540054

Verdict = Literal["worse", "better", "no clear change", "too little feedback", "first version"]


@dataclass(frozen=True)
class Rate:
    """``hits`` of ``n``, with a 95% Wilson interval."""

    hits: int
    n: int

    @property
    def value(self) -> float | None:
        return self.hits / self.n if self.n else None

    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        p, n, z = self.hits / self.n, self.n, Z95
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Comparison:
    metric: str
    old: Rate
    new: Rate
    difference: float
    interval: tuple[float, float]
    p_worse: float
    p_better: float
    verdict: Verdict


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def compare(metric: str, old: Rate, new: Rate, higher_is_worse: bool, *,
            alpha: float = ALPHA, min_runs: int = MIN_RUNS) -> Comparison:
    """Two-proportion z-test (pooled) of ``new`` against ``old``, one-sided at ``alpha``."""
    p0 = old.value or 0.0
    p1 = new.value or 0.0
    diff = p1 - p0
    if old.n and new.n:
        se_diff = math.sqrt(p0 * (1 - p0) / old.n + p1 * (1 - p1) / new.n)
        interval = (diff - Z95 * se_diff, diff + Z95 * se_diff)
        pooled = (old.hits + new.hits) / (old.n + new.n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / old.n + 1 / new.n))
        z = diff / se if se > 0 else 0.0
    else:
        interval, z = (float("nan"), float("nan")), 0.0
    p_up, p_down = 1 - _phi(z), _phi(z)
    p_worse, p_better = (p_up, p_down) if higher_is_worse else (p_down, p_up)
    verdict: Verdict
    if old.n < min_runs or new.n < min_runs:
        verdict = "too little feedback"
    elif p_worse < alpha:
        verdict = "worse"
    elif p_better < alpha:
        verdict = "better"
    else:
        verdict = "no clear change"
    return Comparison(metric, old, new, diff, interval, p_worse, p_better, verdict)
