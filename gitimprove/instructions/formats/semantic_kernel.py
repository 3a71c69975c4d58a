"""Semantic Kernel prompt templates (``template:`` with ``input_variables``, ``execution_settings``)
and declarative agents (``instructions:``); variables ``{{$name}}``, ``{{name}}`` or ``{Local.X}``."""

from __future__ import annotations

import re
from typing import Any

from gitimprove.instructions.formats.base import Entry
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, stem, string_fields
from gitimprove.instructions.formats.yamlspan import Path_


class SemanticKernel(YamlAdapter):
    name = "semantic_kernel"
    summary = "Semantic Kernel prompt YAML (template) or agent YAML (instructions); {{$v}}, {{v}}, {Local.X}"
    variable_example = "{{$name}}"
    variable_re = re.compile(r"\{\{\s*\$?([A-Za-z_][\w.]*)\s*\}\}|(?<!\{)\{((?:Local|System|Env|Workflow)\.[\w.]+)\}")

    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        if isinstance(value, dict) and isinstance(value.get("template"), str):
            key = value.get("name") if isinstance(value.get("name"), str) else stem(source)
            return [Entry(str(key), (), tuple(string_fields(source, (), value, ["template"])))]
        if isinstance(value, dict) and isinstance(value.get("instructions"), str) and (
                "type" in value or "kind" in value or "model" in value):
            key = value.get("name") if isinstance(value.get("name"), str) else stem(source)
            return [Entry(str(key), (), tuple(string_fields(source, (), value, ["instructions"])))]
        raise shape_error(source, self.name, "expected `template:` (a prompt) or `instructions:` (an agent)")

    def render(self, data: Any) -> str:
        return str(data.get("template") if "template" in data else data.get("instructions"))
