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
from gitimprove.proposals.build import prior_rules
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
        book.summaries()  # from its proposals: nothing kept to read them from
        return book
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if aside.exists():
            aside.rename(folder)


def assert_same(repo: Path) -> ledger.Ledger:
    """Two scans in a row (the first may carry the kept line on, the second reads it as it
    is) each equal a scan without it, in every part a reader sees."""
    expected = fresh_scan(repo)
    for second in (False, True):
        ids = list(expected.proposals)
        for many in (0, 10**6):  # their refs read from git, or from what the scan read
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(ledger, "_MANY", many)
                alone = ledger.scan(Repository.discover(repo), MAIN)
                assert alone.select(ids) == list(expected.proposals.values())
            # the second time the summaries are kept: each proposal was built alone
            assert not second or "_read" not in alone.__dict__
        assert alone.commits == expected.commits and alone.records == expected.records
        for pid, p in expected.proposals.items():
            assert ledger.scan(Repository.discover(repo), MAIN).proposal(pid) == p
        assert alone.proposal("no-such-proposal") is None
        for states in ([ProposalState.OPEN], [ProposalState.APPROVED, ProposalState.LANDED]):
            assert by_id(alone.of_state(*states)) == \
                [s for s in summaries_of(expected) if s.state in states]
        book = ledger.scan(Repository.discover(repo), MAIN)
        assert {p.id: p.state for p in book.proposals.values()} == \
            {p.id: p.state for p in expected.proposals.values()}
        assert list(book.proposals) == list(expected.proposals)  # the order too
        assert book == expected
        assert book.commits == expected.commits
        assert book.history == expected.history
        assert book.on_main == expected.on_main
        assert by_id(book.summaries()) == summaries_of(expected)
        assert book.evidence_states() == expected.evidence_states()
        for agent in ("product-writer", "research-assistant"):
            assert prior_rules(InstructionRepo(repo), agent, book) == \
                prior_rules(InstructionRepo(repo), agent, expected)
        for event in expected.history:
            assert book.approval_of(event.commit.oid) == event.approval
    return book


def by_id(summaries: list[ledger.Summary]) -> list[ledger.Summary]:
    return sorted(summaries, key=lambda s: s.id)


def summaries_of(book: ledger.Ledger) -> list[ledger.Summary]:
    """What the proposals themselves say (the path without a kept summary)."""
    return by_id([ledger.Summary.of(p) for p in book.proposals.values()])


def content_proposal(repo: Path, pid: str, rule: str, *, base: str = "main") -> str:
    """A proposal with a content block (the rules it adds as data, as propose writes it)."""
    agent, path = "product-writer", "agents/product-writer.yaml"
    content = ledger.ProposalContent(({"op": "add_rule", "section": "style", "text": rule,
                                       "reason": "asked", "evidence": [f"fb-{pid}"]},), (rule,))
    record = ledger.ProposalRecord(pid, agent, Oid(out(repo, "rev-parse", f"{base}:{path}")),
                                   Oid(out(repo, "rev-parse", f"{base}^{{commit}}")),
                                   (f"fb-{pid}",), (), "claude-test", "test", content=content)
    old = out(repo, "show", f"{base}:{path}") + "\n"
    commit = commit_tree_change(repo, record.base_commit, {path: add_rule(rule)(old)},
                                record.message([f"{agent}: proposal {pid}", "Because."]))
    run(repo, "update-ref", f"refs/heads/improve/{agent}/{pid}", commit)
    return commit


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
        ("proposals with content blocks, one on another", lambda: [
            content_proposal(sample_repo, "c1", "Say the price."),
            content_proposal(sample_repo, "c2", "Say the colour."),
            content_proposal(sample_repo, "c3", "Say the weight.",
                             base="improve/product-writer/c2")]),
        ("a content proposal rejected", lambda: reject(repo, "c1", reason="not now")),
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
    ledger.scan(Repository.discover(other), MAIN).evidence_states()
    make_proposal(sample_repo, "p1", add_rule("Name the size."), evidence="fb-1")
    ledger.scan(Repository.discover(sample_repo), MAIN).evidence_states()
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
    _ = ledger.scan(repo.git, MAIN).proposals
    main = out(sample_repo, "rev-parse", "main")
    with git_calls(repo) as calls:
        _ = ledger.scan(repo.git, MAIN).proposals
    assert [c[0] for c in calls] == ["for-each-ref"]
    tip = make_proposal(sample_repo, "p2", add_rule("Mention the warranty."), evidence="fb-2")
    with git_calls(repo) as calls:
        book = ledger.scan(repo.git, MAIN)
        assert set(book.proposals) == {"p1", "p2"}
    assert [c[0] for c in calls] == ["for-each-ref", "log"]
    revs = [a for a in calls[1][1:] if not a.startswith("-")]
    assert revs == [tip, f"^{main}"]  # the new tip only, nothing of main's history
    approve(repo, "p2")
    with git_calls(repo) as calls:
        _ = ledger.scan(repo.git, MAIN).proposals
    assert [c[0] for c in calls] == ["for-each-ref", "log"]
    assert f"^{main}" in calls[1]  # only what main brought since it was at `main`
    assert_same(sample_repo)


