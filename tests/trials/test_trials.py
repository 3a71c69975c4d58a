"""Trials: a human serves a proposal to a share of traffic; load() assigns arms; the trial is
compared with live over the same period. Real repositories, real SQLite, the installed CLI."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitimprove.errors import GitImproveError
from gitimprove.instructions.repo import InstructionRepo, trial_bucket
from gitimprove.ledger.trials import running_ref
from gitimprove.review.actions import ValidationFailed, approve, reject
from gitimprove.trials.manage import (
    TrialError,
    check_trials,
    ended_trials,
    parse_share,
    running_trials,
    start_trial,
    stop_trial,
    trial_status,
)
from tests.conftest import commit_file
from tests.review.conftest import add_rule, human_commit, make_proposal, out, run, weaken_safety

AGENT = "product-writer"


def cli(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(repo), *args],
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    if check and proc.returncode != 0:
        raise AssertionError(f"gitimprove {' '.join(args)}: {proc.returncode}\n{proc.stderr}")
    return proc


@pytest.fixture
def proposal(sample_repo: Path) -> str:
    make_proposal(sample_repo, "20261126-aaaaaa", add_rule("Name the material in the first line."))
    return "20261126-aaaaaa"


def test_share_parsing() -> None:
    assert parse_share("10%") == pytest.approx(0.10)
    assert parse_share("0.25") == pytest.approx(0.25)
    assert parse_share(5) == pytest.approx(0.05)
    for bad in ("0", "0%", "100%", "150%", "-5%", "ten"):
        with pytest.raises(TrialError):
            parse_share(bad)


def test_load_serves_a_stable_share(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    live = repo.load(AGENT)
    assert live.trial is None and live.data() is None  # gitimprove's own file: text and format()
    start = start_trial(repo, proposal, share="20%")
    served = {u: repo.load(AGENT, unit=f"user-{u}") for u in range(2000)}
    candidates = [u for u, inst in served.items() if inst.trial and inst.trial.arm == "candidate"]
    assert 0.16 < len(candidates) / 2000 < 0.24
    one = served[candidates[0]]
    assert one.version == start.candidate != live.version
    assert "Name the material in the first line." in one.text
    assert one.number is None and one.trial is not None and one.trial.proposal == proposal
    rest = next(inst for inst in served.values() if inst.trial and inst.trial.arm == "live")
    assert rest.version == live.version and rest.text == live.text
    # the same unit keeps its arm, in this process and in a fresh one
    again = InstructionRepo(sample_repo)
    for u in list(served)[:200]:
        assert again.load(AGENT, unit=f"user-{u}").version == served[u].version
    # no unit: main's version, and other agents are not affected
    assert repo.load(AGENT).version == live.version
    assert repo.load("support-agent", unit="user-1").trial is None


def test_remembered_buckets_serve_what_the_hash_draws(sample_repo: Path, proposal: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # a unit's bucket is remembered per trial (a bounded memory that starts again when full):
    # whether computed or remembered, the arm is the one the hash draws
    import gitimprove.instructions.repo as repo_module

    monkeypatch.setattr(repo_module, "_BUCKETS_KEPT", 7)
    repo = InstructionRepo(sample_repo)
    start = start_trial(repo, proposal, share="20%")
    for round_ in range(3):
        for u in range(40):
            arm = repo.load(AGENT, unit=f"user-{u}").trial
            assert arm is not None, round_
            drawn = trial_bucket(start.trial_id, f"user-{u}") < start.share
            assert arm.arm == ("candidate" if drawn else "live"), (round_, u)


def test_candidate_is_what_approve_would_make(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    start = start_trial(repo, proposal, share="10%")
    approve(repo, proposal)
    assert repo.load(AGENT).version == start.candidate  # feedback from the trial carries over
    assert repo.git.read_ref(running_ref(AGENT)) is None  # approving ended the trial
    assert [s.reason for s in ended_trials(repo)] == ["approved"]
    # stopping it afterwards says it ended, and why, instead of 'no running trial'
    with pytest.raises(TrialError, match=f"the trial of {proposal} ended already: approved") \
            as refused:
        stop_trial(repo, AGENT)
    assert refused.value.hint == f"its history: gitimprove audit --agent {AGENT}"


def test_reject_ends_the_trial(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    start_trial(repo, proposal, share="10%")
    reject(repo, proposal, reason="not needed")
    assert running_trials(repo) == []
    assert [s.reason for s in ended_trials(repo)] == ["rejected"]


def test_start_is_refused_when_it_should_be(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    with pytest.raises(TrialError, match="above the policy's maximum"):
        start_trial(repo, proposal, share="50%")
    make_proposal(sample_repo, "20261126-bbbbbb", weaken_safety)
    with pytest.raises(ValidationFailed):
        start_trial(repo, "20261126-bbbbbb", share="10%")
    with pytest.raises(GitImproveError, match="no proposal"):
        start_trial(repo, "nope", share="10%")
    start_trial(repo, proposal, share="10%")
    make_proposal(sample_repo, "20261126-cccccc", add_rule("Mention the warranty."))
    with pytest.raises(TrialError, match="running already: proposal 20261126-aaaaaa"):
        start_trial(repo, "20261126-cccccc", share="10%")
    with pytest.raises(TrialError, match="running already"):
        start_trial(repo, proposal, share="10%")
    assert repo.git.read_ref("refs/gitimprove/trials-ended/product-writer") is None


def test_policy_can_forbid_trials(sample_repo: Path, proposal: str) -> None:
    policy = (sample_repo / "gitimprove.yaml").read_text() + "trials:\n  allowed: false\n"
    commit_file(sample_repo, "gitimprove.yaml", policy, "no trials")
    with pytest.raises(TrialError, match="does not allow trials"):
        start_trial(InstructionRepo(sample_repo), proposal, share="10%")


def test_conflicting_proposal_is_refused(sample_repo: Path, proposal: str) -> None:
    path = sample_repo / "agents" / f"{AGENT}.yaml"
    text = path.read_text().replace("      - Use British English spelling.\n",
                                    "      - Use American English spelling.\n")
    commit_file(sample_repo, f"agents/{AGENT}.yaml", text, "human edit")
    with pytest.raises(TrialError, match="no longer merges cleanly"):
        start_trial(InstructionRepo(sample_repo), proposal, share="10%")


def test_a_new_commit_on_the_branch_pauses_until_restarted(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    start = start_trial(repo, proposal, share="19%")
    units = [f"u{i}" for i in range(300)]
    in_trial = [u for u in units if trial_bucket(start.trial_id, u) < start.share]
    assert repo.load(AGENT, unit=in_trial[0]).trial.arm == "candidate"  # type: ignore[union-attr]
    # the branch moves to another commit (a proposer rewrote it): paused until restarted
    make_proposal(sample_repo, proposal, add_rule("Name the material in the title."))
    assert all(repo.load(AGENT, unit=u).version == repo.load(AGENT).version for u in in_trial)
    [status] = trial_status(repo, AGENT)
    assert status.paused and "new commits" in status.paused
    restarted = start_trial(repo, proposal, share="19%")
    assert restarted.trial_id != start.trial_id
    served = {repo.load(AGENT, unit=u).version for u in units}
    assert len(served) == 2 and restarted.candidate in served
    assert [s.reason for s in ended_trials(repo)] == ["restarted"]


def test_main_moving_the_agent_pauses(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    start_trial(repo, proposal, share="19%")
    path = sample_repo / "agents" / f"{AGENT}.yaml"
    commit_file(sample_repo, f"agents/{AGENT}.yaml",
                path.read_text().replace("Keep it under 120 words.", "Keep it under 100 words."),
                "human edit")
    live = repo.load(AGENT)
    assert {repo.load(AGENT, unit=f"u{i}").version for i in range(200)} == {live.version}
    assert "changed on main" in (trial_status(repo, AGENT)[0].paused or "")


def test_stop(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    start_trial(repo, proposal, share="10%")
    stop = stop_trial(repo, AGENT, reason="enough data")
    assert stop.reason == "enough data" and stop.stopped_by.startswith("Test Reviewer")
    assert {repo.load(AGENT, unit=f"u{i}").trial for i in range(100)} == {None}
    with pytest.raises(TrialError, match=f"the trial of {proposal} ended already: enough data "
                                         r"\(\d{4}-\d\d-\d\d \d\d:\d\d UTC, by Test Reviewer"):
        stop_trial(repo, proposal)
    with pytest.raises(TrialError, match="no running trial for 'nobody'") as refused:
        stop_trial(repo, "nobody")
    assert refused.value.hint == "running trials: none"


def test_stop_by_a_prefix_of_the_proposal_id(sample_repo: Path) -> None:
    # approve, review and reject read "5dd30d" for 20261127-5dd30d; trial stop refused it
    make_proposal(sample_repo, "20261127-5dd30d", add_rule("Use short sentences."))
    repo = InstructionRepo(sample_repo)
    start_trial(repo, "5dd30d", share="10%")
    with pytest.raises(TrialError, match="no running trial for '5dd3x'"):
        stop_trial(repo, "5dd3x")
    assert stop_trial(repo, "5dd30d").start.proposal == "20261127-5dd30d"


def test_a_damaged_trial_ref_serves_live(sample_repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = InstructionRepo(sample_repo)
    live = repo.load(AGENT)
    run(sample_repo, "update-ref", running_ref(AGENT), out(sample_repo, "rev-parse", "main"))
    with caplog.at_level(logging.WARNING, logger="gitimprove"):
        assert repo.load(AGENT, unit="u1").version == live.version
    assert "ignoring the trial of product-writer" in caplog.text
    assert trial_status(repo) == []


def _feedback(repo: InstructionRepo, version: str, n: int, negative: int, tag: str) -> None:
    for i in range(n):
        repo.record_feedback(agent=AGENT, run_id=f"{tag}-{i}", version=version,
                             rating="negative" if i < negative else "positive")


def test_comparison_and_check(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    start = start_trial(repo, proposal, share="10%")
    [status] = trial_status(repo, AGENT)
    assert status.verdict == "too little feedback" and status.candidate_runs == 0
    _feedback(repo, start.candidate, 60, 40, "cand")
    _feedback(repo, start.live, 200, 30, "live")
    [status] = trial_status(repo, AGENT)
    assert (status.candidate_runs, status.live_runs) == (60, 200)
    assert status.verdict == "worse"
    assert [s.start.proposal for s in check_trials(repo)] == [proposal]
    data = status.to_json()
    assert data["candidate"]["rates"]["negative_rate"]["hits"] == 40
    assert data["state"] == "running"


def test_cli(sample_repo: Path, proposal: str) -> None:
    none = cli(sample_repo, "trial", "status")
    assert "No trials running" in none.stdout
    typo = cli(sample_repo, "trial", "status", AGENT[:-1], check=False)
    assert typo.returncode == 1 and f"did you mean '{AGENT}'?" in typo.stderr
    bad = cli(sample_repo, "trial", "start", proposal, "--share", "100%", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: share 100%")
    for share, meant in (("0.5", "50% or 0.5%"), ("1", "100% or 1%")):  # which one is meant?
        unclear = cli(sample_repo, "trial", "start", proposal, "--share", share, check=False)
        assert unclear.returncode == 1 and f"error: --share {share} could mean {meant}" in unclear.stderr
        assert "hint: write the percentage" in unclear.stderr
    started = cli(sample_repo, "trial", "start", proposal, "--share", "10%", "--json")
    data = json.loads(started.stdout)
    assert data["proposal"] == proposal and data["share"] == pytest.approx(0.1)
    status = cli(sample_repo, "trial", "status", AGENT)
    assert "running" in status.stdout and "10% of users" in status.stdout
    assert max(len(line) for line in status.stdout.splitlines()) <= 100
    [row] = json.loads(cli(sample_repo, "trial", "status", "--json").stdout)
    assert row["trial"] == data["trial"]
    stopped = cli(sample_repo, "trial", "stop", proposal, "--reason", "done")
    assert "Stopped trial" in stopped.stdout
    again = cli(sample_repo, "trial", "stop", proposal, check=False)
    assert again.returncode == 1 and "ended already: done" in again.stderr


def test_two_people_starting_at_once(sample_repo: Path) -> None:
    """Two processes start trials of different proposals of one agent: exactly one wins."""
    make_proposal(sample_repo, "20261126-dddddd", add_rule("Mention the size."))
    make_proposal(sample_repo, "20261126-eeeeee", add_rule("Mention the colour."))
    procs = [subprocess.Popen([sys.executable, "-m", "gitimprove", "--repo", str(sample_repo),
                               "trial", "start", pid, "--share", "10%"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for pid in ("20261126-dddddd", "20261126-eeeeee")]
    results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
    assert sorted(code for code, _ in results) == [0, 1]
    assert all(err.startswith("error:") for code, err in results if code)
    assert len(running_trials(InstructionRepo(sample_repo))) == 1


def test_a_reviewer_commit_pauses_and_a_restart_serves_it(sample_repo: Path, proposal: str) -> None:
    """A reviewer adds a commit to the branch: users stop seeing the proposal until a human
    starts the trial again, which then serves the branch as reviewed."""
    repo = InstructionRepo(sample_repo)
    start_trial(repo, proposal, share="19%")
    branch = f"improve/{AGENT}/{proposal}"
    old = out(sample_repo, "show", f"{branch}:agents/{AGENT}.yaml") + "\n"
    human_commit(sample_repo, {f"agents/{AGENT}.yaml": old.replace("first line", "title")},
                 "reviewer tweak", base=branch, ref=f"refs/heads/{branch}")
    live = repo.load(AGENT)
    assert {repo.load(AGENT, unit=f"u{i}").version for i in range(200)} == {live.version}
    again = start_trial(repo, proposal, share="19%")
    served = {repo.load(AGENT, unit=f"u{i}").text for i in range(200)}
    assert any("Name the material in the title." in text for text in served)
    assert again.candidate != live.version


def test_audit_review_and_check_regressions_show_the_trial(sample_repo: Path, proposal: str) -> None:
    repo = InstructionRepo(sample_repo)
    start = start_trial(repo, proposal, share="10%")
    _feedback(repo, start.candidate, 60, 40, "cand")
    _feedback(repo, start.live, 200, 30, "live")
    review = cli(sample_repo, "--no-pager", "review", proposal)
    assert "Trial on live traffic:" in review.stdout and "verdict: worse" in review.stdout
    data = json.loads(cli(sample_repo, "review", proposal, "--json").stdout)
    assert data["trial"]["verdict"] == "worse"
    assert data["commands"]["trial"] == f"gitimprove trial status {AGENT}"  # not a second start
    check = cli(sample_repo, "check-regressions", check=False)
    assert check.returncode == 1
    assert f"stop the trial: gitimprove trial stop {proposal}" in check.stdout
    cli(sample_repo, "trial", "stop", proposal, "--reason", "worse than live")
    events = json.loads(cli(sample_repo, "audit", "--json").stdout)["events"]
    kinds = [(e["kind"], e.get("reason")) for e in events if e["kind"].startswith("trial")]
    assert kinds == [("trial_start", None), ("trial_stop", "worse than live")]
    text = cli(sample_repo, "--no-pager", "audit").stdout
    assert "trial_start" in text and "stopped: worse than live" in text


def test_a_trial_record_authored_by_a_model_is_never_served(sample_repo: Path, proposal: str) -> None:
    """A start record is a person's decision: the same record written by a model (whatever
    candidate it names) serves main's text to everyone."""
    repo = InstructionRepo(sample_repo)
    live = repo.load(AGENT)
    start = start_trial(repo, proposal, share="20%")
    record = out(sample_repo, "rev-parse", running_ref(AGENT))
    forged = run(sample_repo, "commit-tree", f"{record}^{{tree}}", "-p", f"{record}^",
                 input=out(sample_repo, "log", "-1", "--format=%B", record) + "\n",
                 env={"GIT_AUTHOR_NAME": "claude-test",
                      "GIT_AUTHOR_EMAIL": "model@gitimprove.invalid"}).stdout.strip()
    run(sample_repo, "update-ref", running_ref(AGENT), forged)
    fresh = InstructionRepo(sample_repo)
    assert {fresh.load(AGENT, unit=f"user-{u}").version for u in range(100)} == {live.version}
    assert start.candidate != live.version


