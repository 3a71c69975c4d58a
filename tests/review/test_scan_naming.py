"""`ledger.scan_naming` (what the pre-receive duplicate check reads): main's line from where
the proposals naming some feedback meet it, and the refs that reach them. Of those proposals
it must say exactly what the whole scan says, in every state a proposal can be in."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitimprove import InstructionRepo, ledger
from gitimprove.git import ZERO_OID
from gitimprove.review.actions import approve, reject, rollback
from gitimprove.review.hooks import clashes, duplicate_proposals

from .conftest import PATH, add_rule, commit_tree_change, human_commit, make_proposal, out, run

BY = "Rev Iewer <rev@example.com>"
NAMES = [f"fb-{n}" for n in range(1, 10)] + ["p1", "p3", "p5", "p9", "nothing-names-me"]


def _log(repo: Path, n: int) -> None:
    human_commit(repo, {"log.txt": f"entry {n}\n"}, f"Log entry {n}")


@pytest.fixture
def history(sample_repo: Path) -> Path:
    """Proposals in every state, main moving between them (no hooks: plain git lands some)."""
    repo = sample_repo
    gi_repo = InstructionRepo(repo)
    _log(repo, 1)
    make_proposal(repo, "p9", add_rule("Be warm."), evidence="fb-9")  # based on an old main
    make_proposal(repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    approve(gi_repo, "p1", by=BY)
    _log(repo, 2)
    make_proposal(repo, "p2", add_rule("Be kind."), evidence="fb-2,fb-1")
    reject(gi_repo, "p2", reason="no", by=BY)
    make_proposal(repo, "p3", add_rule("Name the size."), evidence="fb-1,fb-3")
    make_proposal(repo, "p4", add_rule("Say thanks."), evidence="fb-4")
    approve(gi_repo, "p4", by=BY)
    _log(repo, 3)
    rollback(gi_repo, "p4", reason="worse", by=BY)
    make_proposal(repo, "p5", add_rule("Avoid jargon."), evidence="fb-5")
    run(repo, "merge", "-q", "--squash", "improve/product-writer/p5")
    run(repo, "commit", "-q", "--no-edit")
    make_proposal(repo, "p6", add_rule("Use lists."), evidence="fb-6")
    run(repo, "merge", "-q", "--ff-only", "improve/product-writer/p6")
    p8 = make_proposal(repo, "p8", add_rule("Cite sources."), evidence="fb-8")
    edited = commit_tree_change(repo, p8, {PATH: out(repo, "show", f"{p8}:{PATH}").replace(
        "Cite sources.", "Cite your sources.") + "\n"}, "Reword\n",
                                author=("Human Editor", "human@example.com"))
    run(repo, "update-ref", "refs/heads/improve/product-writer/p8", edited)
    _log(repo, 4)
    run(repo, "reset", "-q", "--hard")
    return repo


def _about(book: ledger.Ledger, name: str) -> set[ledger.Summary]:
    return {s for s in book.summaries() if name in s.evidence or s.id == name}


@pytest.mark.parametrize("name", NAMES)
def test_it_says_what_the_whole_scan_says(history: Path, name: str) -> None:
    repo = InstructionRepo(history)
    whole = ledger.scan(repo.git, repo.main_ref, kept=False)
    part = ledger.scan_naming(repo.git, repo.main_ref, [name])
    assert part.since is not None  # read from where they meet main, not whole
    assert _about(part, name) == _about(whole, name)
    assert set(part.summaries()) <= set(whole.summaries())
    assert len(part.refs) < len(whole.refs) or name == "nothing-names-me" or not part.refs


def test_the_states_it_reads(history: Path) -> None:
    repo = InstructionRepo(history)
    states = {s.id: s.state for n in NAMES
              for s in ledger.scan_naming(repo.git, repo.main_ref, [n]).summaries()}
    assert states == {"p1": "approved", "p2": "rejected", "p3": "open", "p4": "rolled_back",
                      "p5": "landed", "p6": "landed", "p8": "open", "p9": "open"}


def test_a_meeting_point_off_main_s_line_reads_the_whole_line(history: Path) -> None:
    """A person's branch naming the feedback, merged: where it meets main is not on main's
    first-parent line, so the line is read whole."""
    repo = history
    side = human_commit(repo, {"notes.txt": "about fb-3\n"}, "Note on fb-3",
                        ref="refs/heads/notes")
    run(repo, "merge", "-q", "--no-ff", "-m", "Merge notes", "notes")
    gi_repo = InstructionRepo(repo)
    whole = ledger.scan(gi_repo.git, gi_repo.main_ref, kept=False)
    part = ledger.scan_naming(gi_repo.git, gi_repo.main_ref, ["fb-3"])
    assert _about(part, "fb-3") == _about(whole, "fb-3") and side


@pytest.mark.parametrize("cited", ["fb-1", "fb-2", "fb-3", "fb-4", "fb-5", "fb-6", "fb-8",
                                   "fb-9", "fb-new"])
def test_the_duplicate_check_answers_as_with_the_whole_scan(history: Path, cited: str) -> None:
    repo = InstructionRepo(history)
    pushed = make_proposal(history, "pushed", add_rule("Be exact."), evidence=cited)
    run(history, "update-ref", "-d", "refs/heads/improve/product-writer/pushed")
    ref = "refs/heads/improve/product-writer/pushed"
    found = duplicate_proposals(repo, [f"{ZERO_OID} {pushed} {ref}"])
    p = ledger.proposal_at(repo.git, repo.main_ref, ref, ledger.Oid(pushed))
    assert p is not None
    assert found == clashes(ledger.scan(repo.git, repo.main_ref, kept=False), [(ref, p)])
    assert bool(found) == (cited not in ("fb-2", "fb-4", "fb-new")), found
