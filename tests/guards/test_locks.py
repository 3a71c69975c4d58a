"""A lock file left by a killed git gets a message naming the file and who holds it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.review.conftest import add_rule, make_proposal

from .conftest import gi, refused, tip


@pytest.mark.parametrize("lock", ["refs/heads/main.lock", "HEAD.lock", "index.lock",
                                  "refs/gitimprove/rejected/product-writer/p1.lock"])
def test_a_stale_lock_is_named_with_what_to_do(sample_repo: Path, lock: str) -> None:
    repo = sample_repo
    make_proposal(repo, "p1", add_rule("Use short sentences."))
    path = repo / ".git" / lock
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    before = tip(repo)
    verb = ["reject", "p1", "--reason", "no"] if "rejected" in lock else ["approve", "p1"]
    err = refused(gi(repo, *verb))
    assert str(path) in err, err
    assert "no process has it open" in err and f"rm '{path}'" in err
    assert tip(repo) == before
    path.unlink()
    assert gi(repo, *verb).returncode == 0


def test_a_lock_held_by_a_live_process_says_so(sample_repo: Path) -> None:
    repo = sample_repo
    make_proposal(repo, "p1", add_rule("Use short sentences."))
    path = repo / ".git" / "refs" / "heads" / "main.lock"
    path.write_text("")
    holder = subprocess.Popen(["sleep", "30"], stdin=path.open())
    try:
        err = refused(gi(repo, "approve", "p1"))
        assert f"process {holder.pid} (sleep) has it open" in err, err
    finally:
        holder.kill()
        holder.wait()
