"""The one door to git: object ids, refs by compare-and-swap, a clean environment, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitimprove.errors import GitCommandError, NotARepositoryError, RefRaceError
from gitimprove.git import (
    MIN_GIT_VERSION,
    ZERO_OID,
    Identity,
    Oid,
    Repository,
    TreeEntry,
    check_git_version,
    clean_env,
    diff_trees,
    read_changes,
    replace_path,
)

from .conftest import commit_file, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit_file(path, "a.txt", "one\n", "first")
    commit_file(path, "a.txt", "two\n", "second")
    return path


def rev(repo: Path, name: str) -> Oid:
    return Oid(git(repo, "rev-parse", name).strip())


# -- Oid ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a" * 40, "0123456789abcdef" * 4, "f" * 64])
def test_oid_accepts_full_hex(value: str) -> None:
    oid = Oid(value)
    assert oid == value and isinstance(oid, str)
    assert oid.short == value[:10]


@pytest.mark.parametrize("value", ["", "a" * 39, "a" * 41, "A" * 40, "g" * 40, "a" * 40 + "\n",
                                   " " + "a" * 39, "HEAD", "a" * 63])
def test_oid_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="not a full object id"):
        Oid(value)


def test_zero_oid() -> None:
    assert ZERO_OID == "0" * 40


# -- discovery ------------------------------------------------------------------------------


def test_discover_from_a_subfolder(repo: Path) -> None:
    (repo / "sub" / "deeper").mkdir(parents=True)
    r = Repository.discover(repo / "sub" / "deeper")
    assert r.work_tree == repo.resolve()
    assert r.git_dir == (repo / ".git").resolve()
    assert not r.is_bare


def test_discover_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(NotARepositoryError, match="is not inside a git repository"):
        Repository.discover(tmp_path)


def test_discover_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"))
    r = Repository.discover(tmp_path / "wt")
    assert r.common_dir == (repo / ".git").resolve()
    assert r.read_ref("HEAD") == rev(repo, "side")
    assert r.read_ref("refs/heads/main") == rev(repo, "main")


# -- refs -----------------------------------------------------------------------------------


def test_read_ref_loose_packed_and_symbolic(repo: Path) -> None:
    r = Repository.discover(repo)
    main = rev(repo, "main")
    assert r.read_ref("refs/heads/main") == main
    assert r.read_ref("HEAD") == main  # follows the symbolic ref
    assert r.symbolic_ref("HEAD") == "refs/heads/main"
    assert r.read_ref("refs/heads/nope") is None
    git(repo, "branch", "other", "main~1")
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "other").exists()
    assert r.read_ref("refs/heads/other") == rev(repo, "main~1")
    assert r.read_ref("refs/heads/main") == main
    git(repo, "update-ref", "refs/heads/other", "main")  # loose again, shadows packed-refs
    assert r.read_ref("refs/heads/other") == main


def test_for_each_ref_of_an_empty_folder_and_of_packed_refs(repo: Path) -> None:
    r = Repository.discover(repo)
    assert r.for_each_ref("refs/gitimprove/trials/") == []  # nothing there: no git process
    git(repo, "update-ref", "refs/gitimprove/trials/a", "main")
    assert r.for_each_ref("refs/gitimprove/trials/") == [("refs/gitimprove/trials/a", rev(repo, "main"))]
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "gitimprove" / "trials").exists()
    assert r.for_each_ref("refs/gitimprove/trials/") == [("refs/gitimprove/trials/a", rev(repo, "main"))]
    git(repo, "update-ref", "-d", "refs/gitimprove/trials/a")
    assert r.for_each_ref("refs/gitimprove/trials/") == []


def test_read_ref_detached_head(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "main~1")
    r = Repository.discover(repo)
    assert r.read_ref("HEAD") == rev(repo, "main~1")
    assert r.symbolic_ref("HEAD") is None


def test_update_ref_creates_only_when_absent(repo: Path) -> None:
    r = Repository.discover(repo)
    main = rev(repo, "main")
    r.update_ref("refs/heads/new", main, None, "test: create")
    assert rev(repo, "new") == main
    with pytest.raises(RefRaceError, match=r"refs/heads/new already exists \(expected nothing\)") as info:
        r.update_ref("refs/heads/new", rev(repo, "main~1"), None, "test: create again")
    assert info.value.hint == "someone else changed it meanwhile; run the command again"
    assert rev(repo, "new") == main


def test_update_ref_compare_and_swap(repo: Path) -> None:
    r = Repository.discover(repo)
    first, second = rev(repo, "main~1"), rev(repo, "main")
    r.update_ref("refs/heads/main", first, second, "test: move back")
    assert rev(repo, "main") == first
    assert "test: move back" in git(repo, "reflog", "-1", "main")
    with pytest.raises(RefRaceError, match=f"refs/heads/main moved to {first} \\(expected {second}\\)"):
        r.update_ref("refs/heads/main", second, second, "test: stale old value")
    assert rev(repo, "main") == first


def test_update_ref_loses_a_race_with_another_process(repo: Path) -> None:
    r = Repository.discover(repo)
    seen = r.read_ref("refs/heads/main")
    assert seen is not None
    other = commit_file(repo, "a.txt", "three\n", "someone else")
    with pytest.raises(RefRaceError):
        r.update_ref("refs/heads/main", rev(repo, "main~2"), seen, "test: late")
    assert rev(repo, "main") == other


def test_update_ref_on_packed_ref(repo: Path) -> None:
    git(repo, "pack-refs", "--all")
    r = Repository.discover(repo)
    r.update_ref("refs/heads/main", rev(repo, "main~1"), rev(repo, "main"), "test: packed")
    assert r.read_ref("refs/heads/main") == rev(repo, "main")


def test_delete_ref(repo: Path) -> None:
    r = Repository.discover(repo)
    git(repo, "branch", "gone")
    r.delete_ref("refs/heads/gone", rev(repo, "main"), "test: delete")
    assert r.read_ref("refs/heads/gone") is None


def test_rev_parse(repo: Path) -> None:
    r = Repository.discover(repo)
    assert r.rev_parse("main~1") == rev(repo, "main~1")
    assert r.rev_parse("nope") is None
    assert r.rev_parse("--all") is None
    # as `git rev-parse --verify REV^{commit}` resolves them
    git(repo, "tag", "-a", "-m", "a tag", "v1", "main~1")
    git(repo, "branch", "side", "main~1")
    tree = git(repo, "rev-parse", "main^{tree}").strip()
    for name in ("HEAD", "main", "v1", "refs/tags/v1", "side", "main@{0}", ":/first",
                 rev(repo, "main")[:8], "main^", "HEAD~1", tree, "main:a.txt", "", "no such",
                 "v1^{tree}", "main~5", "main\nmain"):
        verified = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options",
                                   name + "^{commit}"], cwd=repo, capture_output=True, text=True)
        assert r.rev_parse(name) == (verified.stdout.strip() or None), name


# -- a clean environment ----------------------------------------------------------------------


def test_leaked_git_variables_do_not_redirect_commands(repo: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    git(decoy, "init", "-q", "-b", "main")
    commit_file(decoy, "d.txt", "decoy\n", "decoy")
    index_before = (repo / ".git" / "index").read_bytes()
    monkeypatch.setenv("GIT_DIR", str(decoy / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(decoy))
    monkeypatch.setenv("GIT_INDEX_FILE", str(decoy / ".git" / "index"))
    r = Repository.discover(repo)
    assert r.git_dir == (repo / ".git").resolve()
    assert r.run("rev-parse", "HEAD").strip() == rev_of(repo, "HEAD")
    assert r.run("log", "--format=%s").split() == ["second", "first"]
    assert r.read_blob("main:a.txt") == (rev_of(repo, "main:a.txt"), b"two\n")
    assert r.run("ls-files", cwd_worktree=True).split() == ["a.txt"]
    assert (repo / ".git" / "index").read_bytes() == index_before
    env = clean_env()
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        assert var not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def rev_of(repo: Path, name: str) -> str:
    """rev-parse with a clean environment, whatever the test set."""
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    return subprocess.run(["git", "rev-parse", name], cwd=repo, capture_output=True, text=True,
                          env=env, check=True).stdout.strip()


def test_clean_env_keeps_extra_values() -> None:
    assert clean_env({"GIT_AUTHOR_NAME": "Model"})["GIT_AUTHOR_NAME"] == "Model"


# -- errors -----------------------------------------------------------------------------------


def test_git_command_error_carries_the_command(repo: Path) -> None:
    r = Repository.discover(repo)
    with pytest.raises(GitCommandError) as info:
        r.run("rev-parse", "--verify", "no-such-branch")
    err = info.value
    assert err.argv == ["git", "rev-parse", "--verify", "no-such-branch"]
    assert err.returncode == 128
    assert "fatal: Needed a single revision" in err.stderr
    assert str(err) == ("`git rev-parse --verify no-such-branch` failed with exit code 128: "
                        "fatal: Needed a single revision")


def test_check_git_version() -> None:
    found = check_git_version()
    assert isinstance(found, tuple) and len(found) == 2
    assert found >= MIN_GIT_VERSION


def test_an_old_git_is_named_when_it_fails(repo: Path, tmp_path: Path) -> None:
    """No `git --version` on every start: the version is asked when git fails, and an old
    one is the error the user sees."""
    fake = tmp_path / "oldgit"
    fake.mkdir()
    (fake / "git").write_text('#!/bin/sh\n[ "$1" = --version ] && echo "git version 2.30.9" '
                              '&& exit 0\necho "usage: git ..." >&2\nexit 129\n')
    (fake / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "gitimprove", "agents"], cwd=repo, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: gitimprove needs git >= 2.38, found git version 2.30.9")


# -- objects ------------------------------------------------------------------------------------


def test_objects_round_trip(repo: Path) -> None:
    r = Repository.discover(repo)
    data = "héllo\x00bytes\n".encode()
    oid = r.write_blob(data)
    plain = subprocess.run(["git", "hash-object", "--stdin"], cwd=repo, input=data,
                           capture_output=True, check=True).stdout.decode().strip()
    assert oid == plain
    assert r.read_blob(oid) == (oid, data)
    assert r.read_blob("main:missing.txt") is None
    assert r.read_blob("main") is None  # a commit, not a blob
    assert r.read_tree("main:a.txt") is None
    tree = r.read_tree("main^{tree}")
    assert r.read_tree("main") is None  # a commit, not a tree
    assert tree == [TreeEntry("100644", "a.txt", rev(repo, "main:a.txt"))]
    assert r.read_object("main\nmain") is None


def test_replace_path_and_diff_trees(repo: Path) -> None:
    r = Repository.discover(repo)
    base = rev(repo, "main^{tree}")
    blob = r.write_blob(b"new\n")
    tree = replace_path(r, base, "agents/x.yaml", blob)
    assert r.read_blob(f"{tree}:agents/x.yaml") == (blob, b"new\n")
    assert r.read_blob(f"{tree}:a.txt") == r.read_blob("main:a.txt")
    assert diff_trees(r, base, tree) == [("agents/x.yaml", None, blob)]
    removed = replace_path(r, tree, "a.txt", None)
    assert [e.name for e in r.read_tree(removed) or []] == ["agents"]
    commit = r.commit_tree(tree, [rev(repo, "main")], "msg\n",
                           author=Identity("Model", "model@example.com"))
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn|%s", commit).strip() == \
        "Model <model@example.com>|Test Reviewer|msg"
    assert git(repo, "status", "--porcelain") == ""


def test_identity_parse() -> None:
    assert Identity.parse(" Ada Lovelace <ada@example.com> ") == Identity("Ada Lovelace", "ada@example.com")
    assert str(Identity("A", "a@b")) == "A <a@b>"
    for bad in ("no email", "<only@email>", "A <a@b> <c@d>"):
        with pytest.raises(ValueError):
            Identity.parse(bad)




def test_read_changes_is_diff_trees_without_a_process(tmp_path: Path) -> None:
    path = tmp_path / "trees"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    files = {"a.txt": "a\n", "agents/x.yaml": "x\n", "agents/y.yaml": "y\n",
             "agents/deep/z.yaml": "z\n", "agents.txt": "sorts between\n", "run.sh": "echo\n"}
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "first")
    first = rev(path, "HEAD")
    (path / "agents/x.yaml").write_text("x2\n")  # changed
    (path / "agents/y.yaml").unlink()  # removed
    (path / "agents/deep/new.yaml").write_text("n\n")  # added, in a folder
    (path / "b").mkdir()
    (path / "b/c.txt").write_text("c\n")  # a new folder
    git(path, "update-index", "--chmod=+x", "run.sh")  # the mode alone
    git(path, "add", "-A", "agents", "b")
    git(path, "commit", "-qm", "second")
    second = rev(path, "HEAD")
    repo = Repository.discover(path)
    for old, new in ((first, second), (second, first), (first, first),
                     (repo.tree_of(first), second)):
        assert read_changes(repo, old, new) == diff_trees(repo, old, new)
    assert [p for p, _, _ in read_changes(repo, first, second) or []] == [
        "agents/deep/new.yaml", "agents/x.yaml", "agents/y.yaml", "b/c.txt", "run.sh"]
    # a path that is a file on one side and a folder on the other: git's diff is asked
    (path / "a.txt").unlink()
    (path / "a.txt").mkdir()
    (path / "a.txt/inside").write_text("i\n")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "third")
    assert read_changes(repo, second, rev(path, "HEAD")) is None


def test_a_failed_command_s_message_shows_its_start_not_all_of_it() -> None:
    """A git command given a 100 KB pattern that fails must not print the pattern whole."""
    from gitimprove.errors import GitCommandError

    exc = GitCommandError(["git", "log", "-G" + "x" * 100_000], 128, "fatal: " + "y" * 5000)
    assert len(exc.message) < 800
    assert exc.message.startswith("`git log -Gxxx") and "fatal: yyy" in exc.message
    assert exc.argv[2] == "-G" + "x" * 100_000  # the command itself is kept whole
