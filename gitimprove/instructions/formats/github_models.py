"""GitHub Models prompt files (``*.prompt.yml``): the messages are the instructions; model,
modelParameters, testData, evaluators and response formats are never edited."""

from __future__ import annotations

import re
from typing import Any

from gitimprove.instructions.formats.base import Entry
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, stem
from gitimprove.instructions.formats.yamlspan import Path_


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
            raise shape_error(source, self.name, "expected `messages:` with a `content` string in each")
        fields = tuple((str(m.get("role") or "message"), ("messages", i, "content"))
                       for i, m in enumerate(messages))
        return [Entry(stem(source).lower(), (), fields)]

    def render(self, data: Any) -> str:
        return "\n\n".join(f"[{m.get('role') or 'message'}]\n{m['content']}" for m in data["messages"])
