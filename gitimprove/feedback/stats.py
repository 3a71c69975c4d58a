"""Counts and rates per agent (and per version): how a version is doing.

The definitions here are the only ones: ``feedback stats``, ``history``, ``check-regressions``
and ``report`` all compute their figures with :func:`summarize` (docs/feedback.md, "Rates").

- Rates are over *runs* (records of one run merged): a run rated down and later corrected is
  one negative run.
- ``negative_rate``: negative runs over rated runs.
- ``regenerated`` and ``edited_output``: runs where it was true over *all* runs, since a run
  that did not report a regeneration was not regenerated (:data:`ABSENT_MEANS_NO`).
- any other boolean signal (``task_completed``, ...): runs where it was true over the runs
  that reported it; whether an unreported task was completed is unknown.
- a numeric signal: its mean and median over the runs that reported it.

Each signal's row gives its denominator as ``n`` beside ``true`` and ``rate``.

Run logs (records with only the run's tool calls) are not feedback: they count in
``decisions`` only, whose rates are over the runs whose decisions were logged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from gitimprove.dataclass import dataclass
from gitimprove.feedback.models import FeedbackRecord, RunView, format_timestamp, merge_runs

# Signals whose absence from a run means "no" (see the module docstring).
ABSENT_MEANS_NO = ("regenerated", "edited_output")


def _stamp(value: datetime | None) -> str | None:
    return format_timestamp(value).replace(".000000Z", "Z") if value else None


@dataclass(frozen=True)
class SignalStats:
    """One signal over the runs that reported it: a boolean one's ``true`` of ``n`` and its
    rate, a numeric one's mean and median."""

    reported: int
    true: int | None = None
    n: int | None = None
    rate: float | None = None
    mean: float | None = None
    median: float | None = None

    @property
    def boolean(self) -> bool:
        return self.true is not None

    def to_json(self) -> dict[str, Any]:
        if self.boolean:
            return {"reported": self.reported, "true": self.true, "n": self.n, "rate": self.rate}
        return {"reported": self.reported, "mean": self.mean, "median": self.median}


@dataclass(frozen=True)
class ToolStats:
    """One tool: the runs that called it, its calls and its failed calls."""

    runs: int = 0
    calls: int = 0
    errors: int = 0

    def to_json(self) -> dict[str, int]:
        return {"runs": self.runs, "calls": self.calls, "errors": self.errors}


@dataclass(frozen=True)
class DecisionStats:
    """Tool use over the runs whose decisions were logged."""

    logged_runs: int
    runs_with_tools: int
    tool_call_rate: float
    calls: int
    errors: int
    tool_error_rate: float | None
    tools: dict[str, ToolStats]

    def to_json(self) -> dict[str, Any]:
        return {"logged_runs": self.logged_runs, "runs_with_tools": self.runs_with_tools,
                "tool_call_rate": self.tool_call_rate, "calls": self.calls,
                "errors": self.errors, "tool_error_rate": self.tool_error_rate,
                "tools": {name: t.to_json() for name, t in self.tools.items()}}


@dataclass(frozen=True)
class Summary:
    """The numbers for one group of records and their runs (definitions: the module
    docstring)."""

    records: int
    runs: int
    rated_runs: int
    positive: int
    negative: int
    negative_rate: float | None
    with_reason: int
    with_correction: int
    trouble_runs: int
    trouble_rate: float | None
    signals: dict[str, SignalStats]
    first_at: str | None
    last_at: str | None
    decisions: DecisionStats | None

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records, "runs": self.runs, "rated_runs": self.rated_runs,
            "positive": self.positive, "negative": self.negative,
            "negative_rate": self.negative_rate, "with_reason": self.with_reason,
            "with_correction": self.with_correction, "trouble_runs": self.trouble_runs,
            "trouble_rate": self.trouble_rate,
            "signals": {name: s.to_json() for name, s in self.signals.items()},
            "first_at": self.first_at, "last_at": self.last_at,
            "decisions": self.decisions.to_json() if self.decisions else None,
        }


@dataclass(frozen=True)
class StatsRow:
    """A row of `feedback stats`: one agent, or one (agent, version) with ``by_version``."""

    agent: str
    summary: Summary
    by_version: bool = False
    version: str | None = None
    label: str | None = None
    inferred_version: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"agent": self.agent}
        if self.by_version:
            data.update(version=self.version, label=self.label,
                        inferred_version=self.inferred_version)
        return {**data, **self.summary.to_json()}


