"""The ledger kept on disk (main's line and the refs' commits, by main's tip): a scan that reads
it gives exactly what a scan without it gives, whatever happened to main or to the file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gitimprove import ledger
from gitimprove.git import Oid, Repository
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.ledger import ProposalState
from gitimprove.ledger.trials import TrialStop
from gitimprove.review.actions import approve, reject, rollback
from gitimprove.trials.manage import start_trial, stop_trial
from tests.review.conftest import add_rule, commit_tree_change, make_proposal, out, run
from tests.test_ledger import git_calls

MAIN = "refs/heads/main"


def kept_dir(repo: Path) -> Path:
    return Repository.discover(repo).state_dir / "ledger"


def fresh_scan(repo: Path) -> ledger.Ledger:
    """A scan without anything kept on disk (what it kept is put back after)."""
    folder = kept_dir(repo)
    aside = folder.with_name("ledger-aside")
    if folder.exists():
        folder.rename(aside)
    try:
        git = Repository.discover(repo)
        book = ledger.scan(git, MAIN)
        _ = book.history  # read while the repository is as it is now
        return book
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if aside.exists():
            aside.rename(folder)


def assert_same(repo: Path) -> ledger.Ledger:
    """Two scans in a row (the first may carry the kept line on, the second reads it as it
    is) each equal a scan without it, in every part a reader sees."""
    expected = fresh_scan(repo)
    for _ in range(2):
        book = ledger.scan(Repository.discover(repo), MAIN)
        assert {p.id: p.state for p in book.proposals.values()} == \
            {p.id: p.state for p in expected.proposals.values()}
        assert list(book.proposals) == list(expected.proposals)  # the order too
        assert book == expected
        assert book.commits == expected.commits
        assert book.history == expected.history
        assert book.on_main == expected.on_main
        assert book.evidence_states() == expected.evidence_states()
        for event in expected.history:
            assert book.approval_of(event.commit.oid) == event.approval
    return book


def move_main(repo: Path, commit: str) -> None:
    """Main (checked out) to ``commit``, as a reset or a fetched force-push leaves it."""
    run(repo, "checkout", "-q", "main")
    run(repo, "reset", "-q", "--hard", commit)


def squash(repo: Path, pid: str) -> None:
    run(repo, "checkout", "-q", "main")
    run(repo, "merge", "--squash", f"improve/product-writer/{pid}")
    run(repo, "-c", "user.name=Squash Er", "-c", "user.email=squash@example.com",
        "commit", "-q", "--no-edit")


def pull_merge(repo: Path, before: str) -> None:
    """`git pull` without --rebase on a clone still at ``before``, pushed: main's first parent
    is the puller's line, main's own line comes back as the merge's side."""
    theirs = out(repo, "rev-parse", "main")
    ours = commit_tree_change(repo, before, {"NOTES.md": "notes\n"}, "Add notes\n",
                              author=("Pull Er", "puller@example.com"))
    tree = out(repo, "merge-tree", "--write-tree", ours, theirs)
    merge = run(repo, "commit-tree", tree, "-p", ours, "-p", theirs, "-m", "Merge main",
                env={"GIT_AUTHOR_NAME": "Pull Er", "GIT_AUTHOR_EMAIL": "puller@example.com"}
                ).stdout.strip()
    move_main(repo, merge)


def test_the_kept_ledger_is_the_scan_after_every_kind_of_change(sample_repo: Path,
                                                                 tmp_path: Path) -> None:
    repo = InstructionRepo(sample_repo)
    start = out(sample_repo, "rev-parse", "main")
    steps: list[tuple[str, Callable[[], object]]] = [
        ("nothing yet", lambda: None),
        ("proposals", lambda: [
            make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1"),
            make_proposal(sample_repo, "p2", add_rule("Mention the warranty."), evidence="fb-2"),
            make_proposal(sample_repo, "p3", add_rule("Name the size."), evidence="fb-3"),
            make_proposal(sample_repo, "p4", lambda t: t.replace(
                "writes a briefing", "writes a short briefing"),
                agent="research-assistant", evidence="fb-4")]),
        ("a trial (a record ref)", lambda: start_trial(repo, "p1", share="20%")),
        ("the trial stopped (a record on a record)", lambda: stop_trial(repo, "p1")),
        ("approve", lambda: approve(repo, "p1")),
        ("reject", lambda: reject(repo, "p2", reason="no")),
        ("rollback", lambda: rollback(repo, "p1")),
        ("squash merge", lambda: squash(sample_repo, "p3")),
        ("fast-forward", lambda: move_main(sample_repo, make_proposal(
            sample_repo, "p5", add_rule("End with a question."), evidence="fb-5"))),
        ("approve another agent", lambda: approve(repo, "p4")),
        ("a pull's merge brings main's line back", lambda: pull_merge(sample_repo, start)),
        ("a proposal after it", lambda: make_proposal(
            sample_repo, "p6", add_rule("Keep it warm."), evidence="fb-6")),
        ("a branch deleted", lambda: run(sample_repo, "update-ref", "-d",
                                         "refs/heads/improve/product-writer/p6")),
        ("main reset to an older commit", lambda: move_main(
            sample_repo, out(sample_repo, "rev-parse", "main~2"))),
        ("a force-push rewrites main", lambda: move_main(sample_repo, commit_tree_change(
            sample_repo, start, {"NOTES.md": "rewritten\n"}, "Rewrite\n",
            author=("Force Pusher", "force@example.com")))),
        ("a proposal on the rewritten main", lambda: make_proposal(
            sample_repo, "p7", add_rule("Say thanks."), evidence="fb-7")),
        ("approve on the rewritten main", lambda: approve(repo, "p7")),
    ]
    for name, step in steps:
        step()
        book = assert_same(sample_repo)
        assert book.proposals or name == "nothing yet", name
    book = ledger.scan(repo.git, MAIN)
    states = {p.id: p.state for p in book.proposals.values()}
    assert states["p7"] == ProposalState.APPROVED and states["p2"] == ProposalState.REJECTED
    assert [r.start.proposal for r in book.records_of(TrialStop)] == ["p1"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "json of another form",
                                    "another stamp", "another ref", "a forged type"])
