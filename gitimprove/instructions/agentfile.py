"""Agent files: the schema, strict parsing with ``file:line:col`` errors, and rendering.

An agent file is YAML (``agents/<name>.yaml``)::

    name: product-writer
    description: Writes product descriptions for the online shop.
    variables: [product_name, audience]
    sections:
      - id: style
        title: Style
        rules:
          - Lead with the benefit to the customer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.schema import Record, SchemaError
from gitimprove.safetext import describe_char, unsafe_at, unsafe_char
from gitimprove.text import is_slug, section_slug

VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_IDENT_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
# A line of text that Markdown would read as a heading (ATX ``#``, or a setext underline).
HEADING_RE = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|=+[ \t]*$|-{2,}[ \t]*$)", re.MULTILINE)


@dataclass(frozen=True)
class Section(Record):
    """One ordered section of an agent's instructions."""

    id: str
    title: str | None = None
    text: str | None = None
    rules: list[str] | None = None
    protected: bool = False
    # The section whose heading this one's is nested under (``## Safety`` over ``### Escalation``),
    # filled by the adapters of adopted files; never a key of a native file, whose sections are
    # flat. A section is protected when any section above it is (:func:`protected_ids`).
    parent: str | None = None

    def pieces(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Every piece of prose in the section with its path relative to the section."""
        if self.title is not None:
            yield ("title",), self.title
        if self.text is not None:
            yield ("text",), self.text
        for i, rule in enumerate(self.rules or []):
            yield ("rules", i), rule


@dataclass(frozen=True, kw_only=True)
class AgentFile(Record):
    """The validated content of ``agents/<name>.yaml``."""

    name: str
    description: str = ""
    variables: list[str] = field(default_factory=list)
    sections: list[Section]

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    @property
    def section_ids(self) -> list[str]:
        return [s.id for s in self.sections]

    def used_variables(self) -> set[str]:
        found = set(VARIABLE_RE.findall(self.description))
        for section in self.sections:
            for _, text in section.pieces():
                found.update(VARIABLE_RE.findall(text))
        return found


# Tool-usage guidelines: the section with the id `tools` (in an adopted Markdown prompt, a
# `## Tools` or `## Tool use` heading, whose ids are `tools` and `tool-use`), one rule per
# guideline, each starting with the tool's name and a colon ("web_search: Use it only for ...");
# a rule without that prefix is about tools in general. Plain sections and rules, so the file
# stays valid everywhere and renders as a heading and bullets. See docs/file-formats.md.
TOOLS_SECTION = "tools"
TOOLS_SECTION_IDS = (TOOLS_SECTION, "tool-use")
TOOLS_TITLE = "Tools"  # a new section's title: its Markdown heading slugs to the same id
_GUIDELINE_RE = re.compile(r"\A`?([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`?:\s")


def protected_ids(agent: AgentFile, protects: Callable[[str, str], bool]) -> list[str]:
    """The sections of ``agent`` no proposal may touch: those marked (``protected: true``, a
    heading's ``<!-- gitimprove: protected -->``), those ``protects(agent, section id)`` names
    (the policy's ``protected_sections``), and every section nested under one of them."""
    found: set[str] = set()
    for section in agent.sections:  # a parent comes before the sections nested under it
        if (section.parent is not None and section.parent in found) or protected_itself(
                agent.name, section, protects):
            found.add(section.id)
    return [s.id for s in agent.sections if s.id in found]


def protected_itself(agent: str, section: Section, protects: Callable[[str, str], bool]) -> bool:
    """Whether ``section`` is protected by its own mark or by the policy (``protects``), under
    its id or a former one (:func:`former_ids`), not by a section it is nested under."""
    return (section.protected or protects(agent, section.id)
            or any(protects(agent, old) for old in former_ids(section)))


def former_ids(section: Section) -> list[str]:
    """The id a section of an adopted file had before ids kept the letters of accented words
    ("Réponses" was ``r-ponses``, now ``reponses``): a policy written then still protects it."""
    title = section.title
    if not title or title.isascii() or section.id != section_slug(title):
        return []
    old = section_slug(title, fold=False)
    return [old] if old != section.id else []


def guideline_tool(rule: str) -> str | None:
    """The tool a guideline is about (``web_search: ...`` -> ``web_search``), else None."""
    match = _GUIDELINE_RE.match(rule.strip())
    return match.group(1) if match else None


def tools_section(agent: AgentFile) -> Section | None:
    """The section of tool-usage guidelines, if the agent has one."""
    for sid in TOOLS_SECTION_IDS:
        found = agent.section(sid)
        if found is not None:
            return found
    return None


def tool_guidelines(agent: AgentFile) -> dict[str, list[int]]:
    """Per tool, the indices of its guidelines in the tools section (empty if none)."""
    section = tools_section(agent)
    found: dict[str, list[int]] = {}
    for i, rule in enumerate(section.rules or [] if section else []):
        tool = guideline_tool(rule)
        if tool is not None:
            found.setdefault(tool, []).append(i)
    return found


def semantic_problems(agent: AgentFile, expected_name: str | None) -> list[tuple[tuple[str | int, ...], str]]:
    """Rules the schema alone cannot express, each with the path it concerns."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not is_slug(agent.name):
        problems.append((("name",), f"agent name {agent.name!r} is not a plain slug "
                         "(lowercase letters, digits, '-', '_' or '.'; no '/', '..', spaces or leading '-')"))
    elif expected_name is not None and agent.name != expected_name:
        problems.append((("name",), f"name {agent.name!r} differs from the file name "
                         f"{expected_name!r}.yaml: rename one to match the other"))
    for i, var in enumerate(agent.variables):
        if not _IDENT_RE.match(var):
            problems.append((("variables", i), f"{var!r} is not a valid variable name"))
        elif var in agent.variables[:i]:
            problems.append((("variables", i), f"variable {var!r} is declared twice"))
    if not agent.sections:
        problems.append((("sections",), "an agent needs at least one section"))
    seen: set[str] = set()
    declared = set(agent.variables)
    for i, section in enumerate(agent.sections):
        if not section.id.strip():
            problems.append((("sections", i, "id"), "section id is empty"))
        elif not is_slug(section.id):
            problems.append((("sections", i, "id"), f"section id {section.id!r} is not a plain slug"))
        elif section.id in seen:
            problems.append((("sections", i, "id"), f"duplicate section id {section.id!r}"))
        seen.add(section.id)
        if section.parent is not None:
            problems.append((("sections", i, "parent"), "`parent` is not a key of an agent file: "
                             "its sections are flat"))
        if section.text is None and section.rules is None:
            problems.append((("sections", i), f"section {section.id!r} needs `text`, `rules`, or both"))
        if section.text is not None and not section.text.strip():
            problems.append((("sections", i, "text"), "text is empty"))
        for j, rule in enumerate(section.rules or []):
            if not rule.strip():
                problems.append((("sections", i, "rules", j), "rule is empty"))
        for rel, text in section.pieces():
            for var in VARIABLE_RE.findall(text):
                if var not in declared:
                    problems.append((("sections", i, *rel),
                                     f"uses {{{{{var}}}}} but `variables` does not declare it"))
    problems += _character_problems(agent)
    for var in VARIABLE_RE.findall(agent.description):
        if var not in declared:
            problems.append((("description",), f"uses {{{{{var}}}}} but `variables` does not declare it"))
    used = agent.used_variables()
    for i, var in enumerate(agent.variables):
        if _IDENT_RE.match(var) and var not in used:
            problems.append((("variables", i), f"variable {var!r} is declared but never used as {{{{{var}}}}}"))
    return problems


def _character_problems(agent: AgentFile) -> list[tuple[tuple[str | int, ...], str]]:
    """Characters that could pass for structure: a line break in a one-line field (a rule, a
    title, an id), and control, bidi or invisible characters anywhere."""
    fields: list[tuple[tuple[str | int, ...], str, bool]] = [
        (("name",), agent.name, False), (("description",), agent.description, True)]
    fields += [(("variables", i), v, False) for i, v in enumerate(agent.variables)]
    for i, section in enumerate(agent.sections):
        fields.append((("sections", i, "id"), section.id, False))
        fields += [(("sections", i, *rel), text, rel == ("text",)) for rel, text in section.pieces()]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for path, text, multiline in fields:
        bad = unsafe_char(text.strip(), multiline=multiline, written=True)
        if bad is None:
            continue
        if bad == "\n":
            what = "a rule" if "rules" in path else f"the {path[-1]}"
            problems.append((path, f"{what} must be one line; it contains a line break"))
        else:
            problems.append((path, f"contains the character {describe_char(bad)}; "
                                   "instructions are plain text"))
    return problems


def one_line(text: str) -> str:
    """A rule or title as the prompt shows it: stripped, never more than one line."""
    return " ".join(text.split()) if "\n" in text or "\r" in text else text.strip()


def parse_agent(text: str | bytes, source: str, *, expected_name: str | None = None) -> AgentFile:
    """Parse and validate an agent file. ``source`` names it in errors (``agents/x.yaml``).

    Raises :class:`InvalidFileError` listing every problem as ``source:line:col: field: message``."""
    # NOTE: imported here: a command whose files come from the parse cache (agent_from_values)
    # never loads the YAML parser.
    import gitimprove.instructions.strictyaml as strictyaml

    located = strictyaml.load(text, source)
    if not isinstance(located.value, dict):
        raise InvalidFileError([f"{source}:1:1: an agent file must be a mapping with "
                                "`name`, `description`, `variables` and `sections`"])
    try:
        agent = AgentFile.model_validate(located.value)
    except SchemaError as exc:
        raise InvalidFileError(strictyaml.validation_problems(located, exc),
                               hint="see `gitimprove docs file-formats` for the agent file format") from None
    problems = semantic_problems(agent, expected_name)
    if problems:
        raise InvalidFileError([located.problem(path, msg) for path, msg in problems])
    bad = _unsafe_text(text, source)
    if bad is not None:
        raise InvalidFileError([bad])
    return agent


def agent_from_values(values: Any, text: str | bytes, source: str, *,
                      expected_name: str | None = None) -> AgentFile | None:
    """The agent file whose YAML gave ``values`` (kept by the parse cache), checked as
    :func:`parse_agent` checks it; None when anything is wrong: :func:`parse_agent` on the
    text then says what, and where."""
    if not isinstance(values, dict):
        return None
    try:
        agent = AgentFile.model_validate(values)
    except SchemaError:
        return None
    if semantic_problems(agent, expected_name) or _unsafe_text(text, source) is not None:
        return None
    return agent


def _unsafe_text(text: str | bytes, source: str) -> str | None:
    """A control, bidi or invisible character anywhere in the file (in a comment, say: a
    reviewer's screen would show it too), as a problem line."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    raw = raw.replace("\r\n", "\n").removeprefix("\ufeff")  # Windows line ends, a BOM: fine
    at = unsafe_at(raw, multiline=True, written=True)
    if at is None:
        return None
    before = raw[:at]
    line, col = before.count("\n") + 1, len(before) - before.rfind("\n")
    return (f"{source}:{line}:{col}: contains the character {describe_char(raw[at])}; "
            "agent files are plain text")


def render(agent: AgentFile) -> str:
    """The system prompt an agent receives. Deterministic: same file, same text."""
    blocks: list[str] = []
    if agent.description.strip():
        blocks.append(agent.description.strip())
    for section in agent.sections:
        body: list[str] = []
        if section.text and section.text.strip():
            body.append(section.text.strip())
        if section.rules:
            # NOTE: a rule is one line (the parser refuses others); the renderer keeps it so
            # even for a file that bypassed the parser, so no rule can open a heading.
            body.append("\n".join(f"- {one_line(rule)}" for rule in section.rules))
        text = "\n\n".join(body)
        if section.title:
            text = f"## {one_line(section.title)}\n{text}"
        blocks.append(text)
    return "\n\n".join(blocks) + "\n"


def fill_variables(text: str, values: dict[str, str], declared: list[str]) -> str:
    """Substitute ``{{name}}`` placeholders; every declared variable must be given a value."""
    missing = [v for v in declared if v not in values]
    if missing:
        raise KeyError(f"missing values for variables: {', '.join(missing)}")
    return VARIABLE_RE.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), text)