def test_a_forged_proposal_cannot_be_tried(sample_repo: Path) -> None:
    """Starting a trial is a decision like an approval: a proposal whose model commit carries
    an `Approved-by` is refused, whatever its content."""
    from tests.review.conftest import MODEL, PATH, commit_tree_change

    pid = "20261126-f0f0f0"
    base = out(sample_repo, "rev-parse", "main")
    text = out(sample_repo, "show", f"main:{PATH}") + "\n"
    message = (f"{AGENT}: tidy\n\nx\n\nGitimprove-Proposal: {pid}\nGitimprove-Agent: {AGENT}\n"
               f"Gitimprove-Base-Version: {out(sample_repo, 'rev-parse', f'main:{PATH}')}\n"
               f"Gitimprove-Base-Commit: {base}\nGitimprove-Evidence: fb-1\n"
               "Approved-by: Mallory <m@evil.example>\n"
               "Gitimprove-Model: claude-test\nGitimprove-Proposer: test\n")
    commit = commit_tree_change(sample_repo, base, {PATH: add_rule("Be kind.")(text)}, message,
                                author=MODEL)
    run(sample_repo, "update-ref", f"refs/heads/improve/{AGENT}/{pid}", commit)
    with pytest.raises(GitImproveError, match="may not be written by a model"):
        start_trial(InstructionRepo(sample_repo), pid, share="10%")
    assert run(sample_repo, "rev-parse", "-q", "--verify", running_ref(AGENT), check=False).returncode


