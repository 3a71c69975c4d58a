"""Google ADK agents: an agent config YAML (``agent_class: LlmAgent``, ``name``, ``model``,
``instruction``), or a Python module (``agent.py``) that builds them, ``root_agent =
Agent(name=..., model=..., instruction=\"\"\"...\"\"\", tools=[...])``. State variables ``{name}`` /
``{name?}``; tools, sub_agents, model and schemas are never edited.

A Python file is read with :mod:`ast` and never imported or run. Each ``Agent(...)`` /
``LlmAgent(...)`` call with an ``instruction`` is an agent, named by its ``name=``; its
``instruction`` and ``global_instruction`` must each be one string literal, written in the call
or as a module-level constant of the file assigned once (``INSTRUCTION = \"\"\"...\"\"\"``). Anything
else (an f-string, a concatenation, a call, a name imported from ``prompt.py``) is refused with
the reason: gitimprove edits text where it is written."""

from __future__ import annotations

import ast
import re
from typing import Any

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats.base import Adapter, Entry, ParsedFile
from gitimprove.instructions.formats.prose import EditError, Lines
from gitimprove.instructions.formats.pysource import Literal, Source, bindings
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, stem, string_fields
from gitimprove.instructions.formats.yamlspan import Path_, split_lines

FIELDS = ("global_instruction", "instruction")
_AGENT_CLASSES = ("Agent", "LlmAgent")
_HINT = ("write the instruction in this file as one string literal, in the call "
         "(instruction=\"\"\"...\"\"\") or as a constant assigned once (INSTRUCTION = \"\"\"...\"\"\"), "
         "or leave this file out of `formats:` in gitimprove.yaml")


class GoogleADK(YamlAdapter):
    name = "google_adk"
    summary = "Google ADK agent config or agent.py: instruction (and global_instruction); {state} variables"
    variable_re = re.compile(r"(?<!\{)\{((?:artifact\.|app:|user:|temp:)?[A-Za-z_]\w*)\??\}(?!\})")

    def claims(self, path: str) -> bool:
        return path.rsplit("/", 1)[-1] == "agent.py"

    def parse(self, text: str, source: str) -> ParsedFile:
        if source.endswith(".py"):
            return PythonAgents(self, text, source)
        return super().parse(text, source)

    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        if not isinstance(value, dict) or not isinstance(value.get("instruction"), str) or not (
                "agent_class" in value or "model" in value or "name" in value):
            raise shape_error(source, self.name, "expected an agent with `name`, `model` and `instruction`")
        key = value.get("name") if isinstance(value.get("name"), str) else stem(source)
        return [Entry(str(key), (), tuple(string_fields(source, (), value, list(FIELDS))))]

    def render(self, data: Any) -> str:
        parts = [str(data[k]) for k in FIELDS if isinstance(data.get(k), str)]
        return "\n\n".join(parts)


def _is_agent_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return called in _AGENT_CLASSES and any(k.arg in FIELDS for k in node.keywords)


