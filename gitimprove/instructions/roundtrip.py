"""Round-trip editing of agent files: comments, key order, quoting and block style survive.

ruamel.yaml does the round trip. Its output depends on the indentation settings, so the
document finds the settings under which an unedited dump reproduces the original bytes
exactly; with those, an edit changes only the lines it touches. A document that was not
edited is never re-serialised: :meth:`AgentDocument.dumps` returns the original text.

Where no setting reproduces the file (escape sequences such as ``"\\u00e9"``, a plain scalar
folded over lines), the edit is carried over as a line diff: the lines it changes in ruamel's
output replace the same lines of the original, and everything else keeps its bytes.
"""

from __future__ import annotations

import difflib
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

import gitimprove.instructions.strictyaml as strictyaml
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.agentfile import AgentFile, parse_agent
from gitimprove.instructions.formats.prose import EditError

__all__ = ["AgentDocument", "EditError"]


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
        # ``_unedited``: what ruamel writes for the unedited file, if not the original itself.
        self._yaml, self.data, self._unedited = self._load_faithfully(text)
        self.modified = False

    def _load_faithfully(self, text: str) -> tuple[YAML, CommentedMap, str | None]:
        try:
            _, seq_indent, offset = load_yaml_guess_indent(text)
        except YAMLError as exc:  # pragma: no cover - the strict parser catches this first
            raise InvalidFileError([f"{self.source}: {exc}"]) from None
        seq_indent = seq_indent or 2
        offset = offset or 0
        candidates = [(2, seq_indent, offset), (4, seq_indent, offset), (2, 4, 2), (2, 2, 0),
                      (4, 4, 2), (4, 6, 4)]
        first: tuple[YAML, CommentedMap, str | None] | None = None
        for mapping, sequence, off in dict.fromkeys(candidates):
            if off > sequence - 2 and off:
                continue
            y = _yaml(mapping, sequence, off)
            data = y.load(text)
            dumped = _dump(y, data)
            if dumped == text:
                return y, data, None
            if first is None:
                first = (y, data, dumped)
        assert first is not None
        return first

    # -- edits ----------------------------------------------------------------------------

    def current_ids(self) -> list[str]:
        """Section ids as edited so far."""
        return [str(s.get("id")) for s in self.data["sections"]]

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
                            f"there is no rule at index {index}")

    def add_rule(self, section_id: str, text: str, position: int | None = None) -> int:
        """Add a rule before the rule at ``position``, or at the end; returns its index."""
        section = self._section(section_id)
        self.modified = True
        if section.get("rules") is None:
            comments = _take_after(section, _last_key(section))
            self._rules(section_id, create=True).append(text)
            _put_after(section, "rules", comments)
            return 0
        rules = self._rules(section_id)
        if position is None or position >= len(rules):
            comments = _take_after(rules, len(rules) - 1) if rules else ""
            rules.append(text)
            _put_after(rules, len(rules) - 1, comments)
            return len(rules) - 1
        rules.insert(max(position, 0), text)
        return max(position, 0)

    def update_rule(self, section_id: str, index: int, text: str) -> None:
        rules = self._rules(section_id)
        self._check_index(section_id, rules, index)
        rules[index] = text
        self.modified = True

    def remove_rule(self, section_id: str, index: int) -> None:
        rules = self._rules(section_id)
        self._check_index(section_id, rules, index)
        comments = _take_after(rules, index)  # they describe what follows: keep them
        if index < len(rules) - 1:
            _put_before(rules, index + 1, comments)
            del rules[index]
        elif len(rules) > 1:
            del rules[index]
            _put_after(rules, index - 1, comments)
        else:
            # NOTE: the only rule goes with its `rules:` key: an empty list would leave a
            # section of a bare title (validation then asks for text or rules).
            section = self._section(section_id)
            keys = list(section)
            del section["rules"]
            _put_after(section, keys[keys.index("rules") - 1], comments)
        self.modified = True

    def set_text(self, section_id: str, text: str) -> None:
        section = self._section(section_id)
        if "text" in section:
            comments = _take_after(section, "text")
            section["text"] = _block(text)
            _put_after(section, "text", comments)
        elif "rules" in section:  # text renders before the rules: write it there too
            section.insert(list(section).index("rules"), "text", _block(text))
        else:
            comments = _take_after(section, _last_key(section))
            section["text"] = _block(text)
            _put_after(section, "text", comments)
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
            position = len(sections)
            comments = _take_after(sections, position - 1) if sections else ""
            sections.append(new)
        else:
            position = max(position, 0)
            comments = _take_after(sections, position - 1) if position > 0 else ""
            sections.insert(position, new)
        _put_after(sections, position, comments)
        self.modified = True

    # -- output ---------------------------------------------------------------------------

    def dumps(self) -> str:
        """The file's text: the original bytes when nothing was edited."""
        if not self.modified:
            return self.original
        edited = _dump(self._yaml, self.data)
        if self._unedited is None:
            return edited
        merged = _carry_over(self.original, self._unedited, edited)
        if merged is not None:
            try:
                same = (strictyaml.load(merged, self.source).value
                        == strictyaml.load(edited, self.source).value)
            except InvalidFileError:
                same = False
            if same:
                return merged
        return edited  # NOTE: the whole file in ruamel's style: still the same data

    def validated(self) -> AgentFile:
        """Parse the edited text strictly, as a reviewer's tools would read it."""
        return parse_agent(self.dumps(), self.source, expected_name=self.expected_name)


