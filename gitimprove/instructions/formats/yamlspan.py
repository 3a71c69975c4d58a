"""YAML files edited by byte span: the parser says where a string is, the edit replaces only it.

Nothing is re-dumped. PyYAML's pure-Python parser gives the character offsets and lines of
every node; a block scalar (``|``, ``>``, with any chomping) is edited line by line inside its
lines, keeping every other line's bytes; a plain or quoted scalar is written again in the same
style (or as a ``|`` block when it gains lines). Everything outside the edited strings, comments,
anchors, flow style, CRLF, a BOM, a missing final newline, stays as it was.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from typing import Any

import yaml

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats.prose import EditError, Lines

Path_ = tuple[str | int, ...]

_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Lines with their ends, split on ``\\n`` only (a CR stays with its line)."""
    return _LINE_RE.findall(text)


def yaml_error(exc: yaml.YAMLError, source: str, text: str) -> InvalidFileError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc)
    if (mark is not None and "\t" in (split_lines(text)[mark.line:mark.line + 1] or [""])[0][:mark.column + 1]) \
            or "'\\t'" in problem:
        return InvalidFileError([f"{where}: a tab where YAML needs spaces; YAML indents with spaces only"],
                                hint="replace the tabs at the start of that line with spaces")
    return InvalidFileError([f"{where}: not valid YAML: {problem}"],
                            hint="fix the YAML (a YAML linter shows the same place)")


@dataclass
class YamlDoc:
    """A parsed YAML document with every node by its path."""

    text: str
    source: str
    value: Any
    nodes: dict[Path_, yaml.Node] = field(default_factory=dict)
    shared: set[Path_] = field(default_factory=set)  # reached through an alias, or an anchor used twice
    in_flow: set[Path_] = field(default_factory=set)
    keys: dict[Path_, yaml.Node] = field(default_factory=dict)