class PythonAgents(ParsedFile):
    """The agents of an ADK Python module, each instruction string a literal of the file."""

    def __init__(self, adapter: Adapter, text: str, source: str) -> None:
        self.adapter, self.text, self.source = adapter, text, source
        src = Source(text, source)
        self.src = src
        self.literals: dict[Path_, Literal] = {}
        self.calls: dict[str, tuple[int, int]] = {}
        self.entries = []
        uses: dict[int, int] = {}
        targets = {id(s.value): s.targets[0].id for s in ast.walk(src.tree)
                   if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)}
        found = [n for n in ast.walk(src.tree) if isinstance(n, ast.Call) and _is_agent_call(n)]
        for call in sorted(found, key=lambda n: (n.lineno, n.col_offset)):
            kwargs = {k.arg: k.value for k in call.keywords if k.arg is not None}
            where = f"{source}:{call.lineno}"
            name = kwargs.get("name")
            key = (name.value if isinstance(name, ast.Constant) and isinstance(name.value, str)
                   else targets.get(id(call)))
            if not key:
                raise InvalidFileError([f"{where}: the agent has no `name=\"...\"` string"],
                                       hint="give the agent a name=\"...\" string literal")
            if key in self.calls:
                raise InvalidFileError([f"{where}: two agents are named {key!r}"],
                                       hint="give each agent its own name=\"...\"")
            fields = []
            for field_name in FIELDS:
                if field_name not in kwargs:
                    continue
                literal = self._resolve(src, kwargs[field_name], f"{where}: agent {key!r}: `{field_name}`")
                path: Path_ = (key, field_name)
                self.literals[path] = literal
                uses[literal.start] = uses.get(literal.start, 0) + 1
                fields.append((field_name.replace("_", "-"), path))
            self.calls[key] = src.span(call)
            self.entries.append(Entry(key, (key,), tuple(fields)))
        if not self.entries:
            raise shape_error(source, adapter.name, "expected an `Agent(...)` or `LlmAgent(...)` call with "
                              "an `instruction=`")
        self.shared = {p for p, lit in self.literals.items() if uses[lit.start] > 1}

    def _resolve(self, src: Source, node: ast.expr, what: str) -> Literal:
        if isinstance(node, ast.Name):
            bound = bindings(src.tree, node.id)
            if len(bound) == 1 and isinstance(bound[0], (ast.Assign, ast.AnnAssign)) \
                    and bound[0].value is not None:
                node = bound[0].value
            elif len(bound) == 1 and isinstance(bound[0], ast.ImportFrom):
                module = "." * bound[0].level + (bound[0].module or "")
                raise InvalidFileError([f"{what} is `{node.id}`, imported from the module `{module}`; "
                                        "gitimprove edits text where it is written, not in another module"],
                                       hint=_HINT)
            elif len(bound) > 1:
                raise InvalidFileError([f"{what} is `{node.id}`, which the file assigns more than once"],
                                       hint=_HINT)
        found = src.literal(node)
        if isinstance(found, str):
            raise InvalidFileError([f"{what} is {found}; gitimprove edits only text written as one "
                                    "string literal"], hint=_HINT)
        return found

    def lines(self, path: Path_, first_id: str) -> Lines:
        return self.literals[path].lines(first_id)

    def value(self, path: Path_) -> str:
        return self.literals[path].value

    def write(self, buffers: dict[Path_, Lines]) -> str:
        edits: dict[int, tuple[Literal, str]] = {}
        for path, buf in buffers.items():
            if not buf.modified:
                continue
            literal = self.literals[path]
            if path in self.shared:
                raise EditError(f"{self.source}: the {path[1]} of agent {path[0]!r} is a constant other "
                                "agents use too; an edit would change every one of them",
                                hint="give each agent its own text, or edit by hand")
            edits[literal.start] = (literal, literal.source("".join(buf.raw)))
        out = self.text
        for _, (literal, written) in sorted(edits.items(), reverse=True):
            out = out[: literal.start] + written + out[literal.end:]
        return out

    def fixed(self) -> Any:
        """The file's code with every instruction literal masked: no edit may change it."""
        out, at = [], 0
        for literal in sorted({lit.start: lit for lit in self.literals.values()}.values(), key=lambda x: x.start):
            out.append(self.text[at:literal.start])
            at = literal.end
        out.append(self.text[at:])
        return {"python code outside the instruction strings": "\x00".join(out)}

    def data(self, entry: Entry) -> Any:
        start, end = self.calls[entry.key]
        out: dict[str, Any] = {"call": self.text[start:end]}
        for _, path in entry.fields:
            out[str(path[1])] = self.literals[path].value
        return out

    def excerpt(self, entry: Entry) -> str:
        if len(self.entries) == 1:
            return self.text
        start, end = self.calls[entry.key]
        lines = split_lines(self.text)
        first, last = self.text.count("\n", 0, start), self.text.count("\n", 0, end)
        return "".join(lines[first:last + 1])
