"""Ways into main a hostile model or a hurried person might try, each with the guard that
stops it (docs/safety.md): the server's pre-receive, the checkout's hooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.conftest import add_rule, make_proposal, out, run, weaken_safety

from .conftest import gi, ok, tip

BAD = "improve/product-writer/bad"
GOOD = "improve/product-writer/good"


@pytest.fixture
def server(sample_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A bare remote with the pre-receive hook, and a clone holding a forbidden and a valid
    proposal."""
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    ok(gi(bare, "hooks", "install", "--bare"))
    clone = tmp_path / "work"
    run(tmp_path, "clone", "-q", str(bare), str(clone))
    make_proposal(clone, "bad", weaken_safety)
    make_proposal(clone, "good", add_rule("Use short sentences."))
    return bare, clone


def test_replace_refs_pushed_first_do_not_disguise_a_proposal(server: tuple[Path, Path]) -> None:
    """`git replace BAD GOOD` pushed to the server must not make its hook judge GOOD while
    main receives BAD: gitimprove reads objects as they are, never through refs/replace."""
    bare, clone = server
    before = tip(bare)
    run(clone, "replace", tip(clone, BAD), tip(clone, GOOD))
    run(clone, "push", "-q", "origin", "refs/replace/*:refs/replace/*")
    proc = run(clone, "push", "origin", f"{BAD}:main", check=False)
    assert proc.returncode != 0 and "changes the protected section 'safety'" in proc.stderr
    assert tip(bare) == before


@pytest.mark.parametrize("message", ["--no-edit", "lowercase", "own"])
def test_a_squash_of_a_proposal_is_judged_as_the_proposal(hooked: Path, message: str) -> None:
    """`git merge --squash improve/...` then `git commit` makes a human-authored commit that
    quotes the model's message, indented: it is the proposal, judged as such."""
    repo = hooked
    make_proposal(repo, "bad", weaken_safety)
    before = tip(repo)
    run(repo, "merge", "--squash", BAD)
    if message == "--no-edit":
        proc = run(repo, "commit", "--no-edit", check=False)
    elif message == "lowercase":  # a hand-typed mention of the proposal, in another case
        proc = run(repo, "commit", "-m", "Take the model's safety wording\n\ngitimprove-proposal: bad",
                   check=False)
    else:  # a message of the person's own: git's SQUASH_MSG still names the proposal
        proc = run(repo, "commit", "-m", "Tidy the safety wording", check=False)
    assert proc.returncode != 0, proc.stdout
    assert "changes the protected section 'safety'" in proc.stderr
    assert tip(repo) == before


def test_a_squash_of_a_valid_proposal_passes(hooked: Path) -> None:
    repo = hooked
    make_proposal(repo, "good", add_rule("Use short sentences."))
    run(repo, "merge", "--squash", GOOD)
    run(repo, "commit", "-q", "-m", "Shorter sentences")
    assert "Use short sentences." in out(repo, "show", "main:agents/product-writer.yaml")


@pytest.mark.parametrize("how", [("branch", "-M", BAD, "main"), ("branch", "-D", "main"),
                                 ("update-ref", "-d", "refs/heads/main")])
def test_main_may_not_be_deleted_or_renamed_over(hooked: Path, how: tuple[str, ...]) -> None:
    """`git branch -M improve/x main` deletes main where the hook sees it, then renames the
    proposal branch into place where it does not: the deletion is refused."""
    repo = hooked
    make_proposal(repo, "bad", weaken_safety)
    before = tip(repo)
    run(repo, "checkout", "-q", "--detach")
    proc = run(repo, *how, check=False)
    assert proc.returncode != 0
    assert "refusing to delete main" in proc.stderr and "hooks uninstall" in proc.stderr
    assert tip(repo) == before


@pytest.mark.parametrize("how", [("pack-refs", "--all"), ("gc", "-q"), ("branch", "-m", "main", "trunk")])
def test_housekeeping_and_renaming_main_away_still_work(hooked: Path, how: tuple[str, ...]) -> None:
    """`git pack-refs` (every `git gc`) deletes main's loose copy once packed, naming its value;
    renaming main away names it too. Neither may be refused."""
    repo = hooked
    before = tip(repo)
    run(repo, *how)
    assert tip(repo, "trunk" if "trunk" in how else "main") == before
    if how[0] != "branch":
        run(repo, "commit", "--allow-empty", "-qm", "still committing on main")


def test_the_server_refuses_deleting_main_even_when_git_would_allow_it(
        server: tuple[Path, Path]) -> None:
    bare, clone = server
    run(bare, "config", "receive.denyDeleteCurrent", "false")
    before = tip(bare)
    proc = run(clone, "push", "origin", ":main", check=False)
    assert proc.returncode != 0 and "refusing to delete main" in proc.stderr
    assert tip(bare) == before