def load(text: str, source: str) -> YamlDoc:
    """Parse one YAML document, keeping node positions. Raises :class:`InvalidFileError`."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source, text) from None
    if len(nodes) > 1:
        raise InvalidFileError([f"{source}: holds {len(nodes)} YAML documents; one is expected"])
    doc = YamlDoc(text, source, None)
    if not nodes or nodes[0] is None:
        return doc
    uses: Counter[int] = Counter()
    _count(nodes[0], uses, set())
    try:
        doc.value = _build(nodes[0], (), doc, uses, shared=False, flow=False, depth=0)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source, text) from None
    return doc


def _count(node: yaml.Node, uses: Counter[int], stack: set[int]) -> None:
    uses[id(node)] += 1
    if id(node) in stack or uses[id(node)] > 1:
        return
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _count(k, uses, stack)
            _count(v, uses, stack)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _count(v, uses, stack)
    stack.discard(id(node))


def _build(node: yaml.Node, path: Path_, doc: YamlDoc, uses: Counter[int], *, shared: bool,
           flow: bool, depth: int) -> Any:
    if depth > 64:
        raise InvalidFileError([f"{doc.source}: nested more than 64 levels deep (a recursive alias?)"])
    shared = shared or uses[id(node)] > 1
    doc.nodes[path] = node
    if shared:
        doc.shared.add(path)
    if flow:
        doc.in_flow.add(path)
    if isinstance(node, yaml.ScalarNode):
        constructor = _CONSTRUCTOR.yaml_constructors.get(node.tag)
        return node.value if constructor is None else constructor(_CONSTRUCTOR, node)
    child_flow = flow or bool(getattr(node, "flow_style", False))
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, (*path, i), doc, uses, shared=shared, flow=child_flow, depth=depth + 1)
                for i, v in enumerate(node.value)]
    out: dict[Any, Any] = {}
    for k, v in node.value:
        key = _build(k, (*path, "\x00key"), doc, uses, shared=shared, flow=child_flow, depth=depth + 1)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        name = key if isinstance(key, str) else str(key)
        doc.keys[(*path, name)] = k
        out[key] = _build(v, (*path, name), doc, uses, shared=shared, flow=child_flow, depth=depth + 1)
    return out


def get(value: Any, path: Path_) -> Any:
    for part in path:
        if isinstance(value, dict):
            value = value.get(part) if part in value else next(
                (v for k, v in value.items() if str(k) == part), None)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


class Slot:
    """One string of a YAML file, ready to be edited as lines."""

    def __init__(self, doc: YamlDoc, path: Path_, first_id: str) -> None:
        node = doc.nodes.get(path)
        if not isinstance(node, yaml.ScalarNode):
            raise InvalidFileError([f"{doc.source}: {_dotted(path)} is not a string"])
        self.doc, self.path, self.node = doc, path, node
        self.shared = path in doc.shared
        text = doc.text
        self.block = node.style in ("|", ">")
        starts = _line_starts(text)
        all_lines = split_lines(text)
        if self.block:
            header = node.start_mark.line
            end_line = node.end_mark.line if node.end_mark.column == 0 else node.end_mark.line + 1
            first = header + 1
            last = first
            for i in range(first, min(end_line, len(all_lines))):
                if all_lines[i].strip():
                    last = i + 1
            raw = all_lines[first:last]
            eol = "\r\n" if all_lines[header].endswith("\r\n") else "\n"
            content = [line for line in raw if line.strip()]
            indent = (content[0][: len(content[0]) - len(content[0].lstrip(" "))] if content
                      else " " * (self._key_column() + 2))
            self.start = starts[first] if first < len(starts) else len(text)
            self.end = starts[last] if last < len(starts) else len(text)
            self.lines = Lines(raw, indent=indent, eol=eol, folded=node.style == ">", first_id=first_id)
        else:
            self.start, self.end = node.start_mark.index, node.end_mark.index
            value = str(get(doc.value, path))
            raw = [line + "\n" for line in value.split("\n")]
            raw[-1] = raw[-1][:-1]
            self.lines = Lines(raw, first_id=first_id)

    def _key_column(self) -> int:
        key = self.doc.keys.get(self.path)
        return key.start_mark.column if key is not None else 0

    def value(self) -> str:
        return "".join(self.lines.raw) if not self.block else ""

    def replacement(self) -> str:
        """The new text of the span, after the edits of :attr:`lines`."""
        if self.shared:
            raise EditError(f"{self.doc.source}: {_dotted(self.path)} is shared through a YAML anchor "
                            "and alias; an edit would change every place that uses it",
                            hint="give each agent its own text (copy it in place of the alias), or edit by hand")
        if self.block:
            return "".join(self.lines.raw)
        return self._emit("".join(self.lines.raw))

    def _emit(self, value: str) -> str:
        refolded = self._refolded(value)
        if refolded is not None:
            return refolded
        style = self.node.style
        text = self.doc.text
        line_end = text.find("\n", self.end)
        rest = text[self.end: line_end if line_end >= 0 else len(text)].strip()
        flow = self.path in self.doc.in_flow
        if "\n" not in value:
            if style == "'":
                return "'" + value.replace("'", "''") + "'"
            if style is None and _plain_ok(value, flow):
                return value
            return _double(value)
        if style == '"' or flow or rest or not _block_ok(value):
            return _double(value)
        eol = "\r\n" if "\r\n" in text else "\n"
        indent = " " * (self._key_column() + 2)
        body = value.rstrip("\n")
        trailing = len(value) - len(body)
        header = "|-" if trailing == 0 else ("|" if trailing == 1 else "|+")
        lines = [(indent + line if line else "") for line in body.split("\n")]
        out = header + eol + eol.join(lines)
        if trailing > 1:
            out += eol * (trailing - 1)
        return out


    def _refolded(self, value: str) -> str | None:
        """A quoted string the file folds over several lines (as a YAML library writes it: at a
        width, with ``\\`` continuations), folded again the same way, so that an edit changes
        its own lines only. Only when folding the old value that way gives back the file's
        bytes exactly, and the new text reads back as ``value``."""
        style = self.node.style
        original = self.doc.text[self.start:self.end]
        if style not in ('"', "'") or "\n" not in original:
            return None
        eol = "\r\n" if "\r\n" in original else "\n"
        lines = original.split(eol)
        indent = min((len(line) - len(line.lstrip(" ")) for line in lines[1:] if line.strip()), default=0)
        column = self.node.start_mark.column
        old = str(get(self.doc.value, self.path))
        widest = max(column + len(lines[0]), *(len(line) for line in lines[1:]))
        for width in dict.fromkeys((80, widest, widest + 1, widest - 1, 120)):
            for wide in (True, False):
                if _fold(old, style, column, indent, width, wide, eol) == original:
                    new = _fold(value, style, column, indent, width, wide, eol)
                    try:
                        same = indent > 0 and yaml.safe_load("k: " + new) == {"k": value}
                    except yaml.YAMLError:
                        same = False
                    return new if same else None
        return None


def _fold(value: str, style: str, column: int, indent: int, width: int, wide: bool, eol: str) -> str:
    """``value`` quoted in ``style`` as PyYAML's emitter folds it from ``column``."""
    out = io.StringIO()
    emitter = yaml.emitter.Emitter(out, width=width, allow_unicode=wide, line_break=eol)
    emitter.column, emitter.indent, emitter.whitespace, emitter.indention = column, indent, True, False
    (emitter.write_double_quoted if style == '"' else emitter.write_single_quoted)(value, split=True)
    return out.getvalue()


