"""Decisions on a run: tool calls through record_feedback, record_run and import, and the bad
input that must be refused whole (nothing half-written)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from gitimprove.feedback.errors import FeedbackImportError, FeedbackWarning, InvalidFeedbackError
from gitimprove.feedback.importer import import_feedback
from gitimprove.feedback.models import ARGUMENTS_CUT, MAX_TOOL_CALLS, merge_runs
from gitimprove.instructions.repo import InstructionRepo

from ..conftest import commit_file

CALLS = [{"name": "web_search", "status": "ok", "duration_ms": 830,
          "arguments": {"query": "order 1234 jane@example.com"}},
         {"name": "lookup_order", "status": "error", "duration_ms": 40}]


def _policy_keeps_arguments(repo_path: Path, chars: int = 40) -> None:
    policy = (repo_path / "gitimprove.yaml").read_text()
    keep = f"feedback:\n  store_tool_arguments: true\n  tool_argument_chars: {chars}\n"
    commit_file(repo_path, "gitimprove.yaml", policy.replace("feedback:\n", keep),
                "keep tool arguments")


def test_record_feedback_with_tool_calls_drops_arguments_by_default(repo: InstructionRepo) -> None:
    inst = repo.load("support-agent")
    rec = repo.record_feedback(agent="support-agent", run_id="r-1", version=inst.version,
                               rating="down", reason="It searched instead of reading my order",
                               tool_calls=CALLS)
    stored = repo.feedback_store().get(rec.id)
    assert stored == rec and stored is not None and stored.tool_calls is not None
    assert [(c.name, c.status, c.duration_ms, c.arguments) for c in stored.tool_calls] == [
        ("web_search", "ok", 830, None), ("lookup_order", "error", 40, None)]


def test_arguments_are_kept_cut_when_the_policy_says_so(repo: InstructionRepo,
                                                         sample_repo: Path) -> None:
    _policy_keeps_arguments(sample_repo, chars=20)
    big = {"query": "x" * 1_048_576}  # 1 MB of arguments
    rec = repo.record_feedback(agent="support-agent", run_id="r-2", rating="down", version="v1",
                               tool_calls=[*CALLS, {"name": "web_search", "arguments": big}])
    calls = repo.feedback_store().get(rec.id).tool_calls  # type: ignore[union-attr]
    assert calls is not None
    assert calls[0].arguments == '{"query":"orde…[cut]'
    assert all(c.arguments is None or len(c.arguments) <= 20 for c in calls)
    assert calls[2].arguments is not None and calls[2].arguments.endswith(ARGUMENTS_CUT)
    assert calls[1].arguments is None


def test_record_run_logs_decisions_without_feedback(repo: InstructionRepo) -> None:
    inst = repo.load("support-agent")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log = repo.record_run(agent="support-agent", run_id="r-3", version=inst.version,
                              tool_calls=CALLS)
        again = repo.record_run(agent="support-agent", run_id="r-3", version=inst.version,
                                tool_calls=CALLS)  # a retry adds nothing
        empty = repo.record_run(agent="support-agent", run_id="r-4", version=inst.version,
                                tool_calls=[])  # a run that called no tool is logged too
    assert log.id == again.id and not log.is_feedback
    assert empty.tool_calls == []
    store = repo.feedback_store()
    assert store.count() == 2
    with pytest.raises(InvalidFeedbackError, match="run r-3 is already logged with other tool calls"):
        repo.record_run(agent="support-agent", run_id="r-3", version=inst.version,
                        tool_calls=CALLS[:1])
    # feedback later on the same run joins the log in one run view
    repo.record_feedback(agent="support-agent", run_id="r-3", version=inst.version, rating="down")
    (run,) = [r for r in merge_runs(store.records()) if r.run_id == "r-3"]
    assert run.rating == "negative" and [c.name for c in run.tool_calls or []] == [
        "web_search", "lookup_order"]


def test_decisions_without_a_version(repo: InstructionRepo) -> None:
    """A run log takes the version of the run's stored feedback; with none, it is kept and
    the warning says it counts in no version's rates."""
    inst = repo.load("support-agent")
    repo.record_feedback(agent="support-agent", run_id="r-5", version=inst.version, rating="up")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log = repo.record_run(agent="support-agent", run_id="r-5", tool_calls=CALLS)
    assert log.version == inst.version
    with pytest.warns(FeedbackWarning, match="support-agent recorded without a version: "
                                             "per-version figures place them by their time"):
        orphan = repo.record_run(agent="support-agent", run_id="r-6", tool_calls=CALLS)
    assert orphan.version is None and repo.feedback_store().get(orphan.id) == orphan
    # an application recording every run sees it once, not once per run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for n in range(5):
            repo.record_run(agent="support-agent", run_id=f"r-{10 + n}", tool_calls=CALLS)
    assert len([w for w in caught if issubclass(w.category, FeedbackWarning)]) == 1


