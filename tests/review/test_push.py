"""Pushing proposals for pull-request review, and validating against a remote-tracking base."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from gitimprove import InstructionRepo
from gitimprove.review.actions import reject

from .conftest import add_rule, commit_tree_change, make_proposal, out, run, weaken_safety

ROOT = Path(__file__).resolve().parents[2]


def gitimprove(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitimprove", *args], cwd=cwd,
                          capture_output=True, text=True)


def setup_remote(sample_repo: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "server.git"
    run(tmp_path, "init", "-q", "--bare", str(bare))
    run(sample_repo, "remote", "add", "origin", str(bare))
    run(sample_repo, "push", "-q", "origin", "main")
    return bare


def test_push_one_proposal_then_all_with_the_audit_refs(sample_repo: Path, tmp_path: Path) -> None:
    bare = setup_remote(sample_repo, tmp_path)
    p1 = make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    make_proposal(sample_repo, "p2", add_rule("Mention the warranty."))
    proc = gitimprove(sample_repo, "push", "p1")
    assert proc.returncode == 0, proc.stderr
    assert out(bare, "rev-parse", "improve/product-writer/p1") == p1
    assert run(bare, "rev-parse", "--verify", "improve/product-writer/p2", check=False).returncode
    reject(InstructionRepo(sample_repo), "p2", reason="no")
    proc = gitimprove(sample_repo, "push", "--all")
    assert proc.returncode == 0, proc.stderr
    assert "git fetch origin 'refs/gitimprove/*:refs/gitimprove/*'" in proc.stdout
    record = out(sample_repo, "rev-parse", "refs/gitimprove/rejected/product-writer/p2")
    assert out(bare, "rev-parse", "refs/gitimprove/rejected/product-writer/p2") == record
    # A teammate fetches the audit trail with the documented refspec.
    mate = tmp_path / "mate"
    run(tmp_path, "clone", "-q", str(bare), str(mate))
    run(mate, "fetch", "-q", "origin", "refs/gitimprove/*:refs/gitimprove/*")
    assert out(mate, "rev-parse", "refs/gitimprove/rejected/product-writer/p2") == record


def test_push_errors_are_clear(sample_repo: Path) -> None:
    proc = gitimprove(sample_repo, "push")
    assert proc.returncode == 1 and "name a proposal, or pass --all" in proc.stderr
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    proc = gitimprove(sample_repo, "push", "p1", "--remote", "nowhere")
    assert proc.returncode == 1 and "no remote named 'nowhere'" in proc.stderr


def test_validate_against_a_remote_tracking_base(sample_repo: Path, tmp_path: Path) -> None:
    setup_remote(sample_repo, tmp_path)
    run(sample_repo, "fetch", "-q", "origin")
    make_proposal(sample_repo, "good", add_rule("Use short sentences."))
    make_proposal(sample_repo, "bad", weaken_safety)
    ok = gitimprove(sample_repo, "validate", "--base", "origin/main",
                    "--head", "improve/product-writer/good")
    assert ok.returncode == 0, ok.stderr
    bad = gitimprove(sample_repo, "validate", "--base", "origin/main",
                     "--head", "improve/product-writer/bad", "--json")
    assert bad.returncode == 1
    assert '"protected-changed"' in bad.stdout


def test_the_example_ci_workflow_runs_validate_from_the_base_branch(
        sample_repo: Path, tmp_path: Path) -> None:
    path = ROOT / "docs" / "examples" / "github-actions-validate.yml"
    workflow = yaml.safe_load(path.read_text())
    assert "pull_request" in (workflow.get(True) or workflow.get("on"))
    job = workflow["jobs"]["validate"]
    assert "if" not in job  # every pull request: a proposal may come under any branch name
    step = job["steps"][-1]
    assert "gitimprove validate --proposals-only --base" in step["run"]
    # Run the step's script as CI would: a detached checkout of the PR head, no local main.
    bare = setup_remote(sample_repo, tmp_path)
    make_proposal(sample_repo, "good", add_rule("Use short sentences."))
    bad = make_proposal(sample_repo, "bad", weaken_safety)
    gitimprove(sample_repo, "push", "--all")
    # the bad proposal again as 'fix-typos', and a person's own edit of the safety section
    old = out(sample_repo, "show", "main:agents/product-writer.yaml") + "\n"
    human = commit_tree_change(sample_repo, "main", {"agents/product-writer.yaml": old.replace(
        "      - Never make medical or health claims.\n",
        "      - Never make medical or health claims.\n      - Never give legal advice.\n")},
        "Safety: no legal advice\n", author=("Human Editor", "h@example.com"))
    run(sample_repo, "push", "-q", str(bare), f"{bad}:refs/heads/fix-typos",
        f"{human}:refs/heads/legal")
    codes = {}
    for pid, branch in (("good", "improve/product-writer/good"), ("bad", "improve/product-writer/bad"),
                        ("renamed", "fix-typos"), ("human", "legal")):
        ci = tmp_path / f"ci-{pid}"
        head = out(bare, "rev-parse", branch)
        run(tmp_path, "clone", "-q", "--no-checkout", str(bare), str(ci))
        run(ci, "checkout", "-q", "--detach", head)
        run(ci, "branch", "-D", "main")
        env = {**os.environ, "BASE_REF": "main", "HEAD_SHA": head,
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ci, env=env,
                              capture_output=True, text=True)
        codes[pid] = proc.returncode
        if pid in ("bad", "renamed"):
            assert "protected section 'safety'" in proc.stdout
    assert codes == {"good": 0, "bad": 1, "renamed": 1, "human": 0}


def test_propose_push_sends_the_new_branch(sample_repo: Path, tmp_path: Path) -> None:
    bare = setup_remote(sample_repo, tmp_path)
    assert gitimprove(sample_repo, "feedback", "import", "feedback.jsonl").returncode == 0
    proc = gitimprove(sample_repo, "propose", "support-agent", "--proposer", "heuristic", "--push")
    assert proc.returncode == 0, proc.stderr
    assert "pushed to origin: open a pull request from improve/support-agent/" in proc.stdout
    local = out(sample_repo, "for-each-ref", "--format=%(refname) %(objectname)",
                "refs/heads/improve/support-agent/")
    remote = out(bare, "for-each-ref", "--format=%(refname) %(objectname)",
                 "refs/heads/improve/support-agent/")
    assert local and local == remote
    # A dry run pushes nothing.
    proc = gitimprove(sample_repo, "propose", "research-assistant", "--proposer", "heuristic",
                      "--dry-run", "--push")
    assert proc.returncode == 0, proc.stderr
    assert out(bare, "for-each-ref", "refs/heads/improve/research-assistant/") == ""
