"""Feedback by version, and whether a new version is worse than the one before.

Each version's figures come from the runs recorded against its blob id. The change against the
previous version is judged per metric with a two-proportion z-test (pooled), with a confidence
interval for the difference; a verdict needs at least :data:`MIN_RUNS` runs on both sides, and
the significance level is split across the metrics (Bonferroni) so that looking at four rates
does not quadruple the false alarms. gitimprove never rolls back by itself: it prints the
command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from gitimprove import ledger
from gitimprove.errors import GitImproveError
from gitimprove.feedback.attribution import Timeline
from gitimprove.feedback.models import FeedbackRecord, merge_runs
from gitimprove.feedback.stats import ABSENT_MEANS_NO, summarize
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.instructions.versions import Version
from gitimprove.rates import Z95 as Z95
from gitimprove.rates import Rate as Rate

MIN_RUNS = 20
ALPHA = 0.05

# metric name, where it comes from, whether a higher value is worse
METRICS: list[tuple[str, str, bool]] = [
    ("negative_rate", "rating", True),
    ("regenerated", "signal", True),
    ("edited_output", "signal", True),
    ("task_completed", "signal", False),
]

Verdict = Literal["worse", "better", "no clear change", "too little feedback", "first version"]


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
            alpha: float = ALPHA / len(METRICS), min_runs: int = MIN_RUNS) -> Comparison:
    """Two-proportion z-test of ``new`` against ``old``."""
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


@dataclass
class VersionFigures:
    """One version of an agent with its feedback and the change against the previous one."""

    version: Version
    runs: int
    rates: dict[str, Rate]
    comparisons: list[Comparison] = field(default_factory=list)
    previous: Version | None = None
    inferred: int = 0  # records counted here whose version was inferred from their time

    @property
    def verdict(self) -> Verdict:
        if self.previous is None:
            return "first version"
        verdicts = {c.verdict for c in self.comparisons}
        if "worse" in verdicts:
            return "worse"
        if "better" in verdicts:
            return "better"
        if "no clear change" in verdicts:
            return "no clear change"
        return "too little feedback"

    def to_json(self) -> dict[str, Any]:
        def rate(r: Rate) -> dict[str, Any]:
            ci = r.interval()
            return {"hits": r.hits, "n": r.n, "rate": r.value, "ci95": list(ci) if ci else None}

        return {
            "version": self.version.label, "number": self.version.number,
            "blob": str(self.version.blob), "commit": str(self.version.commit),
            "date": self.version.date.isoformat(), "subject": self.version.subject,
            "runs": self.runs, "rates": {k: rate(v) for k, v in self.rates.items()},
            "inferred_version": self.inferred,
            "previous": self.previous.label if self.previous else None,
            "verdict": self.verdict,
            "changes": [{"metric": c.metric, "difference": c.difference, "ci95": list(c.interval),
                         "p_worse": c.p_worse, "p_better": c.p_better, "verdict": c.verdict}
                        for c in self.comparisons],
        }


def rates_of(row: dict[str, Any] | None) -> tuple[int, dict[str, Rate]]:
    """The metrics of one :func:`~gitimprove.feedback.stats.summarize` row (its definitions and
    denominators: docs/feedback.md, "Rates")."""
    if row is None:
        return 0, {name: Rate(0, 0) for name, _, _ in METRICS}
    rates = {"negative_rate": Rate(int(row.get("negative", 0)), int(row.get("rated_runs", 0)))}
    signals = row.get("signals", {})
    runs = int(row.get("runs", 0))
    for name, source, _ in METRICS:
        if source == "signal":
            s = signals.get(name)
            if s is None or "true" not in s:
                rates[name] = Rate(0, runs if name in ABSENT_MEANS_NO else 0)
            else:
                rates[name] = Rate(int(s["true"]), int(s["n"]))
    return runs, rates


def version_figures(repo: InstructionRepo, agent: str) -> list[VersionFigures]:
    """Feedback figures for each version on main, newest first, compared with the version
    that was live before it (the previous history entry with different text).

    Records without a version count for the version live when they were made; a version that
    is live a second time (a restored v1) counts only the runs of its second stretch."""
    history = repo.history(agent)
    records = repo.feedback_store().records(agent=agent, with_io=False)
    by_entry: dict[int, list[FeedbackRecord]] = {}
    inferred: dict[int, int] = {}
    for item in Timeline(history).attribute(records):
        if item.entry is not None:
            by_entry.setdefault(item.entry, []).append(item.record)
            inferred[item.entry] = inferred.get(item.entry, 0) + item.inferred
    rows = {i: summarize(recs, merge_runs(recs)) for i, recs in by_entry.items()}
    out: list[VersionFigures] = []
    for i, version in enumerate(history):
        runs, rates = rates_of(rows.get(i))
        figures = VersionFigures(version, runs, rates, inferred=inferred.get(i, 0))
        before = next((j for j in range(i - 1, -1, -1) if history[j].blob != version.blob), None)
        if before is not None:
            figures.previous = history[before]
            _, old_rates = rates_of(rows.get(before))
            figures.comparisons = [compare(name, old_rates[name], rates[name], worse)
                                   for name, _, worse in METRICS
                                   if old_rates[name].n or rates[name].n]
        out.append(figures)
    return out[::-1]


def summary_line(f: VersionFigures) -> str:
    """``runs 120  negative 18% [12-26%]  regenerated 9%  vs v1: -14 pts, better``"""
    parts = [f"runs {f.runs}" + (f" ({f.inferred} by date)" if f.inferred else "")]
    for name, rate in f.rates.items():
        if not rate.n:
            continue
        label = "negative" if name == "negative_rate" else name.replace("_output", "").replace("_", " ")
        text = f"{label} {rate.value:.0%}"
        ci = rate.interval()
        if name == "negative_rate" and ci:
            text += f" [{ci[0]:.0%}-{ci[1]:.0%}]"
        parts.append(text)
    if f.previous is not None:
        neg = next((c for c in f.comparisons if c.metric == "negative_rate"), None)
        delta = f"negative {neg.difference * 100:+.0f} pts, " if neg and neg.old.n and neg.new.n else ""
        parts.append(f"vs {f.previous.label}: {delta}{f.verdict}")
    return "  ".join(parts)


@dataclass(frozen=True)
class Regression:
    agent: str
    figures: VersionFigures
    rollback: str

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "rollback": self.rollback, **self.figures.to_json()}


def rollback_command(repo: InstructionRepo, agent: str, figures: VersionFigures) -> str:
    """Undo the approval that made this version, or else restore the previous version."""
    approval = ledger.scan(repo.git, repo.main_ref).approval_of(figures.version.commit)
    if approval is not None and approval.proposals:
        return f"gitimprove rollback {approval.proposals[0]}"
    assert figures.previous is not None
    return f"gitimprove rollback {agent}@{figures.previous.label}"


def regression(repo: InstructionRepo, agent: str, figures: list[VersionFigures]) -> Regression | None:
    """The regression of ``agent``'s current version (``figures`` newest first), if any."""
    if figures and figures[0].verdict == "worse":
        return Regression(agent, figures[0], rollback_command(repo, agent, figures[0]))
    return None


