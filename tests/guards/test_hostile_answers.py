"""Hostile answers of the Messages API, for each command that asks a model: ids that do not
exist, a 200 KB text field, terminal escapes and bidi controls in every string field, JSON cut
mid-way, and ``stop_reason: max_tokens``. Each ends with a clear ``error:`` (exit 1, nothing
written) or a ``note:`` and the documented fallback; nothing a model wrote reaches the
terminal raw, and a success writes only clean text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitimprove.patterns.synthesis import BATCH_TOOL
from tests.conftest import Ran, fake_env, git
from tests.evaluation.conftest import NEW_RULE, PID, Setup, record_runs, use
from tests.fakes import anthropic_server as fake
from tests.fakes.anthropic_server import FakeAnthropicServer, Received, Reply, tool_use

ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\u202eevil\u2066\x9b31m"
RAW = ["\x1b", "\x07", "\u202e", "\u2066", "\x9b"]
BIG = "x" * 200_000
CASES = ["unknown-ids", "200-kb", "escapes", "cut-json", "max-tokens"]


def judged(ran: Ran) -> None:
    """A clear end: exit 0 or an ``error:`` with exit 1, never a traceback; nothing raw."""
    assert ran.returncode in (0, 1), (ran.returncode, ran.stdout[-2000:], ran.stderr[-2000:])
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr, ran.stderr[-2000:]
    if ran.returncode == 1:
        assert re.search(r"(?m)^error: ", ran.stderr), ran.stderr[-2000:]
    for ch in RAW:
        assert ch not in ran.stdout and ch not in ran.stderr, (repr(ch), ran.stdout[-500:], ran.stderr[-500:])
    assert len(ran.stderr) < 20_000, "an error quotes a bounded part of what the model wrote"


def cut(reply: Reply) -> Reply:
    """``reply``'s JSON body cut mid-way: it looks right until it stops."""
    whole = json.dumps(reply.body).encode()
    return fake.raw_answer(whole[: len(whole) * 2 // 3])


def cut_short(reply: Reply) -> Reply:
    """``reply`` as an answer cut at max_tokens: its tool input lost its last fields."""
    body = json.loads(json.dumps(reply.body))
    body["stop_reason"] = "max_tokens"
    for block in body["content"]:
        if block["type"] == "tool_use":
            block["input"] = dict(list(block["input"].items())[:1])
        elif block["type"] == "text":
            block["text"] = block["text"][: len(block["text"]) // 2]
    return Reply(200, body, reply.headers)


def hostile(case: str, good: Reply, *, ids: Callable[[Reply], Reply],
            big: Callable[[Reply], Reply], escapes: Callable[[Reply], Reply]) -> Reply:
    return {"unknown-ids": ids, "200-kb": big, "escapes": escapes, "cut-json": cut,
            "max-tokens": cut_short}[case](good)


def every_string(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [every_string(v, change) for v in value]
    if isinstance(value, dict):
        return {k: every_string(v, change) for k, v in value.items()}
    return value


def tool_input_changed(change: Callable[[dict[str, Any]], None]) -> Callable[[Reply], Reply]:
    def apply(reply: Reply) -> Reply:
        body = json.loads(json.dumps(reply.body))
        for block in body["content"]:
            if block["type"] == "tool_use":
                change(block["input"])
            elif block["type"] == "text":
                block["text"] = every_string(block["text"], lambda s: s + ESC)
        return Reply(200, body, reply.headers)
    return apply


def with_escapes(reply: Reply) -> Reply:
    def change(data: dict[str, Any]) -> None:
        data.update(every_string(data, lambda s: f"{s} {ESC}"))
    return tool_input_changed(change)(reply)


# -- propose -----------------------------------------------------------------------------------

def draft_reply() -> Reply:
    from tests.proposers.conftest import good_draft

    return tool_use(good_draft(), text="Here is my draft.")


def draft_ids(data: dict[str, Any]) -> None:
    data["operations"] = [
        {"op": "update_rule", "section": "no-such-section", "index": 99, "text": "Be brief.",
         "reason": "users", "evidence": ["pat-0000000000", "fb-does-not-exist"]},
        {"op": "remove_rule", "section": "style", "index": 1234, "reason": "r", "evidence": []}]


def draft_big(data: dict[str, Any]) -> None:
    data["summary"] = data["rationale"] = BIG
    data["operations"][0]["text"] = data["operations"][0]["reason"] = BIG


@pytest.mark.parametrize("case", CASES)
def test_propose(case: str, with_feedback: Path, api: FakeAnthropicServer,
                 gitimprove: Callable[..., Ran]) -> None:
    reply = hostile(case, draft_reply(), ids=tool_input_changed(draft_ids),
                    big=tool_input_changed(draft_big), escapes=with_escapes)
    api.handler = lambda received: reply
    before = git(with_feedback, "for-each-ref"), git(with_feedback, "status", "--porcelain")
    ran = gitimprove(with_feedback, "propose", "product-writer", "--proposer", "anthropic",
                     "--offline", env=fake_env(api))
    judged(ran)
    # every one is refused, after the repair round where an answer came (and was paid for)
    assert ran.returncode == 1
    assert (git(with_feedback, "for-each-ref"),
            git(with_feedback, "status", "--porcelain")) == before, "nothing written on refusal"
    if case == "cut-json":
        assert "sent a malformed answer (its JSON is cut short)" in ran.stderr
    else:
        assert "gave no valid draft for product-writer, even after one repair round" in ran.stderr
        assert re.search(r"(?m)^Model calls: 2 requests, ", ran.stdout), ran.stdout


# -- analyze --model ---------------------------------------------------------------------------

def themes_reply(received: Received) -> Reply:
    items = re.findall(r'<feedback_item id="(t\d+)">', received.prompt_text())
    tool = received.tool_choice["name"]
    if tool == BATCH_TOOL:
        return tool_use({"themes": [{"name": "answers too long", "kind": "answers",
                                     "description": "users say so", "topic": "length",
                                     "members": items}]}, name=tool)
    parts = re.findall(r'<batch_theme id="(b\d+)"', received.prompt_text())
    return tool_use({"themes": [{"name": "answers too long", "kind": "answers",
                                 "description": "users say so", "topic": "length",
                                 "parts": parts}]}, name=tool)


def theme_ids(data: dict[str, Any]) -> None:
    for theme in data["themes"]:
        key = "members" if "members" in theme else "parts"
        theme[key] = ["t999999", "b999", "../../etc/passwd", *theme[key][:1]]


def theme_big(data: dict[str, Any]) -> None:
    for theme in data["themes"]:
        theme["name"] = theme["description"] = theme["topic"] = BIG


@pytest.mark.parametrize("case", CASES)
def test_analyze(case: str, with_feedback: Path, api: FakeAnthropicServer,
                 gitimprove: Callable[..., Ran]) -> None:
    def answer(received: Received) -> Reply:
        return hostile(case, themes_reply(received), ids=tool_input_changed(theme_ids),
                       big=tool_input_changed(theme_big), escapes=with_escapes)

    api.handler = answer
    cache = with_feedback / ".git" / "gitimprove-state" / "synthesis"
    for old in cache.glob("*/*.json"):
        old.unlink()  # each case asks the model, not the cache
    ran = gitimprove(with_feedback, "analyze", "product-writer", "--model", env=fake_env(api))
    judged(ran)
    assert ran.returncode == 0, ran.stderr
    if case != "cut-json":  # (a first answer cut short is not counted: nothing was used)
        assert re.search(r"(?m)^Model calls: \d+ requests?, ", ran.stdout), ran.stdout[-500:]
    # escapes make the ids unknown and the kinds none of the three: all of them fall back
    assert "note: the model step failed, so the offline grouping is used" in ran.stderr
    assert not list(cache.glob("*/*.json")), "nothing cached from a failure"


# -- evaluate ----------------------------------------------------------------------------------

@pytest.fixture
def proposed(sample_repo: Path) -> Iterator[Setup]:
    """A proposal citing runs with inputs, ready to evaluate (as tests/evaluation sets it up)."""
    from gitimprove.instructions.repo import InstructionRepo
    from tests.review.conftest import add_rule, make_proposal

    repo = InstructionRepo(sample_repo)
    evidence, liked = record_runs(repo)
    make_proposal(sample_repo, PID, add_rule(NEW_RULE), evidence=",".join(evidence))
    yield Setup(sample_repo, repo, PID, evidence, liked)
    repo.close()


def verdict_ids(data: dict[str, Any]) -> None:
    data["preferred"] = "C"
    data["run"] = "run-does-not-exist"


def verdict_big(data: dict[str, Any]) -> None:
    data["reason"] = BIG


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("who", ["replay", "judge"])
def test_evaluate(case: str, who: str, proposed: Setup, api: FakeAnthropicServer,
                  gitimprove: Callable[..., Ran]) -> None:
    from tests.fakes.anthropic_server import text_answer, verdict

    def replay(received: Received) -> Reply:
        good = text_answer("A short answer, in three bullets.")
        if who != "replay":
            return good
        return hostile(case, good, ids=lambda r: text_answer("see run-does-not-exist"),
                       big=lambda r: text_answer(BIG),
                       escapes=lambda r: text_answer(f"An answer {ESC}"))

    def judge(received: Received) -> Reply:
        good = verdict("A", "A is shorter")
        if who != "judge":
            return good
        return hostile(case, good, ids=tool_input_changed(verdict_ids),
                       big=tool_input_changed(verdict_big), escapes=with_escapes)

    use(api, judge=judge, replay=replay)
    before = git(proposed.path, "for-each-ref")
    ran = gitimprove(proposed.path, "evaluate", proposed.pid, "--sample", "2", env=fake_env(api))
    judged(ran)
    if ran.returncode == 1:
        assert git(proposed.path, "for-each-ref") == before, "nothing recorded on refusal"
        assert re.search(r"(?m)^Model calls: \d+ requests?, ", ran.stdout) or case == "cut-json"
    else:
        record = git(proposed.path, "log", "-1", "--format=%B",
                     f"refs/gitimprove/evaluations/product-writer/{proposed.pid}")
        for ch in RAW:
            assert ch not in record, repr(ch)
        assert len(record) < 50_000