def _plain_ok(value: str, flow: bool) -> bool:
    if not value or value != value.strip() or (flow and any(c in value for c in ",[]{}")):
        return False
    try:
        return bool(yaml.safe_load("k: " + value) == {"k": value})
    except yaml.YAMLError:
        return False


def _block_ok(value: str) -> bool:
    lines = value.rstrip("\n").split("\n")
    return bool(lines[0]) and not lines[0].startswith((" ", "\t")) and "\r" not in value and not any(
        c in value for c in "\t\x85\u2028\u2029") and all(line == line.rstrip(" ") or line.strip() for line in lines)


def _double(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the document)"


def dotted(path: Path_) -> str:
    return _dotted(path)


def write(text: str, slots: list[Slot]) -> str:
    """``text`` with each edited slot's span replaced (spans never overlap)."""
    out = text
    for slot in sorted((s for s in slots if s.lines.modified), key=lambda s: s.start, reverse=True):
        out = out[: slot.start] + slot.replacement() + out[slot.end:]
    return out


MASK = "\x00instructions"


def masked(value: Any, paths: list[Path_]) -> Any:
    """``value`` with the strings at ``paths`` replaced by a marker (what an edit may change)."""
    if not paths:
        return value
    here = [p for p in paths if not p]
    if here:
        return MASK
    if isinstance(value, dict):
        return {k: masked(v, [p[1:] for p in paths if p[0] == (k if isinstance(k, str) else str(k))])
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, [p[1:] for p in paths if p[0] == i]) for i, v in enumerate(value)]
    return value


def differences(old: Any, new: Any, path: Path_ = ()) -> list[Path_]:
    """Paths where two values differ (a mapping key added or removed counts at that key)."""
    if type(old) is not type(new):
        return [path]
    if isinstance(old, dict):
        out: list[Path_] = []
        for k in list(old) + [k for k in new if k not in old]:
            name = k if isinstance(k, str) else str(k)
            if k not in old or k not in new:
                out.append((*path, name))
            else:
                out += differences(old[k], new[k], (*path, name))
        return out
    if isinstance(old, list):
        if len(old) != len(new):
            return [path]
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True)) for d in differences(a, b, (*path, i))]
    return [] if old == new else [path]
