"""The one door to the Messages API as a waiting user meets it: which request of how many is
awaited, and what the answered ones cost (one bill for every command)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from gitimprove.errors import GitImproveError
from gitimprove.llm import Bill, Hints, MessagesAPI, Tokens, price
from tests.conftest import Told
from tests.fakes import anthropic_server as fake
from tests.fakes.anthropic_server import FakeAnthropicServer, error, slow, text_answer

HINTS = Hints(key="set a key", fallback="or do without", timeout_setting="t.timeout_seconds",
              model_setting="t.model", deadline_setting="t.deadline_seconds")


def distinct(statuses: list[str]) -> list[str]:
    """The statuses shown, each once in a row, none cleared."""
    return [s for n, s in enumerate(statuses) if s and (n == 0 or statuses[n - 1] != s)]


def door(api: FakeAnthropicServer, model: str = "claude-sonnet-5-5",
         deadline: float | None = 60) -> MessagesAPI:
    return MessagesAPI(model=model, timeout=30, error=GitImproveError, hints=HINTS,
                       api_key=api.api_key, base_url=api.base_url, deadline=deadline,
                       backoff_base=0.01, backoff_max=0.05)


def ask(door: MessagesAPI, times: int) -> None:
    with door.client() as client:
        for _ in range(times):
            door.create(client, max_tokens=16, messages=[{"role": "user", "content": "hi"}])


def test_a_known_number_of_requests_is_counted_out(api: FakeAnthropicServer, told: Told) -> None:
    api.handler = lambda received: slow(text_answer("ok"), 0.8)
    calls = door(api)
    calls.expect(3)
    ask(calls, 3)
    shown = {re.sub(r": \d+ s, at most \d+ s more", "", s) for s in distinct(told.statuses)}
    assert shown == {f"waiting for claude-sonnet-5-5 (request {n} of 3)" for n in (1, 2, 3)}
    # each request is timed from its own start: none has waited 2 s, whatever came before
    assert all(re.search(r": [01] s, at most \d+ s more$", s) for s in distinct(told.statuses))


def test_a_bound_is_counted_out_as_one_and_the_last_is_exact(
        api: FakeAnthropicServer, told: Told) -> None:
    api.handler = lambda received: slow(text_answer("ok"), 0.6)
    calls = door(api)
    calls.at_most(3)  # e.g. a draft and a repair round, or fewer
    ask(calls, 3)
    shown = [re.sub(r": \d+ s, at most \d+ s more", "", s) for s in distinct(told.statuses)]
    assert shown == ["waiting for claude-sonnet-5-5 (request 1 of at most 3)",
                     "waiting for claude-sonnet-5-5 (request 2 of at most 3)",
                     "waiting for claude-sonnet-5-5 (request 3 of 3)"]  # none can follow it


def test_long_waits_are_told_in_minutes(api: FakeAnthropicServer, told: Told) -> None:
    api.handler = lambda received: slow(text_answer("ok"), 0.6)
    ask(door(api, deadline=3600), 1)  # evaluate's default deadline: not "at most 3599 s more"
    assert distinct(told.statuses) == ["waiting for claude-sonnet-5-5: 0 s, at most 60 min more"]
    ask(door(api, deadline=None), 1)
    assert distinct(told.statuses)[-1] == "waiting for claude-sonnet-5-5: 0 s, each read up to 30 s"


def test_an_unknown_number_is_counted_up_and_a_retry_is_an_attempt(
        api: FakeAnthropicServer, told: Told) -> None:
    api.script(slow(text_answer("ok"), 0.6),
               error(529, "overloaded_error", "Overloaded", headers={"retry-after": "0"}),
               slow(text_answer("ok"), 0.6))
    ask(door(api), 2)
    shown = [re.sub(r": \d+ s, at most \d+ s more", "", s) for s in distinct(told.statuses)]
    assert shown == ["waiting for claude-sonnet-5-5",  # one request: nothing to count
                     "waiting for claude-sonnet-5-5 (request 2)",
                     "waiting for claude-sonnet-5-5 (request 2, attempt 2)"]
    assert told.notes == ["the Anthropic API is overloaded (529); retrying (attempt 2 of 5)"]


def test_more_requests_than_expected_are_counted_up(api: FakeAnthropicServer,
                                                   told: Told) -> None:
    api.handler = lambda received: slow(text_answer("ok"), 0.6)
    calls = door(api)
    calls.expect(1)
    ask(calls, 2)  # the caller's count was wrong: never "request 2 of 1"
    assert [re.sub(r": \d+ s.*", "", s) for s in distinct(told.statuses)] == [
        "waiting for claude-sonnet-5-5", "waiting for claude-sonnet-5-5 (request 2)"]


def test_the_answered_requests_are_billed_by_model(api: FakeAnthropicServer) -> None:
    api.handler = lambda received: text_answer("ok", input_tokens=2000, output_tokens=1000)
    calls = door(api)
    ask(calls, 2)
    with calls.client() as client:
        calls.create(client, model="claude-haiku-5", max_tokens=16,
                     messages=[{"role": "user", "content": "hi"}])
    bill = calls.bill()
    assert bill.tokens == Tokens(6000, 3000, 0, 0, 3)
    # sonnet 4000 in, 2000 out at $3/$15 a million; haiku 2000 in, 1000 out at $1/$5
    assert bill.cost_usd == round((4000 * 3 + 2000 * 15 + 2000 * 1 + 1000 * 5) / 1e6, 4)
    assert bill.said() == "3 requests, 6,000 input and 3,000 output tokens, about $0.05"
    assert bill.to_json() == {"requests": 3, "input_tokens": 6000, "output_tokens": 3000,
                              "cache_write_tokens": 0, "cache_read_tokens": 0,
                              "cost_usd": 0.049}


def test_a_model_of_no_known_family_has_no_price() -> None:
    assert price("claude-sonnet-5-5") == (3.0, 15.0) and price("claude-opus-5") == (5.0, 25.0)
    assert price("my-proxy-model") is None and price("my-proxy-model", (2.0, 8.0)) == (2.0, 8.0)
    assert price("sonnetish") is None  # a family is a whole part of the name, not a guess
    bill = Bill.of({"claude-sonnet-5-5": Tokens(1000, 100, 0, 0, 1),
                    "my-proxy-model": Tokens(1000, 100, 0, 0, 1)})
    assert (bill.cost_usd, bill.saved_usd, bill.unpriced) == (None, None, ("my-proxy-model",))
    assert bill.said() == ("2 requests, 2,000 input and 200 output tokens, cost unknown: no "
                           "price known for my-proxy-model")


def test_cache_writes_and_reads_are_billed_at_their_price() -> None:
    tokens = Tokens(input=10_000, output=0, cache_write=4000, cache_read=4000, requests=2)
    bill = Bill.of({"claude-sonnet-5-5": tokens})
    assert bill.cost_usd == round(3 * (2000 + 1.25 * 4000 + 0.1 * 4000) / 1e6, 4)
    assert bill.saved_usd == round(3 * (0.9 * 4000 - 0.25 * 4000) / 1e6, 4)
    assert bill.said() == ("2 requests, 10,000 input (4,000 read from the cache, 4,000 written "
                           "to it) and 0 output tokens, about $0.02")


def test_bills_add_up_and_an_unknown_price_makes_the_sum_unknown() -> None:
    sonnet = Bill.of({"claude-sonnet-5-5": Tokens(1000, 100, 0, 500, 1)})
    haiku = Bill.of({"claude-haiku-5": Tokens(2000, 200, 0, 0, 2)})
    both = sonnet + haiku
    assert both == Bill.of({"claude-sonnet-5-5": Tokens(1000, 100, 0, 500, 1),
                            "claude-haiku-5": Tokens(2000, 200, 0, 0, 2)})
    proxy = Bill.of({"my-proxy-model": Tokens(10, 1, 0, 0, 1)})
    unknown = both + proxy + proxy
    assert (unknown.cost_usd, unknown.saved_usd, unknown.unpriced) == (None, None, ("my-proxy-model",))
    assert unknown.tokens.requests == 5


@pytest.mark.parametrize(("reply", "said"), [
    (fake.not_json, "not JSON; it begins '<html><body>502 Bad Gateway</body></html>'"),
    (fake.truncated, "its JSON is cut short"),
    (lambda: fake.raw_answer(b""), "an empty body"),
    (lambda: fake.raw_answer(b'{"id": 1,, "type": "message"}'), "not valid JSON at character 10"),
    (lambda: fake.raw_answer(b"\x1b]0;owned\x07\x1b[2J<b>proxy</b>"), "not JSON; it begins "
                                                                       "']0;owned [2J<b>proxy</b>'"),
])
def test_a_malformed_answer_says_what_is_wrong_in_plain_words(
        api: FakeAnthropicServer, reply: Callable[[], fake.Reply], said: str) -> None:
    api.script(reply())
    with pytest.raises(GitImproveError) as refused:
        ask(door(api), 1)
    # not the parser's "Expecting value: line 1 column 1 (char 0)"; a body quoted is one line,
    # with no control character left to reach the terminal
    assert refused.value.message == (f"the Anthropic API at {api.base_url} sent a malformed "
                                     f"answer ({said})")
