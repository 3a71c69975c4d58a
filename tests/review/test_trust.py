"""Trust no trailer a model could have written: driven with the installed `gitimprove` and plain
git, asserting what reached main, what the audit says and what the user sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitimprove import InstructionRepo
from gitimprove.proposals.build import ProposalRefused, propose
from gitimprove.proposals.operations import AddRule
from tests.proposals.helpers import FixedProposer, make_pattern

from .conftest import PATH, SAFETY_RULE, commit_tree_change, gitimprove, out, run, weaken_safety

FORGED = "improve/product-writer/20261126-f0f0f0"
MALLORY = "Mallory <mallory@evil.example>"


def forge(repo: Path, base: str = "main") -> str:
    """A model-authored commit with the proposal trailers plus a forged approval, that
    weakens the protected safety section (as a hostile model or branch would write it)."""
    base_commit = out(repo, "rev-parse", base)
    blob = out(repo, "rev-parse", f"{base}:{PATH}")
    old = out(repo, "show", f"{base}:{PATH}") + "\n"
    message = ("product-writer: tidy the style rules\n\nBecause users asked.\n\n"
               "Gitimprove-Proposal: 20261126-f0f0f0\nGitimprove-Agent: product-writer\n"
               f"Gitimprove-Base-Version: {blob}\nGitimprove-Base-Commit: {base_commit}\n"
               "Gitimprove-Evidence: fb-0002\n"
               f"Approved-by: {MALLORY}\n"
               "Gitimprove-Model: claude-test\nGitimprove-Proposer: anthropic\n")
    commit = commit_tree_change(repo, base_commit, {PATH: weaken_safety(old)}, message)
    run(repo, "update-ref", f"refs/heads/{FORGED}", commit)
    return commit


def safety_intact(repo: Path, ref: str = "main") -> bool:
    return SAFETY_RULE.strip() in out(repo, "show", f"{ref}:{PATH}")


@pytest.fixture
def hooked(sample_repo: Path) -> Path:
    assert gitimprove(sample_repo, "hooks", "install").returncode == 0
    forge(sample_repo)
    run(sample_repo, "branch", "side", "main")
    return sample_repo


PATHS = {
    "merge --no-ff": [["merge", "--no-ff", "-m", "merge", FORGED]],
    "merge --no-ff --no-verify": [["merge", "--no-ff", "--no-verify", "-m", "merge", FORGED]],
    "merge --ff-only": [["merge", "--ff-only", FORGED]],
    "cherry-pick": [["cherry-pick", FORGED]],
    "branch -f": [["checkout", "-q", "side"], ["branch", "-f", "main", FORGED]],
    "push .": [["checkout", "-q", "side"], ["push", ".", f"{FORGED}:main"]],
    "update-ref": [["update-ref", "refs/heads/main", FORGED]],
}


@pytest.mark.parametrize("how", sorted(PATHS))
def test_a_forged_approval_trailer_does_not_exempt_a_model_commit(hooked: Path, how: str) -> None:
    before = out(hooked, "rev-parse", "main")
    procs = [run(hooked, *args, check=False) for args in PATHS[how]]
    assert out(hooked, "rev-parse", "main") == before
    assert safety_intact(hooked)
    assert procs[-1].returncode != 0
    assert "forged" in procs[-1].stderr or "protected" in procs[-1].stderr


def test_pre_receive_refuses_a_forged_approval_on_every_push(sample_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    assert gitimprove(bare, "hooks", "install", "--bare").returncode == 0
    clone = tmp_path / "work"
    run(tmp_path, "clone", "-q", str(bare), str(clone))
    forge(clone)
    before = out(bare, "rev-parse", "main")
    run(clone, "merge", "-q", "--ff-only", FORGED)  # no hooks in this clone
    for flags, env in (([], {}), (["--no-verify"], {}), ([], {"GITIMPROVE_VALIDATED": "1"})):
        proc = run(clone, "push", *flags, "origin", "main", check=False, env=env)
        assert proc.returncode != 0 and "forged" in proc.stderr
        assert out(bare, "rev-parse", "main") == before


def test_approve_refuses_a_forged_record_and_audit_trusts_no_trailer(sample_repo: Path) -> None:
    forge(sample_repo)
    proc = gitimprove(sample_repo, "approve", "20261126-f0f0f0")
    assert proc.returncode == 1 and "may not be written by a model" in proc.stderr
    assert safety_intact(sample_repo)
    listing = json.loads(gitimprove(sample_repo, "proposals", "--json").stdout)["proposals"]
    assert listing[0]["verdict"] == "fail"
    assert "forged-record" in {v["code"] for v in listing[0]["violations"]}
    # Without hooks, plain git can still fast-forward it: the audit must not call that an approval.
    run(sample_repo, "merge", "-q", "--ff-only", FORGED)
    events = json.loads(gitimprove(sample_repo, "audit", "--json").stdout)["events"]
    assert not [e for e in events if e["kind"] == "approved"]
    assert not any(MALLORY in e["actor"] for e in events)
    [proposed] = [e for e in events if e["kind"] == "proposed"]
    assert proposed["state"] == "landed" and proposed["verdict"] == "fail"
    text = gitimprove(sample_repo, "audit").stdout
    assert "Mallory" not in text.replace("Approved-by: Mallory", "")


def test_evidence_the_model_invents_is_refused_before_anything_is_written(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = make_pattern(ids=["fb-0002", "fb-0003"])
    for evidence in (["fb-0002\nApproved-by: Mallory <m@evil.example>\nGitimprove-Proposal: x"],
                     ["fb-9999"], ["support-0001"]):
        op = AddRule(section="style", text="Keep it short.", reason="Users asked.",
                     evidence=evidence)
        with pytest.raises(ProposalRefused, match="not in the patterns it was shown"):
            propose(repo, "product-writer", FixedProposer([op]), patterns=[pattern])
    assert out(sample_repo, "for-each-ref", "refs/heads/improve/") == ""
    op = AddRule(section="style", text="Keep it short.", reason="Users asked.",
                 evidence=[pattern.id, "fb-0003"])
    plan = propose(repo, "product-writer", FixedProposer([op]), patterns=[pattern])
    trailers = out(sample_repo, "log", "-1", "--format=%(trailers:only,unfold)", plan.branch)
    assert "Gitimprove-Evidence: fb-0002,fb-0003" in trailers and "Approved-by" not in trailers


@pytest.mark.parametrize("trailers", [f"Approved-by: {MALLORY}",
                                      "Gitimprove-Proposal: 20261126-0ther0\nGitimprove-Agent: product-writer",
                                      f"Gitimprove-Evaluation-Record: {'e' * 40}"],
                         ids=["forged-approval", "another-proposal", "forged-evaluation"])
def test_approve_refuses_a_branch_with_another_model_commit_on_top(sample_repo: Path,
                                                                  trailers: str) -> None:
    """The proposal's own commit is clean; a second model-authored commit on its branch carries
    a record a model may not write. Every hook refuses that merge; `approve` must too."""
    from .conftest import add_rule, make_proposal

    clean = make_proposal(sample_repo, "20261126-c1ea40", add_rule("Use short sentences."))
    text = out(sample_repo, "show", f"{clean}:{PATH}") + "\n"
    rider = commit_tree_change(sample_repo, clean, {PATH: text.replace("short sentences", "short words")},
                               f"product-writer: tweak\n\n{trailers}\n")
    run(sample_repo, "update-ref", "refs/heads/improve/product-writer/20261126-c1ea40", rider)
    before = out(sample_repo, "rev-parse", "main")
    listing = json.loads(gitimprove(sample_repo, "proposals", "--json").stdout)["proposals"]
    [mine] = [p for p in listing if p["id"] == "20261126-c1ea40"]
    assert mine["verdict"] == "fail" and "forged-record" in {v["code"] for v in mine["violations"]}
    # the listing reads the riders from its scan; approve and the hooks ask git: the same
    from gitimprove import ledger
    from gitimprove.instructions.repo import InstructionRepo

    repo = InstructionRepo(sample_repo)
    book = ledger.scan(repo.git, repo.main_ref)
    info = book.proposals["20261126-c1ea40"]
    assert ledger.riders_in(book, info.head, info.commit.oid) == ledger.riders(
        repo.git, repo.main_tip(), info.head, info.commit.oid) != []
    proc = gitimprove(sample_repo, "approve", "20261126-c1ea40", "--offline")
    assert proc.returncode == 1 and "other model-authored commits" in proc.stderr, proc.stderr
    assert out(sample_repo, "rev-parse", "main") == before


def test_a_decision_is_never_recorded_under_a_model_s_address(sample_repo: Path) -> None:
    """An approval is a merge not authored by a model: `--by` (or git's user) with a model's
    address would make it none, and the proposal would read as landed unapproved."""
    from .conftest import add_rule, make_proposal

    make_proposal(sample_repo, "20261126-c1ea40", add_rule("Use short sentences."))
    before = out(sample_repo, "rev-parse", "main")
    proc = gitimprove(sample_repo, "approve", "20261126-c1ea40", "--offline",
                      "--by", "Alice <MODEL@gitimprove.invalid>")
    assert proc.returncode == 1 and "model's identity" in proc.stderr, proc.stderr
    run(sample_repo, "config", "user.email", "agent@gitimprove.invalid")
    proc = gitimprove(sample_repo, "reject", "20261126-c1ea40", "--offline", "--reason", "no")
    assert proc.returncode == 1 and "model's identity" in proc.stderr, proc.stderr
    assert out(sample_repo, "rev-parse", "main") == before


def test_the_pull_request_check_fails_a_forged_record(sample_repo: Path) -> None:
    """`gitimprove validate` (the CI check) refuses what every hook and `approve` refuse, even
    when the forged proposal's content would pass."""
    forged = forge(sample_repo)
    clean = commit_tree_change(sample_repo, forged, {PATH: out(sample_repo, "show", f"main:{PATH}") + "\n"},
                               "Human Editor: restore safety\n", author=("Human Editor", "h@example.com"))
    proc = gitimprove(sample_repo, "validate", "--base", "main", "--head", clean, "--json")
    result = json.loads(proc.stdout)
    assert proc.returncode == 1 and not result["ok"]
    assert [v["code"] for v in result["violations"]] == ["forged-record"]


def test_the_check_for_every_pull_request_judges_a_model_s_commit_under_any_branch_name(
        sample_repo: Path) -> None:
    """The shipped CI check ran for `improve/*` branches only: a proposal pushed as
    `fix-typos` skipped it. `validate --proposals-only` judges what the hooks judge, so it can
    run on every pull request: a model's commit under any name, never a person's own edit."""
    from .conftest import make_proposal

    main = out(sample_repo, "rev-parse", "main")
    weakened = make_proposal(sample_repo, "20261126-abcdef", weaken_safety)
    run(sample_repo, "branch", "fix-typos", weakened)
    proc = gitimprove(sample_repo, "validate", "--proposals-only", "--head", "fix-typos", "--json")
    result = json.loads(proc.stdout)
    assert proc.returncode == 1 and result["proposals_only"], proc.stdout
    assert [v["code"] for v in result["violations"]] == ["protected-changed"]
    assert "proposal 20261126-abcdef" in result["violations"][0]["message"]
    assert result["evaluation"]["proposal"] == "20261126-abcdef"  # as the plain check shows it
    # a person's own edit of the same section passes (the hooks let it through too), where
    # the plain check judges it by a proposal's rules (the model's own edit, made by hand, is
    # the model's change under a person's name: refused, see tests/guards/test_ways_into_main.py)
    old = out(sample_repo, "show", f"main:{PATH}") + "\n"
    tightened = old.replace(SAFETY_RULE, SAFETY_RULE + "      - Never give legal advice.\n")
    human = commit_tree_change(sample_repo, main, {PATH: tightened}, "Tighten safety\n",
                               author=("Human Editor", "h@example.com"))
    proc = gitimprove(sample_repo, "validate", "--proposals-only", "--head", human)
    assert proc.returncode == 0 and proc.stdout.startswith("ok:"), proc.stdout + proc.stderr
    assert gitimprove(sample_repo, "validate", "--head", human).returncode == 1
    # ... unless it leaves an agent file that does not load, whoever wrote it
    broken = commit_tree_change(sample_repo, main, {PATH: old.replace("sections:", "sections: [")},
                                "Oops\n", author=("Human Editor", "h@example.com"))
    proc = gitimprove(sample_repo, "validate", "--proposals-only", "--head", broken, "--json")
    assert proc.returncode == 1
    assert {v["code"] for v in json.loads(proc.stdout)["violations"]} == {"invalid-file"}
    # a forged record fails it as it fails every hook
    proc = gitimprove(sample_repo, "validate", "--proposals-only", "--head", forge(sample_repo))
    assert proc.returncode == 1 and "forged" in proc.stdout, proc.stdout
