"""The listing's verdicts without a merge, against git's merge, for branches whose shape or
entries a plain line of file edits does not have: a fork off a person's branch that is not on
main, a symbolic link, a submodule entry, a mode change, a file made a folder, a case-only
rename. Each verdict equals the merge's, and none that the merge fails is clean."""

from __future__ import annotations

from pathlib import Path

from gitimprove.instructions.repo import InstructionRepo
from gitimprove.review.actions import judge, statuses
from tests.review import conftest as plain

SUPPORT = "agents/support-agent.yaml"
HUMAN = ("Human Editor", "human@example.com")


def entry(repo: Path, base: str, mode: str, oid: str, path: str, message: str) -> str:
    """A model-authored commit on ``base`` whose tree has ``path`` as (mode, oid)."""
    index = repo / ".git" / "shapes-index"
    env = {"GIT_INDEX_FILE": str(index)}
    plain.run(repo, "read-tree", base, env=env)
    plain.run(repo, "update-index", "--add", "--cacheinfo", f"{mode},{oid},{path}", env=env)
    tree = plain.run(repo, "write-tree", env=env).stdout.strip()
    index.unlink()
    return plain.run(repo, "commit-tree", tree, "-p", base, input=message,
                     env={"GIT_AUTHOR_NAME": plain.MODEL[0],
                          "GIT_AUTHOR_EMAIL": plain.MODEL[1]}).stdout.strip()


def on_top(repo: Path, pid: str, head: str) -> None:
    """The proposal ``pid``'s branch moved to ``head`` (a commit on top of its own)."""
    plain.run(repo, "update-ref", f"refs/heads/improve/product-writer/{pid}", head)


def test_every_shape_is_judged_as_its_merge(sample_repo: Path) -> None:
    repo = sample_repo
    text = plain.out(repo, "show", f"main:{plain.PATH}") + "\n"
    # a person's branch, not on main, that weakens the safety rule; a proposal forked from it
    side = plain.commit_tree_change(repo, "main", {plain.PATH: plain.weaken_safety(text)},
                                    "Weaken\n", author=HUMAN)
    plain.run(repo, "update-ref", "refs/heads/side", side)
    plain.make_proposal(repo, "20261101-cccc01", lambda t: t + "# a note\n",
                        agent="support-agent", base="side")
    # the agent file replaced by a symbolic link, a submodule entry, its mode changed
    link = plain.run(repo, "hash-object", "-w", "--stdin", input=SUPPORT).stdout.strip()
    for pid, mode, oid in [("20261101-cccc02", "120000", link),
                           ("20261101-cccc03", "160000", plain.out(repo, "rev-parse", "main")),
                           ("20261101-cccc04", "100755", "")]:
        head = plain.make_proposal(repo, pid, plain.add_rule("Keep it short."))
        oid = oid or plain.out(repo, "rev-parse", f"{head}:{plain.PATH}")
        on_top(repo, pid, entry(repo, head, mode, oid, plain.PATH, "Entry\n"))
    # the file made a folder; the file renamed by case alone
    head = plain.make_proposal(repo, "20261101-cccc05", plain.add_rule("Say the size."))
    on_top(repo, "20261101-cccc05", plain.commit_tree_change(
        repo, head, {plain.PATH: None, f"{plain.PATH}/x.yaml": text}, "Folder\n"))
    head = plain.make_proposal(repo, "20261101-cccc06", plain.add_rule("Say the weight."))
    on_top(repo, "20261101-cccc06", plain.commit_tree_change(
        repo, head, {plain.PATH: None, plain.PATH.replace("product", "Product"):
                     plain.weaken_safety(text)}, "Rename\n"))
    main_file = plain.out(repo, "show", f"main:{SUPPORT}") + "\n"
    plain.human_commit(repo, {SUPPORT.replace("support", "other"): main_file}, "Another agent")

    book = InstructionRepo(repo)
    rows = statuses(book)
    tip = book.main_tip()
    verdicts = {r.proposal.id[-2:]: r.verdict for r in rows}
    assert len(verdicts) == 6
    merged = {r.proposal.id[-2:]: judge(book, r.proposal, tip) for r in rows}
    assert verdicts == merged
    for pid, verdict in verdicts.items():  # a mode alone changes nothing an agent reads
        assert verdict is not None and verdict.passed == (pid == "04"), (pid, verdict)
    codes = {pid: sorted(v.code for v in verdict.violations) for pid, verdict in verdicts.items()
             if verdict is not None}
    assert codes == {"01": ["protected-changed"],  # the person's commit the merge brings too
                     "02": ["schema-invalid"],  # a link's text is no agent file
                     "03": ["error"],  # a submodule entry: no file to read, fails closed
                     "04": [],
                     "05": ["file-deleted", "path-outside-agents"],
                     "06": ["file-deleted", "schema-invalid"]}  # the name must be the agent's
    book.close()
