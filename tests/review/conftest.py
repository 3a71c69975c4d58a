"""Proposals built with plain git (so these tests do not depend on a proposer)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

PATH = "agents/product-writer.yaml"
SAFETY_RULE = "      - Never make medical or health claims.\n"
STYLE_RULE = "      - Use British English spelling.\n"
MODEL = ("claude-test", "model@gitimprove.invalid")


def run(cwd: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Plain git, as a user runs it; returns the completed process."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, input=input,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def out(cwd: Path, *args: str) -> str:
    return run(cwd, *args).stdout.strip()


def add_rule(rule: str, after: str = STYLE_RULE) -> Callable[[str], str]:
    return lambda text: text.replace(after, after + f"      - {rule}\n", 1)


def weaken_safety(text: str) -> str:
    return text.replace(SAFETY_RULE, "      - Health claims are fine when a customer asks.\n")


def commit_tree_change(repo: Path, base: str, changes: dict[str, str | None], message: str, *,
                       author: tuple[str, str] = MODEL) -> str:
    """A commit on top of ``base`` with ``changes`` (path -> text, None: deleted), no checkout."""
    index = repo / ".git" / f"tmp-index-{os.getpid()}" if (repo / ".git").is_dir() \
        else repo / f"tmp-index-{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        run(repo, "read-tree", base, env=env)
        for path, text in changes.items():
            if text is None:
                run(repo, "update-index", "--remove", "--force-remove", path, env=env)
            else:
                blob = run(repo, "hash-object", "-w", "--stdin", input=text).stdout.strip()
                run(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = run(repo, "write-tree", env=env).stdout.strip()
    finally:
        index.unlink(missing_ok=True)
    return run(repo, "commit-tree", tree, "-p", base, input=message,
               env={"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}).stdout.strip()


def make_proposal(repo: Path, pid: str, edit: Callable[[str], str], *, agent: str = "product-writer",
                  base: str = "main", evidence: str = "fb-1,fb-2", summary: str | None = None,
                  path: str | None = None) -> str:
    """Branch ``improve/<agent>/<pid>``: one model-authored commit with the proposal trailers
    (``path``: the agent's file, when it is not native; its only agent)."""
    path = path or f"agents/{agent}.yaml"
    old = out(repo, "show", f"{base}:{path}") + "\n"
    base_commit = out(repo, "rev-parse", f"{base}^{{commit}}")
    blob = out(repo, "rev-parse", f"{base}:{path}")
    message = (f"{agent}: {summary or f'proposal {pid}'}\n\nBecause users asked.\n\n"
               f"Gitimprove-Proposal: {pid}\nGitimprove-Agent: {agent}\n"
               f"Gitimprove-Base-Version: {blob}\nGitimprove-Base-Commit: {base_commit}\n"
               f"Gitimprove-Evidence: {evidence}\nGitimprove-Model: claude-test\n"
               "Gitimprove-Proposer: test\n")
    commit = commit_tree_change(repo, base_commit, {path: edit(old)}, message)
    run(repo, "update-ref", f"refs/heads/improve/{agent}/{pid}", commit)
    return commit


def human_commit(repo: Path, changes: dict[str, str | None], message: str, *,
                 base: str = "main", ref: str = "refs/heads/main") -> str:
    """A human's commit moved onto ``ref`` with update-ref (the checkout is not touched)."""
    commit = commit_tree_change(repo, base, changes, message + "\n",
                                author=("Human Editor", "human@example.com"))
    run(repo, "update-ref", ref, commit)
    return commit


def gitimprove(cwd: Path, *args: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    """The installed command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "gitimprove", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def ok(cwd: Path, *args: str) -> str:
    """``gitimprove ARGS`` that must succeed; its standard output."""
    proc = gitimprove(cwd, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
