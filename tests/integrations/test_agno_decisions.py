"""A real Agno agent with a tool, against the fake Messages API: every run's tool executions are
logged by the Improver itself, so thumbs alone already relate feedback to what the agent did."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("agno", reason="agno is not installed (pip install 'gitimprove[agno]')")

from agno.agent import Agent
from agno.models.anthropic import Claude

from gitimprove.feedback.errors import FeedbackWarning
from gitimprove.feedback.models import merge_runs
from gitimprove.integrations.agno import Improver
from gitimprove.metrics import version_figures
from tests.conftest import commit_file
from tests.fakes.anthropic_server import FakeAnthropicServer, agent_turn, text_answer

AGENT = "trip-planner"
VALUES = {"traveller": "Jane"}
FINAL = "Your hotel is the Harbour Inn, 5 minutes from the venue."
CALLED: list[str] = []


def web_search(query: str) -> str:
    """Search the web."""
    CALLED.append(query)
    return "Harbour Inn, 12 Quay Street"


def broken_converter(amount: float) -> str:
    """Convert a price to euros."""
    raise RuntimeError("rate service down")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropicServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("AGNO_TELEMETRY", "false")
    CALLED.clear()
    with FakeAnthropicServer() as server:
        server.handler = agent_turn("web_search", {"query": "hotel near venue jane@example.com"},
                                    FINAL)
        yield server


def make_agent(api: FakeAnthropicServer, improver: Improver, tools: list[object]) -> Agent:
    model = Claude(id="claude-sonnet-5-5", api_key=api.api_key,
                   client_params={"base_url": api.base_url, "max_retries": 0})
    return Agent(model=model, instructions=improver.instructions, tools=tools, telemetry=False)


def test_every_run_logs_its_tool_calls_without_any_feedback(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    agent = make_agent(api, improver, [web_search])
    response = agent.run("Where is my hotel?")
    assert response.content == FINAL and CALLED == ["hotel near venue jane@example.com"]
    second = agent.run("And again?")
    version = improver.current().version
    store = improver.repo.feedback_store()
    logs = {r.run_id: r for r in store.records(agent=AGENT)}
    assert set(logs) == {response.run_id, second.run_id}
    log = logs[response.run_id]
    assert not log.is_feedback and log.version == version
    assert log.tool_calls is not None and [(c.name, c.status) for c in log.tool_calls] == [
        ("web_search", "ok")]
    assert log.tool_calls[0].duration_ms is not None
    assert log.tool_calls[0].arguments is None  # the policy keeps no arguments by default
    assert agent.post_hooks is not None and len(agent.post_hooks) == 1  # hooked once

    # a thumbs-down later joins the logged decisions
    improver.record_feedback(run=response, rating="negative", reason="searched instead of "
                                                                     "reading my booking")
    (run,) = [r for r in merge_runs(store.records(agent=AGENT)) if r.run_id == response.run_id]
    assert run.rating == "negative" and run.tool_calls is not None
    (figures,) = version_figures(improver.repo, AGENT)
    assert figures.decisions["tool_calls"].hits == 2 and figures.tools["web_search"].n == 2
    improver.close()


def test_a_failing_tool_is_logged_as_an_error_and_arguments_follow_the_policy(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    policy = (sample_repo / "gitimprove.yaml").read_text()
    commit_file(sample_repo, "gitimprove.yaml", policy.replace(
        "feedback:\n", "feedback:\n  store_tool_arguments: true\n  tool_argument_chars: 30\n"),
        "keep tool arguments")
    api.handler = agent_turn("broken_converter", {"amount": 120.5}, "About 110 euros.")
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    response = make_agent(api, improver, [broken_converter]).run("How much in euros?")
    (log,) = improver.repo.feedback_store().records(run_id=response.run_id)
    assert log.tool_calls is not None
    (call,) = log.tool_calls
    assert (call.name, call.status, call.arguments) == ("broken_converter", "error",
                                                        '{"amount":120.5}')
    improver.close()


def test_runs_without_tools_and_opting_out_log_nothing(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    api.handler = lambda received: text_answer(FINAL)
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    make_agent(api, improver, []).run("Hello")
    quiet = Improver(sample_repo, agent=AGENT, variables=VALUES, record_runs=False)
    api.handler = agent_turn("web_search", {"query": "x"}, FINAL)
    agent = make_agent(api, quiet, [web_search])
    agent.run("Where is my hotel?")
    assert not agent.post_hooks
    assert improver.repo.feedback_store().count() == 0
    improver.close()
    quiet.close()


def test_async_runs_log_their_tool_calls(sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    response = asyncio.run(make_agent(api, improver, [web_search]).arun("Where is my hotel?"))
    (log,) = improver.repo.feedback_store().records(run_id=response.run_id)
    assert log.tool_calls is not None and log.tool_calls[0].name == "web_search"
    improver.close()


def test_a_log_that_cannot_be_written_warns_and_the_run_goes_on(
        sample_repo: Path, api: FakeAnthropicServer) -> None:
    improver = Improver(sample_repo, agent=AGENT, variables=VALUES)
    agent = make_agent(api, improver, [web_search])
    first = agent.run("Where is my hotel?")
    # the same run id logged again with other calls is refused: a warning, not a failure
    class Other:
        run_id = first.run_id
        tools = ()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        improver._after_run(Other())
    assert any(isinstance(w.message, FeedbackWarning) and "were not logged" in str(w.message)
               for w in caught)
    improver.close()
