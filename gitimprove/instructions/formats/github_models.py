"""GitHub Models prompt files (``*.prompt.yml``): the messages are the instructions; model,
modelParameters, testData, evaluators, response formats and a message that is only a variable
(``{{input}}``) are never edited."""

from __future__ import annotations

import re
from typing import Any

from gitimprove.instructions.formats.base import Entry
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, stem
from gitimprove.instructions.formats.yamlspan import Path_
from gitimprove.safetext import printable


class GitHubModels(YamlAdapter):
    name = "github_models"
    summary = "GitHub Models .prompt.yml: the content of each message; {{variables}}"
    variable_example = "{{name}}"
    variable_re = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")

    def claims(self, path: str) -> bool:
        return path.lower().endswith((".prompt.yml", ".prompt.yaml"))

    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        messages = value.get("messages") if isinstance(value, dict) else None
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
            raise shape_error(source, self.name, "expected `messages:` with a `content` string in each"
                              + _found(value, messages))
        # A message that is only variables (`content: '{{input}}'`, the user's turn) holds no
        # instructions: a rule written there would become part of what the user said.
        fields = tuple((str(m.get("role") or "message"), ("messages", i, "content"))
                       for i, m in enumerate(messages) if self.variable_re.sub("", m["content"]).strip())
        if not fields:
            raise shape_error(source, self.name, "no message holds instructions: each is only a variable "
                                                 "(`{{input}}`)")
        return [Entry(stem(source).lower(), (), fields)]

    def render(self, data: Any) -> str:
        return "\n\n".join(f"[{m.get('role') or 'message'}]\n{m['content']}" for m in data["messages"])


def _found(value: Any, messages: Any) -> str:
    """What the file has instead, for the refusal (a placeholder's `messages: []`, or the
    `system:` and `user:` keys of a prompt format of one's own)."""
    if not isinstance(value, dict):
        return ""
    if "messages" not in value:
        keys = ", ".join(printable(str(k), multiline=False)[:40] for k in list(value)[:8])
        return f"; it has none (its keys: {keys})"
    if isinstance(messages, list) and not messages:
        return "; its `messages:` is empty"
    if isinstance(messages, list):
        bad = next(i for i, m in enumerate(messages) if not (isinstance(m, dict) and isinstance(m.get("content"), str)))
        return f"; message {bad + 1} has no `content` string"
    return "; its `messages:` is not a list"
