"""`gitimprove demo` end to end, through the installed command, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "gitimprove"


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, cwd=cwd,
                          env=os.environ.copy(), timeout=120)


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    proc = _run("demo", "--dir", str(target))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for step in range(1, 12):
        assert f"== {step}. " in out
    assert "imported 345 records" in out
    assert "proposed by the heuristic proposer (offline)" in out
    assert "refused: operation 1 (update_rule)" in out and "protected section 'safety'" in out
    assert "vs v1: negative" in out  # feedback by version after the approval
    assert "needs a model, and ANTHROPIC_API_KEY is not set. It would judge 3 runs to fix" in out


    # decisions: trip-planner's tool calls become a tool-usage proposal citing the pattern
    assert "tool_use web_search" in out and "runs that call web_search are rated down more" in out
    assert "reword rule 2 of 'tools': web_search: Use it for opening hours" in out
    assert "citing pat-" in out
    # a trial on simulated users, said plainly, compared and ended by the approval
    assert "SIMULATED users (not real feedback)" in out and "verdict: " in out
    assert "ends trial" in out
    assert f"Demo repository: {target}" in out
    assert "git log --graph --all --oneline" in out

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=target, capture_output=True, text=True,
                              check=True).stdout

    subjects = git("log", "--first-parent", "--format=%s", "main").splitlines()
    assert subjects[0].startswith("Roll back support-agent proposal")
    assert any(s.startswith("Approve product-writer proposal") for s in subjects)
    # Approvals are merge commits authored by the reviewer, over a commit authored by the proposer.
    merge = git("log", "--merges", "--format=%H", "-1", "--grep=Approve product-writer").strip()
    assert git("show", "-s", "--format=%an", f"{merge}^2").strip() == "gitimprove-heuristic"
    assert "Approved-by: Demo Reviewer <reviewer@example.com>" in git("show", "-s", "--format=%B", merge)
    assert git("status", "--porcelain") == ""
    audit = json.loads(_run("audit", "--json", cwd=target).stdout)
    kinds = sorted({e["kind"] for e in audit["events"]})
    # the sample's own history: the agents added, then a human edit of product-writer (v2)
    assert kinds == ["approved", "human_edit", "initialised", "proposed", "rolled_back",
                     "trial_start", "trial_stop"]
    history = json.loads(_run("history", "product-writer", "--json", cwd=target).stdout)
    assert history["versions"][0]["feedback"]["verdict"] == "better"
    # v1 and v2 got the sample feedback by its dates, marked inferred: nothing was stamped
    [v3, v2, v1] = history["versions"]
    assert v3["feedback"]["inferred_version"] == 0
    assert v2["feedback"]["inferred_version"] > 20 and v1["feedback"]["inferred_version"] > 20


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    proc = _run("demo", "--dir", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "not empty" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine\n"