@pytest.mark.parametrize(("calls", "message"), [
    ([{"name": "web_search", "status": "pending"}],
     r"tool_calls.0.status: 'pending' is not a status: use ok or error"),
    ([{"name": "web\x1b[31msearch"}], r"tool_calls.0.name: 'web\\x1b\[31msearch' is not a tool name"),
    ([{"name": "web search"}], r"is not a tool name"),
    ([{"name": "a\nb"}], r"is not a tool name"),
    ([{"status": "ok"}], r"tool_calls.0.name: missing"),
    ([{"name": "x", "duration_ms": -3}], r"duration_ms: -3 ms is out of range"),
    ([{"name": "x", "duration_ms": True}], r"duration_ms: must be a number of milliseconds"),
    ([{"name": "x", "cost": 3}], r"tool_calls.0.cost: unknown field \(a tool call has name"),
    ([{"name": f"t{i}"} for i in range(10_000)], r"has 10,000 calls \(the limit is 1,000 per run"),
    ("web_search", r"tool_calls: must be a list of calls"),
    (["web_search"], r"tool_calls: \[0\] must be an object with a name, not str"),
])
def test_bad_tool_calls_are_refused_and_nothing_is_written(
        repo: InstructionRepo, calls: object, message: str) -> None:
    with pytest.raises(InvalidFeedbackError, match=message) as info:
        repo.record_feedback(agent="support-agent", run_id="r-7", rating="down",
                             tool_calls=calls)  # type: ignore[arg-type]
    assert "\x1b" not in str(info.value)
    with pytest.raises(InvalidFeedbackError):
        repo.record_run(agent="support-agent", run_id="r-7", tool_calls=calls)  # type: ignore[arg-type]
    assert repo.feedback_store().count() == 0


def test_tool_calls_need_a_run(repo: InstructionRepo) -> None:
    with pytest.raises(InvalidFeedbackError, match="tool_calls belong to a run: give the run_id"):
        repo.record_feedback(agent="support-agent", rating="down", tool_calls=CALLS)


