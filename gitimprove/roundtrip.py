"""Round-trip editing of agent files: comments, key order, quoting and block style survive.

ruamel.yaml does the round trip. Its output depends on the indentation settings, so the
document finds the settings under which an unedited dump reproduces the original bytes
exactly; with those, an edit changes only the lines it touches. A document that was not
edited is never re-serialised: :meth:`AgentDocument.dumps` returns the original text.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from .agentfile import AgentFile, parse_agent
from .errors import GitImproveError, InvalidFileError


class EditError(GitImproveError):
    """An edit that cannot apply to this file (unknown section, rule index out of range)."""


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 1 << 16  # never re-wrap a long line
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    return y


def _dump(y: YAML, data: Any) -> str:
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


class AgentDocument:
    """An agent file loaded for editing. Validate the result with :meth:`validated`."""

    def __init__(self, text: str, source: str, *, expected_name: str | None = None) -> None:
        # The strict parser runs first: it refuses anchors, tags and duplicate keys with
        # file:line errors, which ruamel would otherwise accept or report less clearly.
        self.original = text
        self.source = source
        self.expected_name = expected_name
        self.agent: AgentFile = parse_agent(text, source, expected_name=expected_name)
        self._yaml, self.data = self._load_faithfully(text)
        self.modified = False

    def _load_faithfully(self, text: str) -> tuple[YAML, CommentedMap]:
        try:
            _, seq_indent, offset = load_yaml_guess_indent(text)
        except YAMLError as exc:  # pragma: no cover - the strict parser catches this first
            raise InvalidFileError([f"{self.source}: {exc}"]) from None
        seq_indent = seq_indent or 2
        offset = offset or 0
        candidates = [(2, seq_indent, offset), (4, seq_indent, offset), (2, 4, 2), (2, 2, 0),
                      (4, 4, 2), (4, 6, 4)]
        first: tuple[YAML, CommentedMap] | None = None
        for mapping, sequence, off in dict.fromkeys(candidates):
            if off > sequence - 2 and off:
                continue
            y = _yaml(mapping, sequence, off)
            data = y.load(text)
            if first is None:
                first = (y, data)
            if _dump(y, data) == text:
                return y, data
        assert first is not None
        return first

    # -- edits ----------------------------------------------------------------------------

    def _section(self, section_id: str) -> CommentedMap:
        for section in self.data["sections"]:
            if section.get("id") == section_id:
                return section  # type: ignore[no-any-return]
        raise EditError(f"{self.source}: no section {section_id!r} "
                        f"(sections: {', '.join(self.agent.section_ids)})")

    def _rules(self, section_id: str, *, create: bool = False) -> CommentedSeq:
        section = self._section(section_id)
        rules = section.get("rules")
        if rules is None:
            if not create:
                raise EditError(f"{self.source}: section {section_id!r} has no rules")
            rules = CommentedSeq()
            section["rules"] = rules
        return rules  # type: ignore[no-any-return]

    def _check_index(self, section_id: str, rules: CommentedSeq, index: int) -> None:
        if not 0 <= index < len(rules):
            raise EditError(f"{self.source}: section {section_id!r} has {len(rules)} rules; "
                            f"there is no rule {index}")

    def add_rule(self, section_id: str, text: str, position: int | None = None) -> None:
        rules = self._rules(section_id, create=True)
        if position is None or position >= len(rules):
            rules.append(text)
        else:
            rules.insert(max(position, 0), text)
        self.modified = True

    def update_rule(self, section_id: str, index: int, text: str) -> None:
        rules = self._rules(section_id)
        self._check_index(section_id, rules, index)
        rules[index] = text
        self.modified = True

    def remove_rule(self, section_id: str, index: int) -> None:
        rules = self._rules(section_id)
        self._check_index(section_id, rules, index)
        del rules[index]
        self.modified = True

    def set_text(self, section_id: str, text: str) -> None:
        section = self._section(section_id)
        section["text"] = _block(text)
        self.modified = True

    def add_section(
        self,
        section_id: str,
        *,
        title: str | None = None,
        text: str | None = None,
        rules: list[str] | None = None,
        position: int | None = None,
    ) -> None:
        if section_id in [s.get("id") for s in self.data["sections"]]:
            raise EditError(f"{self.source}: a section {section_id!r} exists already")
        new = CommentedMap()
        new["id"] = section_id
        if title is not None:
            new["title"] = title
        if text is not None:
            new["text"] = _block(text)
        if rules is not None:
            new["rules"] = CommentedSeq(rules)
        sections = self.data["sections"]
        if position is None or position >= len(sections):
            sections.append(new)
        else:
            sections.insert(max(position, 0), new)
        self.modified = True

    # -- output ---------------------------------------------------------------------------

    def dumps(self) -> str:
        """The file's text: the original bytes when nothing was edited."""
        if not self.modified:
            return self.original
        return _dump(self._yaml, self.data)

    def validated(self) -> AgentFile:
        """Parse the edited text strictly, as a reviewer's tools would read it."""
        return parse_agent(self.dumps(), self.source, expected_name=self.expected_name)


def _block(text: str) -> str:
    """Multi-line text is written as a ``|`` block scalar, the way people write it."""
    if "\n" in text.strip("\n"):
        block: str = LiteralScalarString(text if text.endswith("\n") else text + "\n")
        return block
    return text
