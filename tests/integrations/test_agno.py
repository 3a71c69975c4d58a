"""A real Agno agent on the loop: its Claude model talks to the local fake Messages API, its
instructions come from the repository, and a merge or a rollback is seen by the next run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agno", reason="agno is not installed (pip install 'gitimprove[agno]')")

from agno.agent import Agent
from agno.models.anthropic import Claude

from gitimprove.errors import UnknownAgentError
from gitimprove.feedback.errors import FeedbackWarning
from gitimprove.integrations.agno import Improver
from gitimprove.review.actions import approve, rollback
from tests.conftest import ROOT, git
from tests.fakes.anthropic_server import FakeAnthropicServer, Received, text_answer

AGENT = "product-writer"
VALUES = {"product_name": "Trail Flask", "audience": "hikers"}
ANSWER = "The Trail Flask keeps your coffee hot from trailhead to summit."
COMPLAINT = "Too verbose, needs to be more concise"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropicServer]:
    """The fake Messages API, answering every request; no proxy, no Agno telemetry."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("AGNO_TELEMETRY", "false")
    with FakeAnthropicServer() as server:
        server.handler = lambda received: text_answer(ANSWER)
        yield server


def make_agent(api: FakeAnthropicServer, improver: Improver) -> Agent:
    """Agno's own Claude model class, pointed at the fake with a dummy key."""
    model = Claude(id="claude-sonnet-5-5", api_key=api.api_key,
                   client_params={"base_url": api.base_url, "max_retries": 0})
    return Agent(model=model, instructions=improver.instructions, telemetry=False)


def sent(prompt: str) -> str:
    """A prompt as Agno sends it: Agno strips the system message it builds."""
    return prompt.strip()


def run(agent: Agent, api: FakeAnthropicServer, prompt: str, **kwargs: Any) -> tuple[Any, Received]:
    """Run the agent once; return its RunOutput and the request the fake API received."""
    before = len(api.requests)
    response = agent.run(prompt, **kwargs)
    assert len(api.requests) == before + 1, getattr(response, "content", response)
    return response, api.requests[-1]


def test_runs_use_the_approved_version_and_see_a_merge_and_a_rollback(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    agent = make_agent(api, improver)
    v1 = improver.current()
    old_prompt = v1.format(**VALUES)

    first, request = run(agent, api, "Write a product description for the Trail Flask")
    assert request.system == sent(old_prompt)
    assert "{{" not in request.system
    assert first.content == ANSWER
    assert improver.version_of(first.run_id) == v1.version

    # Several runs, each disliked for the same reason: a pattern the analysis finds.
    runs = [first] + [run(agent, api, f"Write a product description, take {n}")[0] for n in range(4)]
    for response in runs:
        improver.record_feedback(run_id=response.run_id, rating="negative", reason=COMPLAINT)
    improver.record_feedback(run=runs[1], correction="Focus on benefits, not features")
    improver.record_feedback(run_id=runs[2].run_id, signals={"regenerated": True})
    assert [p for p in improver.analyze() if p.negative], "the analysis found no problem"

    plan = improver.propose(proposer="heuristic")
    assert plan.commit is not None and plan.new_text != plan.old_text
    # A proposal is a branch: until a human approves it, runs keep the approved version.
    _, request = run(agent, api, "Write a product description (proposal open)")
    assert request.system == sent(old_prompt)

    approve(improver.repo, plan.id)
    v2 = improver.current()
    assert v2.version != v1.version
    new_prompt = v2.format(**VALUES)
    assert new_prompt != old_prompt
    after_merge, request = run(agent, api, "Write a product description (after the merge)")
    assert request.system == sent(new_prompt)
    assert improver.version_of(after_merge.run_id) == v2.version

    rollback(improver.repo, plan.id, reason="made things worse")
    after_rollback, request = run(agent, api, "Write a product description (after rollback)")
    assert request.system == sent(old_prompt)
    assert improver.version_of(after_rollback.run_id) == v1.version

    # Feedback recorded now, with main at a later commit, still names the run's own version.
    late = improver.record_feedback(run_id=first.run_id, rating="negative", reason="late")
    assert late.version == v1.version
    on_v2 = improver.record_feedback(run_id=after_merge.run_id, rating="positive")
    assert on_v2.version == v2.version
    early = improver.repo.feedback_store().records(agent=AGENT)
    first_records = [r for r in early if r.run_id == first.run_id]
    assert first_records and {r.version for r in first_records} == {v1.version}
    improver.close()


def test_feedback_recorded_in_another_process_finds_the_version(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    response, _ = run(make_agent(api, improver), api, "Write a product description")
    version = improver.current().version
    improver.close()
    script = (
        "import json, sys\n"
        "from gitimprove.integrations.agno import Improver\n"
        "improver = Improver(sys.argv[1], agent='product-writer')\n"
        "record = improver.record_feedback(run_id=sys.argv[2], rating='negative', reason='slow')\n"
        "print(json.dumps({'version': record.version}))\n")
    proc = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", script,
                           str(sample_repo), response.run_id],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"version": version}


