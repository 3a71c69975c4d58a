"""A strict YAML reader for gitimprove's own files.

YAML can smuggle in more than a configuration file should carry: custom tags that build
objects, anchors and aliases that make one edit change several places, duplicate keys where
the last one silently wins. This reader builds plain Python values from the parser's events
(libyaml's C parser when available), refuses all of those, and remembers the line and column
of every value so that a schema error can point at ``file:line:col``.
"""

from __future__ import annotations

from typing import Any, Protocol

import yaml

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError

try:  # libyaml makes parsing several times faster; the pure-Python parser gives the same events
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path_ = tuple[str | int, ...]

_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TYPED_TAGS = frozenset(f"tag:yaml.org,2002:{name}"
                        for name in ("null", "bool", "int", "float", "timestamp"))


@dataclass
class Located:
    """A parsed document and where each of its values (and mapping keys) starts."""

    value: Any
    source: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> str:
        """``source:line:col`` of the closest known position for ``path``."""
        probe = tuple(path)
        while True:
            pos = self.key_positions.get(probe) or self.positions.get(probe)
            if pos or not probe:
                break
            probe = probe[:-1]
        line, col = pos or (1, 1)
        return f"{self.source}:{line}:{col}"

    def problem(self, path: Path_, message: str) -> str:
        dotted = format_path(path)
        return f"{self.where(path)}: {dotted + ': ' if dotted else ''}{message}"


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def load(text: str | bytes, source: str) -> Located:
    """Parse one YAML document strictly. Raises :class:`InvalidFileError` naming ``source``."""
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            col = len(raw[raw.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8", "replace")) + 1
            raise InvalidFileError(
                [f"{source}:{line}:{col}: file is not valid UTF-8 (byte {exc.start})"],
                hint="save the file as UTF-8",
            ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    located = Located(None, source)
    problems: list[str] = []
    # Each frame: [container, path, pending_key (mappings only), seen_keys]
    stack: list[list[Any]] = []
    docs = 0

    def place(value: Any, mark: Any) -> Path_ | None:
        if not stack:
            located.value = value
            located.positions[()] = _pos(mark)
            return ()
        frame = stack[-1]
        container, path = frame[0], frame[1]
        if isinstance(container, list):
            child = (*path, len(container))
            container.append(value)
            located.positions[child] = _pos(mark)
            return child
        if frame[2] is _NO_KEY:
            if not isinstance(value, str):
                problems.append(f"{source}:{_pos(mark)[0]}:{_pos(mark)[1]}: "
                                f"{format_path(path) + ': ' if path else ''}"
                                f"mapping keys must be strings, got {value!r}")
                value = str(value)
            if value in frame[3]:
                child = (*path, value)
                problems.append(f"{source}:{_pos(mark)[0]}:{_pos(mark)[1]}: "
                                f"{format_path(child)}: duplicate key '{value}'")
            frame[3].add(value)
            frame[2] = value
            located.key_positions.setdefault((*path, value), _pos(mark))
            return None
        key = frame[2]
        frame[2] = _NO_KEY
        child = (*path, key)
        if key not in container:
            container[key] = value
        located.positions.setdefault(child, _pos(mark))
        return child

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                docs += 1
                if docs > 1:
                    problems.append(f"{source}:{_pos(event.start_mark)[0]}:1: "
                                    "more than one YAML document in the file")
                    break
                continue
            if isinstance(event, yaml.AliasEvent):
                problems.append(f"{source}:{_pos(event.start_mark)[0]}:{_pos(event.start_mark)[1]}: "
                                f"alias '*{event.anchor}' is not allowed: write the value out")
                place(None, event.start_mark)
                continue
            if isinstance(event, yaml.NodeEvent):
                line, col = _pos(event.start_mark)
                if event.anchor is not None:
                    problems.append(f"{source}:{line}:{col}: anchor '&{event.anchor}' is not "
                                    "allowed: one edit must change one place")
                tag = getattr(event, "tag", None)
                if tag is not None and tag != "!":
                    problems.append(f"{source}:{line}:{col}: tag '{tag}' is not allowed")
            if isinstance(event, yaml.ScalarEvent):
                place(_scalar(event), event.start_mark)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                path = place(container, event.start_mark)
                stack.append([container, path if path is not None else (), _NO_KEY, set()])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = " ".join(filter(None, [exc.context, exc.problem]))
        raise InvalidFileError([f"{where}: YAML syntax error: {what}"],
                               hint="fix the YAML syntax at that line") from None
    except yaml.reader.ReaderError as exc:
        # NOTE: libyaml counts the position in bytes, the Python reader in characters; the
        # first occurrence of the refused character is the one reported either way.
        at = max(text.find(chr(exc.character)), 0)
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        raise InvalidFileError([f"{source}:{line}:{col}: character #x{exc.character:04x} is not "
                                f"allowed in YAML ({exc.reason})"]) from None
    except yaml.YAMLError as exc:
        raise InvalidFileError([f"{source}: YAML error: {exc}"]) from None
    if problems:
        raise InvalidFileError(problems)
    return located


class _NoKey:
    def __repr__(self) -> str:
        return "<no key>"


_NO_KEY: Any = _NoKey()


def _scalar(event: yaml.ScalarEvent) -> Any:
    if not event.implicit[0]:  # quoted: always a string
        return event.value
    tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag not in _TYPED_TAGS:  # NOTE: `<<` and `=` resolve to merge/value tags: plain text here
        return event.value
    node = yaml.ScalarNode(tag, event.value)
    return _CONSTRUCTOR.construct_object(node, deep=True)


class ValidationErrors(Protocol):
    """A pydantic ``ValidationError`` or a :class:`~gitimprove.instructions.schema.SchemaError`."""

    def errors(self, *, include_url: bool = ...) -> Any: ...


def validation_problems(located: Located, exc: ValidationErrors) -> list[str]:
    """One ``file:line:col: field: message`` line per validation error."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field '{loc[-1]}'"
        elif err["type"] == "missing":
            msg = f"required field '{loc[-1]}' is missing"
            located_path = loc[:-1]
            out.append(f"{located.where(located_path)}: {format_path(loc)}: {msg}")
            continue
        elif err["type"] in ("string_type", "bool_type", "list_type"):
            msg = f"{msg}, got {_describe(err.get('input'))}"
        out.append(located.problem(loc, msg))
    return out


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"