def decision_stats(runs: Iterable[RunView]) -> DecisionStats | None:
    """Tool use over the runs whose decisions were logged; None when none were.

    ``tool_call_rate``: runs that called a tool / logged runs. ``tool_error_rate``: calls that
    failed / calls. ``tools``: per tool, the runs that called it, its calls and its errors."""
    logged = [r for r in runs if r.tool_calls is not None]
    if not logged:
        return None
    tools: dict[str, list[int]] = {}
    calls = errors = with_tools = 0
    for run in logged:
        assert run.tool_calls is not None
        with_tools += bool(run.tool_calls)
        for name in dict.fromkeys(c.name for c in run.tool_calls):
            tools.setdefault(name, [0, 0, 0])[0] += 1
        for call in run.tool_calls:
            calls += 1
            tools[call.name][1] += 1
            if call.status == "error":
                errors += 1
                tools[call.name][2] += 1
    return DecisionStats(len(logged), with_tools, round(with_tools / len(logged), 4), calls,
                         errors, round(errors / calls, 4) if calls else None,
                         {name: ToolStats(*tools[name]) for name in sorted(tools)})


def _median(numbers: list[float]) -> float:
    # NOTE: not statistics.median: importing statistics (fractions, decimal) costs more than
    # `feedback stats` spends on its figures.
    ordered = sorted(numbers)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summarize(records: list[FeedbackRecord], runs: list[RunView]) -> Summary:
    """The numbers for one group of records and their runs."""
    decisions = decision_stats(runs)
    records = [r for r in records if r.is_feedback]
    runs = [r for r in runs if r.has_feedback]
    rated = [r for r in runs if r.rating is not None]
    negative = sum(1 for r in rated if r.rating == "negative")
    signals: dict[str, list[bool | int | float]] = defaultdict(list)
    for run in runs:
        for name, value in run.signals.items():
            signals[name].append(value)
    signal_stats: dict[str, SignalStats] = {}
    for name in sorted(signals):
        values = signals[name]
        if all(isinstance(v, bool) for v in values):
            true = sum(1 for v in values if v)
            n = len(runs) if name in ABSENT_MEANS_NO else len(values)
            signal_stats[name] = SignalStats(len(values), true=true, n=n, rate=round(true / n, 4))
        else:
            numbers = [float(v) for v in values]
            signal_stats[name] = SignalStats(len(values),
                                             mean=round(math.fsum(numbers) / len(numbers), 4),
                                             median=round(_median(numbers), 4))
    trouble = sum(1 for r in runs if r.trouble)
    return Summary(
        records=len(records), runs=len(runs), rated_runs=len(rated),
        positive=len(rated) - negative, negative=negative,
        negative_rate=round(negative / len(rated), 4) if rated else None,
        with_reason=sum(1 for r in records if r.reason),
        with_correction=sum(1 for r in records if r.correction),
        trouble_runs=trouble, trouble_rate=round(trouble / len(runs), 4) if runs else None,
        signals=signal_stats,
        first_at=_stamp(min((r.created_at for r in records), default=None)),
        last_at=_stamp(max((r.created_at for r in records), default=None)),
        decisions=decisions)


def compute_stats(
    records: Iterable[FeedbackRecord],
    *,
    by_version: bool = False,
    labels: Mapping[tuple[str, str], str] | None = None,
    inferred: set[str] | None = None,
) -> list[StatsRow]:
    """One row per agent, or per (agent, version) with ``by_version``; ``labels`` maps
    ``(agent, blob)`` to ``v3``; ``inferred`` holds the ids of records whose version was
    inferred from their time (counted per row as ``inferred_version``). Rows are sorted by
    agent, then version number."""
    groups: dict[tuple[str, str | None], list[FeedbackRecord]] = defaultdict(list)
    for rec in records:
        groups[(rec.agent, rec.version if by_version else None)].append(rec)
    labels = labels or {}
    rows = []
    for (agent, version), recs in groups.items():
        summary = summarize(recs, merge_runs(recs))
        if by_version:
            rows.append(StatsRow(agent, summary, True, version,
                                 labels.get((agent, version)) if version else None,
                                 sum(1 for r in recs if r.id in (inferred or ()))))
        else:
            rows.append(StatsRow(agent, summary))

    def order(row: StatsRow) -> tuple[Any, ...]:
        label = row.label or ""
        number = int(label[1:]) if label[1:].isdigit() else 10**9
        return (row.agent, number, row.version or "~")

    return sorted(rows, key=order)