def test_record_feedback_from_the_run_output_keeps_what_the_agent_said(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    response, _ = run(make_agent(api, improver), api, "Describe the Trail Flask", user_id="u-7")
    record = improver.record_feedback(run=response, rating="thumbs_down", reason="Too long")
    assert record.run_id == response.run_id
    assert record.version == improver.current().version
    assert (record.input, record.output, record.user_id) == ("Describe the Trail Flask", ANSWER, "u-7")
    assert record.rating == "negative"
    assert record.metadata is not None
    assert record.metadata["agno"]["session_id"] == response.session_id
    stored = improver.repo.feedback_store().get(record.id)
    assert stored is not None and stored.output == ANSWER
    with pytest.raises(Exception, match="not the run given"):
        improver.record_feedback(run_id="run-other", run=response, rating="negative")


def test_variables_come_from_session_state_or_a_function_of_the_run(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT)
    agent = make_agent(api, improver)
    _, request = run(agent, api, "Describe it",
                     session_state={"product_name": "Summit Mug", "audience": "campers"})
    assert request.system == sent(improver.current().format(product_name="Summit Mug",
                                                            audience="campers"))

    seen: list[str] = []

    def values(run_context: Any) -> dict[str, str]:
        seen.append(run_context.run_id)
        return {"product_name": "Ridge Pack", "audience": run_context.user_id}

    computed = Improver(sample_repo, agent=AGENT, variables=values)
    response, request = run(make_agent(api, computed), api, "Describe it", user_id="climbers")
    assert request.system == sent(computed.current().format(product_name="Ridge Pack",
                                                            audience="climbers"))
    assert seen == [response.run_id]


def test_a_missing_variable_stops_the_run_before_the_model_is_called(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables={"product_name": "Trail Flask"})
    response = make_agent(api, improver).run("Describe it")
    assert api.requests == []
    assert "{{audience}}" in str(response.content)
    assert improver.version_of(response.run_id) is None


def test_async_runs_are_bound_too(sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    response = asyncio.run(make_agent(api, improver).arun("Describe it"))
    assert api.requests[-1].system == sent(improver.current().format(**VALUES))
    assert improver.version_of(response.run_id) == improver.current().version


def test_feedback_on_an_unknown_run_is_kept_without_a_version(sample_repo: Path) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    with pytest.warns(FeedbackWarning, match="no instruction version is known"):
        record = improver.record_feedback(run_id="run-from-elsewhere", rating="negative")
    assert record.version is None
    with pytest.raises(Exception, match="needs the run"):
        improver.record_feedback(rating="negative")


def test_an_unknown_agent_is_refused_when_the_improver_is_made(sample_repo: Path) -> None:
    with pytest.raises(UnknownAgentError, match="product-writr"):
        Improver(sample_repo, agent="product-writr")


def test_the_run_map_stays_out_of_git(sample_repo: Path, api: FakeAnthropicServer) -> None:
    before = git(sample_repo, "status", "--porcelain")
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    run(make_agent(api, improver), api, "Describe it")
    assert (sample_repo / ".gitimprove" / "runs.db").is_file()
    assert git(sample_repo, "status", "--porcelain") == before


def test_a_run_map_that_cannot_be_written_warns_and_the_run_goes_on(
        sample_repo: Path, api: FakeAnthropicServer, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run map's folder should be")
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES,
                        runs_path=blocker / "runs.db")
    with pytest.warns(FeedbackWarning, match="binding was not saved"):
        response, request = run(make_agent(api, improver), api, "Describe it")
    assert request.system == sent(improver.current().format(**VALUES))
    # This process still knows the run's version.
    record = improver.record_feedback(run=response, rating="negative", reason="too long")
    assert record.version == improver.current().version


def test_a_trial_serves_users_their_arm_and_feedback_lands_on_it(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    """Agno passes the run's user id: users in the trial's share get the proposal's text, the
    rest main's, each user always the same, and feedback lands on the version served."""
    from gitimprove.trials.manage import start_trial
    from tests.review.conftest import add_rule, make_proposal

    rule = "Name the material in the first line."
    make_proposal(sample_repo, "20261126-agnotr", add_rule(rule))
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    agent = make_agent(api, improver)
    start = start_trial(improver.repo, "20261126-agnotr", share="20%")
    from gitimprove.instructions.repo import trial_bucket

    pool = [f"user-{n}" for n in range(500)]
    users = ([u for u in pool if trial_bucket(start.trial_id, u) < start.share][:3]
             + [u for u in pool if trial_bucket(start.trial_id, u) >= start.share][:3])
    for user in users * 2:
        response, request = run(agent, api, "Write a product description", user_id=user)
        in_trial = trial_bucket(start.trial_id, user) < start.share
        assert (rule in request.system) == in_trial  # a user keeps their arm, run after run
        expected = start.candidate if in_trial else improver.current().version
        assert improver.version_of(response.run_id) == expected
        record = improver.record_feedback(run=response, rating="negative", reason="meh")
        assert record.version == expected
