"""A reviewer's ordinary habit: adding a commit to a proposal branch before approving it.
Driven with the installed `gitimprove` and plain git in a real checkout."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import PATH, add_rule, make_proposal, ok, out, run

BRANCH = "improve/product-writer/p1"


def reviewer_drops_a_rule(repo: Path) -> str:
    """The model adds two rules; a reviewer checks the branch out, drops one and commits."""
    model = make_proposal(repo, "p1", lambda t: add_rule("Mention the warranty.")(
        add_rule("Use exclamation marks!")(t)))
    run(repo, "checkout", "-q", BRANCH)
    path = repo / PATH
    path.write_text(path.read_text().replace("      - Use exclamation marks!\n", ""))
    run(repo, "commit", "-q", "-am", "Drop the exclamation-mark rule",
        "--author", "Rita Reviewer <rita@example.com>")
    run(repo, "checkout", "-q", "main")
    return model


def test_a_reviewers_commit_on_a_proposal_branch(sample_repo: Path) -> None:
    model = reviewer_drops_a_rule(sample_repo)
    edit = out(sample_repo, "rev-parse", BRANCH)
    listing = ok(sample_repo, "proposals")
    assert listing.splitlines()[1].split()[:3] == ["p1", "open", "product-writer"]
    assert "edited by Rita Reviewer" in listing
    assert listing.splitlines()[1].endswith(  # the verdicts apart, not run together
        "valid, edited by Rita Reviewer <rita@example.com>, not evaluated"), listing
    review = ok(sample_repo, "review", "p1")
    assert "The model's change:" in review and "+      - Use exclamation marks!" in review
    assert f"{edit[:10]} by Rita Reviewer <rita@example.com>: Drop the exclamation-mark rule" in review
    data = json.loads(ok(sample_repo, "review", "p1", "--json"))
    assert (data["commit"], data["head"], data["verdict"]) == (model, edit, "pass")
    assert [e["author"] for e in data["edits"]] == ["Rita Reviewer <rita@example.com>"]
    approved = ok(sample_repo, "approve", "p1")
    assert "Approved p1" in approved
    text = out(sample_repo, "show", f"main:{PATH}")
    assert "Mention the warranty." in text and "exclamation" not in text
    assert out(sample_repo, "rev-parse", "main^2") == edit
    events = json.loads(ok(sample_repo, "audit", "--json"))["events"]
    kinds = {e["kind"]: e for e in events if e.get("proposal") == "p1"}
    assert set(kinds) == {"proposed", "approved"}
    assert kinds["proposed"]["commit"] == model and kinds["proposed"]["state"] == "approved"
    assert kinds["approved"]["edited_by"] == ["Rita Reviewer <rita@example.com>"]
    assert "edited by Rita Reviewer <rita@example.com>" in ok(sample_repo, "audit")
    assert ok(sample_repo, "proposals", "--all").splitlines()[1].split()[:2] == ["p1", "approved"]
    ok(sample_repo, "rollback", "p1")
    assert "Mention the warranty." not in out(sample_repo, "show", f"main:{PATH}")
    assert ok(sample_repo, "proposals", "--all").splitlines()[1].split()[:2] == ["p1", "rolled_back"]


def test_a_plain_git_merge_of_an_edited_branch_is_its_approval(sample_repo: Path) -> None:
    reviewer_drops_a_rule(sample_repo)
    run(sample_repo, "merge", "-q", "--no-ff", "-m", "Merge the warranty rule", BRANCH)
    rows = json.loads(ok(sample_repo, "proposals", "--all", "--json"))["proposals"]
    assert [(r["id"], r["state"]) for r in rows] == [("p1", "approved")]
    assert rows[0]["approved_by"].endswith("(merged with plain git)")
    events = json.loads(ok(sample_repo, "audit", "--json"))["events"]
    [approval] = [e for e in events if e["kind"] == "approved"]
    assert approval["proposal"] == "p1" and approval["edited_by"] == ["Rita Reviewer <rita@example.com>"]
    ok(sample_repo, "rollback", "p1")
    assert "Mention the warranty." not in out(sample_repo, "show", f"main:{PATH}")
