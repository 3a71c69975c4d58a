"""The hooks know the main branch from install time, never from the tree they judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.conftest import (
    SAFETY_RULE,
    commit_tree_change,
    make_proposal,
    out,
    run,
    weaken_safety,
)

from .conftest import gi, ok, tip

BROKEN_POLICY = "version: 1\nmain_branch: [not, a, name\n"
OTHER_MAIN = "version: 1\nmain_branch: elsewhere\nprotected_sections: []\n"


@pytest.mark.parametrize("policy", [BROKEN_POLICY, OTHER_MAIN], ids=["broken", "other-main"])
@pytest.mark.parametrize("how", ["branch -f", "push ."])
def test_main_moved_from_a_branch_whose_policy_lies_is_judged(hooked: Path, policy: str,
                                                             how: str) -> None:
    repo = hooked
    run(repo, "branch", "elsewhere", "main")
    pw = out(repo, "show", "main:agents/product-writer.yaml") + "\n"
    commit = commit_tree_change(repo, tip(repo), {
        "agents/product-writer.yaml": weaken_safety(pw), "gitimprove.yaml": policy},
        "product-writer: proposal p1\n\nGitimprove-Proposal: p1\nGitimprove-Agent: product-writer\n")
    run(repo, "update-ref", "refs/heads/improve/product-writer/p1", commit)
    run(repo, "checkout", "-q", "improve/product-writer/p1")
    before = tip(repo)
    if how == "branch -f":
        proc = run(repo, "branch", "-f", "main", "HEAD", check=False)
    else:
        proc = run(repo, "push", ".", "HEAD:main", check=False)
    assert proc.returncode != 0, proc.stderr
    assert tip(repo) == before, "main did not move"
    assert SAFETY_RULE.strip() in out(repo, "show", "main:agents/product-writer.yaml")
    assert "refusing" in proc.stderr


def test_hook_script_names_the_branch_it_guards(hooked: Path) -> None:
    script = (hooked / ".git" / "hooks" / "reference-transaction").read_text()
    assert "--branch main" in script


def test_a_valid_proposal_still_passes_from_any_checkout(hooked: Path) -> None:
    repo = hooked
    make_proposal(repo, "good", lambda t: t.replace("      - Use British English spelling.\n",
                                                    "      - Use British English spelling.\n"
                                                    "      - Use short sentences.\n"))
    run(repo, "checkout", "-q", "improve/product-writer/good")
    run(repo, "branch", "-f", "main", "HEAD")
    assert tip(repo) == tip(repo, "improve/product-writer/good")
    ok(gi(repo, "audit"))


def test_a_main_branch_name_is_never_code_in_the_hook_script(sample_repo: Path, tmp_path: Path) -> None:
    """`$`, backticks and quotes are allowed in a branch name; the script holds it as a literal."""
    import subprocess

    from gitimprove.review.hooks import hook_script

    script = tmp_path / "reference-transaction"
    for name in ("ma$(touch pwned)in", "ma`touch pwned`in", 'ma"in'):
        script.write_text(hook_script("reference-transaction", "/bin/false", name))
        script.chmod(0o755)
        for line, code in (("0 1 refs/heads/other", 0), (f"0 1 refs/heads/{name}", 1)):
            proc = subprocess.run([str(script), "prepared"], input=line + "\n", cwd=tmp_path,
                                  text=True, capture_output=True)
            assert proc.returncode == code, (name, line, proc.stderr)  # /bin/false: judged
        assert not (tmp_path / "pwned").exists(), name
