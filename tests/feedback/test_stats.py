"""Counts and rates per agent and per version."""

from __future__ import annotations

from pathlib import Path

from gitimprove.feedback.models import make_record
from gitimprove.feedback.stats import compute_stats
from gitimprove.instructions.repo import InstructionRepo

from ..conftest import commit_file


def test_rates_are_over_runs() -> None:
    records = [
        make_record({"id": "1", "agent": "a", "run_id": "r1", "rating": "down", "version": "v1"}),
        make_record({"id": "2", "agent": "a", "run_id": "r1", "correction": "shorter",
                     "signals": {"regenerated": True, "time_to_accept_s": 10}, "version": "v1"}),
        make_record({"id": "3", "agent": "a", "run_id": "r2", "rating": "up", "version": "v2",
                     "signals": {"task_completed": True, "time_to_accept_s": 30}}),
        make_record({"id": "4", "agent": "a", "run_id": "r3", "reason": "meh", "version": "v2",
                     "signals": {"task_completed": False}}),
        make_record({"id": "5", "agent": "b", "run_id": "r4", "rating": "+1"}),
    ]
    (a, b) = (row.to_json() for row in compute_stats(records))
    assert (a["agent"], a["records"], a["runs"], a["rated_runs"]) == ("a", 4, 3, 2)
    assert a["negative"] == 1 and a["negative_rate"] == 0.5 and a["with_correction"] == 1
    assert a["trouble_runs"] == 2 and a["trouble_rate"] == round(2 / 3, 4)
    assert a["signals"]["task_completed"] == {"reported": 2, "true": 1, "n": 2, "rate": 0.5}
    assert a["signals"]["time_to_accept_s"] == {"reported": 2, "mean": 20.0, "median": 20.0}
    assert b["negative_rate"] == 0.0
    by_version = compute_stats(records, by_version=True, labels={("a", "v2"): "v2"})
    assert [(r.agent, r.version, r.summary.runs) for r in by_version] == [
        ("a", "v2", 2), ("a", "v1", 1), ("b", None, 1)]


def test_repository_stats_label_versions(repo: InstructionRepo, sample_repo: Path) -> None:
    v1 = repo.load("support-agent").version
    repo.record_feedback(agent="support-agent", rating="down", version=v1, run_id="a")
    text = (sample_repo / "agents/support-agent.yaml").read_text()
    commit_file(sample_repo, "agents/support-agent.yaml", text.replace("Be polite", "Be kind"), "v2")
    v2 = repo.load("support-agent").version
    repo.record_feedback(agent="support-agent", rating="up", version=v2, run_id="b")
    rows = repo.feedback_stats("support-agent", by_version=True)
    assert [(r.label, r.summary.negative_rate) for r in rows] == [("v1", 1.0), ("v2", 0.0)]