def test_a_cherry_pick_without_commit_then_an_own_message_is_the_proposal(hooked: Path) -> None:
    repo = hooked
    make_proposal(repo, "bad", weaken_safety)
    before = tip(repo)
    run(repo, "cherry-pick", "-n", BAD)
    proc = run(repo, "commit", "-m", "Tidy the safety wording", check=False)
    assert proc.returncode != 0 and "changes the protected section 'safety'" in proc.stderr
    assert tip(repo) == before


def test_an_abandoned_squash_does_not_make_the_next_commit_that_proposal(hooked: Path) -> None:
    """`git restore` after `git merge --squash` leaves git's SQUASH_MSG behind until the next
    commit. A person's next commit that touches none of the proposal's files is their own
    edit, not the proposal; one that does is still judged as the proposal."""
    repo = hooked
    make_proposal(repo, "bad", weaken_safety)
    run(repo, "merge", "--squash", BAD)
    run(repo, "restore", "--source=HEAD", "--staged", "--worktree", "--", ".")
    assert (repo / ".git" / "SQUASH_MSG").exists()
    other = repo / "agents" / "support-agent.yaml"
    other.write_text(other.read_text().replace("above 200 EUR", "above 150 EUR"))
    proc = run(repo, "commit", "-qam", "Escalate refunds from 150 EUR", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "above 150 EUR" in out(repo, "show", "main:agents/support-agent.yaml")
    # ... and a squash of it that touches the proposal's file is judged as the proposal
    run(repo, "merge", "--squash", BAD)
    before = tip(repo)
    proc = run(repo, "commit", "-m", "Tidy the safety wording", check=False)
    assert proc.returncode != 0 and "changes the protected section 'safety'" in proc.stderr
    # (recognised by its change: a squash carries the model's hunks, whatever git's files say)
    assert "its change under the name Test Reviewer" in proc.stderr
    assert tip(repo) == before


def test_a_person_s_commit_naming_a_proposal_loosely_needs_no_evaluation(hooked: Path) -> None:
    """Named without its record (no agent), a proposal has no evaluation to look for: the
    person's commit is judged by the validator alone, even when the policy requires one."""
    repo = hooked
    policy = (repo / "gitimprove.yaml").read_text().replace("required: false", "required: true")
    (repo / "gitimprove.yaml").write_text(policy)
    run(repo, "commit", "-qam", "Require evaluations")
    path = repo / "agents" / "product-writer.yaml"
    path.write_text(path.read_text().replace("Use British English spelling.",
                                             "Use British English spelling, always."))
    run(repo, "commit", "-qam", "Follow up\n\nGitimprove-Proposal: 20261126-abcdef\n(not copied)")
    assert "spelling, always" in out(repo, "show", "main:agents/product-writer.yaml")


def test_the_server_judges_the_candidate_of_a_pushed_trial_record(server: tuple[Path, Path]) -> None:
    """Every clone that fetches a trial record serves its candidate to a share of users: a
    hand-made record naming a candidate that weakens a protected section is refused, one made
    by `gitimprove trial start` goes through."""
    from datetime import UTC, datetime

    from gitimprove.git import Oid
    from gitimprove.ledger.trials import TrialStart, running_ref

    bare, clone = server
    path = "agents/product-writer.yaml"
    start = TrialStart(trial_id="t-forged", agent="product-writer", proposal="bad",
                       proposal_commit=Oid(tip(clone, BAD)), branch=f"refs/heads/{BAD}", share=0.2, unit="user",
                       candidate=Oid(out(clone, "rev-parse", f"{BAD}:{path}")),
                       live=Oid(out(clone, "rev-parse", f"main:{path}")),
                       started_by="Mallory <m@evil.example>", started_at=datetime.now(UTC))
    record = run(clone, "commit-tree", f"{BAD}^{{tree}}", "-p", BAD, input=start.message()).stdout.strip()
    run(clone, "update-ref", running_ref("product-writer"), record)
    proc = run(clone, "push", "origin", BAD, f"{running_ref('product-writer')}:"
               f"{running_ref('product-writer')}", "--atomic", check=False)
    assert proc.returncode != 0 and "fails the validator" in proc.stderr, proc.stderr
    assert run(bare, "rev-parse", "--verify", "-q", running_ref("product-writer"), check=False).returncode
    run(clone, "update-ref", "-d", running_ref("product-writer"))
    ok(gi(clone, "trial", "start", "good", "--share", "10%"))
    ok(gi(clone, "push", "--all"))
    assert tip(bare, running_ref("product-writer")) == tip(clone, running_ref("product-writer"))
