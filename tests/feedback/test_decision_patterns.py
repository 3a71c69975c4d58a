"""Decision patterns: feedback related to the tool calls of each run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gitimprove.feedback.models import FeedbackRecord, make_record
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.patterns.decisions import decision_patterns, name_words

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _run(i: int, calls: list[dict[str, Any]] | None, rating: str | None,
         reason: str | None = None, correction: str | None = None,
         log: bool = False) -> list[FeedbackRecord]:
    at = T0 + timedelta(hours=i)
    out = []
    if log:
        out.append(make_record({"id": f"log-{i}", "agent": "support-agent", "run_id": f"r{i}",
                                "tool_calls": calls, "created_at": at}))
        calls = None
    if rating or reason or correction:
        out.append(make_record({"id": f"fb-{i}", "agent": "support-agent", "run_id": f"r{i}",
                                "rating": rating, "reason": reason, "correction": correction,
                                "tool_calls": calls, "created_at": at + timedelta(minutes=5)}))
    return out


def _synthetic() -> list[FeedbackRecord]:
    records: list[FeedbackRecord] = []
    search = {"name": "web_search", "status": "ok"}
    lookup_fail = {"name": "lookup_order", "status": "error"}
    lookup_ok = {"name": "lookup_order", "status": "ok"}
    for i in range(40):  # runs that searched: 28 of 40 rated down, 10 quoting the search
        negative = i < 28
        calls = [search] * (3 if i < 8 else 1)
        reason = ("It searched the web instead of using the order number I gave it"
                  if i < 10 else "wrong answer" if negative else "helpful")
        records += _run(i, calls, "down" if negative else "up", reason,
                        "Use the details I already gave you" if i < 4 else None, log=i % 2 == 0)
    for i in range(40, 100):  # runs that did not search: 9 of 60 rated down
        negative = i < 49
        calls = [lookup_fail] if 40 <= i < 46 else [lookup_ok]
        records += _run(i, calls, "down" if negative else "up",
                        "made up the delivery date" if negative else "great")
    for i in range(100, 130):  # logged runs nobody rated: no evidence either way
        records += _run(i, [search], None, log=True)
    records += _run(200, None, "down", "no decisions logged for this run")
    return records


def test_name_words() -> None:
    assert name_words("web_search") == {"web", "search"}
    assert name_words("getOrderStatus") == {"order", "status"}
    assert name_words("mcp.get") == frozenset()


def test_decision_patterns_find_usage_errors_repeats_and_complaints() -> None:
    patterns = {p.key: p for p in decision_patterns(_synthetic(), min_support=3)}
    assert set(patterns) == {"tool:web_search:usage", "tool:web_search:complaints",
                             "tool:web_search:repeated", "tool:lookup_order:errors"}
    usage = patterns["tool:web_search:usage"]
    assert usage.kind == "tool_use" and usage.tool == "web_search" and usage.fixable
    assert usage.count == 28 and usage.rates["with_rate"] == 0.7
    assert usage.rates["without_rate"] == 0.15 and usage.rates["p_value"] < 0.001
    assert "70% of 40 vs 15% of 60 without" in usage.label
    assert usage.quotes[0] == "It searched the web instead of using the order number I gave it"
    assert usage.suggestion is not None and usage.suggestion.startswith("web_search: Use it only")
    # evidence is feedback, never the run logs
    assert all(i.startswith("fb-") for i in usage.feedback_ids) and len(usage.runs) == 28
    complaints = patterns["tool:web_search:complaints"]
    assert complaints.count == 10
    assert complaints.suggestion == "web_search: Use the details I already gave you."
    errors = patterns["tool:lookup_order:errors"]
    assert errors.count == 6 and errors.rates["failed_rate"] == 1.0
    repeated = patterns["tool:web_search:repeated"]
    assert repeated.count == 8 and repeated.rates["fewer_rate"] == 20 / 32


def test_no_pattern_without_a_difference_or_enough_runs() -> None:
    records: list[FeedbackRecord] = []
    for i in range(60):  # the same negative rate with and without the tool
        calls = [{"name": "web_search"}] if i % 2 else []
        records += _run(i, calls, "down" if i % 4 < 2 else "up", "meh answer")
    assert decision_patterns(records) == []
    assert [p.key for p in decision_patterns(_synthetic()[:6])] == ["tool:web_search:complaints"]
    assert decision_patterns(_synthetic()[:6], min_support=5) == []


def test_evidence_state_and_order_independence() -> None:
    records = _synthetic()
    first = decision_patterns(records)
    assert decision_patterns(list(reversed(records))) == first
    cited = set(first[0].feedback_ids)
    again = decision_patterns(records, evidence_state=lambda i: "pending" if i in cited else "open")
    assert again[0].state == "pending" and again[0].open_ids == []


def test_analyze_adds_tool_use_patterns_and_ignores_run_logs(repo: InstructionRepo) -> None:
    store = repo.feedback_store()
    store.add(_synthetic())
    patterns = repo.analyze("support-agent")
    kinds = {p.kind for p in patterns}
    assert "tool_use" in kinds and "recurring_failure" in kinds
    failure = next(p for p in patterns if p.kind == "recurring_failure")
    assert not any(i.startswith("log-") for p in patterns for i in p.feedback_ids)
    feedback_records = sum(1 for r in store.records() if r.is_feedback)
    assert failure.share == round(failure.count / feedback_records, 4)


def _coding_runs() -> list[FeedbackRecord]:
    """A coding agent's runs: it edits files, rarely runs the tests, and users say so."""
    records: list[FeedbackRecord] = []
    edit, tests = {"name": "edit_file", "status": "ok"}, {"name": "run_tests", "status": "ok"}
    said = ["The tests were never run before it said it was done.",
            "It claimed the fix works without running the tests",
            "didn't run the tests, and the build is red now", "wrong file edited",
            "It did not run the linter either"]
    for i in range(20):
        records += _run(i, [edit, tests] if i >= 10 else [edit], "down" if i < 12 else "up",
                        said[i % len(said)] if i < 12 else "works",
                        "Run the tests before you say it is done" if i < 3 else None)
    return records