GUIDE = """# Assistant

You answer questions about the shop.

## Style

- Be brief.

## Safety <!-- gitimprove: protected -->

- Never share a customer's data.
"""
CREW = """researcher:
  role: >
    Researcher
  goal: >
    Find the facts
  backstory: >
    You are careful.
writer:
  role: >
    Writer
  goal: >
    Write the report
  backstory: >
    You write plainly.
"""


def test_an_adopted_agent_is_tried_whatever_its_format(tmp_path: Path) -> None:
    """An AGENTS.md agent is served its proposal to a share of users, rendered as its
    framework reads it, and main moving it pauses the trial; so is one agent of a crewAI
    agents.yaml, whose version is its part's fingerprint, not its file's blob: the record
    names the files' blobs beside, and a change to another agent of the file pauses nothing."""
    from dataclasses import replace

    from gitimprove.git import ZERO_OID, Oid
    from gitimprove.review.hooks import trial_problems
    from tests.conftest import git

    path = tmp_path / "shop"
    path.mkdir()
    (path / "AGENTS.md").write_text(GUIDE)
    (path / "crew").mkdir()
    (path / "crew" / "agents.yaml").write_text(CREW)
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "the agents")
    cli(path, "init", str(path))
    make_proposal(path, "20261126-bbbbbb", add_rule("Name the product first.", after="- Be brief.\n"),
                  agent="agents", path="AGENTS.md")
    repo = InstructionRepo(path)
    live = repo.load("agents")
    start = start_trial(repo, "20261126-bbbbbb", share="20%")
    assert start.candidate_file is None  # a file of its own: its blob is its version
    served = {u: repo.load("agents", unit=f"user-{u}") for u in range(500)}
    candidates = [inst for inst in served.values() if inst.trial and inst.trial.arm == "candidate"]
    assert 0.14 < len(candidates) / 500 < 0.26
    one = candidates[0]
    assert one.version == start.candidate != live.version and one.file_format == "markdown"
    assert "Name the product first." in one.text and "Name the product first." not in live.text
    assert one.text.startswith("# Assistant") and "Never share a customer's data." in one.text
    assert trial_status(repo, "agents")[0].paused is None
    # a server judges a pushed trial record of it by the file's own rules: this one passes,
    # one whose candidate drops the protected section does not
    ref = running_ref("agents")
    assert trial_problems(repo, [f"{ZERO_OID} {start.record} {ref}"]) == []
    weak = Oid(run(path, "hash-object", "-w", "--stdin",
                   input=GUIDE.split("## Safety")[0]).stdout.strip())
    forged = replace(start, trial_id="t-forged", candidate=weak)
    record = run(path, "commit-tree", f"{start.proposal_commit}^{{tree}}", "-p",
                 start.proposal_commit, input=forged.message()).stdout.strip()
    problems = trial_problems(repo, [f"{ZERO_OID} {record} {ref}"])
    assert problems and "fails the validator" in problems[0], problems
    # main moving the agent pauses the trial: everyone gets main's
    commit_file(path, "AGENTS.md", GUIDE.replace("- Be brief.", "- Be brief and kind."), "human edit")
    assert {repo.load("agents", unit=f"u{i}").version for i in range(100)} == {repo.load("agents").version}
    assert "changed on main" in (trial_status(repo, "agents")[0].paused or "")

    # the crew's writer shares its file with the researcher
    make_proposal(path, "20261126-cccccc",
                  lambda text: text.replace("You write plainly.", "You write plainly and briefly."),
                  agent="writer", path="crew/agents.yaml")
    writer = repo.load("writer")
    crew = start_trial(repo, "20261126-cccccc", share="20%")
    assert crew.live == writer.version and crew.candidate_file is not None
    assert crew.live_file == out(path, "rev-parse", "main:crew/agents.yaml")
    arms = [repo.load("writer", unit=f"user-{u}") for u in range(300)]
    tried = [a for a in arms if a.trial and a.trial.arm == "candidate"]
    assert tried and all(a.version == crew.candidate and "plainly and briefly" in a.text
                         and a.file_format == "crewai" for a in tried)
    # what crewAI's Agent(config=...) takes, the candidate's for its arm; a copy each time
    config = tried[0].data()
    assert config["role"] == "Writer\n" and "plainly and briefly" in config["backstory"]
    config["backstory"] = "changed by a caller"
    assert "plainly and briefly" in tried[0].data()["backstory"]
    assert "plainly and briefly" not in writer.data()["backstory"]
    assert one.data()["body"].startswith("# Assistant") and repo.load("agents").data()["body"]
    assert all("plainly and briefly" not in a.text for a in arms if a.trial and a.trial.arm == "live")
    assert repo.load("researcher", unit="user-1").trial is None
    assert trial_problems(repo, [f"{ZERO_OID} {crew.record} {running_ref('writer')}"]) == []
    # the researcher changing on main leaves the writer's trial running; the writer changing
    # pauses it
    commit_file(path, "crew/agents.yaml", CREW.replace("You are careful.", "You are very careful."),
                "human edit of the researcher")
    assert trial_status(repo, "writer")[0].paused is None
    assert any(repo.load("writer", unit=f"user-{u}").trial.arm == "candidate" for u in range(300))
    commit_file(path, "crew/agents.yaml", CREW.replace("You write plainly.", "You write well."),
                "human edit of the writer")
    assert "changed on main" in (trial_status(repo, "writer")[0].paused or "")
