"""``reject`` is one ref transaction; a rejection interrupted by a kill is finished, never undone."""

from __future__ import annotations

import json
from pathlib import Path

from tests.review.conftest import add_rule, make_proposal, out, run

from .conftest import gi, ok, refused, tip

BRANCH = "refs/heads/improve/product-writer/p1"
RECORD = "refs/gitimprove/rejected/product-writer/p1"


def half_rejected(repo: Path) -> str:
    """What a kill between the two ref updates of the old ``reject`` left: both refs."""
    commit = make_proposal(repo, "p1", add_rule("Use short sentences."))
    tree = out(repo, "rev-parse", f"{commit}^{{tree}}")
    record = run(repo, "commit-tree", tree, "-p", commit, input=(
        "Reject product-writer proposal p1\n\ntoo vague\n\nGitimprove-Proposal: p1\n"
        "Gitimprove-Agent: product-writer\nGitimprove-Rejected: too vague\n"
        "Rejected-by: Test Reviewer <reviewer@example.com>\n")).stdout.strip()
    run(repo, "update-ref", RECORD, record)
    return commit


def test_reject_moves_both_refs_in_one_transaction(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    ok(gi(sample_repo, "reject", "p1", "--reason", "too vague"))
    assert run(sample_repo, "show-ref", "--verify", "--quiet", BRANCH, check=False).returncode != 0
    assert out(sample_repo, "log", "-1", "--format=%s", RECORD).startswith("Reject")


def test_a_half_done_rejection_counts_as_rejected_and_is_finished(sample_repo: Path) -> None:
    repo = sample_repo
    half_rejected(repo)
    listed = json.loads(ok(gi(repo, "proposals", "--all", "--json")).stdout)["proposals"]
    states = [(p["id"], p["state"]) for p in listed if p["id"] == "p1"]
    assert states == [("p1", "rejected")], "listed once, as rejected, never also open"
    before = tip(repo)
    err = refused(gi(repo, "approve", "p1"))
    assert "rejected" in err and tip(repo) == before, "a rejected proposal is never approved"
    record = out(repo, "rev-parse", RECORD)
    said = ok(gi(repo, "reject", "p1", "--reason", "again")).stdout
    assert "Finished the rejection of p1" in said and "deleted improve/product-writer/p1" in said
    assert run(repo, "rev-parse", "--verify", BRANCH, check=False).returncode != 0
    assert out(repo, "rev-parse", RECORD) == record, "the first record stands, with its reason"
    assert "is rejected, not open" in refused(gi(repo, "reject", "p1", "--reason", "again"))
    audit = ok(gi(repo, "audit")).stdout
    assert "rejected" in audit and "approved" not in audit.replace("Approved-by", "")


def test_a_leftover_branch_with_new_commits_is_kept_and_the_command_named(sample_repo: Path) -> None:
    repo = sample_repo
    commit = half_rejected(repo)
    # A reviewer committed on the branch after the rejection was recorded: that is their work.
    human = run(repo, "commit-tree", out(repo, "rev-parse", f"{commit}^{{tree}}"), "-p", commit,
                input="Reviewer's note\n").stdout.strip()
    run(repo, "update-ref", BRANCH, human, commit)
    err = refused(gi(repo, "reject", "p1", "--reason", "again"))
    assert "git branch -D improve/product-writer/p1" in err, err
    assert out(repo, "rev-parse", BRANCH) == human, "nothing deleted that the record did not see"
