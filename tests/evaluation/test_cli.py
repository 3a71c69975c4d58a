"""`gitimprove evaluate` as a user runs it: no key, bad input, --json, and a SIGKILL mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitimprove.evaluate import EvaluationError, evaluate
from gitimprove.evaluation.record import EVALUATIONS_PREFIX, read_record
from gitimprove.instructions.repo import InstructionRepo
from tests.conftest import Ran, fake_env, git
from tests.evaluation.conftest import (
    AGENT,
    NEW_RULE,
    Setup,
    record_runs,
    run_evaluation,
    set_evaluation,
    use,
)
from tests.fakes.anthropic_server import FakeAnthropicServer, error, is_judge, slow, text_answer
from tests.review.conftest import add_rule, make_proposal, out


def test_without_a_key_the_command_says_what_it_needs_and_what_it_would_judge(
        setup: Setup, gitimprove: Callable[..., Ran]) -> None:
    proc = gitimprove(setup.path, "evaluate", "--sample", "5")  # the only open proposal
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: evaluating proposal {setup.pid} needs a model")
    assert "It would judge 5 runs to fix (of 15 evidence ids" in proc.stderr
    assert "and 5 runs to keep" in proc.stderr and "with 30 model calls" in proc.stderr
    assert "hint: set ANTHROPIC_API_KEY" in proc.stderr
    proc = gitimprove(setup.path, "evaluate", setup.pid, "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 1 and data["status"] == "needs_model"
    assert data["would_judge"]["to_fix"]["sampled"] == 12 and data["would_judge"]["calls"] == 60
    assert out(setup.path, "for-each-ref", EVALUATIONS_PREFIX) == ""


def test_without_well_rated_runs_the_plan_says_harm_goes_unmeasured(
        sample_repo: Path, gitimprove: Callable[..., Ran]) -> None:
    # Critiques of model answers are all complaints: nothing well-rated to keep.
    repo = InstructionRepo(sample_repo)
    evidence, _ = record_runs(repo, positive=0)
    make_proposal(sample_repo, "20261124-0b0b0b", add_rule(NEW_RULE), evidence=",".join(evidence))
    proc = gitimprove(sample_repo, "evaluate", "20261124-0b0b0b")
    repo.close()
    assert proc.returncode == 1 and "and 0 runs to keep" in proc.stderr
    assert "with no run to keep it could not tell what the change makes worse" in proc.stderr


def test_the_command_prints_the_scorecard_and_examples(api: FakeAnthropicServer, setup: Setup,
                                                       gitimprove: Callable[..., Ran]) -> None:
    use(api)
    proc = gitimprove(setup.path, "evaluate", setup.pid, "--sample", "3", "--seed", "5",
                      env=fake_env(api))
    assert proc.returncode == 0, proc.stderr
    assert f"Evaluated {setup.pid} ({AGENT}): fixed 3/3 (100%, 95% CI 44%-100%)" in proc.stdout
    assert "Examples (kept on this machine, not in git" in proc.stdout
    assert "proposal:  SHORT: three bullets." in proc.stdout
    assert f"Recorded {EVALUATIONS_PREFIX}{AGENT}/{setup.pid}" in proc.stdout
    proc = gitimprove(setup.path, "evaluate", setup.pid, "--sample", "2", "--json", env=fake_env(api))
    data = json.loads(proc.stdout)
    assert data["status"] == "recorded" and data["scorecard"]["fixed"]["n"] == 2
    assert data["passes"] is True and data["scorecard"]["seed"] >= 0


def test_no_run_with_an_input_is_a_clear_refusal(sample_repo: Path, gitimprove: Callable[..., Ran]) -> None:
    repo = InstructionRepo(sample_repo)
    evidence, _ = record_runs(repo, negative=0, positive=2, without_input=3)
    make_proposal(sample_repo, "20261126-noinpt", add_rule(NEW_RULE), evidence=",".join(evidence))
    proc = gitimprove(sample_repo, "evaluate", "20261126-noinpt")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "has no run to fix that can be replayed: of its 3 evidence ids, 3 runs have no input " \
           "recorded" in proc.stderr
    assert "record_feedback(..., input=..." in proc.stderr
    assert "the `input` and `output` fields of a feedback import line" in proc.stderr
    # only what applies: no "0 are no longer in the feedback store, 0 carry no complaint"
    assert "0 are" not in proc.stderr and "0 carry" not in proc.stderr
    assert "GITIMPROVE_FEEDBACK_URL" not in proc.stderr


def test_evidence_gone_from_the_store_is_said(sample_repo: Path, gitimprove: Callable[..., Ran]) -> None:
    make_proposal(sample_repo, "20261126-gone00", add_rule(NEW_RULE), evidence="fb-x,fb-y")
    proc = gitimprove(sample_repo, "evaluate", "20261126-gone00")
    assert proc.returncode == 1
    assert "2 are no longer in the feedback store" in proc.stderr
    assert "GITIMPROVE_FEEDBACK_URL points at another store" in proc.stderr


def test_a_200_kb_input_is_cut_and_counted(api: FakeAnthropicServer, sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    big = "Describe this product. " + "spec " * 40_000  # 200 KB
    evidence, _ = record_runs(repo, negative=2, positive=1, without_input=0, input_text=big[:200_000])
    make_proposal(sample_repo, "20261126-big000", add_rule(NEW_RULE), evidence=",".join(evidence))
    use(api)
    s = Setup(sample_repo, repo, "20261126-big000", evidence, [])
    card = run_evaluation(api, s).scorecard
    assert card.to_fix.truncated == 2 and all(r.input_truncated for r in card.runs if r.set == "fix")
    replays = [r for r in api.requests if not is_judge(r)]
    sizes = {len(r.messages[0]["content"]) for r in replays}
    assert max(sizes) == 20_000
    judged = next(r for r in api.requests if is_judge(r))
    assert "(The input was cut to fit; judge on what is shown.)" in judged.prompt_text()
    assert "2 input(s) were cut to the policy's max_input_chars" in "\n".join(card.lines())
    repo.close()


def test_an_unknown_evaluation_model_is_refused_before_any_call(api: FakeAnthropicServer,
                                                                setup: Setup) -> None:
    set_evaluation(setup.path, model="claude-sonet-5-5")
    with pytest.raises(EvaluationError) as caught:
        run_evaluation(api, setup)
    assert "evaluation.model in gitimprove.yaml names 'claude-sonet-5-5', a model the " \
           "Anthropic SDK does not know" in str(caught.value)
    assert "did you mean 'claude-sonnet-5-5'?" in str(caught.value)
    assert api.requests == []


def test_a_model_name_that_is_not_one_is_a_policy_error(setup: Setup, gitimprove: Callable[..., Ran]) -> None:
    set_evaluation(setup.path, judge_model="'rm -rf /; echo'")
    proc = gitimprove(setup.path, "evaluate", setup.pid)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "gitimprove.yaml:" in proc.stderr and "evaluation.judge_model" in proc.stderr
    assert "is not a model name" in proc.stderr


def test_a_model_the_api_does_not_serve_is_a_clear_error(api: FakeAnthropicServer, setup: Setup) -> None:
    api.handler = lambda received: error(404, "not_found_error", "model: claude-haiku-4-5")
    with pytest.raises(EvaluationError) as caught:
        run_evaluation(api, setup)
    message = str(caught.value)
    assert "does not know the model 'claude-sonnet-5-5'" in message
    assert "evaluation.model in gitimprove.yaml" in message and "nothing was recorded" in message
    assert read_record(setup.repo.git, AGENT, setup.pid) is None


def test_a_failed_evaluation_still_says_what_its_answered_requests_cost(
        api: FakeAnthropicServer, setup: Setup, gitimprove: Callable[..., Ran]) -> None:
    # the first replay is answered (and paid for); then the API fails for good
    api.script(text_answer("an answer", input_tokens=2000, output_tokens=500))
    api.handler = lambda received: error(500, "api_error", "Internal server error",
                                         headers={"retry-after": "0"})
    proc = gitimprove(setup.path, "evaluate", setup.pid, env=fake_env(api))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    # the line `propose` and `analyze --model` end with, in the same words
    assert proc.stdout == "Model calls: 1 request, 2,000 input and 500 output tokens, about $0.01\n"
    error_line = next(line for line in proc.stderr.splitlines() if line.startswith("error: "))
    assert "server error after 5 attempts" in error_line and "nothing was recorded" in error_line
    api.script(text_answer("an answer", input_tokens=2000, output_tokens=500))
    proc = gitimprove(setup.path, "evaluate", setup.pid, "--json", env=fake_env(api))
    data = json.loads(proc.stdout)
    assert proc.returncode == 1 and data["status"] == "failed"
    assert "nothing was recorded" in data["message"] and data["hint"].startswith("try again later")
    assert data["model_usage"] == {"requests": 1, "input_tokens": 2000, "output_tokens": 500,
                                   "cache_write_tokens": 0, "cache_read_tokens": 0,
                                   "cost_usd": 0.0135}
    assert out(setup.path, "for-each-ref", EVALUATIONS_PREFIX) == ""


def test_a_closed_proposal_is_not_evaluated(setup: Setup) -> None:
    from gitimprove.review.actions import reject

    reject(setup.repo, setup.pid, reason="no")
    with pytest.raises(EvaluationError, match="is rejected; only an open proposal"):
        evaluate(setup.repo, setup.pid, env={})


def test_sigkill_mid_run_leaves_no_record(api: FakeAnthropicServer, setup: Setup) -> None:
    calls = {"n": 0}

    def replay(received: object) -> object:
        calls["n"] += 1
        return slow(text_answer("an answer"), 5.0) if calls["n"] > 6 else "an answer"

    use(api, replay=replay)
    proc = subprocess.Popen([sys.executable, "-m", "gitimprove", "evaluate", setup.pid],
                            cwd=setup.path, env={**os.environ, **fake_env(api)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while calls["n"] <= 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert calls["n"] > 6, "the evaluation never reached the slow reply"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert out(setup.path, "for-each-ref", EVALUATIONS_PREFIX) == ""
    assert not (Path(setup.repo.git.state_dir) / "evaluations").exists()
    assert git(setup.path, "status", "--porcelain") == ""


def test_a_budget_that_starves_the_runs_to_keep_does_not_meet_the_bar(
        api: FakeAnthropicServer, setup: Setup, gitimprove: Callable[..., Ran]) -> None:
    # Runs to keep are judged after the runs to fix: a small budget reaches none of them, and
    # a bar "met" then would let a change through whose harm was never measured.
    use(api)
    set_evaluation(setup.path, token_budget=2000, required="true")
    proc = gitimprove(setup.path, "evaluate", setup.pid, "--seed", "5", env=fake_env(api))
    assert proc.returncode == 0, proc.stderr
    assert "Stopped early: the token budget" in proc.stdout
    assert ("Policy bar (at least 50% fixed, at most 10% worse): NOT met: none of the 8 runs to "
            "keep sampled was judged, so what the change makes worse was not measured") in proc.stdout
    before = out(setup.path, "rev-parse", "main")
    proc = gitimprove(setup.path, "approve", setup.pid, env=fake_env(api))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ")
    assert "none of the 8 runs to keep sampled was judged" in proc.stderr
    assert out(setup.path, "rev-parse", "main") == before


def test_each_example_says_where_the_judge_saw_the_proposal(
        api: FakeAnthropicServer, setup: Setup, gitimprove: Callable[..., Ran]) -> None:
    # A judge's reason names positions ("B is shorter"); the reader sees base and proposal.
    use(api)
    proc = gitimprove(setup.path, "evaluate", setup.pid, "--sample", "4", "--json", env=fake_env(api))
    data = json.loads(proc.stdout)
    first = {r["run"]: r["proposal_first"] for r in data["scorecard"]["runs"]}
    assert data["examples"]
    for example in data["examples"]:
        assert example["proposal_shown_as"] == ("A" if first[example["run"]] else "B")
    review = gitimprove(setup.path, "review", setup.pid)
    shown = [line for line in review.stdout.splitlines() if line.startswith("    [")]
    assert shown and all(" (proposal shown as A): " in line or " (proposal shown as B): " in line
                         for line in shown)


def test_the_scorecard_figures_read_on_one_line_of_100_columns(
        api: FakeAnthropicServer, setup: Setup, gitimprove: Callable[..., Ran]) -> None:
    use(api)
    gitimprove(setup.path, "evaluate", setup.pid, "--sample", "3", env=fake_env(api))
    review = gitimprove(setup.path, "review", setup.pid).stdout.splitlines()
    fix = next(line for line in review if line.startswith("  Runs to fix"))
    keep = next(line for line in review if line.startswith("  Runs to keep"))
    assert fix.startswith("  Runs to fix (cited as evidence): 3/3 made better (100%, 95% CI ")
    assert fix.endswith("; same 0, worse 0")
    assert keep.startswith("  Runs to keep (well-rated on the base): 0/3 made worse (0%, 95% CI ")
    assert keep.endswith("; better 3, same 0")
    assert max(len(fix), len(keep)) <= 100


def test_a_retry_alike_for_many_requests_is_noted_once(api: FakeAnthropicServer, setup: Setup,
                                                       gitimprove: Callable[..., Ran]) -> None:
    use(api)
    assert api.handler is not None
    busy = error(529, "overloaded_error", "Overloaded", headers={"retry-after": "0"})
    api.script(busy, api.handler, busy, api.handler, busy)  # three requests retried alike
    proc = gitimprove(setup.path, "evaluate", setup.pid, "--sample", "3", "--seed", "5",
                      env=fake_env(api))
    assert proc.returncode == 0, proc.stderr
    note = "note: the Anthropic API is overloaded (529); retrying (attempt 2 of 5)"
    assert proc.stderr.splitlines().count(note) == 1, proc.stderr
