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


def test_a_missing_option_or_argument_reads_like_every_other_error(repo: Path) -> None:
    # click's own "Usage: ... Error: Missing option '--share'." was the only error not in the
    # project's form: what is missing, what it is, and where to read more
    cases = {
        ("trial", "start", "p1"): "error: gitimprove trial start needs --share PCT: the share of "
                                  "units served the proposal, a percentage like 10% (or 10), up "
                                  "to the policy's trials.max_share (20% unless set)",
        ("reject", "p1"): "error: gitimprove reject needs --reason TEXT: why (kept in git for the "
                          "audit trail)",
        ("approve",): "error: gitimprove approve needs PROPOSAL (usage: gitimprove approve "
                      "[OPTIONS] PROPOSAL)",
        ("diff", "product-writer"): "error: gitimprove diff needs A (usage: gitimprove diff "
                                    "[OPTIONS] AGENT A B)",
        ("trial", "start", "p1", "--share", "5", "--unit", "team"):
            "error: gitimprove trial start: invalid value for '--unit': 'team' is not one of "
            "'user', 'run'",
        ("show", "--att", "v1"): "error: gitimprove show: no such option '--att'",
    }
    for args, first in cases.items():
        proc = gi(*args, cwd=repo)
        command = first.split(" needs ")[0].split(":")[1].strip()
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stdout == "" and "Usage:" not in proc.stderr, (args, proc.stderr)
        assert proc.stderr.splitlines()[0].startswith(first), (args, proc.stderr)
        assert proc.stderr.splitlines()[1:] == [f"  hint: see `{command} --help`"], proc.stderr


def test_a_group_named_alone_still_shows_its_commands(repo: Path) -> None:
    proc = gi("trial", cwd=repo)
    assert "start" in proc.stdout + proc.stderr and "error:" not in proc.stderr


def test_a_repository_without_agents_is_told_a_command_that_exists(repo: Path) -> None:
    # the hint named `gitimprove adopt FILE`, which is no command
    git(repo, "rm", "-q", "-r", "agents")
    git(repo, "commit", "-q", "-m", "no agents")
    proc = gi("analyze", cwd=repo)
    assert proc.returncode == 1 and proc.stderr.startswith("error: there is no agent on main yet")
    assert "adopt" not in proc.stderr and "gitimprove docs file-formats" in proc.stderr
