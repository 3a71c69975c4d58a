"""The README's commands, run as a user would: the installed `gitimprove` in a shell."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE

README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def _block_after(heading: str) -> list[str]:
    section = README.split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"no bash block after {heading!r}"
    lines = []
    for raw in block.group(1).splitlines():
        line = raw.split("  #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _run(cwd: Path, line: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(shlex.split(line, comments=True), cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _open_id(cwd: Path) -> str:
    proc = _run(cwd, "gitimprove proposals --json")
    return str(json.loads(proc.stdout)["proposals"][0]["id"])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE, tmp_path / "sample_repo")
    return tmp_path


def test_walkthrough(workdir: Path) -> None:
    cwd = workdir
    last_id = ""
    for line in _block_after("## A five-minute walkthrough"):
        if line.startswith("cd "):
            cwd = cwd / line[3:]
            continue
        if "<id>" in line:
            last_id = last_id or _open_id(cwd)
            line = line.replace("<id>", last_id)
        proc = _run(cwd, line)
        if line.startswith("gitimprove evaluate"):  # offline: says what it needs, exits 1
            assert proc.returncode == 1 and "needs a model" in proc.stderr, proc.stderr
            continue
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        if line.startswith("gitimprove propose product-writer") and "--dry-run" not in line:
            assert "Proposed improve/product-writer/" in proc.stdout
    log = _run(cwd, "git log --format=%s --first-parent main").stdout
    assert "Roll back product-writer proposal" in log
    assert "Approve product-writer proposal" in log
    assert _run(cwd, "git status --porcelain").stdout == ""


def test_review_with_plain_git_block(workdir: Path) -> None:
    repo = workdir / "repo"
    assert _run(workdir, f"gitimprove init {repo} --from sample_repo").returncode == 0
    assert _run(repo, "gitimprove feedback import feedback.jsonl").returncode == 0
    # A second version, so that `rollback product-writer@v2` has something to restore.
    for n in (2, 3):
        path = repo / "agents" / "product-writer.yaml"
        path.write_text(path.read_text() + f"# revision {n}\n")
        assert _run(repo, "git commit -qam edit").returncode == 0
    lines = _block_after("## Review with plain git, or with pull requests")
    first = _run(repo, "gitimprove propose product-writer")
    assert first.returncode == 0, first.stderr
    pid = _open_id(repo)
    for line in lines:
        if line.startswith("gitimprove reject"):
            _run(repo, "gitimprove propose support-agent")
            pid_reject = next(p["id"] for p in json.loads(_run(repo, "gitimprove proposals --json").stdout)
                              ["proposals"] if p["agent"] == "support-agent")
            line = line.replace("<id>", pid_reject)
        line = line.replace("<id>", pid)
        proc = _run(repo, line)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"


def test_trial_block(workdir: Path) -> None:
    repo = workdir / "repo"
    assert _run(workdir, f"gitimprove init {repo} --from sample_repo").returncode == 0
    assert _run(repo, "gitimprove feedback import feedback.jsonl").returncode == 0
    assert _run(repo, "gitimprove propose product-writer").returncode == 0
    pid = _open_id(repo)
    outputs = []
    for line in _block_after("## Try a proposal on real traffic first"):
        proc = _run(repo, line.replace("<id>", pid))
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        outputs.append(proc.stdout)
    assert "Started trial" in outputs[0] and "10% of users" in outputs[1]
    assert "Stopped trial" in outputs[2]
