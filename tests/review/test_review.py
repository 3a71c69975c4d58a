"""approve / reject / rollback on real repositories: checkouts clean, dirty, detached, bare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitimprove import InstructionRepo
from gitimprove.proposals.build import evidence_states
from gitimprove.review.actions import (
    ReviewError,
    ValidationFailed,
    approve,
    find_proposal,
    list_proposals,
    reject,
    rollback,
    validate_merge,
)

from .conftest import (
    PATH,
    STYLE_RULE,
    add_rule,
    human_commit,
    make_proposal,
    out,
    run,
    weaken_safety,
)


def gitimprove(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(repo), *args],
                          capture_output=True, text=True)


def main_text(repo: Path, path: str = PATH) -> str:
    return out(repo, "show", f"main:{path}") + "\n"


def status(repo: Path) -> str:
    return run(repo, "status", "--porcelain", "--untracked-files=all").stdout.rstrip("\n")


# -- approve ------------------------------------------------------------------------------------

def test_approve_clean_checkout_merges_and_updates_the_working_tree(sample_repo: Path) -> None:
    before = out(sample_repo, "rev-parse", "main")
    proposal = make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    landed = approve(InstructionRepo(sample_repo), "p1", by="Ann Approver <ann@example.com>")
    assert out(sample_repo, "rev-parse", "main") == landed.commit
    assert out(sample_repo, "rev-list", "--parents", "-n1", "main").split()[1:] == [before, proposal]
    body = out(sample_repo, "log", "-1", "--format=%B", "main")
    assert "Approved-by: Ann Approver <ann@example.com>" in body
    assert "Gitimprove-Proposal: p1" in body
    assert "Use short sentences." in (sample_repo / PATH).read_text()
    assert status(sample_repo) == ""
    assert out(sample_repo, "rev-parse", "HEAD") == landed.commit
    assert run(sample_repo, "rev-parse", "--verify", "improve/product-writer/p1", check=False) \
        .returncode != 0, "the merged branch is deleted"
    assert find_proposal(InstructionRepo(sample_repo), "p1").state == "approved"


def test_an_approval_subject_fits_a_line_and_keeps_the_whole_summary(sample_repo: Path) -> None:
    # a model's summary may run to 200 characters: `git log --oneline` shows the subject
    summary = ("Tighten the length rule, add rules on customer benefits, clichés and hype, and "
               "extend the ending with a call to action that tells the reader what to do next")
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), summary=summary)
    approve(InstructionRepo(sample_repo), "p1", by="Ann Approver <ann@example.com>")
    subject = out(sample_repo, "log", "-1", "--format=%s", "main")
    assert subject.startswith("Approve product-writer proposal p1: Tighten the length rule")
    assert len(subject) <= 72 and subject.endswith("…")
    body = out(sample_repo, "log", "-1", "--format=%b", "main")
    assert body.startswith(summary + "\n\nMerge improve/product-writer/p1 into main.")
    short = make_proposal(sample_repo, "p2", add_rule("Use shorter words."), summary="Add a rule")
    assert short
    approve(InstructionRepo(sample_repo), "p2", by="Ann Approver <ann@example.com>")
    assert out(sample_repo, "log", "-1", "--format=%s", "main") == \
        "Approve product-writer proposal p2: Add a rule"


def test_approve_refuses_a_forbidden_proposal_and_changes_nothing(sample_repo: Path) -> None:
    before = out(sample_repo, "rev-parse", "main")
    make_proposal(sample_repo, "bad", weaken_safety)
    with pytest.raises(ValidationFailed) as exc:
        approve(InstructionRepo(sample_repo), "bad")
    assert [v.code for v in exc.value.violations] == ["protected-changed"]
    assert out(sample_repo, "rev-parse", "main") == before
    assert out(sample_repo, "rev-parse", "improve/product-writer/bad")


def test_approve_with_the_involved_file_dirty_is_refused(sample_repo: Path) -> None:
    before = out(sample_repo, "rev-parse", "main")
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    edited = (sample_repo / PATH).read_text() + "# my unsaved note\n"
    (sample_repo / PATH).write_text(edited)
    with pytest.raises(ReviewError, match=r"uncommitted changes to agents/product-writer\.yaml"):
        approve(InstructionRepo(sample_repo), "p1")
    assert out(sample_repo, "rev-parse", "main") == before
    assert (sample_repo / PATH).read_text() == edited
    assert find_proposal(InstructionRepo(sample_repo), "p1").state == "open"


def test_approve_with_unrelated_files_dirty_keeps_them(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    other = sample_repo / "agents" / "support-agent.yaml"
    other.write_text(other.read_text() + "# mid-edit\n")
    (sample_repo / "notes.txt").write_text("untracked\n")
    landed = approve(InstructionRepo(sample_repo), "p1")
    assert out(sample_repo, "rev-parse", "HEAD") == landed.commit
    assert other.read_text().endswith("# mid-edit\n")
    assert (sample_repo / "notes.txt").exists()
    assert sorted(status(sample_repo).splitlines()) == [
        " M agents/support-agent.yaml", "?? notes.txt"]
    assert "Use short sentences." in (sample_repo / PATH).read_text()


def test_approve_in_a_detached_checkout_moves_only_main(sample_repo: Path) -> None:
    start = out(sample_repo, "rev-parse", "HEAD")
    run(sample_repo, "checkout", "-q", "--detach")
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    landed = approve(InstructionRepo(sample_repo), "p1")
    assert out(sample_repo, "rev-parse", "main") == landed.commit
    assert out(sample_repo, "rev-parse", "HEAD") == start
    assert status(sample_repo) == ""
    assert "Use short sentences." not in (sample_repo / PATH).read_text()


def test_approve_reject_rollback_in_a_bare_repository(sample_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    make_proposal(bare, "p1", add_rule("Use short sentences."))
    make_proposal(bare, "p2", add_rule("Mention the warranty."))
    repo = InstructionRepo(bare)
    assert repo.git.is_bare
    landed = approve(repo, "p1")
    assert out(bare, "rev-parse", "main") == landed.commit
    reject(repo, "p2", reason="not needed")
    assert out(bare, "rev-parse", "refs/gitimprove/rejected/product-writer/p2")
    back = rollback(repo, "p1", reason="too terse")
    assert out(bare, "rev-parse", "main") == back.commit
    assert "Use short sentences." not in main_text(bare)
    assert "Gitimprove-Rollback-Of: p1" in back.message


def test_stale_proposal_that_merges_cleanly_is_approved(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    run(sample_repo, "checkout", "-q", "--detach")  # keep the checkout out of the way
    human = human_commit(sample_repo, {
        PATH: main_text(sample_repo).replace("Do not repeat the product name more than twice.",
                                             "Do not repeat the product name.")},
        "human: fewer repeats")
    repo = InstructionRepo(sample_repo)
    data = json.loads(gitimprove(sample_repo, "proposals", "--json").stdout)["proposals"][0]
    assert data["stale"] is True and data["merges_cleanly"] is True and data["verdict"] == "pass"
    landed = approve(repo, "p1")
    assert out(sample_repo, "rev-parse", f"{landed.commit}^1") == human
    text = main_text(sample_repo)
    assert "Do not repeat the product name.\n" in text and "Use short sentences." in text


def test_stale_proposal_that_conflicts_is_refused(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", lambda t: t.replace(STYLE_RULE, "      - Use American spelling.\n"))
    run(sample_repo, "checkout", "-q", "--detach")
    human = human_commit(sample_repo, {
        PATH: main_text(sample_repo).replace(STYLE_RULE, "      - Use Canadian spelling.\n")},
        "human: spelling")
    with pytest.raises(ReviewError, match=r"conflicts with main: agents/product-writer.yaml") as exc:
        approve(InstructionRepo(sample_repo), "p1")
    assert "propose again" in str(exc.value)
    assert out(sample_repo, "rev-parse", "main") == human


def test_two_approvals_racing_from_two_processes(sample_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    a = make_proposal(bare, "pa", add_rule("Use short sentences."))
    b = make_proposal(bare, "pb", add_rule("Greet the customer warmly.",
                                           after="      - Be polite and professional.\n"),
                      agent="support-agent")
    procs = [subprocess.Popen([sys.executable, "-m", "gitimprove", "--repo", str(bare), "approve", pid],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for pid in ("pa", "pb")]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in procs]
    landed = [pid for pid, (code, _) in zip(("pa", "pb"), results, strict=True) if code == 0]
    for code, err in results:
        assert code in (0, 1), err
        if code == 1:
            assert err.startswith("error: ") and "Traceback" not in err
    assert landed, results
    merged = out(bare, "log", "--format=%P", "--merges", "main").split()
    for pid, commit in (("pa", a), ("pb", b)):
        assert (commit in merged) == (pid in landed)
    assert ("Use short sentences." in main_text(bare)) == ("pa" in landed)
    assert ("Greet the customer warmly." in main_text(bare, "agents/support-agent.yaml")) \
        == ("pb" in landed)
    assert len(out(bare, "rev-list", "--first-parent", "--merges", "main").split()) == len(landed)


# -- reject -------------------------------------------------------------------------------------

def test_reject_keeps_the_record_and_reopens_the_evidence(sample_repo: Path) -> None:
    commit = make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-7,fb-8")
    repo = InstructionRepo(sample_repo)
    assert evidence_states(repo) == {"fb-7": "pending", "fb-8": "pending"}
    with pytest.raises(ReviewError, match="needs a reason"):
        reject(repo, "p1", reason="  ")
    reject(repo, "p1", reason="We prefer long sentences.", by="Rita Reviewer <rita@example.com>")
    assert evidence_states(repo) == {}
    assert run(sample_repo, "rev-parse", "--verify", "improve/product-writer/p1", check=False) \
        .returncode != 0
    record = "refs/gitimprove/rejected/product-writer/p1"
    assert out(sample_repo, "rev-parse", f"{record}^") == commit
    body = out(sample_repo, "log", "-1", "--format=%B", record)
    assert "Gitimprove-Rejected: We prefer long sentences." in body
    assert "Rejected-by: Rita Reviewer <rita@example.com>" in body
    assert [p.id for p in list_proposals(repo)] == []
    closed = {p.id: p for p in list_proposals(repo, include_closed=True)}
    assert closed["p1"].state == "rejected" and closed["p1"].rejection is not None and closed["p1"].rejection.reason == "We prefer long sentences."
    with pytest.raises(ReviewError, match="rejected, not open") as refused:
        approve(repo, "p1")
    assert refused.value.hint == "for a new proposal: gitimprove propose product-writer"
    with pytest.raises(ReviewError, match="p1 is rejected, not approved: nothing of it is on main"
                       ) as refused:
        rollback(repo, "p1")
    assert refused.value.hint == "for a new proposal: gitimprove propose product-writer"


def test_approving_twice_says_where_it_is_and_how_to_undo_it(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    merge = approve(repo, "p1").commit
    with pytest.raises(ReviewError, match="p1 is approved, not open") as refused:
        approve(repo, "p1")
    assert refused.value.hint == (f"it is merged as {merge[:10]} (`gitimprove history "
                                  "product-writer`); to undo it: gitimprove rollback p1")


def test_rolling_back_an_agent_by_its_name_asks_for_a_version(sample_repo: Path) -> None:
    with pytest.raises(ReviewError, match="'product-writer' is an agent: name the version to go "
                                          r"back to \(product-writer@vN\)") as refused:
        rollback(InstructionRepo(sample_repo), "product-writer")
    assert refused.value.hint == "its versions: gitimprove history product-writer"


def test_rolling_back_an_open_proposal_says_to_reject_it(sample_repo: Path) -> None:
    make_proposal(sample_repo, "20261127-ab12cd", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    for spec in ("20261127-ab12cd", "ab12"):
        with pytest.raises(ReviewError, match="20261127-ab12cd is open, not approved: "
                                              "nothing of it is on main to roll back") as refused:
            rollback(repo, spec)
        assert refused.value.hint == 'to close it: gitimprove reject 20261127-ab12cd --reason "why"'


def test_a_fast_forwarded_proposal_is_rolled_back_by_a_prefix_of_its_id(sample_repo: Path) -> None:
    make_proposal(sample_repo, "20261127-cd34ef", add_rule("Use short sentences."))
    original = main_text(sample_repo)
    run(sample_repo, "merge", "-q", "--ff-only", "improve/product-writer/20261127-cd34ef")
    repo = InstructionRepo(sample_repo)
    assert find_proposal(repo, "cd34", include_closed=True).state == "landed"
    rollback(repo, "cd34", reason="plain git merge by mistake")
    assert main_text(sample_repo) == original
    with pytest.raises(ReviewError, match="20261127-cd34ef was rolled back already"):
        rollback(repo, "cd34")


def test_approved_evidence_is_addressed_and_rollback_reopens_it(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."), evidence="fb-1")
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1")
    assert evidence_states(repo) == {"fb-1": "addressed"}
    rollback(repo, "p1")
    assert evidence_states(repo) == {}


# -- rollback -----------------------------------------------------------------------------------

def test_rollback_of_the_latest_approval(sample_repo: Path) -> None:
    original = main_text(sample_repo)
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    merge = approve(repo, "p1").commit
    back = rollback(repo, "p1", reason="customers missed the detail")
    assert main_text(sample_repo) == original
    assert (sample_repo / PATH).read_text() == original, "the checkout follows"
    assert status(sample_repo) == ""
    assert f"Gitimprove-Reverts: {merge}" in back.message
    assert "Gitimprove-Restores: product-writer@v1 " in back.message
    assert "customers missed the detail" in back.message.splitlines()[0]
    assert find_proposal(repo, "p1").state == "rolled_back"
    with pytest.raises(ReviewError, match="rolled back already"):
        rollback(repo, "p1")


def test_rollback_of_an_older_approval_keeps_the_later_one(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    first = approve(repo, "p1").commit
    make_proposal(sample_repo, "p2", add_rule("End with a question.",
                                              after="      - Do not repeat the product name more than twice.\n"))
    approve(repo, "p2")
    rollback(repo, first[:12])  # by merge commit
    text = main_text(sample_repo)
    assert "Use short sentences." not in text
    assert "End with a question." in text
    assert status(sample_repo) == ""


def test_rollback_that_conflicts_is_refused_with_the_commands(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    merge = approve(repo, "p1").commit
    run(sample_repo, "checkout", "-q", "--detach")
    human = human_commit(sample_repo, {PATH: main_text(sample_repo).replace(
        "Use short sentences.", "Use short, plain sentences.")}, "human: reword")
    with pytest.raises(ReviewError) as exc:
        rollback(repo, "p1")
    text = str(exc.value)
    assert "conflicts with later changes to agents/product-writer.yaml" in text
    assert f"git revert -m 1 {merge}" in text and "gitimprove rollback AGENT@vN" in text
    assert out(sample_repo, "rev-parse", "main") == human


def test_rollback_to_an_agent_version(sample_repo: Path) -> None:
    v1 = out(sample_repo, "rev-parse", f"main:{PATH}")
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1")
    make_proposal(sample_repo, "p2", add_rule("Mention the warranty."))
    approve(repo, "p2")
    assert repo.load("product-writer").number == 3
    back = rollback(repo, "product-writer@v1")
    assert out(sample_repo, "rev-parse", f"main:{PATH}") == v1
    assert f"Gitimprove-Restores: product-writer@v1 {v1}" in back.message
    assert repo.load("product-writer").number == 1, "the same text is the same version"
    with pytest.raises(ReviewError, match="already at v1"):
        rollback(repo, "product-writer@v1")


def test_rollback_of_a_non_merge_is_refused(sample_repo: Path) -> None:
    with pytest.raises(ReviewError, match="not a merge commit"):
        rollback(InstructionRepo(sample_repo), out(sample_repo, "rev-parse", "main"))


# -- validation against the target's policy ----------------------------------------------------

def test_policy_unreadable_on_the_target_fails_closed(sample_repo: Path) -> None:
    proposal = make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    run(sample_repo, "checkout", "-q", "--detach")
    human_commit(sample_repo, {"gitimprove.yaml": "version: 1\nlimits: [broken\n"}, "break policy")
    repo = InstructionRepo(sample_repo, branch="main")
    tree, violations = validate_merge(repo, repo.main_tip(), proposal)
    assert tree is None and [v.code for v in violations] == ["policy-unreadable"]


def test_a_proposal_cannot_loosen_the_policy_it_is_judged_by(sample_repo: Path) -> None:
    def loosen(text: str) -> str:
        return weaken_safety(text)

    make_proposal(sample_repo, "p1", loosen)
    branch = "improve/product-writer/p1"
    base = out(sample_repo, "rev-parse", branch)
    looser = commit_policy(sample_repo, base)
    run(sample_repo, "update-ref", f"refs/heads/{branch}", looser)
    repo = InstructionRepo(sample_repo)
    _, violations = validate_merge(repo, repo.main_tip(), repo.git.rev_parse(branch) or base)
    assert {"policy-changed", "protected-changed"} <= {v.code for v in violations}


def commit_policy(repo: Path, base: str) -> str:
    from .conftest import commit_tree_change

    policy = out(repo, "show", f"{base}:gitimprove.yaml").replace("  - safety\n", "")
    return commit_tree_change(repo, base, {"gitimprove.yaml": policy + "\n"},
                              "loosen\n\nGitimprove-Proposal: p1\n")


# -- the CLI's JSON ----------------------------------------------------------------------------

def test_proposals_all_and_review_json_shapes(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    make_proposal(sample_repo, "p2", weaken_safety)
    make_proposal(sample_repo, "p3", add_rule("Mention the warranty."))
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1")
    reject(repo, "p3", reason="no")
    proc = gitimprove(sample_repo, "proposals", "--all", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)["proposals"]}
    assert {k: r["state"] for k, r in rows.items()} == {"p1": "approved", "p2": "open", "p3": "rejected"}
    common = {"id", "agent", "state", "branch", "commit", "summary", "author", "created_at",
              "evidence_count", "merge_commit"}
    for row in rows.values():
        assert common <= set(row)
    assert rows["p2"]["verdict"] == "fail" and rows["p2"]["violations"][0]["code"] == "protected-changed"
    assert {"stale", "merges_cleanly"} <= set(rows["p2"])
    assert rows["p1"]["merge_commit"] == out(sample_repo, "rev-parse", "main")
    assert rows["p1"]["approved_by"] == "Test Reviewer <reviewer@example.com>"
    assert rows["p3"]["reason"] == "no"
    proc = gitimprove(sample_repo, "review", "p2", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"id", "agent", "state", "branch", "commit", "message", "evidence", "changes", "diff",
            "verdict", "violations", "stale", "merges_cleanly", "commands"} <= set(data)
    assert data["changes"][0]["section"] == "safety"
    assert data["commands"]["approve"] == "gitimprove approve p2"
    assert data["commands"]["trial"] == "gitimprove trial start p2 --share 10%"  # no model needed


def test_review_counts_rules_from_1_and_its_json_keeps_the_index(sample_repo: Path) -> None:
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))  # the third rule
    data = json.loads(gitimprove(sample_repo, "review", "p1", "--json").stdout)
    assert [(c["section"], c["change"], c["rule"]) for c in data["changes"]] == [
        ("style", "rule added", 2)]
    text = gitimprove(sample_repo, "review", "p1").stdout
    assert "[style rule 3] rule added" in text and "rule 2]" not in text


def test_review_without_an_id_shows_the_only_open_proposal(sample_repo: Path) -> None:
    # right after `propose`, a new user typed `review` and was told it needs PROPOSAL
    proc = gitimprove(sample_repo, "review")
    assert proc.returncode == 1 and proc.stderr.startswith(
        "error: there is no open proposal to name"), proc.stderr
    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    shown = gitimprove(sample_repo, "review")
    assert shown.returncode == 0 and shown.stdout.startswith("Proposal p1 for product-writer"), shown
    make_proposal(sample_repo, "p2", add_rule("Name the price."))
    proc = gitimprove(sample_repo, "review")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: name a proposal: 2 are open (product-writer/p1, product-writer/p2)",
        "  hint: see `gitimprove proposals`"]
    reject(InstructionRepo(sample_repo), "p2", reason="no")
    assert gitimprove(sample_repo, "review", "--json").returncode == 0
    assert json.loads(gitimprove(sample_repo, "review", "--json").stdout)["id"] == "p1"
    proc = gitimprove(sample_repo, "approve")  # a decision names what it decides
    assert proc.returncode == 2 and "needs PROPOSAL" in proc.stderr


def test_cli_approve_refusal_exits_1(sample_repo: Path) -> None:
    make_proposal(sample_repo, "bad", weaken_safety)
    proc = gitimprove(sample_repo, "approve", "bad")
    assert proc.returncode == 1
    assert "refused by the validator" in proc.stderr and "protected section 'safety'" in proc.stderr


def test_a_unique_prefix_of_an_id_finds_the_proposal(sample_repo: Path) -> None:
    make_proposal(sample_repo, "20261123-ab12cd", add_rule("Be brief."))
    make_proposal(sample_repo, "20261123-ab99ef", add_rule("Be kind."))
    make_proposal(sample_repo, "20261124-c0ffee", add_rule("Be clear."))
    repo = InstructionRepo(sample_repo)
    assert find_proposal(repo, "c0ff").id == "20261124-c0ffee"  # the hash part
    assert find_proposal(repo, "20261124").id == "20261124-c0ffee"  # the date part
    assert find_proposal(repo, "ab12").id == "20261123-ab12cd"
    with pytest.raises(ReviewError, match=r"'ab' .*no proposal|no proposal 'ab'"):
        find_proposal(repo, "ab")  # too short to be a prefix
    with pytest.raises(ReviewError, match=r"'20261123' starts 2 proposals: 20261123-ab12cd, 20261123-ab99ef"):
        find_proposal(repo, "20261123")
    shown = gitimprove(sample_repo, "review", "c0ff")
    assert shown.returncode == 0 and "20261124-c0ffee" in shown.stdout
    # the end of a branch's name finds it too, when it ends one branch only
    assert find_proposal(repo, "4-c0ffee").id == "20261124-c0ffee"
    with pytest.raises(ReviewError, match=r"no proposal 'cx'"):
        find_proposal(repo, "cx")
    make_proposal(sample_repo, "20261125-ab12cd", add_rule("Be warm."))
    with pytest.raises(ReviewError, match=r"'-ab12cd' ends 2 proposals' branches: "
                                          r"20261123-ab12cd, 20261125-ab12cd"):
        find_proposal(repo, "-ab12cd")


def test_proposals_listing_columns_line_up(sample_repo: Path) -> None:
    # an agent named like a GitHub Models prompt file is longer than the column was
    long = "homotopy-type-theory-univalence-architect"
    text = (sample_repo / "agents/product-writer.yaml").read_text()
    human_commit(sample_repo, {f"agents/{long}.yaml": text.replace("name: product-writer",
                                                                     f"name: {long}")}, "add")
    make_proposal(sample_repo, "20261124-c0ffee", add_rule("Be clear."))
    make_proposal(sample_repo, "20261124-d00d00", add_rule("Be clear."), agent=long)
    lines = gitimprove(sample_repo, "--no-pager", "proposals").stdout.splitlines()
    head, rows = lines[0], lines[1::2]
    at = head.index("evidence")
    for row in rows:
        assert row[at - 2:at] == "  " and row[at].isdigit(), (head, row)


def test_rollback_takes_the_prefix_approve_took(sample_repo: Path) -> None:
    make_proposal(sample_repo, "20261124-c0ffee", add_rule("Be clear."))
    assert gitimprove(sample_repo, "approve", "c0ff").returncode == 0
    done = gitimprove(sample_repo, "rollback", "c0ff", "--reason", "made it worse")
    assert done.returncode == 0, done.stderr
    assert "20261124-c0ffee" in done.stdout
    assert "Be clear." not in (sample_repo / "agents/product-writer.yaml").read_text()


def test_review_folds_a_long_evidence_list_and_json_keeps_it_whole(sample_repo: Path) -> None:
    ids = ",".join(f"fb-{i:04d}" for i in range(40))
    make_proposal(sample_repo, "20261124-f01d00", add_rule("Be brief."), evidence=ids)
    text = gitimprove(sample_repo, "review", "20261124-f01d00").stdout
    line = next(x for x in text.splitlines() if "Gitimprove-Evidence:" in x)
    assert line.strip() == ("Gitimprove-Evidence: fb-0000, fb-0001, fb-0002, fb-0003, fb-0004, "
                            "fb-0005 and 34 more (all: review --json, git log)")
    data = json.loads(gitimprove(sample_repo, "review", "20261124-f01d00", "--json").stdout)
    assert len(data["evidence"]) == 40 and ids in data["message"]


def test_review_json_has_the_fields_of_the_listing(sample_repo: Path) -> None:
    make_proposal(sample_repo, "20261124-abcdef", add_rule("Be brief."))
    assert gitimprove(sample_repo, "approve", "20261124-abcdef").returncode == 0
    listing = json.loads(gitimprove(sample_repo, "proposals", "--all", "--json").stdout)
    row = next(p for p in listing["proposals"] if p["id"] == "20261124-abcdef")
    data = json.loads(gitimprove(sample_repo, "review", "20261124-abcdef", "--json").stdout)
    for key in ("created_at", "evidence_count", "merge_commit", "approved_by", "approved_at"):
        assert data[key] == row[key], key
    assert data["merge_commit"] and data["evidence_count"] == 2


def test_review_shows_the_content_block_as_one_line_and_json_keeps_it(sample_repo: Path) -> None:
    """The machine-readable block of a proposal (a long JSON line) is for tools: the review a
    person reads names where to find it; --json and git log keep it whole."""
    feedback = str(sample_repo / "feedback.jsonl")
    assert gitimprove(sample_repo, "feedback", "import", feedback).returncode == 0
    made = gitimprove(sample_repo, "propose", "support-agent", "--proposer", "heuristic")
    assert made.returncode == 0, made.stderr
    pid = made.stdout.split()[1].rsplit("/", 1)[-1]
    text = gitimprove(sample_repo, "review", pid).stdout
    assert "```gitimprove-content" not in text and '"operations"' not in text
    assert "(the operations as data: `review --json`, `git log`)" in text
    assert "Gitimprove-Proposal: " + pid in text, "the trailers still follow"
    data = json.loads(gitimprove(sample_repo, "review", pid, "--json").stdout)
    assert "```gitimprove-content\n{" in data["message"]


def test_review_shows_what_an_added_section_says(sample_repo: Path) -> None:
    # "[tools] section added" alone sent the reviewer to the diff to learn what it says
    from gitimprove.review.view import review_data, review_text

    added = ("  - id: tools\n    title: Tools\n    text: |\n      Tools you may call.\n"
             "    rules:\n      - 'web_search: only when the sheet does not say.'\n")
    make_proposal(sample_repo, "p1", lambda text: text.replace("  - id: safety\n",
                                                               added + "  - id: safety\n"))
    shown = review_text(review_data(InstructionRepo(sample_repo), "p1"))
    at = shown.index("  [tools] section added (Tools)\n")
    assert shown[at:].splitlines()[1:3] == ["      + Tools you may call.",
                                            "      + web_search: only when the sheet does not say."]


def test_review_of_an_approved_proposal_does_not_print_none_for_its_branch(sample_repo: Path) -> None:
    from gitimprove.review.view import review_data, review_text

    make_proposal(sample_repo, "p1", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    approve(repo, "p1", by="Ann Approver <ann@example.com>")
    shown = review_text(review_data(repo, "p1"))
    assert "branch: None" not in shown
    assert out(sample_repo, "branch", "--list", "improve/product-writer/p1") == ""  # approve removes it
    assert "branch: (removed; its commit stays in git)" in shown
