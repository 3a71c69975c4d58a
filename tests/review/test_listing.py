"""`gitimprove proposals`: every open proposal judged as its merge would be, without a merge
where the branch's changes and main's since its fork are apart."""

from __future__ import annotations

from pathlib import Path

from gitimprove.instructions.repo import InstructionRepo
from gitimprove.review.actions import judge, statuses
from tests.review import conftest as plain
from tests.test_ledger import git_calls

SUPPORT = "agents/support-agent.yaml"


def test_the_listing_judges_each_proposal_as_its_merge_would(sample_repo: Path) -> None:
    show = lambda path: plain.out(sample_repo, "show", f"main:{path}") + "\n"  # noqa: E731
    plain.human_commit(sample_repo, {"extra/one.txt": "1\n", "extra/two.txt": "2\n"}, "Extras")
    # before main changes product-writer's last line: one that adds a rule well above it (git
    # merges the file cleanly), one that changes the same line (a conflict)
    plain.make_proposal(sample_repo, "20261101-aaaa05", plain.add_rule("Mention the warranty."))
    plain.make_proposal(sample_repo, "20261101-aaaa07", lambda text: text + "# proposed note\n")
    plain.human_commit(sample_repo, {plain.PATH: show(plain.PATH) + "# reviewed by hand\n"}, "A note")
    plain.make_proposal(sample_repo, "20261101-aaaa01", plain.add_rule("Keep it short."))
    plain.make_proposal(sample_repo, "20261101-aaaa02", plain.weaken_safety)  # breaks a protected section
    # a reviewer's commit on top of the model's
    head = plain.make_proposal(sample_repo, "20261101-aaaa03", plain.add_rule("Lead with the benefit."))
    edited = plain.commit_tree_change(sample_repo, head, {plain.PATH: show(plain.PATH).replace(
        plain.STYLE_RULE, plain.STYLE_RULE + "      - Lead with what the shopper gains.\n")},
        "Reword it\n", author=("Human Editor", "human@example.com"))
    plain.run(sample_repo, "update-ref", "refs/heads/improve/product-writer/20261101-aaaa03", edited)
    # a file where main will add a folder of the same name
    head = plain.make_proposal(sample_repo, "20261101-aaaa04", plain.add_rule("Say the price."))
    clash = plain.commit_tree_change(sample_repo, head, {"notes": "a file\n"}, "Notes\n",
                               author=("Human Editor", "human@example.com"))
    plain.run(sample_repo, "update-ref", "refs/heads/improve/product-writer/20261101-aaaa04", clash)
    # a file added in a folder that main will rename (git's merge moves it along)
    head = plain.make_proposal(sample_repo, "20261101-aaaa09", plain.add_rule("Say the weight."))
    moved = plain.commit_tree_change(sample_repo, head, {"extra/three.txt": "3\n"}, "Three\n",
                                     author=("Human Editor", "human@example.com"))
    plain.run(sample_repo, "update-ref", "refs/heads/improve/product-writer/20261101-aaaa09", moved)
    plain.human_commit(sample_repo, {"extra/one.txt": None, "extra/two.txt": None,
                                     "kept/one.txt": "1\n", "kept/two.txt": "2\n"}, "Rename extras")
    # main moves on in other files
    plain.human_commit(sample_repo, {SUPPORT: show(SUPPORT) + "# edited by hand\n"}, "Tidy support")
    plain.human_commit(sample_repo, {"notes/today.txt": "x\n"}, "Notes")
    plain.make_proposal(sample_repo, "20261101-aaaa08", plain.add_rule("Name the size."))  # on main's tip
    # a branch that merged main into itself
    merged = plain.make_proposal(sample_repo, "20261101-aaaa06", plain.add_rule("Name the colour."),
                           base="main~1")
    tree = plain.out(sample_repo, "merge-tree", "--write-tree", merged, "main").splitlines()[0]
    both = plain.run(sample_repo, "commit-tree", tree, "-p", merged, "-p", "main",
               input="Merge main\n").stdout.strip()
    plain.run(sample_repo, "update-ref", "refs/heads/improve/product-writer/20261101-aaaa06", both)

    repo = InstructionRepo(sample_repo)
    with git_calls(repo) as calls:
        rows = statuses(repo)
    tip = repo.main_tip()
    by_merge = {r.proposal.id: judge(repo, r.proposal, tip) for r in rows}  # git merges each
    assert {r.proposal.id: r.verdict for r in rows} == by_merge
    verdicts = {r.proposal.id[-2:]: r.verdict for r in rows if r.verdict is not None}
    assert sorted(verdicts) == ["01", "02", "03", "04", "05", "06", "07", "08", "09"]
    assert [v.code for v in verdicts["02"].violations] == ["protected-changed"]
    for clean in ("01", "03", "05", "06"):  # 01 and 03: main moved on elsewhere
        assert verdicts[clean].stale and verdicts[clean].passed, verdicts[clean]
    assert verdicts["08"].passed and not verdicts["08"].stale
    assert not verdicts["04"].merges_cleanly  # the file main made a folder
    assert not verdicts["07"].merges_cleanly  # both changed the last line
    # git merges only where both sides changed a path (04, 05, 07), one removes a file while
    # the other adds one (09: a rename?) or the branch holds a merge (06)
    assert sum(1 for c in calls if c[0] == "merge-tree") == 5
    repo.close()
