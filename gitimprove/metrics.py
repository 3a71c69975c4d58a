"""Feedback by version, and whether a new version is worse than the one before.

Each version's figures come from the runs recorded against its blob id. The change against the
previous version is judged per metric with a two-proportion z-test (pooled), with a confidence
interval for the difference; a verdict needs at least :data:`MIN_RUNS` runs on both sides, and
the significance level is split across the metrics (Bonferroni) so that looking at four rates
does not quadruple the false alarms. gitimprove never rolls back by itself: it prints the
command.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.feedback import significance
from gitimprove.feedback.attribution import Timeline
from gitimprove.feedback.models import FeedbackRecord, merge_runs

# Re-exported: the per-version view's statistics live in feedback/significance.py.
from gitimprove.feedback.significance import ALPHA as ALPHA
from gitimprove.feedback.significance import MIN_RUNS as MIN_RUNS
from gitimprove.feedback.significance import Comparison as Comparison
from gitimprove.feedback.significance import Rate as Rate
from gitimprove.feedback.significance import Verdict as Verdict
from gitimprove.feedback.stats import ABSENT_MEANS_NO, Summary, summarize
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.instructions.versions import Version

# metric name, where it comes from, whether a higher value is worse
METRICS: list[tuple[str, str, bool]] = [
    ("negative_rate", "rating", True),
    ("regenerated", "signal", True),
    ("edited_output", "signal", True),
    ("task_completed", "signal", False),
]

# What the agent did, per version: shown and compared, never part of the verdict (a change to
# the tool guidelines is meant to change them, so "more" or "less" is neither good nor bad).
DECISION_METRICS = ("tool_calls", "tool_errors")



def compare(metric: str, old: Rate, new: Rate, higher_is_worse: bool, *,
            alpha: float = ALPHA / len(METRICS), min_runs: int = MIN_RUNS) -> Comparison:
    """:func:`~gitimprove.feedback.significance.compare` at the per-version level: 0.05 split
    across the :data:`METRICS` (Bonferroni)."""
    return significance.compare(metric, old, new, higher_is_worse, alpha=alpha,
                                min_runs=min_runs)


@dataclass
class VersionFigures:
    """One version of an agent with its feedback and the change against the previous one."""

    version: Version
    runs: int
    rates: dict[str, Rate]
    comparisons: list[Comparison] = field(default_factory=list)
    previous: Version | None = None
    # tool_calls: runs that called a tool of the logged runs; tool_errors: failed calls of all
    # calls; per tool, the share of logged runs that called it.
    decisions: dict[str, Rate] = field(default_factory=dict)
    tools: dict[str, Rate] = field(default_factory=dict)
    decision_changes: list[Comparison] = field(default_factory=list)
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
            "changes": [_change(c) for c in self.comparisons],
            "decisions": {k: rate(v) for k, v in self.decisions.items()},
            "tools": {k: rate(v) for k, v in self.tools.items()},
            "decision_changes": [
                {"metric": c.metric, "difference": c.difference, "ci95": list(c.interval),
                 "p_more": c.p_worse, "p_less": c.p_better, "change": direction(c)}
                for c in self.decision_changes],
        }


def _change(c: Comparison) -> dict[str, Any]:
    return {"metric": c.metric, "difference": c.difference, "ci95": list(c.interval),
            "p_worse": c.p_worse, "p_better": c.p_better, "verdict": c.verdict}


def direction(c: Comparison) -> str:
    """A decision metric's change: ``more``, ``less``, ``no clear change`` or ``too little
    data`` (compared with higher-is-"worse", which here only means higher)."""
    return {"worse": "more", "better": "less",
            "too little feedback": "too little data"}.get(c.verdict, c.verdict)


def _decision_rates(row: Summary | None) -> tuple[dict[str, Rate], dict[str, Rate]]:
    found = row.decisions if row is not None else None
    if found is None:
        return {}, {}
    logged = found.logged_runs
    rates = {"tool_calls": Rate(found.runs_with_tools, logged),
             "tool_errors": Rate(found.errors, found.calls)}
    tools = {name: Rate(t.runs, logged) for name, t in found.tools.items()}
    return rates, tools


def rates_of(row: Summary | None, reported: Collection[str] | None = None
             ) -> tuple[int, dict[str, Rate]]:
    """The metrics of one :func:`~gitimprove.feedback.stats.summarize` result (its definitions
    and denominators: docs/feedback.md, "Rates"). ``reported``: the signals the agent's runs
    ever reported; one it never did has no rate, not 0% (by default, any may have been)."""
    if row is None:
        return 0, {name: Rate(0, 0) for name, _, _ in METRICS}
    rates = {"negative_rate": Rate(row.negative, row.rated_runs)}
    for name, source, _ in METRICS:
        if source == "signal":
            s = row.signals.get(name)
            if s is None or s.true is None or s.n is None:
                absent_means_no = name in ABSENT_MEANS_NO and (reported is None or name in reported)
                rates[name] = Rate(0, row.runs if absent_means_no else 0)
            else:
                rates[name] = Rate(s.true, s.n)
    return row.runs, rates


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
    # a signal this agent's runs never reported (its client does not send it) is not 0%
    reported = {name for row in rows.values() for name in row.signals}
    out: list[VersionFigures] = []
    for i, version in enumerate(history):
        runs, rates = rates_of(rows.get(i), reported)
        figures = VersionFigures(version, runs, rates, inferred=inferred.get(i, 0))
        figures.decisions, figures.tools = _decision_rates(rows.get(i))
        before = next((j for j in range(i - 1, -1, -1) if history[j].blob != version.blob), None)
        if before is not None:
            figures.previous = history[before]
            _, old_rates = rates_of(rows.get(before), reported)
            figures.comparisons = [compare(name, old_rates[name], rates[name], worse)
                                   for name, _, worse in METRICS
                                   if old_rates[name].n or rates[name].n]
            old_decisions, _ = _decision_rates(rows.get(before))
            figures.decision_changes = [
                compare(name, old_decisions[name], figures.decisions[name], True,
                        alpha=ALPHA / len(DECISION_METRICS))
                for name in DECISION_METRICS
                if name in old_decisions and name in figures.decisions
                and old_decisions[name].n and figures.decisions[name].n]
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
        elif name != "negative_rate" and rate.n != f.runs:
            text += f" of {rate.n}"  # over the runs that reported it, not all of them
        parts.append(text)
    calls, errors = f.decisions.get("tool_calls"), f.decisions.get("tool_errors")
    if calls is not None and calls.n:
        parts.append(f"tools used {calls.value:.0%}")
    if errors is not None and errors.n:
        parts.append(f"tool errors {errors.value:.0%}")
    if f.previous is not None:
        neg = next((c for c in f.comparisons if c.metric == "negative_rate"), None)
        delta = f"negative {neg.difference * 100:+.0f} pts, " if neg and neg.old.n and neg.new.n else ""
        parts.append(f"vs {f.previous.label}: {delta}{f.verdict}")
    return "  ".join(parts)


def tools_line(f: VersionFigures) -> str | None:
    """``tools in 120 logged runs: web_search 62%, lookup_order 10%; vs v1: tool use -30 pts``"""
    calls = f.decisions.get("tool_calls")
    if calls is None or not calls.n:
        return None
    ranked = sorted(f.tools.items(), key=lambda kv: (-kv[1].hits, kv[0]))
    shown = ", ".join(f"{name} {rate.value:.0%}" for name, rate in ranked[:5])
    more = f" (+{len(ranked) - 5} more)" if len(ranked) > 5 else ""
    text = f"tools in {calls.n} logged runs: {shown or 'none called'}{more}"
    change = next((c for c in f.decision_changes if c.metric == "tool_calls"), None)
    if change is not None and f.previous is not None:
        text += (f"; vs {f.previous.label}: tool use {change.difference * 100:+.0f} pts"
                 f" ({direction(change)})")
    return text


@dataclass(frozen=True)
class Regression:
    agent: str
    figures: VersionFigures
    rollback: str

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "rollback": self.rollback, **self.figures.to_json()}


def rollback_command(repo: InstructionRepo, agent: str, figures: VersionFigures) -> str:
    """Undo the approval that made this version, or else restore the previous version."""
    from gitimprove import ledger  # only when a version is worse: the approval to undo

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
    previous: str | None = None  # the version before it on main (its label), if any

    @property
    def judged(self) -> bool:
        """Whether there was enough feedback on both sides for a verdict."""
        return self.verdict in ("worse", "better", "no clear change")

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "version": self.version, "verdict": self.verdict,
                "runs": self.runs, "previous": self.previous, "previous_runs": self.previous_runs,
                "judged": self.judged}


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
                                before.runs if before else 0,
                                before.version.label if before else None))
        got = regression(repo, agent, figures)
        if got is not None:
            found.append(got)
    return RegressionCheck(found, judged)
