"""A broken agent file: the hooks keep it off main, load() serves the last valid version,
and the documented way back (rollback AGENT@vN) works from a broken tip."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gitimprove import InstructionRepo, InvalidFileError
from tests.review.conftest import PATH, add_rule, make_proposal, out, run

from .conftest import gi, main_file, ok, refused, tip

BROKEN = "name: product-writer\nsections:\n  - id: role\n    text: [unclosed\n"
RULE = "Use short sentences."


def commit_broken(repo: Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    (repo / PATH).write_text(BROKEN)
    run(repo, "add", PATH)
    return run(repo, "commit", "-q", "-m", "oops", env=env, check=check).returncode


def test_hooks_keep_a_broken_agent_file_off_main(hooked: Path) -> None:
    repo = hooked
    before = tip(repo)
    assert commit_broken(repo, check=False) != 0
    assert tip(repo) == before
    proc = run(repo, "commit", "-q", "--no-verify", "-m", "oops", check=False)
    assert proc.returncode != 0 and "does not validate" in proc.stderr
    assert "GITIMPROVE_ALLOW_BROKEN=1" in proc.stderr, "names the emergency override"
    assert tip(repo) == before


def test_a_broken_file_pushed_to_the_server_is_refused(sample_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    ok(gi(bare, "hooks", "install", "--bare"))
    run(sample_repo, "remote", "add", "origin", str(bare))
    commit_broken(sample_repo)
    proc = run(sample_repo, "push", "origin", "main", check=False)
    assert proc.returncode != 0 and "does not validate" in proc.stderr
    assert out(bare, "rev-parse", "main") != tip(sample_repo)


def test_the_override_lets_an_emergency_through(hooked: Path) -> None:
    assert commit_broken(hooked, env={"GITIMPROVE_ALLOW_BROKEN": "1"}) == 0
    assert "[unclosed" in main_file(hooked)


@pytest.fixture
def broken_main(sample_repo: Path) -> Path:
    """v1, then an approved v2, then a broken v3 committed without hooks."""
    repo = sample_repo
    make_proposal(repo, "p1", add_rule(RULE))
    ok(gi(repo, "approve", "p1"))
    commit_broken(repo)
    return repo


def test_load_serves_the_last_valid_version_and_says_so(broken_main: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gitimprove"):
        inst = InstructionRepo(broken_main).load("product-writer")
    assert RULE in inst.text and inst.label == "v2"
    assert inst.fallback_from is not None
    assert inst.fallback_from == out(broken_main, "rev-parse", f"main:{PATH}")
    assert any("serving v2" in r.getMessage() for r in caplog.records)
    with pytest.raises(InvalidFileError):
        InstructionRepo(broken_main).load("product-writer", strict=True)


def test_commands_that_do_not_need_the_file_keep_working(broken_main: Path) -> None:
    repo = broken_main
    proc = gi(repo, "agents")
    assert "product-writer" in proc.stdout and "broken" in proc.stdout.lower()
    assert "support-agent" in proc.stdout
    history = ok(gi(repo, "history", "product-writer")).stdout
    assert history.splitlines()[0].startswith("v2"), "a broken commit is not a version"
    for args in (["proposals", "--all"], ["audit"], ["feedback", "list"], ["show", "support-agent"]):
        ok(gi(repo, *args))
    err = refused(gi(repo, "show", "product-writer"))
    assert "agents/product-writer.yaml" in err


def test_rollback_to_a_version_works_from_a_broken_tip(broken_main: Path) -> None:
    repo = broken_main
    ok(gi(repo, "rollback", "product-writer@v1", "--reason", "broken file"))
    text = main_file(repo)
    assert "[unclosed" not in text and RULE not in text
    assert InstructionRepo(repo).load("product-writer").fallback_from is None
    audit = ok(gi(repo, "audit", "--agent", "product-writer")).stdout.lower()
    assert "roll" in audit
    ok(gi(repo, "rollback", "product-writer@v2"))
    assert RULE in main_file(repo)
