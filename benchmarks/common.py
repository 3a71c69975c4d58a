"""What every benchmark module shares: the result row, timing, the table, git and a cache.

A benchmark module ``benchmarks/bench_<name>.py`` exposes ``run() -> list[Row]`` (plain dicts
are accepted too, for modules that print their own table) and is listed in
``benchmarks/__main__.py``'s ``MODULES``.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_repo"


@dataclass(frozen=True)
class Row:
    """One figure. ``goal`` is an upper bound on ``value`` (None: reported, not judged)."""

    bench: str
    case: str
    value: float
    unit: str  # "s" (printed in a readable unit) or "x" (a ratio)
    goal: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool | None:
        return None if self.goal is None else self.value <= self.goal

    def shown(self) -> str:
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit == "s":
            return human_seconds(self.value)
        return f"{self.value:g} {self.unit}"


def human_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def median_time(fn: Callable[[], object], *, repeat: int, number: int = 1, warmup: int = 1,
                setup: Callable[[], object] | None = None) -> float:
    """Median over ``repeat`` samples of the time of one call (each sample: ``number`` calls).

    ``setup`` runs before each sample, outside the timing. The garbage collector is paused
    while a sample runs, as :mod:`timeit` does."""
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    samples = []
    enabled = gc.isenabled()
    try:
        for _ in range(repeat):
            if setup is not None:
                setup()
            gc.disable()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples.append((time.perf_counter() - start) / number)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return statistics.median(samples)


def print_table(rows: list[Row]) -> None:
    if not rows:
        return
    width = max(len(r.case) for r in rows)
    print(f"{'bench':<10} {'case':<{width}} {'value':>12}  goal")
    for r in rows:
        goal = ""
        if r.goal is not None:
            bound = (f"{r.goal:g}x" if r.unit == "x" else human_seconds(r.goal) if r.unit == "s"
                     else f"{r.goal:g} {r.unit}")
            goal = f"<= {bound}  {'ok' if r.ok else 'MISSED'}"
        note = f"  ({r.note})" if r.note else ""
        print(f"{r.bench:<10} {r.case:<{width}} {r.shown():>12}  {goal}{note}")


# -- git ------------------------------------------------------------------------------------

BENCH_IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def hermetic_git_env() -> None:
    """Make this process's git calls independent of the user's configuration and identity."""
    os.environ.update(BENCH_IDENTITY)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        os.environ.pop(var, None)


def git(cwd: Path, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode().strip()


def cache_root() -> Path:
    """Where generated repositories are kept between runs (``$GITIMPROVE_BENCH_DIR``)."""
    root = Path(os.environ.get("GITIMPROVE_BENCH_DIR") or Path(tempfile.gettempdir()) / "gitimprove-bench")
    root.mkdir(parents=True, exist_ok=True)
    return root