# NOTE: ruamel keeps the comment lines that follow a node with the last scalar before them
# (a block scalar's own slot, or after a plain scalar's end-of-line comment). An item added
# after that scalar would land below comments that describe what comes next, and a removed
# item would take them along; these helpers move such comments to where they belong.

_BLOCK_SCALARS = (LiteralScalarString, FoldedScalarString)


def _last_key(node: CommentedMap) -> Any:
    return next(reversed(node))


def _after(container: Any, key: Any) -> tuple[Any, Any, int]:
    """Where ruamel keeps the comment lines after ``container[key]``: (holder, key, slot)."""
    while True:
        child = container[key]
        if not isinstance(child, (CommentedSeq, CommentedMap)) or not child or child.fa.flow_style():
            return container, key, 0 if isinstance(container, CommentedSeq) else 2
        container = child
        key = len(child) - 1 if isinstance(child, CommentedSeq) else _last_key(child)


def _take_after(container: Any, key: Any) -> str:
    """Detach the whole-line comments after ``container[key]`` (an end-of-line comment stays),
    as text with each line's indentation."""
    holder, key, slot = _after(container, key)
    entry = holder.ca.items.get(key)
    token = entry[slot] if entry and len(entry) > slot else None
    if not isinstance(token, CommentToken):
        return ""
    if isinstance(holder[key], _BLOCK_SCALARS):  # no end-of-line part after a block scalar
        entry[slot] = None
        return " " * token.start_mark.column + token.value
    eol, newline, rest = token.value.partition("\n")
    if rest:
        if eol.strip():
            token.value = eol + newline
        else:
            entry[slot] = None
    return rest


def _put_after(container: Any, key: Any, comments: str) -> None:
    """Attach comments taken by :func:`_take_after` after ``container[key]``."""
    if not comments:
        return
    holder, key, slot = _after(container, key)
    entry = holder.ca.items.setdefault(key, [None, None, None, None])
    token = entry[slot]
    if isinstance(token, CommentToken):
        token.value = token.value + comments
    elif isinstance(holder[key], _BLOCK_SCALARS):
        first = comments.lstrip(" ")
        entry[slot] = CommentToken(first, CommentMark(len(comments) - len(first)), None)
    else:
        entry[slot] = CommentToken("\n" + comments, CommentMark(0), None)


def _put_before(seq: CommentedSeq, index: int, comments: str) -> None:
    """Attach comments taken by :func:`_take_after` above the item ``seq[index]``."""
    if not comments:
        return
    tokens = []
    for line in comments.splitlines():
        text = line.lstrip(" ")
        tokens.append(CommentToken(text + "\n", CommentMark(len(line) - len(text) if text else 0), None))
    entry = seq.ca.items.setdefault(index, [None, None, None, None])
    entry[1] = tokens + list(entry[1] or [])


def _carry_over(original: str, unedited: str, edited: str) -> str | None:
    """Apply the lines that differ between ``unedited`` and ``edited`` (both ruamel's output)
    to ``original``; None when an edit touches a line that ruamel wrote differently."""
    orig = original.splitlines(keepends=True)
    base = unedited.splitlines(keepends=True)
    new = edited.splitlines(keepends=True)
    where: dict[int, int] = {}  # base line -> the same line in the original
    for block in difflib.SequenceMatcher(None, base, orig, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            where[block.a + k] = block.b + k
    out: list[str] = []
    pos = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 < len(base):
            at = where.get(i1)
        else:
            at = where[i1 - 1] + 1 if i1 - 1 in where else (0 if not base else None)
        if at is None or at < pos or any(where.get(i) != at + i - i1 for i in range(i1, i2)):
            return None
        out += orig[pos:at] + new[j1:j2]
        pos = at + (i2 - i1)
    return "".join(out + orig[pos:])


def _block(text: str) -> str:
    """Multi-line text is written as a ``|`` block scalar, the way people write it."""
    if "\n" in text.strip("\n"):
        block: str = LiteralScalarString(text if text.endswith("\n") else text + "\n")
        return block
    return text
