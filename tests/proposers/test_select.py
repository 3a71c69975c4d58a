"""Choosing the proposer from --proposer, the policy's default and the environment."""

from __future__ import annotations

import importlib.util

import pytest

from gitimprove.errors import GitImproveError
from gitimprove.instructions.policy import ProposerSettings
from gitimprove.proposals.operations import Draft
from gitimprove.proposals.proposers.anthropic import AnthropicProposer
from gitimprove.proposals.proposers.select import make_proposer
from tests.fakes.anthropic_server import FakeAnthropicServer, tool_use

from .conftest import TOO_LONG, good_draft, request_for, validator

KEY = {"ANTHROPIC_API_KEY": "sk-ant-from-env-0001"}
HAS_HEURISTIC = importlib.util.find_spec("gitimprove.proposals.proposers.heuristic") is not None


@pytest.mark.parametrize("name", [None, "auto", "AUTO"])
def test_auto_with_a_key_is_anthropic(name: str | None) -> None:
    proposer = make_proposer(name, ProposerSettings(model="claude-opus-4-5"), env=KEY)
    assert isinstance(proposer, AnthropicProposer)
    assert (proposer.name, proposer.model) == ("anthropic", "claude-opus-4-5")


@pytest.mark.parametrize(("name", "default"), [(None, "anthropic"), ("anthropic", "auto"),
                                               ("anthropic", "heuristic")])
@pytest.mark.parametrize("env", [{}, {"ANTHROPIC_API_KEY": "  "}], ids=["unset", "blank"])
def test_anthropic_without_a_key_is_refused_with_a_hint(name: str | None, default: str,
                                                        env: dict[str, str]) -> None:
    with pytest.raises(GitImproveError) as caught:
        make_proposer(name, ProposerSettings(default=default), env=env)
    assert "ANTHROPIC_API_KEY is not set" in caught.value.message
    assert caught.value.hint is not None
    assert "set ANTHROPIC_API_KEY" in caught.value.hint
    assert "--proposer heuristic" in caught.value.hint


def test_an_unknown_proposer_is_refused() -> None:
    with pytest.raises(GitImproveError, match="unknown proposer 'gpt'") as caught:
        make_proposer("gpt", ProposerSettings(), env=KEY)
    assert caught.value.hint == "choose one of: auto, anthropic, heuristic"


def test_the_chosen_proposer_uses_the_given_environment(api: FakeAnthropicServer) -> None:
    env = {"ANTHROPIC_API_KEY": str(api.api_key), "ANTHROPIC_BASE_URL": api.base_url}
    api.script(tool_use(good_draft()))
    result = make_proposer(None, ProposerSettings(), env=env).propose(request_for([TOO_LONG]),
                                                                     validator())
    assert result.draft == Draft.model_validate(good_draft())
    assert api.requests[0].api_key == api.api_key


@pytest.mark.skipif(not HAS_HEURISTIC, reason="gitimprove/proposers/heuristic.py not written yet")
@pytest.mark.parametrize(("name", "default", "env"), [
    (None, "auto", {}),
    ("auto", "auto", {"ANTHROPIC_API_KEY": ""}),
    ("heuristic", "auto", KEY),
    (None, "heuristic", KEY),
])
def test_heuristic_when_chosen_or_without_a_key(name: str | None, default: str,
                                                env: dict[str, str]) -> None:
    proposer = make_proposer(name, ProposerSettings(default=default), env=env)
    assert proposer.name == "heuristic"
    assert not isinstance(proposer, AnthropicProposer)
