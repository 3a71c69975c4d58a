"""Version numbers along main's first-parent history, and the on-disk cache behind them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitimprove.errors import UnknownRevisionError
from gitimprove.git import Oid
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.instructions.versions import Change, number_changes

from .conftest import commit_file, git

PATH = "agents/helper.yaml"


def agent(*rules: str) -> str:
    body = "".join(f"      - {r}\n" for r in rules)
    return f"name: helper\nsections:\n  - id: style\n    rules:\n{body}"


V1 = agent("Be brief.")
V2 = agent("Be brief.", "Be kind.")
V3 = agent("Be brief.", "Be kind.", "Be exact.")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with three human edits of one agent: v1, v2, v3."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit_file(path, PATH, V1, "v1")
    commit_file(path, PATH, V2, "v2")
    commit_file(path, PATH, V3, "v3")
    return path


def numbers(repo: Path, ref: str | None = None) -> list[tuple[int, str]]:
    """(number, subject) of each history entry, oldest first, from a fresh InstructionRepo."""
    with InstructionRepo(repo) as ir:
        return [(v.number, v.subject) for v in ir.history("helper", ref)]


def blob(repo: Path, rev: str = "main") -> str:
    return git(repo, "rev-parse", f"{rev}:{PATH}").strip()


def cache_file(repo: Path) -> Path:
    return repo / ".git" / "gitimprove-state" / "versions" / "refs%2Fheads%2Fmain" / "agents%2Fhelper.yaml.json"


def test_human_edits_are_numbered(repo: Path) -> None:
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3")]
    with InstructionRepo(repo) as ir:
        history = ir.history("helper")
        assert [v.blob for v in history] == [blob(repo, f"main~{n}") for n in (2, 1, 0)]
        assert [v.commit for v in history] == [git(repo, "rev-parse", f"main~{n}").strip() for n in (2, 1, 0)]
        assert history[0].author == "Test Reviewer <reviewer@example.com>"
        assert history[0].label == "v1"
        assert history[0].date.tzinfo is not None
        inst = ir.load("helper")
        assert (inst.number, inst.label, inst.version, inst.commit) == (
            3, "v3", blob(repo), git(repo, "rev-parse", "main").strip())


def test_rollback_to_v1_text_is_v1_again(repo: Path) -> None:
    rollback = commit_file(repo, PATH, V1, "roll back to v1")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3"), (1, "roll back to v1")]
    with InstructionRepo(repo) as ir:
        inst = ir.load("helper")
        assert inst.number == 1
        assert inst.version == blob(repo, "main~3")
        assert inst.commit == rollback  # the newest commit that produced this text


def test_commit_not_touching_the_agent_adds_no_version(repo: Path) -> None:
    with InstructionRepo(repo) as ir:
        before = ir.load("helper")
        other = commit_file(repo, "README.md", "hello\n", "docs only")
        after = ir.load("helper")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3")]
    assert after.tip == other != before.tip
    assert (after.number, after.version, after.commit) == (before.number, before.version, before.commit)


def test_merge_of_a_branch_is_one_first_parent_entry(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    commit_file(repo, PATH, agent("Be brief.", "Side one."), "side 1")
    commit_file(repo, PATH, agent("Be brief.", "Side one.", "Side two."), "side 2")
    git(repo, "checkout", "-q", "main")
    commit_file(repo, "README.md", "main moved on\n", "unrelated on main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3"), (4, "Merge feature")]
    with InstructionRepo(repo) as ir:
        assert ir.load("helper").number == 4
        # the side branch's own first-parent history numbers its commits
        assert [v.subject for v in ir.history("helper", "feature")] == ["v1", "v2", "v3", "side 1", "side 2"]


def test_merge_that_does_not_change_the_agent_adds_nothing(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "docs")
    commit_file(repo, "README.md", "docs\n", "docs")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge docs", "docs")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3")]


def test_revert_restores_the_earlier_number(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "improve")
    commit_file(repo, PATH, agent("Be brief.", "Be kind.", "Be exact.", "Proposed."), "proposal")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Approve proposal", "improve")
    git(repo, "revert", "--no-edit", "-m", "1", "HEAD")
    subject = git(repo, "log", "-1", "--format=%s").strip()
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3"), (4, "Approve proposal"), (3, subject)]
    git(repo, "revert", "--no-edit", "HEAD")  # revert the revert: the proposal's text is back
    assert [n for n, _ in numbers(repo)] == [1, 2, 3, 4, 3, 4]


def test_deleted_and_restored_agent(repo: Path) -> None:
    git(repo, "rm", "-q", PATH)
    git(repo, "commit", "-q", "-m", "delete")
    commit_file(repo, PATH, V2, "restore v2")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3"), (2, "restore v2")]


def test_number_changes_is_pure() -> None:
    a, b, c = (Oid(ch * 40) for ch in "abc")
    changes = [Change(a, b, 1, "x", "first"), Change(b, c, 2, "x", "second"),
               Change(c, None, 3, "x", "deleted"), Change(a, b, 4, "x", "again")]
    assert [(v.number, v.blob) for v in number_changes(changes)] == [(1, b), (2, c), (1, b)]


# -- the disk cache ---------------------------------------------------------------------------


def test_cache_is_written_under_the_git_dir(repo: Path) -> None:
    numbers(repo)
    cached = json.loads(cache_file(repo).read_text())
    assert cached["tip"] == git(repo, "rev-parse", "main").strip()
    assert [c[4] for c in cached["changes"]] == ["v1", "v2", "v3"]
    assert git(repo, "status", "--porcelain") == ""


def mark_cache(repo: Path) -> None:
    """Change a subject in the cache: it shows up again only if the cache is reused."""
    path = cache_file(repo)
    data = json.loads(path.read_text())
    data["changes"][0][4] = "FROM CACHE"
    path.write_text(json.dumps(data))


def test_cache_is_extended_when_main_moves_forward(repo: Path) -> None:
    numbers(repo)
    mark_cache(repo)
    commit_file(repo, PATH, V1, "back to v1")
    commit_file(repo, "README.md", "x\n", "unrelated")
    commit_file(repo, PATH, agent("New."), "v4")
    assert numbers(repo) == [(1, "FROM CACHE"), (2, "v2"), (3, "v3"), (1, "back to v1"), (4, "v4")]
    assert json.loads(cache_file(repo).read_text())["tip"] == git(repo, "rev-parse", "main").strip()


def test_cache_is_extended_across_a_merge(repo: Path) -> None:
    numbers(repo)
    mark_cache(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    commit_file(repo, PATH, agent("Side."), "side")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    assert numbers(repo) == [(1, "FROM CACHE"), (2, "v2"), (3, "v3"), (4, "Merge feature")]


def test_cache_is_rebuilt_when_main_is_reset_backwards(repo: Path) -> None:
    numbers(repo)
    mark_cache(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert numbers(repo) == [(1, "v1"), (2, "v2")]


def test_cache_is_rebuilt_when_history_is_rewritten(repo: Path) -> None:
    numbers(repo)
    mark_cache(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    commit_file(repo, PATH, agent("Rewritten."), "rewritten v3")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "rewritten v3")]
    with InstructionRepo(repo) as ir:
        assert ir.load("helper").text == "- Rewritten.\n"


def test_rewritten_with_amend_same_parent(repo: Path) -> None:
    numbers(repo)
    git(repo, "commit", "-q", "--amend", "-m", "v3 amended")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3 amended")]


def test_the_same_object_sees_a_reset(repo: Path) -> None:
    with InstructionRepo(repo) as ir:
        assert ir.load("helper").number == 3
        git(repo, "reset", "-q", "--hard", "HEAD~2")
        inst = ir.load("helper")
        assert (inst.number, inst.text) == (1, "- Be brief.\n")
        commit_file(repo, PATH, V3, "v3 again")
        inst = ir.load("helper")
        assert (inst.number, inst.version) == (2, blob(repo))


def test_corrupt_cache_is_ignored(repo: Path) -> None:
    numbers(repo)
    cache_file(repo).write_text("{not json")
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3")]
    cache_file(repo).write_text(json.dumps({"v": 1, "tip": "nonsense", "changes": []}))
    assert numbers(repo) == [(1, "v1"), (2, "v2"), (3, "v3")]


# -- finding a version ------------------------------------------------------------------------


def test_find_version_by_number_commit_branch_and_tag(repo: Path) -> None:
    v2_commit = git(repo, "rev-parse", "main~1").strip()
    git(repo, "tag", "release", "main~2")
    git(repo, "branch", "old", "main~1")
    with InstructionRepo(repo) as ir:
        commit, version = ir.find_version("helper", "v2")
        assert commit == v2_commit and version is not None and version.number == 2
        commit, version = ir.find_version("helper", v2_commit)
        assert version is not None and version.number == 2
        commit, version = ir.find_version("helper", v2_commit[:8])
        assert commit == v2_commit and version is not None and version.number == 2
        commit, version = ir.find_version("helper", "release")
        assert version is not None and version.number == 1
        commit, version = ir.find_version("helper", "old")
        assert commit == v2_commit and version is not None and version.number == 2
        with pytest.raises(UnknownRevisionError, match=r"helper has no version v9 \(versions: v1..v3\)"):
            ir.find_version("helper", "v9")
        with pytest.raises(UnknownRevisionError, match="'nope' is not a branch, tag or commit"):
            ir.find_version("helper", "nope")
        with pytest.raises(UnknownRevisionError):
            ir.find_version("helper", "--output=/tmp/x")


def test_version_only_on_a_branch_has_no_number(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "draft")
    commit_file(repo, PATH, agent("Draft."), "draft")
    git(repo, "checkout", "-q", "main")
    with InstructionRepo(repo) as ir:
        _, version = ir.find_version("helper", "draft")
        assert version is None
        inst = ir.load("helper", ref="draft")
        assert inst.number == 4  # numbered along the draft branch's own history


def test_a_new_process_answers_load_from_the_tip_summary(repo: Path) -> None:
    with InstructionRepo(repo) as ir:
        assert ir.load("helper").number == 3
    summary = cache_file(repo).with_name("agents%2Fhelper.yaml.tip.json")
    data = json.loads(summary.read_text())
    assert (data["tip"], data["blob"], data["number"]) == (git(repo, "rev-parse", "main").strip(), blob(repo), 3)
    data["number"] = 99  # only a reader of the summary would say 99
    summary.write_text(json.dumps(data))
    with InstructionRepo(repo) as ir:
        assert ir.load("helper").number == 99
    commit_file(repo, PATH, V1, "back to v1")  # the tip moved: the summary no longer applies
    with InstructionRepo(repo) as ir:
        assert ir.load("helper").number == 1
    assert json.loads(summary.read_text())["number"] == 1


def test_a_shallow_clone_numbers_anew_once_its_history_is_fetched(repo: Path, tmp_path: Path) -> None:
    # Cut at --depth 1, v3 is the first version; `fetch --unshallow` leaves main's tip where
    # it was: a history kept by that tip would go on calling it v1.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    assert numbers(clone) == [(1, "v3")]
    git(clone, "fetch", "-q", "--unshallow")
    assert numbers(clone) == [(1, "v1"), (2, "v2"), (3, "v3")]
