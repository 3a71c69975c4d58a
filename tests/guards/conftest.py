"""Guards driven from outside: the installed ``gitimprove`` and plain git in real repositories.

Each test reproduces one way a protected change, a killed process or a race could get past
the guards, and asserts what reached main, what ``audit`` says and what the user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.review.conftest import out

_SCRIPT = Path(sys.executable).parent / "gitimprove"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "gitimprove"]


def gi(cwd: Path, *args: str, env: dict[str, str] | None = None,
       input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, as a user runs it."""
    return subprocess.run([*COMMAND, *args], cwd=cwd, capture_output=True, text=True,
                          input=input, env={**os.environ, **(env or {})})


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def refused(proc: subprocess.CompletedProcess[str]) -> str:
    """A clean refusal: exit 1 and an ``error:`` line, never a traceback or exit 3."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert "error:" in proc.stderr, proc.stderr
    return proc.stderr


def tip(repo: Path, ref: str = "main") -> str:
    return out(repo, "rev-parse", ref)


def main_file(repo: Path, path: str = "agents/product-writer.yaml") -> str:
    return out(repo, "show", f"main:{path}")


@pytest.fixture
def hooked(sample_repo: Path) -> Path:
    """The sample repository with the checkout hooks installed by the command."""
    ok(gi(sample_repo, "hooks", "install"))
    return sample_repo


@pytest.fixture(scope="module")
def with_feedback(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository made by `init --from` the sample, its feedback imported (one a module)."""
    from tests.conftest import SAMPLE

    repo = tmp_path_factory.mktemp("api") / "repo"
    ok(gi(repo.parent, "init", str(repo), "--from", str(SAMPLE)))
    ok(gi(repo, "feedback", "import", str(SAMPLE / "feedback.jsonl")))
    return repo
