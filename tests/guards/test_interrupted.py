"""A kill between main moving and the checkout update leaves no trap, and two approvals in
one checkout take turns."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.review.conftest import add_rule, make_proposal, out, run

from .conftest import gi, main_file, ok, refused, tip

KILL = {"GITIMPROVE_CRASH_AT": "after-main-moved"}
RULE = "Use short sentences."


def killed_approval(repo: Path) -> str:
    make_proposal(repo, "p1", add_rule(RULE))
    proc = gi(repo, "approve", "p1", env=KILL)
    assert proc.returncode == -9, (proc.returncode, proc.stderr)
    assert RULE in main_file(repo), "main moved before the kill"
    assert RULE not in (repo / "agents" / "product-writer.yaml").read_text(), "checkout did not"
    return tip(repo)


def test_the_next_command_finishes_the_checkout_update(sample_repo: Path) -> None:
    repo = sample_repo
    killed_approval(repo)
    proc = ok(gi(repo, "agents"))
    assert "finished an interrupted update" in proc.stderr
    assert RULE in (repo / "agents" / "product-writer.yaml").read_text()
    assert out(repo, "status", "--porcelain") == ""


def test_recover_says_what_it_did(sample_repo: Path) -> None:
    killed_approval(sample_repo)
    assert "finished an interrupted update" in ok(gi(sample_repo, "recover")).stdout
    assert "nothing to recover" in ok(gi(sample_repo, "recover")).stdout


@pytest.mark.parametrize("flags", [[], ["--no-verify"]])
def test_a_plain_commit_cannot_silently_undo_the_approval(sample_repo: Path, flags: list[str]) -> None:
    repo = sample_repo
    ok(gi(repo, "hooks", "install"))
    approved = killed_approval(repo)
    # The user's next ordinary commit: the old agent file is what the checkout holds.
    (repo / "notes.txt").write_text("x\n")
    run(repo, "add", "notes.txt")
    proc = run(repo, "commit", "-q", *flags, "-m", "notes", check=False)
    assert proc.returncode != 0
    assert "interrupted before it updated this checkout" in proc.stderr
    assert "read-tree -m -u" in proc.stderr, "says exactly what to run"
    assert tip(repo) == approved and RULE in main_file(repo)
    ok(gi(repo, "recover"))
    run(repo, "commit", "-q", "-m", "notes")
    assert RULE in main_file(repo), "the approval survived the commit"
    history = ok(gi(repo, "history", "product-writer")).stdout
    assert history.splitlines()[0].startswith("v2")
    audit = ok(gi(repo, "audit", "--agent", "product-writer")).stdout
    assert "approved" in audit.lower() and "human" not in audit.lower(), audit


def test_a_killed_rollback_is_finished_too(sample_repo: Path) -> None:
    repo = sample_repo
    make_proposal(repo, "p1", add_rule(RULE))
    ok(gi(repo, "approve", "p1"))
    proc = gi(repo, "rollback", "p1", env=KILL)
    assert proc.returncode == -9
    assert RULE not in main_file(repo)
    ok(gi(repo, "proposals"))
    assert RULE not in (repo / "agents" / "product-writer.yaml").read_text()
    assert out(repo, "status", "--porcelain") == ""


def test_a_checkout_that_stays_locked_gets_the_exact_command(sample_repo: Path) -> None:
    repo = sample_repo
    killed_approval(repo)
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    proc = gi(repo, "recover")
    err = refused(proc)
    assert "read-tree -m -u" in err and str(lock) in err
    lock.unlink()
    ok(gi(repo, "recover"))
    assert RULE in (repo / "agents" / "product-writer.yaml").read_text()


def test_two_approvals_in_one_checkout_take_turns(sample_repo: Path) -> None:
    repo = sample_repo
    ok(gi(repo, "hooks", "install"))
    rounds = 4
    for n in range(rounds):
        a = make_proposal(repo, f"a{n}", add_rule(f"Rule A{n}."))
        b = make_proposal(repo, f"b{n}", add_rule(f"Rule B{n}.", after="      - Keep the exact "
                                                 "product name as written, including capitalisation.\n"))
        with ThreadPoolExecutor(2) as pool:
            procs = list(pool.map(lambda pid: gi(repo, "approve", pid), [f"a{n}", f"b{n}"]))
        for proc in procs:
            assert proc.returncode == 0, proc.stderr
        for commit in (a, b):
            assert run(repo, "merge-base", "--is-ancestor", commit, "main", check=False).returncode == 0
        assert out(repo, "status", "--porcelain") == "", "the checkout matches main"
        text = main_file(repo)
        assert f"Rule A{n}." in text and f"Rule B{n}." in text
    assert len(out(repo, "rev-list", "--merges", "main").split()) == 2 * rounds