@dataclass(frozen=True)
class Judgement:
    """What the check made of one agent's current version."""

    agent: str
    version: str | None
    verdict: Verdict | Literal["no feedback", "unreadable"]
    runs: int
    previous_runs: int

    @property
    def judged(self) -> bool:
        """Whether there was enough feedback on both sides for a verdict."""
        return self.verdict in ("worse", "better", "no clear change")

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "version": self.version, "verdict": self.verdict,
                "runs": self.runs, "previous_runs": self.previous_runs, "judged": self.judged}


@dataclass
class RegressionCheck:
    """The outcome of :func:`check_regressions`: the regressions, and what could be judged."""

    regressions: list[Regression]
    agents: list[Judgement]

    @property
    def nothing_judged(self) -> bool:
        """No agent had enough feedback on its current and previous version for a verdict:
        "no regressions" would be a green light over nothing."""
        return not any(j.judged for j in self.agents)


def check_regressions(repo: InstructionRepo, agents: list[str] | None = None) -> RegressionCheck:
    """Judge each agent's current version against the one before; the regressions are those
    significantly worse."""
    found = []
    judged = []
    for agent in agents or repo.agent_names():
        try:
            figures = version_figures(repo, agent)
        except GitImproveError:
            judged.append(Judgement(agent, None, "unreadable", 0, 0))
            continue
        if not figures:
            continue
        top = figures[0]
        before = next((f for f in figures[1:] if top.previous and f.version == top.previous), None)
        verdict: Any = top.verdict
        if verdict == "too little feedback" and not top.runs and not (before and before.runs):
            verdict = "no feedback"
        judged.append(Judgement(agent, top.version.label, verdict, top.runs,
                                before.runs if before else 0))
        got = regression(repo, agent, figures)
        if got is not None:
            found.append(got)
    return RegressionCheck(found, judged)
