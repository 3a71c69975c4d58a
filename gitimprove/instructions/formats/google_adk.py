"""Google ADK agent config YAML (``agent_class: LlmAgent``, ``name``, ``model``, ``instruction``);
state variables ``{name}`` / ``{name?}``; tools, sub_agents, model and schemas are never edited."""

from __future__ import annotations

import re
from typing import Any

from gitimprove.instructions.formats.base import Entry
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, stem, string_fields
from gitimprove.instructions.formats.yamlspan import Path_


class GoogleADK(YamlAdapter):
    name = "google_adk"
    summary = "Google ADK agent config: instruction (and global_instruction); {state} variables"
    variable_re = re.compile(r"(?<!\{)\{((?:artifact\.|app:|user:|temp:)?[A-Za-z_]\w*)\??\}(?!\})")

    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        if not isinstance(value, dict) or not isinstance(value.get("instruction"), str) or not (
                "agent_class" in value or "model" in value or "name" in value):
            raise shape_error(source, self.name, "expected an agent with `name`, `model` and `instruction`")
        key = value.get("name") if isinstance(value.get("name"), str) else stem(source)
        return [Entry(str(key), (), tuple(string_fields(source, (), value, ["global_instruction", "instruction"])))]

    def render(self, data: Any) -> str:
        parts = [str(data[k]) for k in ("global_instruction", "instruction") if isinstance(data.get(k), str)]
        return "\n\n".join(parts)
