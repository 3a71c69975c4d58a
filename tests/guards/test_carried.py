"""A model's proposal change carried in a person's commit, against every way a person's commit
can hold it other than hunk for hunk (joined to a whitespace edit, its lines re-spaced, the
file's line endings changed, its lines reordered): still judged as the proposal. And the other
side: a person who writes the model's fix by hand in a commit that also does what a person may
do (a file outside the agents, the policy, a protected section the model left alone) is not
refused for it (docs/safety.md, "What an identity proves")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.review.conftest import (
    PATH,
    SAFETY_RULE,
    STYLE_RULE,
    add_rule,
    commit_tree_change,
    make_proposal,
    out,
    run,
    weaken_safety,
)

from .conftest import gi, ok, tip

HUMAN = ("Human Editor", "human@example.com")
WEAK = "      - Health claims are fine when a customer asks.\n"
ALSO = "      - Compare with competitors by name when it helps.\n"
NEXT_RULE = "      - Do not promise delivery dates, discounts or stock levels.\n"


def weaken_twice(text: str) -> str:
    return text.replace(SAFETY_RULE, WEAK + ALSO)


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# How a person's commit holds the model's change: (the model's edit, the person's edit of it).
HELD: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    "joined to a space on the next line": (
        weaken_safety, lambda t: weaken_safety(t).replace(NEXT_RULE, NEXT_RULE[:-1] + " \n")),
    "its line re-spaced": (
        weaken_safety, lambda t: t.replace(SAFETY_RULE, WEAK.replace("are fine", "are  fine"))),
    "the file's line endings changed": (weaken_safety, lambda t: crlf(weaken_safety(t))),
    "its lines reordered": (weaken_twice, lambda t: t.replace(SAFETY_RULE, ALSO + WEAK)),
    "a removal joined to a space on the next line": (
        lambda t: t.replace(SAFETY_RULE, ""),
        lambda t: t.replace(SAFETY_RULE + NEXT_RULE, NEXT_RULE[:-1] + " \n")),
}


def bare_server(repo: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    ok(gi(bare, "hooks", "install", "--bare"))
    return bare


def into_main(repo: Path, commit: str, door: str, tmp_path: Path) -> tuple[bool, str]:
    """``commit`` fast-forwarded into main by ``door`` (the model's branch on the server
    before, as `gitimprove push` puts it): (whether main moved, what git said)."""
    if door == "pre-receive":
        bare = bare_server(repo, tmp_path)
        before = tip(bare)
        proc = run(repo, "push", "--no-verify", str(bare), f"{commit}:refs/heads/main", check=False)
        return tip(bare) != before, proc.stderr
    ok(gi(repo, "hooks", "install"))
    before = tip(repo)
    proc = run(repo, "merge", "--ff-only", commit, check=False)
    return tip(repo) != before, proc.stderr


def by_hand(repo: Path, edit: Callable[[str], str], extra: dict[str, str] | None = None) -> str:
    text = out(repo, "show", f"main:{PATH}") + "\n"
    return commit_tree_change(repo, "main", {PATH: edit(text), **(extra or {})},
                              "My own edit\n", author=HUMAN)


@pytest.mark.parametrize("door", ["merge --ff-only", "pre-receive"])
@pytest.mark.parametrize("held", sorted(HELD))
def test_a_model_s_change_held_other_than_hunk_for_hunk_is_still_judged(
        sample_repo: Path, tmp_path: Path, held: str, door: str) -> None:
    repo = sample_repo
    model, person = HELD[held]
    make_proposal(repo, "bad", model)
    moved, said = into_main(repo, by_hand(repo, person), door, tmp_path)
    assert not moved, said
    assert "its change under the name Human Editor" in said
    assert "changes the protected section 'safety'" in said


def test_a_person_s_own_rewording_of_lines_a_model_removed_is_theirs(sample_repo: Path,
                                                                     tmp_path: Path) -> None:
    """A model's hunk that only removes lines is carried only as that removal: a person who
    rewrites those lines wrote a change of their own (the limit, as documented)."""
    repo = sample_repo
    make_proposal(repo, "bad", lambda t: t.replace(SAFETY_RULE, ""))
    mine = by_hand(repo, lambda t: t.replace(SAFETY_RULE, "      - Never make health claims.\n"))
    moved, said = into_main(repo, mine, "merge --ff-only", tmp_path)
    assert moved, said


SHORT = add_rule("Use short sentences.")
# What else a person's commit with the model's (valid) fix written by hand may do.
ALONGSIDE: dict[str, Callable[[str], dict[str, str]]] = {
    "a file outside the agents": lambda text: {PATH: SHORT(text), "README.md": "Our agents.\n"},
    "a change of the policy": lambda text: {PATH: SHORT(text)},  # the policy: added below
    "a protected section the model left alone": lambda text: {
        PATH: SHORT(text).replace(NEXT_RULE, "      - Never promise delivery dates.\n")},
    "the fix alone": lambda text: {PATH: SHORT(text)},
}


@pytest.mark.parametrize("door", ["merge --ff-only", "pre-receive"])
@pytest.mark.parametrize("alongside", sorted(ALONGSIDE))
def test_a_person_who_writes_the_model_s_fix_by_hand_is_not_refused_for_what_else_they_do(
        sample_repo: Path, tmp_path: Path, alongside: str, door: str) -> None:
    repo = sample_repo
    make_proposal(repo, "good", SHORT)
    text = out(repo, "show", f"main:{PATH}") + "\n"
    changes = ALONGSIDE[alongside](text)
    if alongside == "a change of the policy":
        changes["gitimprove.yaml"] = out(repo, "show", "main:gitimprove.yaml") + "\n# reviewed\n"
    mine = commit_tree_change(repo, "main", dict(changes), "Short sentences, and more\n",
                              author=HUMAN)
    moved, said = into_main(repo, mine, door, tmp_path)
    assert moved, said
    assert "Use short sentences." in out(repo if door != "pre-receive" else tmp_path / "server.git",
                                         "show", f"main:{PATH}")
    assert STYLE_RULE.strip() in out(repo, "show", f"{mine}:{PATH}")


def evil_merge(repo: Path, edit: Callable[[str], str]) -> str:
    """A merge of a person's branch (a note) whose recorded tree also holds ``edit`` of the
    agent file: a change neither parent has, made while merging."""
    side = commit_tree_change(repo, "main", {"notes.txt": "A note.\n"}, "A note\n", author=HUMAN)
    text = out(repo, "show", f"main:{PATH}") + "\n"
    held = commit_tree_change(repo, side, {PATH: edit(text)}, "unused\n", author=HUMAN)
    return run(repo, "commit-tree", f"{held}^{{tree}}", "-p", "main", "-p", side,
               input="Merge the note\n").stdout.strip()


@pytest.mark.parametrize("door", ["merge --ff-only", "pre-receive"])
def test_a_model_s_change_made_while_merging_is_judged(sample_repo: Path, tmp_path: Path,
                                                       door: str) -> None:
    """An "evil" merge: what a merge holds beyond git's merge of its parents is a change like
    a commit's, and the model's hunk in it is the proposal."""
    repo = sample_repo
    make_proposal(repo, "bad", weaken_safety)
    moved, said = into_main(repo, evil_merge(repo, weaken_safety), door, tmp_path)
    assert not moved, said
    assert "its change under the name" in said and "protected section 'safety'" in said


def test_a_merge_while_which_a_person_edits_is_theirs(sample_repo: Path, tmp_path: Path) -> None:
    repo = sample_repo
    make_proposal(repo, "bad", weaken_safety)
    mine = evil_merge(repo, lambda t: t.replace(SAFETY_RULE, "      - Never make health claims.\n"))
    moved, said = into_main(repo, mine, "merge --ff-only", tmp_path)
    assert moved, said


@pytest.mark.parametrize("rejected", [False, True], ids=["open", "rejected"])
def test_the_evaluation_gate_is_for_approvals_not_for_a_person_s_fix_by_hand(
        sample_repo: Path, tmp_path: Path, rejected: bool) -> None:
    """With the policy's evaluation gate on: the model's proposal needs a scorecard; a person
    who writes its fix by hand does not (no approval is recorded for it), whether the proposal
    is open or was rejected (its commit still held under the rejection record)."""
    repo = sample_repo
    policy = out(repo, "show", "main:gitimprove.yaml") + "\n"
    assert "  required: false" in policy
    ok(gi(repo, "hooks", "install"))
    run(repo, "update-ref", "refs/heads/main", commit_tree_change(
        repo, "main", {"gitimprove.yaml": policy.replace("  required: false", "  required: true")},
        "Require evaluations\n", author=HUMAN))
    run(repo, "reset", "-q", "--hard")
    make_proposal(repo, "good", SHORT)
    proc = run(repo, "merge", "--ff-only", "improve/product-writer/good", check=False)
    assert proc.returncode != 0 and "requires an evaluation" in proc.stderr
    run(repo, "reset", "-q", "--hard")
    if rejected:
        ok(gi(repo, "reject", "good", "--reason", "We will write it ourselves"))
    for door in ("merge --ff-only", "pull-request check"):
        mine = by_hand(repo, SHORT)
        if door == "pull-request check":
            run(repo, "branch", "-f", "mine", mine)
            assert gi(repo, "validate", "--base", "main", "--head", "mine").returncode == 0
        else:
            moved, said = into_main(repo, mine, door, tmp_path)
            assert moved, said


def test_a_model_s_change_to_a_section_protected_since_is_judged(sample_repo: Path,
                                                                tmp_path: Path) -> None:
    """The model's change was allowed where it was made (the style section was not protected
    then); main has protected the section since: carried into main under a person's name, it
    is judged where it lands, as the proposal's merge would be."""
    repo = sample_repo
    make_proposal(repo, "style", lambda t: t.replace(STYLE_RULE, "      - Use American spelling.\n"))
    text = out(repo, "show", f"main:{PATH}") + "\n"
    marked = text.replace("    title: Style\n", "    title: Style\n    protected: true\n")
    run(repo, "update-ref", "refs/heads/main", commit_tree_change(
        repo, "main", {PATH: marked}, "Protect the style\n", author=HUMAN))
    run(repo, "reset", "-q", "--hard")
    proc = gi(repo, "approve", "style")
    assert proc.returncode == 1 and "protected section 'style'" in proc.stderr
    mine = by_hand(repo, lambda t: t.replace(STYLE_RULE, "      - Use American spelling.\n"))
    moved, said = into_main(repo, mine, "merge --ff-only", tmp_path)
    assert not moved and "protected section 'style'" in said, said


