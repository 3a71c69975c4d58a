"""Feedback that names no version counts for the version live on main when it was made."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitimprove import InstructionRepo
from gitimprove.cli import main
from gitimprove.feedback.attribution import Timeline
from gitimprove.feedback.models import make_record
from gitimprove.instructions.versions import Version
from gitimprove.metrics import check_regressions, version_figures
from tests.conftest import SAMPLE, commit_file, git
from tests.test_cli_feedback import ok_json as as_json
from tests.test_cli_feedback import run

PW = "agents/product-writer.yaml"


def _version(number: int, blob: str, when: str) -> Version:
    stamp = int(datetime.fromisoformat(when).timestamp())
    return Version(number, blob, "c" * 40, stamp, "A <a@x>", "s")  # type: ignore[arg-type]


def test_timeline_places_records_by_time_and_splits_a_restored_version() -> None:
    line = Timeline([_version(1, "a" * 40, "2026-09-01T00:00:00+00:00"),
                     _version(2, "b" * 40, "2026-10-01T00:00:00+00:00"),
                     _version(1, "a" * 40, "2026-11-01T00:00:00+00:00")])  # v1 restored

    def place(version: str | None, when: str) -> tuple[int | None, bool]:
        return line.entry_of(make_record({"agent": "x", "rating": "up", "version": version,
                                          "created_at": when}))

    assert place(None, "2026-08-01T00:00:00Z") == (None, True)  # before any version
    assert place(None, "2026-09-15T00:00:00Z") == (0, True)
    assert place(None, "2026-10-15T00:00:00Z") == (1, True)
    assert place(None, "2026-11-15T00:00:00Z") == (2, True)
    assert place("a" * 40, "2026-09-15T00:00:00Z") == (0, False)  # the old v1's stretch
    assert place("a" * 40, "2026-11-15T00:00:00Z") == (2, False)  # the restored v1's
    assert place("b" * 40, "2026-11-15T00:00:00Z") == (1, False)  # named: kept, whenever made
    assert place("d" * 40, "2026-11-15T00:00:00Z") == (None, False)  # not on main


def test_sample_walkthrough_compares_v1_and_v2(sample_history: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, sample_history, "feedback", "import",
                       str(sample_history / "feedback.jsonl"))
    assert code == 0 and "imported 345 of 345" in out
    repo = InstructionRepo(sample_history)
    figures = version_figures(repo, "product-writer")
    assert [f.version.label for f in figures] == ["v2", "v1"]
    assert figures[0].runs > 20 and figures[1].runs > 20  # a real comparison, both sides judged
    assert figures[0].inferred + figures[1].inferred == 134  # every sample record named none
    assert figures[0].verdict in ("better", "worse", "no clear change")
    history = as_json(capsys, sample_history, "history", "product-writer")["versions"]
    assert history[0]["feedback"]["inferred_version"] == figures[0].inferred
    stats = as_json(capsys, sample_history, "feedback", "stats", "--agent", "product-writer",
                    "--by-version")["stats"]
    assert [(r["label"], r["runs"], r["inferred_version"]) for r in stats] == [
        ("v1", figures[1].runs, figures[1].inferred), ("v2", figures[0].runs, figures[0].inferred)]
    # the same denominators in both commands (docs/feedback.md, "Rates")
    for row, fig in zip(stats, figures[::-1], strict=True):
        for name in ("regenerated", "edited_output", "task_completed"):
            assert row["signals"][name]["n"] == fig.rates[name].n
            assert row["signals"][name]["true"] == fig.rates[name].hits
        assert row["rated_runs"] == fig.rates["negative_rate"].n
    listed = as_json(capsys, sample_history, "feedback", "list", "--agent", "product-writer",
                     "--records", "--version", "v1")["records"]
    assert listed and all(r["version_inferred"] for r in listed)
    code, out, _ = run(capsys, sample_history, "feedback", "list", "--agent", "product-writer",
                       "--limit", "2")
    assert out.splitlines()[0].split()[3] == "~v2" and "~:" in out.splitlines()[-1]
    check = check_regressions(repo)
    assert not check.nothing_judged


def test_import_with_an_explicit_version(sample_history: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps({"agent": "product-writer", "rating": "down", "run_id": f"r{i}",
                         "created_at": "2026-11-20T10:00:00Z"}) for i in range(3)]
    lines.append(json.dumps({"agent": "product-writer", "rating": "up", "run_id": "named",
                             "version": "v2", "created_at": "2026-09-20T10:00:00Z"}))
    (tmp_path / "f.jsonl").write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, sample_history, "feedback", "import", str(tmp_path / "f.jsonl"),
                       "--version", "v9")
    assert code == 1 and "product-writer has no version v9" in err
    assert InstructionRepo(sample_history).feedback_store().count() == 0
    code, _, err = run(capsys, sample_history, "feedback", "import", str(tmp_path / "f.jsonl"),
                       "--version", "v1")
    assert code == 0, err
    repo = InstructionRepo(sample_history)
    v1, v2 = (str(v.blob) for v in repo.history("product-writer"))
    stored = {r.run_id: r.version for r in repo.feedback_store().records()}
    assert stored == {"r0": v1, "r1": v1, "r2": v1, "named": v2}  # a named version is kept
    [first, second] = version_figures(repo, "product-writer")[::-1]
    assert (first.runs, first.inferred, second.runs) == (3, 0, 1)


def test_record_refuses_a_version_number_that_does_not_exist(
        sample_history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, sample_history, "feedback", "record", "--agent", "product-writer",
                       "--version", "v9", "--rating", "up")
    assert code == 1 and err.startswith("error: product-writer has no version v9 on main (v1..v2)")
    assert InstructionRepo(sample_history).feedback_store().count() == 0


def test_a_restored_version_does_not_repeat_the_old_runs(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    v1 = repo.load("product-writer").version
    for i in range(5):
        # made while the first v1 was live (the commits below all happen within a second)
        repo.record_feedback(agent="product-writer", run_id=f"old-{i}", version=v1, rating="down",
                             created_at="2026-01-01T00:00:00Z")
    original = (sample_repo / PW).read_text()
    commit_file(sample_repo, PW, original.replace("British", "American"), "American")
    commit_file(sample_repo, PW, original, "Back to British")
    figures = version_figures(repo, "product-writer")
    assert [(f.version.label, f.runs) for f in figures] == [("v1", 0), ("v2", 0), ("v1", 5)]
    assert figures[0].previous is not None and figures[0].previous.label == "v2"


def test_check_regressions_with_nothing_to_judge_is_not_a_pass(
        sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, sample_repo, "check-regressions")
    assert code == 4
    assert "Nothing to judge" in out and "No regressions" not in out
    # the agents never changed share one line, not a line each
    [firsts] = [line for line in out.splitlines() if "with one version, nothing to compare" in line]
    assert "product-writer" in firsts and "support-agent" in firsts
    data = json.loads(run(capsys, sample_repo, "check-regressions", "--json")[1])
    assert data["nothing_judged"] is True and data["regressions"] == []


def test_init_from_sample_repo_works_from_anywhere(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not (tmp_path / "sample_repo").exists()
    try:
        main(["init", "shop", "--from", "sample_repo"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert (tmp_path / "shop" / "agents" / "product-writer.yaml").read_bytes() == \
        (SAMPLE / "agents" / "product-writer.yaml").read_bytes()
    log = git(tmp_path / "shop", "log", "--format=%ad %s", "--date=short").splitlines()
    assert log[-1].startswith("2026-09-01 ") and len(log) == 2
    assert not (tmp_path / "shop" / "history.json").exists()
    assert git(tmp_path / "shop", "status", "--porcelain") == ""
    assert os.getcwd() == str(tmp_path)
    assert datetime.now(UTC).year >= 2026


def test_the_library_attributes_what_feedback_list_prints(sample_history: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from gitimprove.errors import GitImproveError

    code, _, _ = run(capsys, sample_history, "feedback", "import",
                     str(sample_history / "feedback.jsonl"))
    assert code == 0
    repo = InstructionRepo(sample_history)
    found = repo.feedback_records("product-writer")
    assert found.records and all(r.version for r in found.records)
    assert found.inferred == {r.id for r in found.records}  # the sample names no version
    first = found.only([found.records[0].version or ""])
    assert {found.label("product-writer", r.version) for r in first.records} == {"v1"}
    assert found.label("product-writer", found.records[0].version, True) == "~v1"
    v2 = repo.feedback_records("product-writer", version="v2")
    assert v2.records and {v2.label(r.agent, r.version) for r in v2.records} == {"v2"}
    with pytest.raises(GitImproveError, match="no version v9"):
        repo.feedback_records("product-writer", version="v9")
    with pytest.raises(GitImproveError, match="is not a blob id"):
        repo.feedback_records(version="v2")
