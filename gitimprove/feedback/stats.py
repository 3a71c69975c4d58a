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

from gitimprove.feedback.models import FeedbackRecord, RunView, format_timestamp, merge_runs

# Signals whose absence from a run means "no" (see the module docstring).
ABSENT_MEANS_NO = ("regenerated", "edited_output")


def _stamp(value: datetime | None) -> str | None:
    return format_timestamp(value).replace(".000000Z", "Z") if value else None


def decision_stats(runs: Iterable[RunView]) -> dict[str, Any] | None:
    """Tool use over the runs whose decisions were logged; None when none were.

    ``tool_call_rate``: runs that called a tool / logged runs. ``tool_error_rate``: calls that
    failed / calls. ``tools``: per tool, the runs that called it, its calls and its errors."""
    logged = [r for r in runs if r.tool_calls is not None]
    if not logged:
        return None
    tools: dict[str, dict[str, int]] = {}
    calls = errors = with_tools = 0
    for run in logged:
        assert run.tool_calls is not None
        with_tools += bool(run.tool_calls)
        for name in dict.fromkeys(c.name for c in run.tool_calls):
            tools.setdefault(name, {"runs": 0, "calls": 0, "errors": 0})["runs"] += 1
        for call in run.tool_calls:
            calls += 1
            tools[call.name]["calls"] += 1
            if call.status == "error":
                errors += 1
                tools[call.name]["errors"] += 1
    return {"logged_runs": len(logged), "runs_with_tools": with_tools,
            "tool_call_rate": round(with_tools / len(logged), 4), "calls": calls,
            "errors": errors, "tool_error_rate": round(errors / calls, 4) if calls else None,
            "tools": {name: tools[name] for name in sorted(tools)}}


def _median(numbers: list[float]) -> float:
    # NOTE: not statistics.median: importing statistics (fractions, decimal) costs more than
    # `feedback stats` spends on its figures.
    ordered = sorted(numbers)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summarize(records: list[FeedbackRecord], runs: list[RunView]) -> dict[str, Any]:
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
    signal_stats: dict[str, dict[str, Any]] = {}
    for name in sorted(signals):
        values = signals[name]
        if all(isinstance(v, bool) for v in values):
            true = sum(1 for v in values if v)
            n = len(runs) if name in ABSENT_MEANS_NO else len(values)
            signal_stats[name] = {"reported": len(values), "true": true, "n": n,
                                  "rate": round(true / n, 4)}
        else:
            numbers = [float(v) for v in values]
            signal_stats[name] = {"reported": len(values),
                                  "mean": round(math.fsum(numbers) / len(numbers), 4),
                                  "median": round(_median(numbers), 4)}
    return {
        "records": len(records),
        "runs": len(runs),
        "rated_runs": len(rated),
        "positive": len(rated) - negative,
        "negative": negative,
        "negative_rate": round(negative / len(rated), 4) if rated else None,
        "with_reason": sum(1 for r in records if r.reason),
        "with_correction": sum(1 for r in records if r.correction),
        "trouble_runs": sum(1 for r in runs if r.trouble),
        "trouble_rate": round(sum(1 for r in runs if r.trouble) / len(runs), 4) if runs else None,
        "signals": signal_stats,
        "first_at": _stamp(min((r.created_at for r in records), default=None)),
        "last_at": _stamp(max((r.created_at for r in records), default=None)),
        "decisions": decisions,
    }


def compute_stats(
    records: Iterable[FeedbackRecord],
    *,
    by_version: bool = False,
    labels: Mapping[tuple[str, str], str] | None = None,
    inferred: set[str] | None = None,
) -> list[dict[str, Any]]:
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
        row: dict[str, Any] = {"agent": agent}
        if by_version:
            row["version"] = version
            row["label"] = labels.get((agent, version)) if version else None
            row["inferred_version"] = sum(1 for r in recs if r.id in (inferred or ()))
        row.update(summarize(recs, merge_runs(recs)))
        rows.append(row)

    def order(row: dict[str, Any]) -> tuple[Any, ...]:
        label = row.get("label") or ""
        number = int(label[1:]) if label[1:].isdigit() else 10**9
        return (row["agent"], number, row.get("version") or "~")

    return sorted(rows, key=order)
