"""`gitimprove demo` with a key: the real SDK against the fake Messages API, and what the
demo's model calls cost, step by step and in all (also when a step fails after a paid answer).
The offline demo is driven end to end in tests/e2e/test_demo.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Ran, fake_env
from tests.fakes.anthropic_server import (
    FakeAnthropicServer,
    Received,
    Reply,
    is_judge,
    text_answer,
    tool_use,
    unauthorized,
    verdict,
)


def draft() -> dict[str, object]:
    """An edit every sample agent takes: a rule in its `role` section, citing no pattern."""
    return {"summary": "Answer in the user's language",
            "rationale": "Users write in several languages.",
            "operations": [{"op": "add_rule", "section": "role",
                            "text": "Answer in the language the user writes in.",
                            "reason": "Several users wrote in German.", "evidence": []}]}


def model(received: Received) -> Reply:
    """The proposer's draft, the agent's replay, or the judge's verdict, whichever is asked."""
    if is_judge(received):
        return verdict("A")
    if any(t.get("name") == "propose_edits" for t in received.tools):
        return tool_use(draft(), input_tokens=2000, output_tokens=200)
    return text_answer("A replayed answer.", input_tokens=200, output_tokens=50)


def cost_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\s*model calls: ", line, re.I)]


def test_the_demo_with_a_key_says_what_each_step_and_all_of_it_cost(
        api: FakeAnthropicServer, tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    api.handler = model
    ran = gitimprove(tmp_path, "demo", "--dir", str(tmp_path / "demo"), env=fake_env(api))
    assert ran.returncode == 0, ran.stderr
    asked = [r for r in api.requests if r.rejected is None]
    proposals = [r for r in asked if any(t.get("name") == "propose_edits" for t in r.tools)]
    evaluated = [r for r in asked if r not in proposals]
    assert len(proposals) == 3 and evaluated  # three proposals, and an evaluation
    lines = cost_lines(ran.stdout)
    # each step that asked the model: steps 4 (propose), 5 (evaluate), 9 and 10 (propose)
    one = "   model calls: 1 request, 2,000 input and 200 output tokens, about $0.01"
    replays = [r for r in evaluated if not is_judge(r)]
    assert lines[:4] == [one, f"   model calls: {len(evaluated)} requests, "
                              f"{200 * len(replays) + 100 * (len(evaluated) - len(replays)):,} "
                              f"input and {50 * len(evaluated)} output tokens, about $0.02",
                         one, one]
    # and the last line, in the words of every other model command: their total
    inputs = 200 * len(replays) + 100 * (len(evaluated) - len(replays)) + 3 * 2000
    outputs = 50 * len(evaluated) + 3 * 200
    assert lines[4:] == [ran.stdout.splitlines()[-1]]
    assert lines[4] == (f"Model calls: {len(asked)} requests, {inputs:,} input and {outputs:,} "
                        "output tokens, about $0.05")


def test_a_demo_that_fails_after_a_paid_answer_still_says_its_cost(
        api: FakeAnthropicServer, tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    answered: list[Received] = []

    def once(received: Received) -> Reply:  # the first proposal is paid for, then the key fails
        if answered:
            return unauthorized()
        answered.append(received)
        return model(received)

    api.handler = once
    ran = gitimprove(tmp_path, "demo", "--dir", str(tmp_path / "demo"), env=fake_env(api))
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    # the evaluation's refusal is shown and the demo goes on; trip-planner's proposal fails it
    assert "   | error: the Anthropic API refused the API key" in ran.stdout
    assert ran.stderr.startswith("error: the Anthropic API refused the API key")
    said = "1 request, 2,000 input and 200 output tokens, about $0.01"
    assert cost_lines(ran.stdout) == [f"   model calls: {said}", f"Model calls: {said}"]
    assert ran.stdout.splitlines()[-1] == f"Model calls: {said}"


def test_the_demo_offline_says_no_cost(tmp_path: Path, gitimprove: Callable[..., Ran],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    ran = gitimprove(tmp_path, "demo", "--dir", str(tmp_path / "demo"))
    assert ran.returncode == 0, ran.stderr
    assert cost_lines(ran.stdout) == []
