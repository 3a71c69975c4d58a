"""The common part of every YAML format: a parsed document whose strings are edited by span."""

from __future__ import annotations

import posixpath
from abc import abstractmethod
from typing import Any

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats.base import Adapter, Entry, ParsedFile
from gitimprove.instructions.formats.prose import Lines
from gitimprove.instructions.formats.yamlspan import (
    Path_,
    Slot,
    YamlDoc,
    dotted,
    get,
    load,
    masked,
    split_lines,
    write,
)


class YamlParsed(ParsedFile):
    def __init__(self, adapter: Adapter, doc: YamlDoc, entries: list[Entry]) -> None:
        self.adapter = adapter
        self.doc = doc
        self.text = doc.text
        self.source = doc.source
        self.entries = entries

    def lines(self, path: Path_, first_id: str) -> Lines:
        return Slot(self.doc, path, first_id).lines

    def value(self, path: Path_) -> str:
        return str(get(self.doc.value, path))

    def write(self, buffers: dict[Path_, Lines]) -> str:
        slots = []
        for path, buf in buffers.items():
            slot = Slot(self.doc, path, buf.first_id)
            slot.lines = buf
            slots.append(slot)
        return write(self.text, slots)

    def fixed(self) -> Any:
        return masked(self.doc.value, [p for e in self.entries for _, p in e.fields])

    def data(self, entry: Entry) -> Any:
        return get(self.doc.value, entry.path)

    def excerpt(self, entry: Entry) -> str:
        if len(self.entries) == 1 or not entry.path:
            return self.text
        key, node = self.doc.keys.get(entry.path), self.doc.nodes.get(entry.path)
        if key is None or node is None:
            return self.text
        lines = split_lines(self.text)
        end = node.end_mark.line if node.end_mark.column == 0 else node.end_mark.line + 1
        return "".join(lines[key.start_mark.line:end])


class YamlAdapter(Adapter):
    """A format stored as YAML: :meth:`entries` says where the agents and their strings are."""

    suffixes: tuple[str, ...] = (".yaml", ".yml")

    def parse(self, text: str, source: str) -> ParsedFile:
        doc = load(text, source)
        entries = self.entries(doc.value, source, doc.shared)
        for entry in entries:
            for _, path in entry.fields:
                if not isinstance(get(doc.value, path), str):
                    raise InvalidFileError([f"{source}: {dotted(path)} must be a string of instructions"])
        if not entries:
            raise InvalidFileError([f"{source}: no {self.name} agent found in this file"],
                                   hint=f"see `gitimprove docs file-formats` for the {self.name} shape")
        return YamlParsed(self, doc, entries)

    @abstractmethod
    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        """The agents of a document; :class:`InvalidFileError` for a shape this format does not have."""


def stem(source: str) -> str:
    """A file's name without its folder and format suffixes (``summarize.prompt.yml`` -> ``summarize``)."""
    name = posixpath.basename(source)
    for suffix in (".prompt.yml", ".prompt.yaml", ".prompt.md", ".instructions.md", ".agent.md", ".chatmode.md",
                   ".yaml", ".yml",
                   ".mdc", ".md", ".py"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def shape_error(source: str, fmt: str, expected: str) -> InvalidFileError:
    return InvalidFileError([f"{source}: not a {fmt} file: {expected}"],
                            hint="map this path to another format in gitimprove.yaml (`formats:`), "
                                 "or remove it from the mapping")


def string_fields(source: str, entry_path: Path_, value: dict[str, Any], names: list[str]) -> list[tuple[str, Path_]]:
    out = []
    for name in names:
        if name in value and value[name] is not None:
            if not isinstance(value[name], str):
                raise InvalidFileError([f"{source}: {dotted((*entry_path, name))} must be a string"])
            out.append((name.replace("_", "-"), (*entry_path, name)))
    return out
