"""Hermetic fixtures: a fixed HOME and git identity, real git repositories in tmp folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitimprove.progress import Progress, report_progress_to
from tests.fakes.anthropic_server import FakeAnthropicServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_repo"


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Never read or write the real $HOME or git config; no API key, no leaked GIT_* vars."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Reviewer\n\temail = reviewer@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    for var in list(os.environ):
        if var.startswith("GIT_") or var.startswith("ANTHROPIC_") or var.startswith("GITIMPROVE_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("AGNO_TELEMETRY", "false")  # tests never talk to anything but localhost
    yield home
    # A command run without --repo in the current folder (gitimprove's own checkout) once
    # adopted it and committed a gitimprove.yaml there: a test must name its repository.
    assert not (ROOT / "gitimprove.yaml").exists(), (
        "a test ran `gitimprove init` in gitimprove's own checkout: give it a target folder")


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run plain git as a user would (test helper, not the product's git layer)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def commit_file(repo: Path, rel: str, text: str, message: str) -> str:
    """Write a file in the checkout and commit it; returns the commit id."""
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """A fresh instruction repository made from sample_repo/ with `gitimprove init --from`,
    in one commit (tests build the history they need)."""
    from gitimprove.instructions.init import init

    target = tmp_path / "repo"
    init(target, template=SAMPLE, replay_history=False)
    return target


@pytest.fixture
def sample_history(tmp_path: Path) -> Path:
    """sample_repo/ as `gitimprove init --from sample_repo` makes it: with its dated history
    (product-writer v1 on 2026-09-01, v2 on 2026-10-16), which the sample feedback spans."""
    from gitimprove.instructions.init import init

    target = tmp_path / "repo"
    init(target, template=SAMPLE)
    return target


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A plain copy of sample_repo/ (no git), for tests that build their own history."""
    dest = tmp_path / "copy"
    shutil.copytree(SAMPLE, dest)
    return dest


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropicServer]:
    """The fake Messages API, running; requests to it never go through a proxy."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with FakeAnthropicServer() as server:
        yield server


class Told(Progress):
    """What a waiting user would be shown: every status (``""``: cleared) and every note."""

    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.notes: list[str] = []

    def waiting(self, text: str) -> None:
        self.statuses.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> Iterator[Told]:
    """The waits of model calls, told from 0.2 s on (not 2 s)."""
    from gitimprove import llm

    monkeypatch.setattr(llm, "NOTICE_AFTER", 0.2)
    listener = Told()
    report_progress_to(listener)
    yield listener
    report_progress_to(None)


@dataclass
class Ran:
    """What a command run in this process gave: its exit code and its output."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def gitimprove(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """The console entry point in this process (where errors become messages and exit codes)."""
    from gitimprove.cli import main

    def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = 0
        try:
            main(["--repo", str(cwd), *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def fake_env(api: FakeAnthropicServer) -> dict[str, str]:
    """The environment that points the real SDK at the fake Messages API."""
    return {"ANTHROPIC_API_KEY": str(api.api_key), "ANTHROPIC_BASE_URL": api.base_url,
            "NO_PROXY": "127.0.0.1"}
