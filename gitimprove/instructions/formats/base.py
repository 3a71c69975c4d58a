"""The adapter interface: how a framework's file holds agents, and one agent edited in place.

An :class:`Adapter` says where the instructions live in a file (the strings of each agent), how
the agents of one file are named, which variable syntax the format uses, what prompt the
framework renders from them, and, by omission, that every other key (model, tools, test data,
evaluators, output schemas, front matter) is never edited.

Inside each instruction string a Markdown heading is a section, a bullet or numbered line a
rule, other lines text (:mod:`gitimprove.instructions.formats.prose`): the agent is shown to the
rest of gitimprove as an :class:`~gitimprove.instructions.agentfile.AgentFile` view, and the
five proposal operations edit the file's lines through :class:`AdoptedDocument`.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from gitimprove.dataclass import dataclass
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.agentfile import AgentFile, Section
from gitimprove.instructions.formats.prose import (
    EditError,
    Lines,
    ProseSection,
    rule_text,
    section_text,
)
from gitimprove.instructions.formats.yamlspan import Path_, dotted

if TYPE_CHECKING:
    from gitimprove.instructions.policy import Constant

Fields = list[tuple[str, Path_]]


@dataclass(frozen=True)
class Entry:
    """One agent of a file: its name in the file, where it lives, and its instruction strings."""

    key: str
    path: Path_  # of its mapping in the data (``()``: the whole file)
    fields: tuple[tuple[str, Path_], ...]  # (section id for the string's preamble, path of the string)


class ParsedFile(ABC):
    """A file read by an adapter."""

    adapter: Adapter
    text: str
    source: str
    entries: list[Entry]

    @abstractmethod
    def lines(self, path: Path_, first_id: str) -> Lines:
        """A fresh editable buffer for the string at ``path``."""

    @abstractmethod
    def value(self, path: Path_) -> str:
        """The string at ``path`` as the framework reads it."""

    def as_written(self, path: Path_, text: str, before: str = "") -> str:
        """``text``, new words for the string at ``path`` in place of ``before`` (a rule, a
        section's text; empty: nothing), as that string's value spells it (an f-string's text
        doubles a brace: :meth:`~gitimprove.instructions.formats.pysource.FString.as_written`)."""
        return text

    def variables(self, path: Path_, buf: Lines | None = None) -> set[str]:
        """The variables the framework fills in the string at ``path`` (as ``buf`` holds it
        while it is edited)."""
        return self.adapter.variables_in("\n".join(buf.view) if buf is not None else self.value(path))

    @abstractmethod
    def write(self, buffers: dict[Path_, Lines]) -> str:
        """The file's text with the edited strings written in."""

    @abstractmethod
    def fixed(self) -> Any:
        """Everything no edit may change: the file's data with the instruction strings masked."""

    @abstractmethod
    def data(self, entry: Entry) -> Any:
        """The entry's data, as the renderer and the version fingerprint see it."""

    def excerpt(self, entry: Entry) -> str:
        """The lines of the file that hold ``entry`` (the whole file for a one-agent file)."""
        return self.text

    def entry(self, key: str) -> Entry:
        for e in self.entries:
            if e.key == key:
                return e
        raise EditError(f"{self.source}: no agent {key!r} in this file "
                        f"(agents: {', '.join(e.key for e in self.entries)})")

    def fingerprint(self, entry: Entry) -> str:
        """A version id for one agent: changes exactly when that agent's data changes."""
        data = json.dumps(self.data(entry), sort_keys=True, default=str, ensure_ascii=False).encode()
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def sections(self, entry: Entry, buffers: dict[Path_, Lines] | None = None
                 ) -> list[tuple[Path_, Lines, ProseSection]]:
        out: list[tuple[Path_, Lines, ProseSection]] = []
        taken: set[str] = set()
        for first_id, path in entry.fields:
            buf = buffers[path] if buffers is not None and path in buffers else self.lines(path, first_id)
            for section in buf.sections(taken):
                out.append((path, buf, section))
        return out

    def view(self, entry: Entry, name: str, buffers: dict[Path_, Lines] | None = None) -> AgentFile:
        """The agent as gitimprove's model sees it: sections, rules, and the variables it uses."""
        sections = []
        used: set[str] = set()
        for _, buf, s in self.sections(entry, buffers):
            view = buf.view
            rules = [rule_text(view, r) for r in s.rules]
            sections.append(Section(id=s.id, title=s.title, text=section_text(view, s), rules=rules or None,
                                    protected=s.protected, parent=s.parent))
        for _, path in entry.fields:
            used.update(self.variables(path, buffers.get(path) if buffers else None))
        return AgentFile(name=name, description="", variables=sorted(used), sections=sections)

    def render(self, entry: Entry) -> str:
        return self.adapter.render(self.data(entry))


class Adapter(ABC):
    """A file format that holds agents."""

    name: ClassVar[str]
    default_name: ClassVar[str] = "{key}"
    variable_re: ClassVar[re.Pattern[str]]
    variable_example: ClassVar[str] = "{name}"
    summary: ClassVar[str]

    @abstractmethod
    def parse(self, text: str, source: str) -> ParsedFile:
        """Read a file; :class:`InvalidFileError` when it is not of this format's shape."""

    @abstractmethod
    def render(self, data: Any) -> str:
        """The prompt the framework builds from an agent's data, variables left in place."""

    def claims(self, path: str) -> bool:
        """Whether a file with this path is likely of this format (for ``init``)."""
        return False

    def hints(self, path: str) -> bool:
        """Whether this path has a name that some files of this format have, and other files
        too (``*_agent.py``): ``init`` reads it, adopts it when :meth:`claims_content` says it
        is of this format, and says nothing of it when it is not."""
        return False

    def claims_content(self, text: str) -> bool:
        """Whether a file with a name this format :meth:`hints` at is of this format."""
        return False

    def with_constants(self, constants: tuple[Constant, ...]) -> Adapter:
        """This format reading a module whose ``constants`` hold agents' texts (a ``formats:``
        entry's ``constants:``); only Google ADK's Python modules have them."""
        raise InvalidFileError([f"`constants:` is for google_adk prompt modules, not {self.name} files"],
                               hint="remove `constants:` from this `formats:` entry in gitimprove.yaml")

    def variables_in(self, text: str) -> set[str]:
        return {_name(m) for m in self.variable_re.finditer(text)}

    def fill(self, text: str, values: dict[str, str], declared: list[str]) -> str:
        """``text`` with the format's variables filled in; every declared one is required."""
        missing = [v for v in declared if v not in values]
        if missing:
            raise KeyError(f"missing values for variables: {', '.join(missing)}")
        return self.variable_re.sub(lambda m: values.get(_name(m), m.group(0)), text)


def _name(match: re.Match[str]) -> str:
    """A variable's name: the first group that matched (a format may have several spellings)."""
    return next(g for g in match.groups() if g is not None)


class AdoptedDocument:
    """One agent of an adopted file, loaded for editing with the five operations.

    Each operation edits the lines of the string that holds the section; :meth:`dumps` writes
    only those strings back, then reads the result again and refuses it unless every other
    agent, every protected key and the edited structure come out as intended."""

    def __init__(self, parsed: ParsedFile, key: str, name: str) -> None:
        self.parsed = parsed
        self.entry = parsed.entry(key)
        self.name = name
        self.source = parsed.source
        self.original = parsed.text
        self.buffers: dict[Path_, Lines] = {p: parsed.lines(p, fid) for fid, p in self.entry.fields}
        self.agent: AgentFile = parsed.view(self.entry, name, self.buffers)
        self.modified = False

    def _find(self, section_id: str) -> tuple[Lines, ProseSection, list[ProseSection]]:
        found = self.parsed.sections(self.entry, self.buffers)
        for _, buf, section in found:
            if section.id == section_id:
                return buf, section, [s for _, b, s in found if b is buf]
        raise EditError(f"{self.source}: no section {section_id!r} "
                        f"(sections: {', '.join(s.id for _, _, s in found)})")

    def _written(self, buf: Lines, text: str, before: str = "") -> str:
        """:meth:`ParsedFile.as_written` for the string ``buf`` edits."""
        path = next(p for p, b in self.buffers.items() if b is buf)
        return self.parsed.as_written(path, text, before)

    def current_ids(self) -> list[str]:
        return [s.id for _, _, s in self.parsed.sections(self.entry, self.buffers)]

    def add_rule(self, section_id: str, text: str, position: int | None = None) -> int:
        """Add a rule (see :meth:`Lines.add_rule`); returns its index among the section's rules."""
        buf, section, _ = self._find(section_id)
        at = buf.add_rule(section, self._written(buf, text), position)
        self.modified = True
        return at

    def update_rule(self, section_id: str, index: int, text: str) -> None:
        buf, section, _ = self._find(section_id)
        before = rule_text(buf.view, section.rules[index]) if 0 <= index < len(section.rules) else ""
        buf.update_rule(section, index, self._written(buf, text, before))
        self.modified = True

    def remove_rule(self, section_id: str, index: int) -> None:
        buf, section, _ = self._find(section_id)
        buf.remove_rule(section, index)
        self.modified = True

    def set_text(self, section_id: str, text: str) -> None:
        buf, section, _ = self._find(section_id)
        before = section_text(buf.view, section) or ""
        buf.set_text(section, self._written(buf, text, before))
        self.modified = True

    def add_section(self, section_id: str, *, title: str | None = None, text: str | None = None,
                    rules: list[str] | None = None, position: int | None = None) -> None:
        if section_id in self.current_ids():
            raise EditError(f"{self.source}: a section {section_id!r} exists already")
        found = self.parsed.sections(self.entry, self.buffers)
        if position is not None and position < len(found):
            _, buf, _ = found[position]
            same = [s for _, b, s in found if b is buf]
            local: int | None = same.index(found[position][2])
        else:
            buf = self.buffers[self.entry.fields[-1][1]]
            same = [s for _, b, s in found if b is buf]
            local = None
        new = self._written
        before = list(buf.raw)
        buf.add_section(same, title=new(buf, title or section_id),
                        text=None if text is None else new(buf, text),
                        rules=None if rules is None else [new(buf, r) for r in rules],
                        position=local)
        if len(buf.sections()) <= len(same):
            # under "Answer in this format:" and its `## Summary`, a `## Notes` after them is
            # one more heading of the template (prose.parse): text, not a section
            buf.raw = before
            raise EditError(f"{self.source}: a section {title or section_id!r} added there would read as "
                            "part of the output template above it, not as a section",
                            hint="add the section by hand, or add its rules to an existing section")
        self.modified = True

    def dumps(self) -> str:
        """The file's text: the original when nothing was edited."""
        if not self.modified:
            return self.original
        out = self.parsed.write(self.buffers)
        try:
            again = self.parsed.adapter.parse(out, self.source)
        except InvalidFileError as exc:
            raise EditError(f"{self.source}: the edited file no longer reads as "
                            f"{self.parsed.adapter.name}: {exc.problems[0]}") from None
        if again.fixed() != self.parsed.fixed() or [e.key for e in again.entries] != [
                e.key for e in self.parsed.entries]:
            raise EditError(f"{self.source}: writing this edit would change more than the instructions",
                            hint="edit this file by hand")
        entry = again.entry(self.entry.key)
        for other in self.parsed.entries:
            if other.key != self.entry.key and again.data(again.entry(other.key)) != self.parsed.data(other):
                raise EditError(f"{self.source}: writing this edit would change agent {other.key!r} too",
                                hint="edit this file by hand")
        expected = self.parsed.view(self.entry, self.name, self.buffers)
        if again.view(entry, self.name) != expected:
            raise EditError(f"{self.source}: the edit could not be written so that it reads back the same",
                            hint="edit this file by hand")
        return out


def describe_path(path: Path_) -> str:
    return dotted(path)
