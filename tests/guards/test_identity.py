"""A model's proposal commit rewritten under the approver's name (`git commit --amend`, `git
commit-tree` with GIT_AUTHOR_*/GIT_COMMITTER_*), with and without its trailers, pushed through
every way into main: it is judged as the proposal whoever it claims to be, and nothing records
it as approved (docs/safety.md, "What an identity proves")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.review.conftest import (
    PATH,
    SAFETY_RULE,
    add_rule,
    commit_tree_change,
    make_proposal,
    out,
    run,
    weaken_safety,
)

from .conftest import gi, ok, tip

APPROVER = ("Test Reviewer", "reviewer@example.com")  # the hermetic git identity: the approver
BAD = "improve/product-writer/bad"
GOOD = "improve/product-writer/good"


def rewrite(repo: Path, commit: str, *, author: bool, trailers: bool, approved: bool = False,
            parent: str | None = None) -> str:
    """``commit`` written again (as `git commit --amend` would) with the approver as its
    committer, and as its author too when ``author``; its proposal trailers kept or dropped;
    an ``Approved-by:`` naming the approver added when ``approved``."""
    message = out(repo, "log", "-1", "--format=%B", commit) + "\n"
    if not trailers:
        message = message.split("\n\nGitimprove-Proposal:")[0] + "\n"
    if approved:
        message = message.rstrip("\n") + f"\n\nApproved-by: {APPROVER[0]} <{APPROVER[1]}>\n"
    name, email = (APPROVER if author else
                   tuple(out(repo, "log", "-1", "--format=%an%n%ae", commit).split("\n")))
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": APPROVER[0], "GIT_COMMITTER_EMAIL": APPROVER[1]}
    return run(repo, "commit-tree", f"{commit}^{{tree}}", "-p", parent or f"{commit}^",
               input=message, env=env).stdout.strip()


VARIANTS = {
    "committer": {"author": False, "trailers": True},
    "author, trailers kept": {"author": True, "trailers": True},
    "author, trailers dropped": {"author": True, "trailers": False},
    "author, Approved-by instead of trailers": {"author": True, "trailers": False,
                                                 "approved": True},
}
DOORS = ("merge --no-ff", "merge --no-ff --no-verify", "merge --ff-only", "pre-receive",
         "pull-request check")


def safety_intact(repo: Path, ref: str = "main") -> bool:
    return SAFETY_RULE.strip() in out(repo, "show", f"{ref}:{PATH}")


def through(door: str, repo: Path, branch: str, tmp_path: Path) -> tuple[bool, str]:
    """``branch`` taken into main by ``door``: (whether main moved, what git or the check said).
    The proposal branches are on the server before (as `gitimprove push` puts them)."""
    if door == "pull-request check":
        proc = gi(repo, "validate", "--base", "main", "--head", branch)
        return proc.returncode == 0, proc.stdout + proc.stderr
    if door == "pre-receive":
        bare = tmp_path / "server.git"
        run(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
        ok(gi(bare, "hooks", "install", "--bare"))
        before = tip(bare)
        proc = run(repo, "push", "--no-verify", str(bare), f"{branch}:main", check=False)
        return tip(bare) != before, proc.stderr
    ok(gi(repo, "hooks", "install"))
    before = tip(repo)
    flags = {"merge --no-ff": ["--no-ff", "-m", "merge"],
             "merge --no-ff --no-verify": ["--no-ff", "--no-verify", "-m", "merge"],
             "merge --ff-only": ["--ff-only"]}[door]
    proc = run(repo, "merge", *flags, branch, check=False)
    moved = tip(repo) != before
    if not moved:
        run(repo, "reset", "-q", "--hard")
    return moved, proc.stderr


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_proposal_rewritten_under_the_approver_s_name_is_still_judged(
        sample_repo: Path, tmp_path: Path, variant: str, door: str) -> None:
    repo = sample_repo
    bad = make_proposal(repo, "bad", weaken_safety)
    run(repo, "branch", "amended", rewrite(repo, bad, **VARIANTS[variant]))  # type: ignore[arg-type]
    moved, said = through(door, repo, "amended", tmp_path)
    assert not moved and safety_intact(repo), said
    assert "changes the protected section 'safety'" in said
    assert "Traceback" not in said


@pytest.mark.parametrize("door", DOORS)
def test_a_reviewer_s_commit_on_a_valid_proposal_is_judged_with_it(
        sample_repo: Path, tmp_path: Path, door: str) -> None:
    """The model's bad change rewritten as a reviewer's commit on top of a valid proposal:
    merging the branch would record it as part of the approval, so every door judges the
    branch being merged, as `approve` does, whoever wrote each commit."""
    repo = sample_repo
    make_proposal(repo, "good", add_rule("Use short sentences."))
    bad = make_proposal(repo, "bad", weaken_safety)
    run(repo, "branch", "-f", GOOD, rewrite(repo, bad, author=True, trailers=False, parent=GOOD))
    moved, said = through(door, repo, GOOD, tmp_path)
    assert not moved and safety_intact(repo), said
    assert "changes the protected section 'safety'" in said
    # The same, written as the reviewer's own edit (no model commit holds it): `approve`
    # refuses the branch, and so does every other door now.
    run(repo, "branch", "-D", BAD)
    run(repo, "branch", "-f", GOOD, f"{GOOD}~1")
    edited = commit_tree_change(repo, GOOD, {PATH: weaken_safety(out(repo, "show", f"{GOOD}:{PATH}")
                                                                 + "\n")},
                                "Reword the safety rule\n", author=APPROVER)
    run(repo, "branch", "-f", GOOD, edited)
    proc = gi(repo, "approve", "good")
    assert proc.returncode == 1 and "changes the protected section 'safety'" in proc.stderr
    if door != "pre-receive":  # the server of `through` is made once per test
        moved, said = through(door, repo, GOOD, tmp_path)
        assert not moved and safety_intact(repo), said


def test_approve_finds_no_proposal_in_a_rewritten_commit(sample_repo: Path) -> None:
    """Rewritten in place on its branch, the commit is no proposal for `approve`; the model's
    commit, where it is still held, is refused by the validator as before."""
    repo = sample_repo
    bad = make_proposal(repo, "bad", weaken_safety)
    run(repo, "branch", "-f", BAD, rewrite(repo, bad, author=True, trailers=True, approved=True))
    proc = gi(repo, "approve", "bad")
    assert proc.returncode == 1 and "no proposal 'bad'" in proc.stderr
    run(repo, "branch", "-f", BAD, bad)
    proc = gi(repo, "approve", "bad")
    assert proc.returncode == 1 and "changes the protected section 'safety'" in proc.stderr
    assert safety_intact(repo)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_valid_rewritten_proposal_passes_and_is_never_recorded_as_approved(
        sample_repo: Path, variant: str) -> None:
    """Nothing is refused that the validator passes; but what the ledger records as approved
    is a merge that brings the model's own commit, never a name on another one."""
    repo = sample_repo
    good = make_proposal(repo, "good", add_rule("Use short sentences."))
    ok(gi(repo, "hooks", "install"))
    run(repo, "branch", "amended", rewrite(repo, good, **VARIANTS[variant]))  # type: ignore[arg-type]
    run(repo, "merge", "-q", "--no-ff", "-m", "Take the shorter sentences", "amended")
    assert "Use short sentences." in out(repo, "show", f"main:{PATH}")
    events = json.loads(ok(gi(repo, "audit", "--json")).stdout)["events"]
    approved = [e for e in events if e["kind"] == "approved"]
    assert approved == [] if variant != "committer" else len(approved) == 1