def test_a_damaged_file_is_read_from_git_again(sample_repo: Path, damage: str) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1")
    make_proposal(sample_repo, "p2", add_rule("Mention the warranty."), evidence="fb-2")
    expected = assert_same(sample_repo)
    for kept in kept_dir(sample_repo).iterdir():
        data = kept.read_bytes()
        kept.write_bytes({
            "garbage": b"\x00\xff not json",
            "truncated": data[: len(data) * 2 // 3],
            "empty": b"",
            "json of another form": b'{"v": 1}\n[]',
            "another stamp": data.replace(b'"v":[', b'"v":[9', 1),
            "another ref": data.replace(b"refs/heads/main", b"refs/heads/next", 1),
            "a forged type": data.replace(b'"tip":"', b'"tip":7,"x":"', 1).replace(
                b'"main":"', b'"main":7,"x":"', 1),
        }[damage])
    assert_same(sample_repo)
    assert ledger.scan(repo.git, MAIN) == expected


def test_a_file_from_another_repository_is_not_trusted(sample_repo: Path, tmp_path: Path) -> None:
    from gitimprove.instructions.init import init
    from tests.conftest import SAMPLE

    other = tmp_path / "other"
    init(other, template=SAMPLE, replay_history=False)
    make_proposal(other, "q1", add_rule("Use short sentences."), evidence="fb-9")
    approve(InstructionRepo(other), "q1")
    ledger.scan(Repository.discover(other), MAIN)
    make_proposal(sample_repo, "p1", add_rule("Name the size."), evidence="fb-1")
    ledger.scan(Repository.discover(sample_repo), MAIN)
    shutil.rmtree(kept_dir(sample_repo))
    shutil.copytree(kept_dir(other), kept_dir(sample_repo))
    book = assert_same(sample_repo)
    assert list(book.proposals) == ["p1"]


def test_an_unchanged_main_is_not_read_again(sample_repo: Path) -> None:
    """While main does not move, a scan reads only tips it has not seen, never main's
    history; with none new, it runs for-each-ref alone. When main moves forward, it reads
    only main's new commits."""
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    repo = InstructionRepo(sample_repo)
    ledger.scan(repo.git, MAIN)
    main = out(sample_repo, "rev-parse", "main")
    with git_calls(repo) as calls:
        ledger.scan(repo.git, MAIN)
    assert [c[0] for c in calls] == ["for-each-ref"]
    tip = make_proposal(sample_repo, "p2", add_rule("Mention the warranty."), evidence="fb-2")
    with git_calls(repo) as calls:
        book = ledger.scan(repo.git, MAIN)
    assert [c[0] for c in calls] == ["for-each-ref", "log"]
    revs = [a for a in calls[1][1:] if not a.startswith("-")]
    assert revs == [tip, f"^{main}"]  # the new tip only, nothing of main's history
    assert set(book.proposals) == {"p1", "p2"}
    approve(repo, "p2")
    with git_calls(repo) as calls:
        ledger.scan(repo.git, MAIN)
    assert [c[0] for c in calls] == ["for-each-ref", "log"]
    assert f"^{main}" in calls[1]  # only what main brought since it was at `main`
    assert_same(sample_repo)


def test_history_is_read_only_when_asked(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1")
    ledger.scan(repo.git, MAIN)
    with git_calls(repo) as calls:
        book = ledger.scan(repo.git, MAIN)
        assert [c[0] for c in calls] == ["for-each-ref"]
        merge = Oid(out(sample_repo, "rev-parse", "main"))
        approval = book.approval_of(merge)  # from the proposal it approved
        assert approval is not None and approval.proposals == ["p1"]
        assert [c[0] for c in calls] == ["for-each-ref"]
        assert book.history[-1].commit.oid == merge  # reads main's line, once
        assert book.history[-1].approval == approval
        assert book.approval_of(book.history[0].commit.oid) is None
    assert [c[0] for c in calls] == ["for-each-ref", "log"]


def test_nothing_is_kept_where_the_code_cannot_be_looked_at(sample_repo: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A zipped install (no file to tie what is kept to): every scan reads git, as before."""
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    monkeypatch.setattr(ledger, "_stamp", lambda: None)
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1")
    book = ledger.scan(repo.git, MAIN)
    assert not kept_dir(sample_repo).exists() or not any(kept_dir(sample_repo).iterdir())
    assert book.proposals["p1"].state == ProposalState.APPROVED
    monkeypatch.undo()
    assert_same(sample_repo)
