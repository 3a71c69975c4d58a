"""`gitimprove feedback record|import|list|stats` and `gitimprove analyze`, through the console
entry point (where errors become `error: ...` and exit code 1)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from gitimprove.cli import main

from .conftest import git


def run(capsys: pytest.CaptureFixture[str], repo: Path, *argv: str) -> tuple[int, str, str]:
    try:
        main(["--repo", str(repo), *argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ok_json(capsys: pytest.CaptureFixture[str], repo: Path, *argv: str) -> Any:
    code, out, err = run(capsys, repo, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def imported(sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(sample_repo / "feedback.jsonl"))
    assert code == 0 and out.startswith("imported 345 of 345 records")
    return sample_repo


def test_record_and_list_merge_a_run(sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = git(sample_repo, "status", "--porcelain")
    code, out, err = run(capsys, sample_repo, "feedback", "record", "--agent", "product-writer",
                         "--run-id", "r1", "--version", "v1", "--rating", "thumbs_down",
                         "--reason", "way too wordy", "--signal", "regenerated=true")
    assert code == 0 and err == "" and out.startswith("recorded fb-")
    assert "run r1, version" in out
    data = ok_json(capsys, sample_repo, "feedback", "record", "--agent", "product-writer",
                   "--run-id", "r1", "--correction", "Keep it under 80 words",
                   "--signal", "task_completed=false", "--metadata", '{"ui": "web"}')
    assert data["warnings"] == []
    assert data["record"]["correction"] == "Keep it under 80 words"
    assert data["record"]["signals"] == {"task_completed": False}
    runs = ok_json(capsys, sample_repo, "feedback", "list", "--agent", "product-writer")["runs"]
    assert len(runs) == 1
    assert set(runs[0]) == {"agent", "run_id", "feedback_ids", "rating", "reasons", "corrections",
                            "signals", "trouble", "versions", "user_ids", "first_at", "last_at",
                            "tool_calls", "version_inferred"}
    assert runs[0]["rating"] == "negative" and runs[0]["trouble"] == ["regenerated", "not_completed"]
    assert runs[0]["corrections"] == ["Keep it under 80 words"]
    records = ok_json(capsys, sample_repo, "feedback", "list", "--records")["records"]
    assert [r["run_id"] for r in records] == ["r1", "r1"]
    code, out, _ = run(capsys, sample_repo, "feedback", "list")
    assert "r1  negative  [regenerated,not_completed]  reason: way too wordy | correction:" in out
    assert git(sample_repo, "status", "--porcelain") == before


def test_list_shows_a_dash_for_feedback_on_no_run(capsys: pytest.CaptureFixture[str],
                                                  sample_repo: Path) -> None:
    # the id is shown once, in brackets at the end; the run column says there was none
    code, out, _ = run(capsys, sample_repo, "feedback", "record", "--agent", "product-writer",
                       "--rating", "down", "--reason", "no run here", "--id", "fb-norun")
    assert code == 0
    code, out, _ = run(capsys, sample_repo, "--no-pager", "feedback", "list", "--agent",
                       "product-writer")
    line = next(line for line in out.splitlines() if "no run here" in line)
    assert "  -  negative  reason: no run here  (fb-norun)" in line
    assert line.count("fb-norun") == 1
    for _ in range(2):  # a run with several records: its ids apart, so a terminal wraps between
        run(capsys, sample_repo, "feedback", "record", "--agent", "product-writer", "--run-id",
            "r-two", "--rating", "down")
    code, out, _ = run(capsys, sample_repo, "feedback", "list", "--run-id", "r-two")
    assert re.search(r"\(fb-[0-9a-f]{6,}, fb-[0-9a-f]{3,}(…|)\)$", out.splitlines()[0]), out


@pytest.mark.parametrize("argv, message", [
    (["--agent", "product-writter", "--rating", "up"],
     "error: no agent 'product-writter' on main\n  hint: did you mean 'product-writer'?"),
    (["--agent", "product-writer", "--rating", "meh"], "error: rating: 'meh' is not a rating"),
    (["--agent", "product-writer"], "error: empty feedback"),
    (["--agent", "product-writer", "--signal", "regenerated"], "error: --signal 'regenerated' is not NAME=VALUE"),
    (["--agent", "product-writer", "--signal", "x=maybe"], "error: --signal x: 'maybe' is not true/false"),
    (["--agent", "product-writer", "--rating", "up", "--metadata", "{"], "error: --metadata is not JSON"),
])
def test_record_refusals(sample_repo: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                         message: str) -> None:
    code, out, err = run(capsys, sample_repo, "feedback", "record", *argv)
    assert code == 1 and out == ""
    assert err.startswith(message)


def test_record_warns_about_unknown_versions(sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, sample_repo, "feedback", "record", "--agent", "support-agent",
                         "--rating", "down", "--version", "0123456789abcdef")
    assert code == 0 and "recorded" in out
    assert err.startswith("warning: version 0123456789ab is not in the history of support-agent")


def test_huge_reason_is_one_line_error(sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, sample_repo, "feedback", "record", "--agent", "product-writer",
                       "--reason", "x" * 200_000)
    assert code == 1
    assert err == ("error: reason: is too long: 200,000 characters (the limit is 10,000; "
                   "see `gitimprove docs feedback`)\n")


def test_import_dry_run_reimport_and_json(sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(sample_repo / "feedback.jsonl")
    code, out, _ = run(capsys, sample_repo, "feedback", "import", path, "--dry-run")
    assert code == 0 and out.startswith("would import 345 of 345 records")
    stats = ok_json(capsys, sample_repo, "feedback", "stats")["stats"]
    assert stats == []
    report = ok_json(capsys, sample_repo, "feedback", "import", path)
    assert report == {"source": path, "format": "jsonl", "dry_run": False, "records": 345,
                      "added": 345, "duplicates": 0, "repeated": 0, "neutral": 0, "unnamed": 0,
                      "ignored": [], "invalid": [], "warnings": []}
    code, out, _ = run(capsys, sample_repo, "feedback", "import", path)
    assert out.startswith("imported 0 of 345 records") and "(345 already present)" in out
    # an export gathered from several countries gives a review once per country: the repeats
    # are not "already present" (nothing of the file was stored before)
    lines = (sample_repo / "feedback.jsonl").read_text().splitlines()[:3]
    fresh = [line.replace('"fb-', '"again-') for line in lines]
    twice = sample_repo.parent / "twice.jsonl"
    twice.write_text("\n".join(fresh + fresh[:2] + lines[:1]) + "\n")
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(twice))
    assert out.startswith(f"imported 3 of 6 records from {twice} (1 already present, 2 repeated "
                          "in the file)"), out


def test_import_reports_every_bad_line(sample_repo: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"agent": "product-writer", "rating": "up"}\n{oops\n'
                    b'{"agent": "support", "rating": "up"}\n{"agent": "support-agent", "reason": "\xff"}\n')
    code, out, err = run(capsys, sample_repo, "feedback", "import", str(bad))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"error: {bad}: 3 of 4 records are invalid; nothing was imported"
    assert lines[1].startswith("  line 2: bad JSON")
    assert lines[2].startswith("  line 3: no agent 'support' on main")
    assert lines[3].startswith("  line 4: not valid UTF-8")
    assert "--skip-invalid" in lines[4]
    code, out, err = run(capsys, sample_repo, "feedback", "import", str(bad), "--skip-invalid")
    assert code == 0 and out.startswith("imported 1 of 4 records") and "3 invalid skipped" in out
    assert err.count("skipped line") == 3


def test_import_csv_from_stdin(sample_repo: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"agent,run_id,rating,reason\nproduct-writer,r1,down,too long\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(capsys, sample_repo, "feedback", "import", "-", "--format", "csv")
    assert code == 0 and out.startswith("imported 1 of 1 records from <stdin>")


def test_import_csv_missing_columns(sample_repo: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "f.csv"
    bad.write_text("run_id,reason\nr1,too long\n")
    code, _, err = run(capsys, sample_repo, "feedback", "import", str(bad))
    assert code == 1 and err.startswith(f"error: {bad}: CSV is missing column(s) 'agent'")


def test_an_agent_without_feedback_is_told_how_to_add_some(
        sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "no recurring problem in its feedback" and "too little, or nothing recurs" were said
    # of an agent that had none
    how = ("import some: gitimprove feedback import FILE --agent support-agent (the fields: "
           "`gitimprove docs feedback`)")
    assert run(capsys, sample_repo, "analyze", "support-agent", "--offline") == (
        0, f"No feedback on support-agent yet; {how}.\n", "")
    code, out, err = run(capsys, sample_repo, "propose", "support-agent")
    assert code == 0, "nothing to propose is not a refusal"
    assert "nothing to propose for support-agent: no feedback on it yet" in out + err
    assert f"hint: {how}" in out + err
    assert run(capsys, sample_repo, "feedback", "stats", "--agent", "support-agent") == (
        0, f"No feedback yet; {how}.\n", "")
    assert run(capsys, sample_repo, "feedback", "stats", "--since", "1d")[1] == \
        "No feedback since then.\n"


def test_stats_shapes(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = ok_json(capsys, imported, "feedback", "stats", "--agent", "support-agent", "--by-version")["stats"]
    (row,) = rows
    assert row["agent"] == "support-agent" and row["version"] is None and row["label"] is None
    assert row["records"] == 115 and 0 < row["negative_rate"] < 1
    assert row["signals"]["task_completed"]["reported"] > 0
    code, out, _ = run(capsys, imported, "feedback", "stats")
    assert code == 0 and out.count("\n") == 3 and "support-agent: 115 records" in out
    # a rate over the runs that reported the signal says over how many, when not all did
    completed = row["signals"]["task_completed"]
    line = next(line for line in out.splitlines() if line.startswith("support-agent:"))
    assert completed["n"] < row["runs"]
    assert f"task_completed {completed['rate']:.0%} of {completed['n']}" in line


def test_list_filters(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = ok_json(capsys, imported, "feedback", "list", "--agent", "research-assistant",
                   "--since", "2026-11-01", "--limit", "3")["runs"]
    assert len(runs) == 3 and all(r["first_at"] >= "2026-11-01" for r in runs)
    code, _, err = run(capsys, imported, "feedback", "list", "--since", "last tuesday")
    assert code == 1 and err.startswith("error: --since 'last tuesday' is not a date")
    code, _, err = run(capsys, imported, "feedback", "list", "--agent", "product-writer",
                       "--version", "v9")
    assert code == 1 and err == ("error: product-writer has no version v9 on main (v1..v1)\n"
                                 "  hint: see `gitimprove history product-writer` for its versions\n")


def test_analyze_text_and_json(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, imported, "analyze", "support-agent")
    assert code == 0
    assert " 1. recurring_failure" in out and "suggests:" in out and "evidence: fb-" in out
    assert out.endswith("\nNext: gitimprove propose support-agent --dry-run\n")
    data = ok_json(capsys, imported, "analyze", "product-writer", "--min-support", "5")
    assert set(data) == {"agent", "version", "label", "min_support", "method", "notes",
                         "model_usage", "patterns"}
    assert data["method"] == "offline" and data["notes"] == [] and data["model_usage"] is None
    assert data["label"] == "v1" and data["min_support"] == 5
    first = data["patterns"][0]
    assert set(first) == {"id", "kind", "label", "key", "count", "share", "score",
                          "feedback_ids", "quotes", "versions", "section", "suggestion",
                          "triage", "topic", "topics", "tool", "description", "theme", "theme_ids", "state",
                          "open_ids", "runs", "rates", "parts"}
    assert all(p["count"] >= 5 for p in data["patterns"])
    code, _, err = run(capsys, imported, "analyze", "nobody")
    assert code == 1 and err.startswith("error: no agent 'nobody'")


def test_analyze_shows_the_patterns_a_proposal_cites_as_propose_sees_them(
        imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # every pattern read "open" after its proposal was approved, and analyze still said
    # "Next: gitimprove propose"
    code, out, err = run(capsys, imported, "propose", "support-agent", "--proposer", "heuristic")
    assert code == 0, err
    cited = {p["id"]: p["state"] for p in ok_json(capsys, imported, "analyze", "support-agent")["patterns"]}
    assert "pending" in cited.values() and "addressed" not in cited.values(), cited
    pid = re.search(r"improve/support-agent/(\S+) ", out)
    assert pid is not None, out
    code, _, err = run(capsys, imported, "approve", pid.group(1))
    assert code == 0, err
    after = {p["id"]: p["state"] for p in ok_json(capsys, imported, "analyze", "support-agent")["patterns"]}
    assert {i for i, s in after.items() if s == "addressed"} == {i for i, s in cited.items() if s == "pending"}
    code, out, _ = run(capsys, imported, "analyze", "support-agent")
    assert code == 0 and "  (addressed)" in out
    # what is left to do first
    shown = [line for line in out.splitlines() if re.match(r" ?\d+\. ", line)]
    assert shown and not shown[0].endswith("(addressed)")
    assert [line.endswith("(addressed)") for line in shown] == sorted(
        line.endswith("(addressed)") for line in shown)


def test_locked_database_is_one_line(sample_repo: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    db = sample_repo / ".gitimprove" / "feedback.db"
    run(capsys, sample_repo, "feedback", "record", "--agent", "product-writer", "--rating", "up")
    monkeypatch.setenv("GITIMPROVE_FEEDBACK_URL", f"sqlite:///{db}?timeout=0.2")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = run(capsys, sample_repo, "feedback", "record", "--agent", "product-writer",
                           "--rating", "down")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert code == 1
    assert err.splitlines()[0] == (f"error: feedback database {db} is locked by another process "
                                   "(waited 0.2s to write)")


def test_import_says_when_feedback_is_older_than_the_first_version(
        sample_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text(
        '{"agent": "product-writer", "run_id": "r1", "rating": "negative", "reason": "long",'
        ' "created_at": "2020-01-02T10:00:00Z"}\n'
        '{"agent": "product-writer", "run_id": "r2", "rating": "positive"}\n')
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(path))
    assert code == 0
    first = git(sample_repo, "log", "-1", "--format=%cs", "main").strip()
    assert out.splitlines()[1:] == [
        f"note: 1 record(s) for product-writer are older than its first version on main ({first});"
        " no version was live then, so `history` and `check-regressions` count them for none"]
    assert ok_json(capsys, sample_repo, "feedback", "import", str(path))["added"] == 0
    path.write_text(path.read_text().replace('"r1"', '"r3"').replace('"r2"', '"r4"'))
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(path), "--version", "v1")
    assert code == 0 and "note:" not in out  # named: counts for v1


def test_import_of_feedback_the_history_spans_has_no_note(
        sample_history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, sample_history, "feedback", "import",
                       str(sample_history / "feedback.jsonl"))
    assert code == 0 and "note:" not in out  # the sample feedback spans the sample's history


def test_created_at_takes_what_since_takes(capsys: pytest.CaptureFixture[str],
                                           sample_repo: Path) -> None:
    from datetime import UTC, datetime, timedelta

    data = ok_json(capsys, sample_repo, "feedback", "record", "--agent", "product-writer",
                   "--rating", "down", "--reason", "two hours ago", "--created-at", "2h")
    made = datetime.fromisoformat(data["record"]["created_at"])
    assert abs(made - (datetime.now(UTC) - timedelta(hours=2))) < timedelta(minutes=5)
    code, _, err = run(capsys, sample_repo, "feedback", "record", "--agent", "product-writer",
                       "--rating", "down", "--created-at", "yesterday")
    assert code == 1
    assert err.startswith("error: --created-at 'yesterday' is not a date\n  hint: use 2026-09-15")


def test_import_gives_agent_to_lines_that_name_none(capsys: pytest.CaptureFixture[str],
                                                    sample_repo: Path, tmp_path: Path) -> None:
    lines = [{"rating": "down", "reason": f"an export without agents ({n})",
              "created_at": "2026-10-01T10:00:00Z"} for n in range(3)]
    lines.append({"agent": "support-agent", "rating": "up", "reason": "names its own agent",
                  "created_at": "2026-10-01T10:00:00Z"})
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, _, err = run(capsys, sample_repo, "feedback", "import", str(export))
    assert code == 1 and "agent: missing" in err  # all or nothing: nothing written
    assert "; --agent NAME gives one agent to every line that names none" in " ".join(err.split())
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(export),
                       "--agent", "product-writer")
    assert code == 0 and "imported 4 of 4 records" in out
    records = ok_json(capsys, sample_repo, "feedback", "list", "--records")["records"]
    agents = {r["reason"]: r["agent"] for r in records if r["reason"]}
    assert agents["an export without agents (0)"] == "product-writer"
    assert agents["names its own agent"] == "support-agent"
    code, _, err = run(capsys, sample_repo, "feedback", "import", str(export), "--agent", "nobody")
    assert code == 1 and "no agent 'nobody'" in err


def test_import_agent_flag_is_checked_once_and_stands_for_a_csv_agent_column(
        capsys: pytest.CaptureFixture[str], sample_repo: Path, tmp_path: Path) -> None:
    # a CSV export of one agent's runs has no agent column: --agent gives it, as in JSON Lines
    export = tmp_path / "export.csv"
    export.write_text("rating,reason\ndown,too long\nup,clear\n")
    code, _, err = run(capsys, sample_repo, "feedback", "import", str(export))
    assert code == 1 and "CSV is missing column(s) 'agent'" in err
    assert "or give every row one agent: --agent NAME" in err
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(export),
                       "--agent", "product-writer")
    assert code == 0 and "imported 2 of 2 records" in out
    # a misspelt --agent is said once, not as a bad line of the file
    assert run(capsys, sample_repo, "feedback", "import", str(export), "--agent",
               "product-writr", "--dry-run") == (
        1, "", "error: no agent 'product-writr' on main\n"
               "  hint: did you mean 'product-writer'?\n")


def test_import_in_a_repository_of_one_agent_gives_it_to_records_that_name_none(
        capsys: pytest.CaptureFixture[str], sample_repo: Path, tmp_path: Path) -> None:
    # a new user's app-store export has no agent column, and the repository one agent: as
    # `analyze` and `propose`, the import needs no name
    for other in ("product-writer", "research-assistant", "trip-planner"):
        git(sample_repo, "rm", "-q", f"agents/{other}.yaml")
    git(sample_repo, "commit", "-q", "-m", "one agent left")
    lines = [{"rating": "down", "reason": f"no agent named ({n})", "created_at": "2026-10-01T10:00:00Z"}
             for n in range(3)]
    lines.append({"agent": "support-agent", "rating": "up", "reason": "names its agent",
                  "created_at": "2026-10-01T10:00:00Z"})
    export = tmp_path / "export.jsonl"  # read by the fast path
    export.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(export))
    assert code == 0 and "imported 4 of 4 records" in out
    assert ("note: 3 record(s) named no agent: they were given to support-agent, the "
            "repository's only agent") in out
    csv_export = tmp_path / "export.csv"  # read the general way
    csv_export.write_text("rating,reason\ndown,too long\nup,clear\n")
    report = ok_json(capsys, sample_repo, "feedback", "import", str(csv_export))
    assert (report["added"], report["unnamed"]) == (2, 2)
    records = ok_json(capsys, sample_repo, "feedback", "list", "--records")["records"]
    assert {r["agent"] for r in records} == {"support-agent"} and len(records) == 6
    code, out, _ = run(capsys, sample_repo, "feedback", "record", "--rating", "down",
                       "--reason", "asked for my order number twice")
    assert code == 0 and out.startswith("recorded fb-") and out.rstrip().endswith(
        "for support-agent")


def test_record_names_its_agent_where_there_are_several(
        capsys: pytest.CaptureFixture[str], sample_repo: Path) -> None:
    code, _, err = run(capsys, sample_repo, "feedback", "record", "--rating", "down")
    assert code == 1 and err.startswith("error: name an agent: there are 4 (product-writer, ")


def test_import_maps_another_tools_columns_and_reads_stars(
        sample_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    play = tmp_path / "play.csv"
    play.write_text("reviewId,userName,userImage,content,score,thumbsUpCount\n"
                    "r1,Ada Lovelace,https://x/1.png,way too wordy,1,3\n"
                    "r2,Grace Hopper,,,3,0\n")
    code, _, err = run(capsys, sample_repo, "feedback", "import", str(play))
    assert code == 1 and "hint: name their fields, and the other columns are left out: --map " \
        "reviewId=id --map userName=user_id --map content=reason --map score=rating" in err
    argv = ["feedback", "import", str(play), "--agent", "product-writer", "--map", "reviewId=id",
            "--map", "userName=user_id", "--map", "content=reason", "--map", "score=rating"]
    code, out, err = run(capsys, sample_repo, *argv, "--stars")
    assert code == 0, err
    assert out.splitlines()[:2] == [
        f"imported 1 of 2 records from {play} (1 with three stars and no text, left out)",
        "left out (no field named by --map): 'userImage', 'thumbsUpCount'"]
    code, _, err = run(capsys, sample_repo, *argv, "--map", "score")
    assert (code, err.splitlines()[0]) == (1, "error: --map score: give a column and a field, "
                                              "as COLUMN=FIELD")


def test_a_mapped_export_without_an_agent_column_lists_its_own_columns(
        capsys: pytest.CaptureFixture[str], sample_repo: Path, tmp_path: Path) -> None:
    # "(found: , , rating, reason, )": the columns --map left out were shown as blanks
    export = tmp_path / "export.csv"
    export.write_text("ts,who,thumbs,comment,bot_name\n2026-11-27T10:00:00Z,u1,-1,too long,"
                      "product-writer\n")
    code, _, err = run(capsys, sample_repo, "feedback", "import", str(export),
                       "--map", "thumbs=rating", "--map", "comment=reason")
    said = " ".join(err.split())
    assert code == 1 and ("CSV is missing column(s) 'agent' (found: ts, who, thumbs (as "
                          "rating), comment (as reason), bot_name)") in said, said
    assert ("hint: name the column that holds it: --map COLUMN=agent (left out now: ts, who, "
            "bot_name); or give every row one agent: --agent NAME") in said
    code, out, _ = run(capsys, sample_repo, "feedback", "import", str(export), "--map",
                       "thumbs=rating", "--map", "comment=reason", "--map", "bot_name=agent")
    assert code == 0 and "imported 1 of 1 records" in out


def test_a_pattern_named_by_its_words_shows_the_theme_its_items_speak_of() -> None:
    # 291 critiques of a meeting summarizer named "mentioned, source", 144 of them saying the
    # source does not support a claim: the label alone did not say so
    from gitimprove.cli.feedback import _read_as

    from .proposals.helpers import make_pattern

    ids = [f"fb-{n}" for n in range(9)]
    words = make_pattern("mentioned, source", key="terms:mention+sourc", ids=ids,
                         theme="grounding")
    assert _read_as(words) == "claims the source does not support (9 of 9)"
    some = words.model_copy(update={"theme_ids": ids[:4]})
    assert _read_as(some) == "claims the source does not support (4 of 9)"
    fix = some.model_copy(update={"kind": "consistent_correction"})
    assert _read_as(fix) == "keep to what the source says (4 of 9)"
    # named after its theme, or about none: nothing more to say
    assert _read_as(make_pattern(key="concept:length", theme="length")) is None
    assert _read_as(words.model_copy(update={"theme": None})) is None