def test_history_is_read_only_when_asked(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1")
    _ = ledger.scan(repo.git, MAIN).proposals
    with git_calls(repo) as calls:
        book = ledger.scan(repo.git, MAIN)
        assert book.proposals and [c[0] for c in calls] == ["for-each-ref"]
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


def test_new_branches_are_summarised_without_reading_the_proposals(sample_repo: Path) -> None:
    """What propose reads: the summaries kept for the refs, carried on for the branches added
    since (one `log` of their tips), no proposal built; the same as the proposals say."""
    content_proposal(sample_repo, "c1", "Say the price.")
    repo = InstructionRepo(sample_repo)
    approve(repo, "c1")
    content_proposal(sample_repo, "c2", "Say the colour.")
    ledger.scan(repo.git, MAIN).summaries()
    main = out(sample_repo, "rev-parse", "main")
    tips = sorted([content_proposal(sample_repo, "c3", "Say the weight."),
                   content_proposal(sample_repo, "c4", "Say the size.")])
    for new in (True, False):
        with git_calls(repo) as calls:
            book = ledger.scan(repo.git, MAIN)
            summaries = book.summaries()
            states = book.evidence_states()
            pending, _ = prior_rules(repo, "product-writer", book)
        assert [c[0] for c in calls] == (["for-each-ref", "log"] if new else ["for-each-ref"])
        if new:
            assert [a for a in calls[1][1:] if not a.startswith("-")] == [*tips, f"^{main}"]
        assert "_read" not in vars(book)  # no proposal was built
        expected = fresh_scan(sample_repo)
        assert by_id(summaries) == summaries_of(expected)
        assert states == expected.evidence_states() == {
            "fb-c1": ledger.EvidenceState.ADDRESSED, "fb-c2": ledger.EvidenceState.PENDING,
            "fb-c3": ledger.EvidenceState.PENDING, "fb-c4": ledger.EvidenceState.PENDING}
        assert [r.text for r in pending] == ["Say the colour.", "Say the weight.", "Say the size."]
        assert pending == prior_rules(repo, "product-writer", expected)[0]


def _stacked(repo: Path) -> None:
    content_proposal(repo, "c3", "Say the weight.", base="improve/product-writer/c2")


def _copy(repo: Path) -> None:
    run(repo, "update-ref", "refs/heads/improve/product-writer/copy",
        "refs/heads/improve/product-writer/c2")


def _squashed_branch_again(repo: Path) -> None:
    """A branch for a proposal a squash on main landed: landed, not open."""
    tip = out(repo, "rev-parse", "improve/product-writer/c2")
    squash(repo, "c2")
    run(repo, "update-ref", "-d", "refs/heads/improve/product-writer/c2")
    ledger.scan(Repository.discover(repo), MAIN).summaries()
    run(repo, "update-ref", "refs/heads/improve/product-writer/c2", tip)


@pytest.mark.parametrize("change", [
    "a branch on another branch", "a second branch of one proposal", "a rejection",
    "a branch deleted", "a branch moved", "a record ref", "main moved",
    "a squashed proposal's branch again", "a human's branch"])
def test_what_the_summary_cannot_carry_on_is_read_from_the_proposals(sample_repo: Path,
                                                                     change: str) -> None:
    content_proposal(sample_repo, "c1", "Say the price.")
    content_proposal(sample_repo, "c2", "Say the colour.")
    repo = InstructionRepo(sample_repo)
    ledger.scan(repo.git, MAIN).summaries()
    carried_on = change == "a squashed proposal's branch again"
    changes: dict[str, Callable[[], object]] = {
        "a branch on another branch": lambda: _stacked(sample_repo),
        "a second branch of one proposal": lambda: _copy(sample_repo),
        "a rejection": lambda: reject(repo, "c1", reason="no"),
        "a branch deleted": lambda: run(sample_repo, "update-ref", "-d",
                                        "refs/heads/improve/product-writer/c1"),
        "a branch moved": lambda: run(sample_repo, "update-ref",
                                      "refs/heads/improve/product-writer/c1",
                                      "refs/heads/improve/product-writer/c2"),
        "a record ref": lambda: start_trial(repo, "c1", share="20%"),
        "main moved": lambda: approve(repo, "c1"),
        "a squashed proposal's branch again": lambda: _squashed_branch_again(sample_repo),
        "a human's branch": lambda: run(
            sample_repo, "update-ref", "refs/heads/improve/product-writer/notes",
            commit_tree_change(sample_repo, "main", {"NOTES.md": "notes\n"}, "Notes\n",
                               author=("Human Editor", "human@example.com"))),
    }
    changes[change]()
    book = ledger.scan(repo.git, MAIN)
    summaries = book.summaries()
    assert ("_read" not in vars(book)) == carried_on
    expected = fresh_scan(sample_repo)
    assert by_id(summaries) == summaries_of(expected)
    if carried_on:
        assert {s.id: s.state for s in summaries}["c2"] == ProposalState.LANDED
    assert_same(sample_repo)


def test_a_shallow_clone_keeps_nothing_its_unshallowing_would_leave_behind(sample_repo: Path,
                                                                            tmp_path: Path) -> None:
    # Cut at --depth 1, main's line has no approval; `fetch --unshallow` leaves main's tip
    # where it was: a line kept by that tip would hide the approval from every scan after.
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    approve(InstructionRepo(sample_repo), "p1")
    move_main(sample_repo, commit_tree_change(sample_repo, out(sample_repo, "rev-parse", "main"),
                                              {"NOTES.md": "notes\n"}, "Add notes\n",
                                              author=("Ann", "ann@example.com")))
    clone = tmp_path / "clone"
    run(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{sample_repo}",
        str(clone))
    for branch in out(clone, "for-each-ref", "--format=%(refname:short)",
                      "refs/remotes/origin/improve").split():
        run(clone, "branch", "-q", branch.removeprefix("origin/"), branch)
    ledger.scan(Repository.discover(clone), MAIN).summaries()
    assert not kept_dir(clone).exists()
    run(clone, "fetch", "-q", "--unshallow")
    book = assert_same(clone)
    assert book.proposals["p1"].state == ProposalState.APPROVED


def forge_summary(repo: Path, old: bytes, new: bytes) -> None:
    """A kept summary rewritten in place, well-formed: what a scan that keeps reads back."""
    path = kept_dir(repo) / "refs%2Fheads%2Fmain.summary"
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new))