def test_a_tool_the_agent_did_not_call_is_evidence_for_calling_it() -> None:
    patterns = {p.key: p for p in decision_patterns(_coding_runs(), min_support=3)}
    skipped = patterns["tool:run_tests:skipped"]
    assert skipped.kind == "tool_use" and skipped.tool == "run_tests" and skipped.fixable
    # runs 0-9 did not call it; 0, 1, 2, 5, 6, 7 say so ("wrong file edited" and the linter
    # do not); runs 10 and 11 called it, whatever their feedback says
    assert skipped.runs == ["r0", "r1", "r2", "r5", "r6", "r7"]
    assert skipped.suggestion == "run_tests: Run the tests before you say it is done."
    assert "was not called in 6 runs rated down" in skipped.label
    # no tool named lint: "did not run the linter" is no pattern of a tool
    assert not any("lint" in k for k in patterns)


def test_a_tool_no_run_called_counts_when_the_agent_file_has_its_guideline() -> None:
    runs = [r for r in _coding_runs() if r.run_id not in {f"r{i}" for i in range(10, 20)}]
    assert not any(p.tool == "run_tests" for p in decision_patterns(runs))
    found = decision_patterns(runs, tools=["run_tests"])
    (skipped,) = [p for p in found if p.key == "tool:run_tests:skipped"]
    assert skipped.count == 6


def test_tool_guidelines_fit_any_tool() -> None:
    from gitimprove.patterns.decisions import GUIDELINES

    for kind, text in GUIDELINES.items():  # a test runner, a shell or a search alike
        assert not {"answer", "question", "query", "source"} & set(text.lower().split()), kind
