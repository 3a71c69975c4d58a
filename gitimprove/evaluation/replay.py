"""Replay: the agent's answer to a run's input, again, under a given system prompt.

Base and proposal are replayed the same way (same model, same settings, same input), so the
judge compares two fresh answers rather than a fresh one with one logged months ago under other
conditions; the logged output is shown to the judge beside them as context only. The input is
the user's turn, where it was when the agent ran; ``{{variables}}`` the run filled in are not
recorded, so they stay as placeholders in both prompts alike.
"""

from __future__ import annotations

import anthropic
from anthropic.types import Message, TextBlock

from gitimprove.dataclass import dataclass
from gitimprove.llm import MessagesAPI


@dataclass(frozen=True)
class Answer:
    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: str | None


def usage_of(message: Message) -> tuple[int, int]:
    u = message.usage
    cached = (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
    return u.input_tokens + cached, u.output_tokens


def replay(api: MessagesAPI, client: anthropic.Anthropic, *, system: str, user_input: str,
           max_tokens: int) -> Answer:
    """The agent's answer to ``user_input`` under ``system``: its text, tokens and stop reason."""
    message = api.create(client, max_tokens=max_tokens,
                         system=[{"type": "text", "text": system}],
                         messages=[{"role": "user", "content": user_input}])
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock)).strip()
    tokens_in, tokens_out = usage_of(message)
    return Answer(text, tokens_in, tokens_out, message.stop_reason)


def replay_size(system: str, user_input: str) -> int:
    """Characters sent for one replay."""
    return len(system) + len(user_input)