def test_a_scan_that_keeps_nothing_reads_git_alone(sample_repo: Path) -> None:
    """What the hooks judge by (``kept=False``): a summary kept on disk is not read, however
    well-formed, and nothing is written."""
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    git = Repository.discover(sample_repo)
    ledger.scan(git, MAIN).summaries()
    forge_summary(sample_repo, b'"open"', b'"rejected"')
    assert [s.state for s in ledger.scan(git, MAIN).summaries()] == [ProposalState.REJECTED]
    files = {f: f.read_bytes() for f in kept_dir(sample_repo).iterdir()}
    book = ledger.scan(git, MAIN, kept=False)
    assert [s.state for s in book.summaries()] == [ProposalState.OPEN]
    assert [s.id for s in book.of_state(ProposalState.OPEN)] == ["p1"]
    assert book.evidence_states() == {"fb-1": ledger.EvidenceState.PENDING}
    assert book.proposal("p1") == fresh_scan(sample_repo).proposals["p1"]
    assert {f: f.read_bytes() for f in kept_dir(sample_repo).iterdir()} == files


def test_a_summary_that_names_another_proposal_is_not_built_alone(sample_repo: Path) -> None:
    """select() builds a proposal from its summary's ref only when that reads as the same
    proposal in the same state; otherwise every proposal is read, as without a summary."""
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    make_proposal(sample_repo, "p2", add_rule("Name the size."), evidence="fb-2")
    git = Repository.discover(sample_repo)
    ledger.scan(git, MAIN).summaries()
    forge_summary(sample_repo, b"improve/product-writer/p1", b"improve/product-writer/p2")
    book = ledger.scan(git, MAIN)
    expected = fresh_scan(sample_repo)
    assert book.select(["p2", "p1"]) == [expected.proposals["p2"], expected.proposals["p1"]]
    assert "_read" in book.__dict__  # p1 did not read as p1 from p2's branch: all were read
