"""The scorecard in git: the record commit, staleness, review/proposals/validate/audit, the gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitimprove.audit import audit
from gitimprove.evaluation.record import FENCE, read_record, record_ref
from gitimprove.review.actions import EvaluationRequired, approve
from gitimprove.review.view import review_data, review_text
from tests.conftest import git
from tests.evaluation.conftest import AGENT, Setup, run_evaluation, set_evaluation, use
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.review.conftest import commit_tree_change, human_commit, out, run


def gitimprove(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "gitimprove", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def require_evaluation(path: Path) -> None:
    set_evaluation(path, "Require an evaluation before approval", required="true")


def test_the_record_names_both_trees_and_holds_the_scorecard(api: FakeAnthropicServer,
                                                             setup: Setup) -> None:
    use(api)
    result = run_evaluation(api, setup)
    ref = record_ref(AGENT, setup.pid)
    assert out(setup.path, "rev-parse", ref) == result.record.commit
    message = out(setup.path, "log", "-1", "--format=%B", ref)
    branch = f"refs/heads/improve/{AGENT}/{setup.pid}"
    trailers = dict(line.split(": ", 1) for line in message.splitlines()[-7:])
    assert out(setup.path, "rev-parse", f"{ref}^{{tree}}") == \
        out(setup.path, "rev-parse", f"refs/heads/improve/{AGENT}/{setup.pid}^{{tree}}")
    assert trailers["Gitimprove-Evaluation"] == setup.pid
    assert trailers["Gitimprove-Proposal-Tree"] == out(setup.path, "rev-parse", f"{branch}^{{tree}}")
    assert trailers["Gitimprove-Base-Tree"] == out(setup.path, "rev-parse", "main^{tree}")
    assert trailers["Gitimprove-Score"] == "fixed=12/12 worse=0/8 seed=7 complete=yes"
    assert trailers["Evaluated-by"] == "Test Reviewer <reviewer@example.com>"
    assert message.startswith(f"Evaluate {AGENT} proposal {setup.pid}: fixed 12/12, worse 0/8")
    assert out(setup.path, "rev-parse", f"{ref}^1") == out(setup.path, "rev-parse", branch)
    block = message.split(FENCE + "\n", 1)[1].split("\n```", 1)[0]
    stored = json.loads(block)
    assert stored["to_fix"]["better"] == 12 and len(stored["runs"]) == 20
    assert "Describe the" not in message  # no run text in git
    # a second evaluation keeps the first as its second parent; the audit lists both
    second = run_evaluation(api, setup, sample=2)
    assert out(setup.path, "rev-parse", f"{ref}^2") == result.record.commit
    events = [e for e in audit(setup.repo) if e.kind == "evaluated"]
    assert [e.commit for e in events] == [result.record.commit, second.record.commit]
    assert events[0].summary.startswith("fixed 12/12 (100%")
    assert git(setup.path, "status", "--porcelain") == ""


def test_a_forged_or_model_authored_record_is_not_read(api: FakeAnthropicServer, setup: Setup) -> None:
    use(api)
    result = run_evaluation(api, setup, sample=1)
    ref = record_ref(AGENT, setup.pid)
    message = out(setup.path, "log", "-1", "--format=%B", ref)
    tree = out(setup.path, "rev-parse", f"{ref}^{{tree}}")
    forged = run(setup.path, "commit-tree", tree, "-p", out(setup.path, "rev-parse", f"{ref}^1"),
                 input=message, env={"GIT_AUTHOR_NAME": "claude", "GIT_AUTHOR_EMAIL":
                                     "model@gitimprove.invalid"}).stdout.strip()
    run(setup.path, "update-ref", ref, forged)
    assert read_record(setup.repo.git, AGENT, setup.pid) is None
    run(setup.path, "update-ref", ref, result.record.commit)
    assert read_record(setup.repo.git, AGENT, setup.pid) is not None


def test_a_scorecard_that_would_not_read_back_is_never_written(api: FakeAnthropicServer,
                                                               setup: Setup) -> None:
    from gitimprove.errors import GitImproveError
    from gitimprove.evaluation.record import write_record
    from gitimprove.git import Identity

    use(api)
    result = run_evaluation(api, setup)
    ref = record_ref(AGENT, setup.pid)
    before = out(setup.path, "rev-parse", ref)
    card = result.scorecard.model_copy(update={"judge_model": "claude\x9b31m"})
    with pytest.raises(GitImproveError, match="control or bidirectional"):
        write_record(setup.repo.git, card, Identity("Eve", "eve@example.com"))
    assert out(setup.path, "rev-parse", ref) == before


def test_a_new_commit_on_the_branch_makes_it_stale(api: FakeAnthropicServer, setup: Setup) -> None:
    use(api)
    run_evaluation(api, setup, sample=2)
    data = review_data(setup.repo, setup.pid)
    assert data.to_json()["evaluation"]["state"] == "current"
    text = review_text(data)
    assert "for the trees being merged" in text and "fixed 2/2" in text
    assert "Examples (kept on this machine only)" in text
    branch = f"refs/heads/improve/{AGENT}/{setup.pid}"
    path = f"agents/{AGENT}.yaml"
    old = out(setup.path, "show", f"{branch}:{path}") + "\n"
    message = out(setup.path, "log", "-1", "--format=%B", branch)  # a second model commit
    tip = commit_tree_change(setup.path, branch, {path: old.replace("Use British", "Use UK")},
                             message)
    run(setup.path, "update-ref", branch, tip)
    data = review_data(setup.repo, setup.pid)
    assert data.to_json()["evaluation"]["state"] == "stale-branch"
    assert "STALE: the branch has new commits since" in review_text(data)


def test_main_changing_the_agent_makes_it_stale_but_other_agents_do_not(
        api: FakeAnthropicServer, setup: Setup) -> None:
    use(api)
    run_evaluation(api, setup, sample=1)
    other = "agents/support-agent.yaml"
    human_commit(setup.path, {other: out(setup.path, "show", f"main:{other}") + "\n# note\n"}, "other")
    assert review_data(setup.repo, setup.pid).to_json()["evaluation"]["state"] == "current"
    path = f"agents/{AGENT}.yaml"
    human_commit(setup.path, {path: out(setup.path, "show", f"main:{path}") + "\n# note\n"}, "same")
    assert review_data(setup.repo, setup.pid).to_json()["evaluation"]["state"] == "stale-base"


def test_proposals_and_validate_show_it(api: FakeAnthropicServer, setup: Setup) -> None:
    proc = gitimprove(setup.path, "proposals")
    assert "not evaluated" in proc.stdout
    use(api)
    run_evaluation(api, setup, sample=3)
    proc = gitimprove(setup.path, "proposals")
    assert "eval fixed 3/3 worse 0/3" in proc.stdout, proc.stdout
    branch = f"improve/{AGENT}/{setup.pid}"
    proc = gitimprove(setup.path, "validate", "--head", branch)
    assert proc.returncode == 0, proc.stderr
    assert "Evaluation " in proc.stdout and "fixed 3/3" in proc.stdout
    proc = gitimprove(setup.path, "validate", "--head", branch, "--json")
    assert json.loads(proc.stdout)["evaluation"]["state"] == "current"


def test_approve_refuses_without_a_passing_scorecard_when_the_policy_requires_one(
        api: FakeAnthropicServer, setup: Setup) -> None:
    require_evaluation(setup.path)
    before = out(setup.path, "rev-parse", "main")
    with pytest.raises(EvaluationRequired, match="has none; run `gitimprove evaluate") as missing:
        approve(setup.repo, setup.pid)
    # the command to run is said once: in the line, not again in the hint
    assert str(missing.value).count("gitimprove evaluate") == 1
    assert missing.value.hint == ("nothing was changed; evaluating needs ANTHROPIC_API_KEY, or "
                                  "reject the proposal")
    use(api, judge=lambda received: "same")  # nothing fixed: below the bar
    run_evaluation(api, setup, sample=2)
    with pytest.raises(EvaluationRequired, match=r"fixed 0 of 2 runs to fix \(0%\)") as failed:
        approve(setup.repo, setup.pid)
    assert f"`gitimprove evaluate {setup.pid}` records a scorecard" in str(failed.value.hint)
    assert out(setup.path, "rev-parse", "main") == before
    use(api)
    run_evaluation(api, setup, sample=2)
    data = review_data(setup.repo, setup.pid)
    assert data.to_json()["evaluation"]["gate"] == [] and "gate lets it through" in review_text(data)
    landed = approve(setup.repo, setup.pid)
    assert out(setup.path, "rev-parse", "main") == landed.commit


def test_the_approval_merge_names_the_evaluation_the_gate_passed(api: FakeAnthropicServer,
                                                                 setup: Setup) -> None:
    require_evaluation(setup.path)
    use(api)
    record = run_evaluation(api, setup, sample=2).record
    landed = approve(setup.repo, setup.pid)
    message = out(setup.path, "log", "-1", "--format=%B", landed.commit)
    trailers = message.rstrip().split("\n\n")[-1].splitlines()
    assert f"Gitimprove-Evaluation-Record: {record.commit}" in trailers
    assert trailers[-1].startswith("Approved-by: ")  # the approver still closes the block
    [event] = [e for e in audit(setup.repo) if e.kind == "approved"]
    assert event.evaluation == record.commit
    assert f"    passed the evaluation gate with record {record.commit[:10]}" in event.lines()
    shown = json.loads(gitimprove(setup.path, "history", AGENT, "--json").stdout)["versions"]
    assert [v["evaluation"] for v in shown if v["commit"] == landed.commit] == [record.commit]
    assert all(v["evaluation"] is None for v in shown if v["commit"] != landed.commit)
    # a model-authored commit carrying the trailer names nothing (and is forged, see
    # tests/review/test_trust.py); a merge without a gate names nothing either
    from gitimprove import ledger

    assert ledger.evaluation_named(ledger.LoggedCommit.of(
        setup.repo.git.read_commit(landed.commit))) == record.commit


def test_an_approval_without_a_gate_names_no_evaluation(api: FakeAnthropicServer,
                                                        setup: Setup) -> None:
    use(api)
    run_evaluation(api, setup, sample=2)  # evaluated, but the policy asks for no gate
    landed = approve(setup.repo, setup.pid)
    assert "Gitimprove-Evaluation-Record" not in out(setup.path, "log", "-1", "--format=%B",
                                                     landed.commit)
    [event] = [e for e in audit(setup.repo) if e.kind == "approved"]
    assert event.evaluation is None


def test_approve_refuses_a_stale_scorecard(api: FakeAnthropicServer, setup: Setup) -> None:
    require_evaluation(setup.path)
    use(api)
    run_evaluation(api, setup, sample=2)
    path = f"agents/{AGENT}.yaml"
    human_commit(setup.path, {path: out(setup.path, "show", f"main:{path}") + "\n# note\n"}, "edit")
    with pytest.raises(EvaluationRequired, match="replayed other base instructions"):
        approve(setup.repo, setup.pid)


def test_the_hooks_apply_the_gate_to_plain_git_merges(api: FakeAnthropicServer, setup: Setup) -> None:
    require_evaluation(setup.path)
    assert gitimprove(setup.path, "hooks", "install").returncode == 0
    branch = f"improve/{AGENT}/{setup.pid}"
    before = out(setup.path, "rev-parse", "main")
    proc = run(setup.path, "merge", "--no-ff", "-m", "merge it", branch, check=False)
    assert proc.returncode != 0 and "evaluation" in proc.stderr
    run(setup.path, "merge", "--abort", check=False)
    assert out(setup.path, "rev-parse", "main") == before
    use(api)
    run_evaluation(api, setup, sample=2)
    run(setup.path, "merge", "--no-ff", "-m", "merge it", branch)
    assert out(setup.path, "rev-parse", "main") != before


def test_pre_receive_accepts_a_record_pushed_with_the_merge(api: FakeAnthropicServer, setup: Setup,
                                                           tmp_path: Path) -> None:
    require_evaluation(setup.path)
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(setup.path), str(bare))
    assert gitimprove(bare, "hooks", "install", "--bare").returncode == 0
    run(setup.path, "remote", "add", "origin", str(bare))
    branch = f"improve/{AGENT}/{setup.pid}"
    merged = commit_merge(setup.path, branch)
    proc = run(setup.path, "push", "origin", f"{merged}:refs/heads/main", check=False)
    assert proc.returncode != 0 and "has none; run `gitimprove evaluate" in proc.stderr
    use(api)
    result = run_evaluation(api, setup, sample=2)
    ref = record_ref(AGENT, setup.pid)
    run(setup.path, "push", "--atomic", "origin", f"{merged}:refs/heads/main", f"{ref}:{ref}")
    assert out(bare, "rev-parse", "main") == merged
    assert out(bare, "rev-parse", ref) == result.record.commit


def commit_merge(repo: Path, branch: str) -> str:
    """A merge of ``branch`` into main as plain git would make it, without moving main."""
    tree = out(repo, "merge-tree", "--write-tree", "main", branch).splitlines()[0]
    return run(repo, "commit-tree", tree, "-p", "main", "-p", branch,
               input=f"Merge {branch}\n").stdout.strip()


def test_nothing_else_needs_a_model_or_changes_without_the_gate(setup: Setup) -> None:
    landed = approve(setup.repo, setup.pid)  # evaluation.required is off by default
    assert landed.commit == out(setup.path, "rev-parse", "main")


def test_push_all_carries_the_record(api: FakeAnthropicServer, setup: Setup, tmp_path: Path) -> None:
    from gitimprove.review.remote import push_all

    use(api)
    result = run_evaluation(api, setup, sample=1)
    bare = tmp_path / "server.git"
    run(tmp_path, "init", "-q", "--bare", str(bare))
    run(setup.path, "remote", "add", "origin", str(bare))
    run(setup.path, "push", "-q", "origin", "main")
    push_all(setup.repo)
    ref = record_ref(AGENT, setup.pid)
    assert out(bare, "rev-parse", ref) == result.record.commit
    clone = tmp_path / "clone"
    run(tmp_path, "clone", "-q", str(bare), str(clone))
    run(clone, "fetch", "-q", "origin", "+refs/gitimprove/*:refs/gitimprove/*",
        "+refs/heads/improve/*:refs/heads/improve/*")
    from gitimprove.instructions.repo import InstructionRepo

    with InstructionRepo(clone) as other:
        found = read_record(other.git, AGENT, setup.pid)
        assert found is not None and found.scorecard.headline() == result.scorecard.headline()


def test_a_record_with_terminal_escapes_is_not_read(api: FakeAnthropicServer, setup: Setup) -> None:
    use(api)
    run_evaluation(api, setup, sample=1)
    ref = record_ref(AGENT, setup.pid)
    message = out(setup.path, "log", "-1", "--format=%B", ref)
    hostile = message.replace('"stopped": null', '"stopped": "\\u001b[2J\\u202eowned"')
    assert hostile != message
    forged = run(setup.path, "commit-tree", f"{ref}^{{tree}}", "-p", f"{ref}^1",
                 input=hostile).stdout.strip()
    run(setup.path, "update-ref", ref, forged)
    assert read_record(setup.repo.git, AGENT, setup.pid) is None
    assert review_data(setup.repo, setup.pid).to_json()["evaluation"]["state"] == "none"


def test_a_record_written_before_the_word_joiner_joined_the_table_still_reads(
        api: FakeAnthropicServer, setup: Setup) -> None:
    # Before U+2060 was in the writers' table, a judge's reason could keep it: such a record
    # must not vanish (and a required evaluation with it) now that writers strip it.
    use(api)
    run_evaluation(api, setup, sample=1)
    ref = record_ref(AGENT, setup.pid)
    message = out(setup.path, "log", "-1", "--format=%B", ref)
    older = message.replace('"reason": "one is clearly better"',
                            '"reason": "one is\\u2060clearly better"', 1)
    assert older != message
    commit = run(setup.path, "commit-tree", f"{ref}^{{tree}}", "-p", f"{ref}^1",
                 input=older).stdout.strip()
    run(setup.path, "update-ref", ref, commit)
    found = read_record(setup.repo.git, AGENT, setup.pid)
    assert found is not None and found.scorecard.runs[0].reason == "one is\u2060clearly better"


def test_a_reviewers_commit_makes_the_scorecard_stale_for_approve_and_plain_git(
        api: FakeAnthropicServer, setup: Setup) -> None:
    """The gate judges the tree being merged (the branch tip, reviewers' commits included)
    the same way in `review`, `approve`, `validate` and the hooks, until re-evaluated."""
    require_evaluation(setup.path)
    assert gitimprove(setup.path, "hooks", "install").returncode == 0
    use(api)
    run_evaluation(api, setup, sample=2)
    branch = f"improve/{AGENT}/{setup.pid}"
    path = f"agents/{AGENT}.yaml"
    text = out(setup.path, "show", f"{branch}:{path}") + "\n"
    human_commit(setup.path, {path: text.replace("Use British", "Use UK")}, "Reviewer's wording",
                 base=branch, ref=f"refs/heads/{branch}")
    review = review_data(setup.repo, setup.pid)
    assert review.evaluation is not None and review.evaluation.state == "stale-branch"
    assert "STALE: the branch has new commits since" in review_text(review)
    with pytest.raises(EvaluationRequired, match="judged another tree"):
        approve(setup.repo, setup.pid)
    proc = gitimprove(setup.path, "validate", "--head", branch)
    assert proc.returncode == 1 and "judged another tree" in proc.stdout
    before = out(setup.path, "rev-parse", "main")
    proc = run(setup.path, "merge", "--no-ff", "-m", "merge it", branch, check=False)
    assert proc.returncode != 0 and "judged another tree" in proc.stderr
    run(setup.path, "merge", "--abort", check=False)
    assert out(setup.path, "rev-parse", "main") == before
    # evaluated again on the reviewed tree: every path lets it through
    run_evaluation(api, setup, sample=2)
    assert review_data(setup.repo, setup.pid).to_json()["evaluation"]["state"] == "current"
    assert gitimprove(setup.path, "validate", "--head", branch).returncode == 0
    run(setup.path, "merge", "--no-ff", "-m", "merge it", branch)
    assert out(setup.path, "rev-parse", "main^2") == out(setup.path, "rev-parse", branch)


def test_the_scan_reads_evaluations_and_trials_with_everything_else(
        api: FakeAnthropicServer, setup: Setup) -> None:
    from gitimprove.evaluation.record import EvaluationRecord, latest
    from gitimprove.ledger.trials import TrialStart
    from gitimprove.proposals.build import scan

    use(api)
    first = run_evaluation(api, setup, sample=1)
    second = run_evaluation(api, setup, sample=2)
    book = scan(setup.repo)
    assert [r.commit for r in book.records_of(EvaluationRecord)] == \
        [first.record.commit, second.record.commit]
    assert latest(book)[(AGENT, setup.pid)].commit == second.record.commit
    assert book.records_of(TrialStart) == []
