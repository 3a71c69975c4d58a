"""The installed `gitimprove` command, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import SAMPLE, commit_file, git

BIN = Path(sys.executable).parent / "gitimprove"
PW = "agents/product-writer.yaml"

pytestmark = pytest.mark.skipif(not BIN.exists(), reason="the console script is not installed")


def gi(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "100"}, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "instructions"
    proc = gi("init", str(target), "--from", str(SAMPLE), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return target


def test_init_then_read_everything(repo: Path, tmp_path: Path) -> None:
    assert git(repo, "status", "--porcelain") == ""
    text = (repo / PW).read_text().replace("    rules:\n", "    rules:\n      - Mention the warranty.\n", 1)
    commit_file(repo, PW, text, "warranty rule")

    agents = gi("agents", "--json", cwd=repo / "agents")  # discovered from a subfolder
    assert agents.returncode == 0, agents.stderr
    data = json.loads(agents.stdout)
    assert [(a["name"], a["version"]) for a in data["agents"]] == [
        ("product-writer", "v3"), ("research-assistant", "v1"), ("support-agent", "v1"),
        ("trip-planner", "v1")]

    # the sample comes with its own history: v1 (2026-09-01) and v2 (2026-10-16)
    show = gi("--repo", str(repo), "show", "product-writer", "--at", "v2", cwd=tmp_path)
    assert show.returncode == 0 and show.stdout == (SAMPLE / PW).read_text()
    rendered = gi("show", "product-writer", "--rendered", cwd=repo)
    assert "- Mention the warranty.\n" in rendered.stdout

    history = gi("history", "product-writer", "--json", cwd=repo)
    assert [v["version"] for v in json.loads(history.stdout)["versions"]] == ["v3", "v2", "v1"]

    diff = gi("diff", "product-writer", "v2", "v3", cwd=repo)
    assert diff.returncode == 0
    assert [line for line in diff.stdout.splitlines()[2:] if line[:1] in "+-"] == [
        "+      - Mention the warranty."]
    assert git(repo, "status", "--porcelain") == ""


def test_repo_from_the_environment(repo: Path, tmp_path: Path) -> None:
    proc = subprocess.run([str(BIN), "agents"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "GITIMPROVE_REPO": str(repo)}, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("product-writer")


def test_not_a_git_repository(tmp_path: Path) -> None:
    proc = gi("agents", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (f"error: {tmp_path} is not inside a git repository\n"
                           "  hint: cd into your instruction repository, or pass --repo PATH "
                           "(`gitimprove init PATH` makes one)\n")


def test_unknown_agent(repo: Path) -> None:
    proc = gi("show", "support", cwd=repo)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no agent 'support' on main ")
    assert "hint: did you mean 'support-agent'?" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_invalid_file(repo: Path) -> None:
    text = (repo / PW).read_text().replace("    rules:\n", "    rules:\n      - yes\n", 1)
    commit_file(repo, PW, text, "break")
    line = text.splitlines().index("      - yes") + 1
    proc = gi("show", "product-writer", cwd=repo)
    assert proc.returncode == 1
    assert proc.stderr == (f"error: {PW}:{line}:9: sections[1].rules[0]: Input should be a valid "
                           "string, got bool True\n"
                           "  hint: agents are served v2, the last valid version (`gitimprove "
                           "show product-writer@v2`; to restore it: `gitimprove rollback "
                           "product-writer@v2`); see `gitimprove docs file-formats` for the agent file "
                           "format\n")


def test_python_dash_m(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gitimprove", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: ")
    for command in ("init", "agents", "show", "history", "diff"):
        assert f"  {command} " in proc.stdout


def test_version(tmp_path: Path) -> None:
    from gitimprove import __version__

    proc = gi("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == f"gitimprove, version {__version__}\n"
