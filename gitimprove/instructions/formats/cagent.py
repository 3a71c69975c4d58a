"""Docker cagent files: ``agents:`` maps names to agents whose ``instruction`` is the prompt;
models, toolsets and sub_agents are never edited."""

from __future__ import annotations

import re
from typing import Any

from gitimprove.instructions.formats.base import Entry
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, string_fields
from gitimprove.instructions.formats.yamlspan import Path_


class Cagent(YamlAdapter):
    name = "cagent"
    summary = "cagent: agents.<name>.instruction; {variables}"
    variable_re = re.compile(r"(?<![{$])\{([A-Za-z_][A-Za-z0-9_\-]*)\}(?!\})")

    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        agents = value.get("agents") if isinstance(value, dict) else None
        if not isinstance(agents, dict) or not agents or not all(
                isinstance(a, dict) and isinstance(a.get("instruction"), str) for a in agents.values()):
            raise shape_error(source, self.name, "expected `agents:` mapping names to agents with an `instruction`")
        return [Entry(str(k), ("agents", str(k)), tuple(string_fields(source, ("agents", str(k)), a, ["instruction"])))
                for k, a in agents.items()]

    def render(self, data: Any) -> str:
        return str(data["instruction"])
