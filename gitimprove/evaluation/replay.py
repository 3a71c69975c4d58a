"""Replay: the agent's answer to a run's input, again, under a given system prompt.

Base and proposal are replayed the same way (same model, same settings, same input), so the
judge compares two fresh answers rather than a fresh one with one logged months ago under other
conditions; the logged output is shown to the judge beside them as context only. The input is
the user's turn, where it was when the agent ran; ``{{variables}}`` the run filled in are not
recorded, so they stay as placeholders in both prompts alike. Each prompt is the same for every
run, so it is marked for the API's prompt cache: the first run writes it, the others read it.
"""

from __future__ import annotations

import anthropic
from anthropic.types import TextBlock

from gitimprove.dataclass import dataclass
from gitimprove.llm import CACHED, MessagesAPI, Tokens

# Characters an answer of ``max_tokens`` tokens has at most (a token is about 4 on average,
# rarely over 10): an answer longer than this came from a server that ignored ``max_tokens``,
# and is cut before the judge reads it, so the judge's prompt stays bounded.
MAX_CHARS_PER_TOKEN = 16


@dataclass(frozen=True)
class Answer:
    text: str
    tokens: Tokens
    stop_reason: str | None


def replay(api: MessagesAPI, client: anthropic.Anthropic, *, system: str, user_input: str,
           max_tokens: int) -> Answer:
    """The agent's answer to ``user_input`` under ``system``: its text, tokens and stop reason."""
    # NOTE: the instructions are the same for every run of an evaluation, the input is not: the
    # system prompt is marked for the cache, the input comes after it.
    message = api.create(client, max_tokens=max_tokens,
                         system=[{"type": "text", "text": system, "cache_control": CACHED}],
                         messages=[{"role": "user", "content": user_input}])
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock)).strip()
    limit = max_tokens * MAX_CHARS_PER_TOKEN
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return Answer(text, Tokens.of(message), message.stop_reason)


def replay_size(system: str, user_input: str) -> int:
    """Characters sent for one replay."""
    return len(system) + len(user_input)