@pytest.mark.parametrize("door", ["merge --ff-only", "pre-receive"])
def test_a_model_s_change_split_over_people_s_commits_is_judged(sample_repo: Path,
                                                                tmp_path: Path, door: str) -> None:
    """One person's commit removes the model's line, the next adds its replacement: neither
    holds the model's hunk, the update does."""
    repo = sample_repo
    make_proposal(repo, "bad", weaken_safety)
    text = out(repo, "show", f"main:{PATH}") + "\n"
    first = commit_tree_change(repo, "main", {PATH: text.replace(SAFETY_RULE, "")}, "Drop\n",
                               author=HUMAN)
    second = commit_tree_change(repo, first, {PATH: weaken_safety(text)}, "Add\n", author=HUMAN)
    moved, said = into_main(repo, second, door, tmp_path)
    assert not moved, said
    assert "its change under the name Human Editor" in said
    assert "protected section 'safety'" in said


@pytest.mark.parametrize("where", ["checkout", "info"])
def test_a_model_s_change_is_found_in_files_git_is_told_are_binary(
        sample_repo: Path, tmp_path: Path, where: str) -> None:
    """Attributes that call the agent files binary (a `.gitattributes` in the checkout, or the
    repository's own `info/attributes`, as a server's administrator may set for display) would
    make git print no lines to compare: they are compared as text all the same."""
    repo = sample_repo
    make_proposal(repo, "bad", weaken_safety)
    if where == "info":
        (repo / ".git" / "info").mkdir(exist_ok=True)
        (repo / ".git" / "info" / "attributes").write_text("*.yaml -diff\n")
    else:
        into_main(repo, commit_tree_change(repo, "main", {".gitattributes": "*.yaml -diff\n"},
                                           "Attributes\n", author=HUMAN), "merge --ff-only", tmp_path)
        assert (repo / ".gitattributes").exists()
    mine = by_hand(repo, weaken_safety)
    moved, said = into_main(repo, mine, "merge --ff-only", tmp_path)
    assert not moved and "its change under the name" in said, said
