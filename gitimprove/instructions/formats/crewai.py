"""crewAI's ``config/agents.yaml`` (role, goal, backstory) and ``config/tasks.yaml``
(description, expected_output): one agent per top-level key, variables written ``{topic}``."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats.base import Entry
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, string_fields
from gitimprove.instructions.formats.yamlspan import Path_

# NOTE: `role` is the agent's title ("You are {role}."): kept, never edited; rules go to the
# backstory or the goal, in the order crewAI renders them.
AGENT_FIELDS = ["backstory", "goal"]
TASK_FIELDS = ["description", "expected_output"]


class CrewAI(YamlAdapter):
    name = "crewai"
    summary = "crewAI agents.yaml / tasks.yaml: one agent or task per key; backstory, goal, description, expected_output"
    variable_re = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_\-]*)\}(?!\})")

    def claims(self, path: str) -> bool:
        return posixpath.basename(path).lower() in ("agents.yaml", "agents.yml", "tasks.yaml", "tasks.yml")

    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        if not isinstance(value, dict) or not value:
            raise shape_error(source, self.name, "expected a mapping of agent or task names")
        out = []
        bad = []
        for key, item in value.items():
            if not isinstance(item, dict) or not isinstance(key, str):
                bad.append(str(key))
                continue
            names = AGENT_FIELDS if any(f in item for f in ("role", *AGENT_FIELDS)) else (
                TASK_FIELDS if "description" in item else None)
            if names is None:
                if (key,) not in shared:  # a block only merged into others (`<<: *defaults`)
                    bad.append(key)
                continue
            out.append(Entry(key, (key,), tuple(string_fields(source, (key,), item, names))))
        if bad:
            raise shape_error(source, self.name, f"{', '.join(repr(b) for b in bad)} "
                              "has neither role/goal/backstory (an agent) nor description (a task)")
        if not all(e.fields for e in out):
            raise InvalidFileError([f"{source}: an entry has no instruction text"])
        return out

    def render(self, data: Any) -> str:
        # What crewAI builds: the agent's role_playing slice, or Task.prompt() for a task.
        if "description" in data and not any(f in data for f in ("role", *AGENT_FIELDS)):
            out = str(data.get("description") or "")
            if data.get("expected_output") is not None:
                out += ("\n\nThis is the expected criteria for your final answer: "
                        f"{data['expected_output']}\nyou MUST return the actual complete content as "
                        "the final answer, not a summary.")
            return out
        return (f"You are {data.get('role') or ''}. {data.get('backstory') or ''}\n"
                f"Your personal goal is: {data.get('goal') or ''}")