def test_a_thousand_calls_are_fine_and_status_synonyms_are_read(repo: InstructionRepo) -> None:
    calls = [{"name": "web_search", "status": s}
             for s in ["success", "FAILED", "timeout", "Completed"] * (MAX_TOOL_CALLS // 4)]
    rec = repo.record_run(agent="support-agent", run_id="r-8", version="v1", tool_calls=calls)
    stored = repo.feedback_store().get(rec.id)
    assert stored is not None and stored.tool_calls is not None
    assert [c.status for c in stored.tool_calls[:4]] == ["ok", "error", "error", "ok"]
    assert len(stored.tool_calls) == MAX_TOOL_CALLS


# -- import -------------------------------------------------------------------------------------


def _import(repo: InstructionRepo, data: str, name: str = "f.jsonl", **kw: bool) -> object:
    return import_feedback(repo.feedback_store(), repo._feedback_index(), name, data.encode(), **kw)


def test_import_jsonl_with_decisions_and_run_logs(repo: InstructionRepo) -> None:
    lines = [
        {"agent": "support-agent", "run_id": "a", "version": "v1", "rating": "down",
         "reason": "searched for what I gave it", "tool_calls": CALLS},
        {"agent": "support-agent", "run_id": "b", "version": "v1", "tool_calls": []},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines)
    report = _import(repo, data)
    assert report.added == 2  # type: ignore[attr-defined]
    assert _import(repo, data).added == 0  # type: ignore[attr-defined]
    runs = {r.run_id: r for r in merge_runs(repo.feedback_store().records())}
    assert runs["a"].tool_calls is not None and runs["a"].tool_calls[0].arguments is None
    assert runs["b"].tool_calls == [] and not runs["b"].has_feedback


def test_import_csv_tool_calls_compact_and_json(repo: InstructionRepo) -> None:
    data = ("agent,run_id,rating,tool_calls\n"
            "support-agent,a,down,web_search:ok:830;lookup_order:error\n"
            'support-agent,b,,"[{""name"": ""web_search"", ""status"": ""ok""}]"\n'
            "support-agent,c,up,\n")
    report = _import(repo, data, "f.csv")
    assert report.added == 3  # type: ignore[attr-defined]
    runs = {r.run_id: r for r in merge_runs(repo.feedback_store().records())}
    assert [(c.name, c.status, c.duration_ms) for c in runs["a"].tool_calls or []] == [
        ("web_search", "ok", 830), ("lookup_order", "error", None)]
    assert runs["b"].tool_calls is not None and runs["c"].tool_calls is None


def test_import_refuses_every_bad_decision_line_and_writes_nothing(repo: InstructionRepo) -> None:
    lines = [
        {"agent": "support-agent", "run_id": "ok", "rating": "up", "tool_calls": []},
        {"agent": "support-agent", "run_id": "x", "tool_calls": [{"name": "s", "status": "maybe"}]},
        {"agent": "support-agent", "run_id": "y", "tool_calls": [{"name": "bad\u202ename"}]},
        {"agent": "support-agent", "tool_calls": []},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines)
    with pytest.raises(FeedbackImportError) as info:
        _import(repo, data)
    text = str(info.value)
    assert "line 2: tool_calls.0.status: 'maybe' is not a status" in text
    assert "line 3: tool_calls.0.name:" in text and "\u202e" not in text
    assert "line 4: tool_calls belong to a run" in text
    assert repo.feedback_store().count() == 0


def test_import_with_a_megabyte_of_arguments(repo: InstructionRepo, sample_repo: Path) -> None:
    line = json.dumps({"agent": "support-agent", "run_id": "big", "rating": "down",
                       "tool_calls": [{"name": "web_search", "arguments": {"q": "y" * 1_000_000}}]})
    assert _import(repo, line + "\n").added == 1  # type: ignore[attr-defined]
    (stored,) = repo.feedback_store().records()
    assert stored.tool_calls is not None and stored.tool_calls[0].arguments is None
    _policy_keeps_arguments(sample_repo, chars=100)
    other = line.replace('"big"', '"big2"')
    assert _import(repo, other + "\n").added == 1  # type: ignore[attr-defined]
    kept = repo.feedback_store().records(run_id="big2")[0].tool_calls
    assert kept is not None and kept[0].arguments is not None and len(kept[0].arguments) == 100


def test_cli_record_with_tool_calls_and_list(sample_repo: Path) -> None:
    from click.testing import CliRunner

    from gitimprove.cli import cli

    runner = CliRunner()
    base = ["--repo", str(sample_repo), "feedback"]
    out = runner.invoke(cli, [*base, "record", "--agent", "trip-planner", "--run-id", "r1",
                              "--version", "v1", "--rating", "down", "--tool-call",
                              "web_search:ok:830", "--tool-call", "web_search;currency_convert:error"])
    assert out.exit_code == 0, out.output
    listed = runner.invoke(cli, [*base, "list", "--agent", "trip-planner"])
    assert "tools: web_search x2, currency_convert (1 error)" in listed.output
    bad = runner.invoke(cli, [*base, "record", "--agent", "trip-planner", "--run-id", "r2",
                              "--rating", "down", "--tool-call", "web_search:maybe"])
    assert isinstance(bad.exception, InvalidFeedbackError)
    assert "tool_calls.0.status: 'maybe' is not a status" in str(bad.exception)
