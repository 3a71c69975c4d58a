"""The hooks with real git: merge --no-ff, merge --ff-only, pull, and push to a bare remote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitimprove import InstructionRepo
from gitimprove.errors import GitImproveError
from gitimprove.review.actions import approve
from gitimprove.review.hooks import CHAINED_SUFFIX, MARKER, install, uninstall

from .conftest import PATH, SAFETY_RULE, add_rule, make_proposal, out, run, weaken_safety

BAD = "improve/product-writer/bad"
GOOD = "improve/product-writer/good"


def gitimprove(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitimprove", *args], cwd=cwd,
                          capture_output=True, text=True)


@pytest.fixture
def hooked(sample_repo: Path) -> Path:
    proc = gitimprove(sample_repo, "hooks", "install")
    assert proc.returncode == 0, proc.stderr
    make_proposal(sample_repo, "bad", weaken_safety)
    make_proposal(sample_repo, "good", add_rule("Use short sentences."))
    return sample_repo


def tip(repo: Path, ref: str = "main") -> str:
    return out(repo, "rev-parse", ref)


def test_install_writes_executable_hooks_that_call_this_python(sample_repo: Path) -> None:
    done = install(InstructionRepo(sample_repo))
    names = sorted(p.path.name for p in done)
    assert names == ["pre-merge-commit", "reference-transaction"]
    for item in done:
        text = item.path.read_text()
        assert MARKER in text and f'"{sys.executable}" -P -m gitimprove' in text
        assert item.path.stat().st_mode & 0o111
    again = install(InstructionRepo(sample_repo))  # ours: reinstalled in place
    assert not any(i.chained or i.replaced for i in again)


def test_install_refuses_foreign_hooks_then_chains_or_forces(sample_repo: Path) -> None:
    hook = sample_repo / ".git" / "hooks" / "pre-merge-commit"
    hook.write_text("#!/bin/sh\necho user-hook-ran >&2\nexit 0\n")
    hook.chmod(0o755)
    with pytest.raises(GitImproveError, match="not gitimprove's"):
        install(InstructionRepo(sample_repo))
    assert "user-hook-ran" in hook.read_text()
    done = install(InstructionRepo(sample_repo), chain=True)
    chained = hook.with_name("pre-merge-commit" + CHAINED_SUFFIX)
    assert [i.chained for i in done if i.chained] == [chained]
    assert "user-hook-ran" in chained.read_text()
    make_proposal(sample_repo, "good", add_rule("Use short sentences."))
    proc = run(sample_repo, "merge", "--no-ff", "-m", "merge good", GOOD)
    assert "user-hook-ran" in proc.stderr, "the chained hook still runs"
    uninstall(InstructionRepo(sample_repo))
    assert "user-hook-ran" in hook.read_text(), "uninstall puts the user's hook back"
    install(InstructionRepo(sample_repo), force=True)
    assert MARKER in hook.read_text() and not chained.exists()


def test_install_honours_core_hooks_path(sample_repo: Path) -> None:
    run(sample_repo, "config", "core.hooksPath", "my-hooks")
    done = install(InstructionRepo(sample_repo))
    assert {i.path.parent for i in done} == {(sample_repo / "my-hooks").resolve()}
    make_proposal(sample_repo, "bad", weaken_safety)
    before = tip(sample_repo)
    proc = run(sample_repo, "merge", "--ff-only", BAD, check=False)
    assert proc.returncode != 0 and tip(sample_repo) == before


def test_merge_no_ff_of_a_forbidden_proposal_is_refused_by_pre_merge_commit(hooked: Path) -> None:
    before = tip(hooked)
    proc = run(hooked, "merge", "--no-ff", "-m", "merge bad", BAD, check=False)
    assert proc.returncode != 0
    assert "refusing this merge into main" in proc.stderr
    assert "proposal bad" in proc.stderr and "protected section 'safety'" in proc.stderr
    assert tip(hooked) == before
    run(hooked, "merge", "--abort")
    assert SAFETY_RULE in (hooked / PATH).read_text()


def test_merge_no_verify_is_still_caught_by_reference_transaction(hooked: Path) -> None:
    before = tip(hooked)
    proc = run(hooked, "merge", "--no-ff", "--no-verify", "-m", "merge bad", BAD, check=False)
    assert proc.returncode != 0
    assert "refusing this update into main" in proc.stderr
    assert tip(hooked) == before


def test_merge_ff_only_of_a_forbidden_proposal_is_refused_by_reference_transaction(
        hooked: Path) -> None:
    before = tip(hooked)
    proc = run(hooked, "merge", "--ff-only", BAD, check=False)
    assert proc.returncode != 0
    assert "refusing this update into main" in proc.stderr
    assert tip(hooked) == before
    assert SAFETY_RULE in out(hooked, "show", f"main:{PATH}") + "\n"
    restore = f"git restore --source=HEAD --staged --worktree -- {PATH}"
    assert restore in proc.stderr
    run(hooked, *restore.split()[1:])
    assert run(hooked, "status", "--porcelain").stdout == ""


def test_update_ref_of_main_to_a_forbidden_proposal_is_refused(hooked: Path) -> None:
    before = tip(hooked)
    proc = run(hooked, "update-ref", "refs/heads/main", BAD, check=False)
    assert proc.returncode != 0 and tip(hooked) == before


def test_a_valid_proposal_merges_with_plain_git(hooked: Path) -> None:
    run(hooked, "merge", "--no-ff", "-m", "merge good", GOOD)
    assert "Use short sentences." in (hooked / PATH).read_text()
    run(hooked, "reset", "-q", "--hard", "HEAD~1")
    proc = run(hooked, "merge", "--ff-only", GOOD)
    assert tip(hooked) == tip(hooked, GOOD)
    # allowed, but no approval is recorded: the merger is told, once
    assert proc.stderr.count("without an approval (no merge commit)") == 1, proc.stderr
    assert "gitimprove approve ID" in proc.stderr


def test_a_human_edit_straight_to_main_is_not_blocked(hooked: Path) -> None:
    path = hooked / PATH
    path.write_text(path.read_text().replace(SAFETY_RULE, "      - Health claims need legal sign-off.\n"))
    run(hooked, "commit", "-q", "-am", "Legal: reword the health rule")
    assert "legal sign-off" in out(hooked, "show", f"main:{PATH}")
    # A human branch merged with plain git is a human edit too.
    run(hooked, "checkout", "-q", "-b", "human-branch")
    path.write_text(path.read_text().replace("legal sign-off", "written legal sign-off"))
    run(hooked, "commit", "-q", "-am", "Legal: stricter")
    run(hooked, "checkout", "-q", "main")
    run(hooked, "merge", "-q", "--no-ff", "-m", "merge human branch", "human-branch")
    assert "written legal sign-off" in out(hooked, "show", f"main:{PATH}")


def test_gitimprove_approve_works_with_the_hooks_installed(hooked: Path) -> None:
    landed = approve(InstructionRepo(hooked), "good")
    assert tip(hooked) == landed.commit


def test_git_pull_bringing_a_forbidden_change_is_refused(sample_repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    run(tmp_path, "clone", "-q", str(sample_repo), str(clone))
    assert gitimprove(clone, "hooks", "install").returncode == 0
    # Upstream (no hooks) merged a forbidden proposal with plain git.
    make_proposal(sample_repo, "bad", weaken_safety)
    run(sample_repo, "merge", "-q", "--no-ff", "-m", "merge bad", BAD)
    before = tip(clone)
    proc = run(clone, "pull", "--no-rebase", "--ff-only", check=False)
    assert proc.returncode != 0
    assert "refusing this update into main" in proc.stderr
    assert tip(clone) == before
    assert tip(clone, "origin/main") == tip(sample_repo), "the fetch itself is not blocked"
    run(clone, "restore", "--source=HEAD", "--staged", "--worktree", "--", PATH)
    # A valid change upstream pulls fine.
    run(sample_repo, "reset", "-q", "--hard", "HEAD~1")
    make_proposal(sample_repo, "good", add_rule("Use short sentences."))
    run(sample_repo, "merge", "-q", "--no-ff", "-m", "merge good", GOOD)
    run(clone, "pull", "-q", "--no-rebase", "--ff-only")
    assert tip(clone) == tip(sample_repo)


@pytest.fixture
def remote(sample_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    proc = gitimprove(bare, "hooks", "install", "--bare")
    assert proc.returncode == 0, proc.stderr
    assert (bare / "hooks" / "pre-receive").exists()
    clone = tmp_path / "work"
    run(tmp_path, "clone", "-q", str(bare), str(clone))
    return bare, clone


def test_push_of_a_forbidden_proposal_merge_is_refused_by_pre_receive(
        remote: tuple[Path, Path]) -> None:
    bare, clone = remote
    make_proposal(clone, "bad", weaken_safety)
    run(clone, "push", "-q", "origin", BAD)  # pushing the proposal branch itself is fine
    run(clone, "merge", "-q", "--no-ff", "-m", "merge bad", BAD)
    before = tip(bare)
    for flags in ((), ("--no-verify",)):
        proc = run(clone, "push", *flags, "origin", "main", check=False)
        assert proc.returncode != 0
        assert "refusing this push into main" in proc.stderr
        assert tip(bare) == before
    # Fast-forward variant.
    run(clone, "reset", "-q", "--hard", "origin/main")
    run(clone, "merge", "-q", "--ff-only", BAD)
    proc = run(clone, "push", "origin", "main", check=False)
    assert proc.returncode != 0 and tip(bare) == before


def test_push_of_valid_and_human_changes_is_accepted(remote: tuple[Path, Path]) -> None:
    bare, clone = remote
    make_proposal(clone, "good", add_rule("Use short sentences."))
    landed = approve(InstructionRepo(clone), "good")
    run(clone, "push", "-q", "origin", "main")
    assert tip(bare) == landed.commit
    path = clone / PATH
    path.write_text(path.read_text().replace(SAFETY_RULE, "      - Health claims need legal sign-off.\n"))
    run(clone, "commit", "-q", "-am", "Legal: reword")
    run(clone, "push", "-q", "origin", "main")
    assert tip(bare) == tip(clone)


def test_validate_on_a_person_s_branch_says_whose_rules_it_applied(sample_repo: Path) -> None:
    from .conftest import human_commit

    human_commit(sample_repo, {"README.md": "Our agents.\n"}, "Docs", ref="refs/heads/docs")
    proc = gitimprove(sample_repo, "validate", "--head", "docs")
    assert proc.returncode == 1 and "README.md: changes a path outside agents/" in proc.stdout
    assert "note: docs brings no proposal; these are the rules a proposal must pass" in proc.stdout
    make_proposal(sample_repo, "20261124-0dd0dd", weaken_safety)
    proc = gitimprove(sample_repo, "validate", "--head", "improve/product-writer/20261124-0dd0dd")
    assert proc.returncode == 1 and "note:" not in proc.stdout  # a proposal: its own rules


def test_the_duplicate_check_reads_git_not_what_is_kept(sample_repo: Path) -> None:
    """A push of a branch citing feedback a live proposal here cites is refused even when the
    summary kept on disk says otherwise (well-formed, but not evidence: the hooks read git)."""
    from gitimprove import ledger
    from gitimprove.git import ZERO_OID
    from gitimprove.review.hooks import DUPLICATE, duplicate_proposals

    make_proposal(sample_repo, "first", add_rule("Use short sentences."), evidence="fb-9")
    second = make_proposal(sample_repo, "second", add_rule("Name the size."), evidence="fb-9")
    run(sample_repo, "update-ref", "-d", "refs/heads/improve/product-writer/second")
    repo = InstructionRepo(sample_repo)
    ledger.scan(repo.git, repo.main_ref).summaries()  # kept on disk
    kept = repo.git.state_dir / "ledger" / "refs%2Fheads%2Fmain.summary"
    kept.write_bytes(kept.read_bytes().replace(b'"open"', b'"rejected"'))
    assert ledger.scan(repo.git, repo.main_ref).of_state(ledger.ProposalState.OPEN) == []
    found = duplicate_proposals(repo, [f"{ZERO_OID} {second} refs/heads/improve/product-writer/second"])
    assert len(found) == 1 and f"{DUPLICATE} first" in found[0], found


@pytest.mark.parametrize("cited", ["fb-new", "fb-7", "fb-1"])
def test_the_duplicate_check_refuses_only_feedback_a_live_proposal_cites(
        sample_repo: Path, cited: str) -> None:
    """Feedback no commit here names needs no scan; feedback a rejected proposal cites is free
    again; feedback an open proposal cites is refused."""
    from gitimprove.git import ZERO_OID
    from gitimprove.review.actions import reject
    from gitimprove.review.hooks import duplicate_proposals

    make_proposal(sample_repo, "open", add_rule("Use short sentences."), evidence="fb-1")
    make_proposal(sample_repo, "closed", add_rule("Be kind."), evidence="fb-7")
    repo = InstructionRepo(sample_repo)
    reject(repo, "closed", reason="no")
    pushed = make_proposal(sample_repo, "pushed", add_rule("Name the size."), evidence=cited)
    run(sample_repo, "update-ref", "-d", "refs/heads/improve/product-writer/pushed")
    found = duplicate_proposals(repo, [f"{ZERO_OID} {pushed} refs/heads/improve/product-writer/pushed"])
    assert len(found) == (cited == "fb-1"), found