def test_a_person_s_own_protected_edit_is_still_theirs(hooked: Path) -> None:
    """The limit, as documented: a change no model commit here holds is a person's edit."""
    repo = hooked
    make_proposal(repo, "bad", weaken_safety)
    text = out(repo, "show", f"main:{PATH}") + "\n"
    mine = text.replace(SAFETY_RULE, "      - Never make medical, legal or health claims.\n")
    commit = commit_tree_change(repo, "main", {PATH: mine}, "Widen the safety rule\n",
                                author=APPROVER)
    proc = run(repo, "merge", "--ff-only", commit, check=False)
    assert proc.returncode == 0, proc.stderr


def test_a_rewritten_hunk_full_of_regular_expression_characters_is_still_found(
        hooked: Path) -> None:
    """git is asked for the proposal commits with one of the lines (`git log -G`): a line
    with every character special to a regular expression must still find its own."""
    repo = hooked
    odd = "      - Health claims (all) are fine [if asked]: ^a.b$ | c*d+e? {2} \\\\ ok.\n"
    bad = make_proposal(repo, "odd", lambda text: text.replace(SAFETY_RULE, odd))
    run(repo, "branch", "amended", rewrite(repo, bad, author=True, trailers=False))
    proc = run(repo, "merge", "--ff-only", "amended", check=False)
    assert proc.returncode != 0 and "its change under the name Test Reviewer" in proc.stderr
    assert safety_intact(repo)


def test_the_server_finds_the_model_s_commit_pushed_with_its_rewrite(
        sample_repo: Path, tmp_path: Path) -> None:
    """The model's commit arriving on its branch in the same push as its rewrite onto main
    (the server never had it before) is looked in too."""
    repo = sample_repo
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    ok(gi(bare, "hooks", "install", "--bare"))
    bad = make_proposal(repo, "bad", weaken_safety)
    run(repo, "branch", "amended", rewrite(repo, bad, author=True, trailers=False))
    before = tip(bare)
    proc = run(repo, "push", str(bare), BAD, "amended:main", check=False)
    assert proc.returncode != 0 and "its change under the name Test Reviewer" in proc.stderr
    assert tip(bare) == before


def test_a_rewrite_that_also_changes_a_long_file_in_thousands_of_places_is_judged(
        hooked: Path) -> None:
    """The hunks of a person's commit are asked for as one regular expression per `git log`:
    a commit that also rewrites a long file at 3,000 places would make an argument longer
    than the system takes, and the hook failed instead of judging it."""
    repo = hooked
    bad = make_proposal(repo, "bad", weaken_safety)
    lines = [f"note {n}: " + "the reviewers keep this long line of text for later " * 2
             for n in range(6000)]
    base = commit_tree_change(repo, "main", {"notes.md": "\n".join(lines) + "\n"},
                              "Keep the notes\n", author=APPROVER)
    ok_merge = run(repo, "merge", "--ff-only", base, check=False)
    assert ok_merge.returncode == 0, ok_merge.stderr
    edited = [line + " (checked)" if n % 2 == 0 else line for n, line in enumerate(lines)]
    forged = commit_tree_change(repo, base, {PATH: out(repo, "show", f"{bad}:{PATH}") + "\n",
                                             "notes.md": "\n".join(edited) + "\n"},
                                "Tidy the notes\n", author=APPROVER)
    proc = run(repo, "merge", "--ff-only", forged, check=False)
    assert proc.returncode != 0 and "its change under the name Test Reviewer" in proc.stderr, \
        proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert safety_intact(repo)
    mine = commit_tree_change(repo, base, {"notes.md": "\n".join(edited) + "\n"},
                              "Tidy the notes\n", author=APPROVER)
    proc = run(repo, "merge", "--ff-only", mine, check=False)  # a person's own: it passes
    assert proc.returncode == 0, proc.stderr[-2000:]
