"""Which files of a tree are adopted, which agents they hold, and the names those agents take.

The policy's ``formats:`` entries map path globs to formats. A file claimed by two formats, a
file that is not of its format's shape, and two agents with one name are problems, reported by
file; none of those agents is listed, so nothing (feedback, a proposal) can reach them."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.policy import Constant, FormatRule, Policy
from gitimprove.text import is_slug

if TYPE_CHECKING:
    from gitimprove.instructions.formats import Adapter, ParsedFile


@dataclass(frozen=True)
class Place:
    """Where an adopted agent lives: its file, format and name inside the file."""

    name: str
    path: str
    format: str
    key: str
    constants: tuple[Constant, ...] = ()  # a prompt module's (its `formats:` entry's)


@dataclass
class Catalog:
    agents: dict[str, Place] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)  # path -> messages
    paths: list[str] = field(default_factory=list)  # every adopted file

    def problem_list(self) -> list[str]:
        return [m for msgs in self.problems.values() for m in msgs]


def rule_for(policy: Policy, path: str) -> FormatRule | None:
    """The ``formats:`` entry that decides ``path``; :class:`InvalidFileError` when entries of two
    formats claim it."""
    rules = policy.format_rules(path)
    if not rules:
        return None
    kinds = list(dict.fromkeys(r.format for r in rules))
    if len(kinds) > 1:
        raise InvalidFileError([f"{path}: claimed by two formats in gitimprove.yaml "
                                f"({' and '.join(kinds)}); a file has one format"],
                               hint="narrow one of the `formats:` globs so only one matches this file")
    return rules[0]


def decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidFileError([f"{path}: file is not valid UTF-8 (byte {exc.start})"],
                               hint="save the file as UTF-8") from None


def parse_file(adapter: Adapter, raw: bytes, path: str) -> ParsedFile:
    return adapter.parse(decode(raw, path), path)


def adapter_for(fmt: str, constants: Iterable[Constant] = ()) -> Adapter:
    """The adapter that reads a file of ``fmt``; with ``constants`` (a ``formats:`` entry's),
    the file is a module whose constants hold texts of agents defined in another file."""
    from gitimprove.instructions.formats import ADAPTERS

    listed = tuple(constants)
    return ADAPTERS[fmt].with_constants(listed) if listed else ADAPTERS[fmt]


_BAD = re.compile(r"[^a-z0-9_.-]+")


def agent_name(rule: FormatRule, path: str, key: str) -> str:
    """The agent's name from the entry's template (the format's default: ``{key}``)."""
    from gitimprove.instructions.formats import ADAPTERS

    adapter = ADAPTERS[rule.format]
    folder = posixpath.dirname(path)
    parent = posixpath.basename(folder)
    grandparent = posixpath.basename(posixpath.dirname(folder))
    from gitimprove.instructions.formats.yamlfile import stem

    raw = (rule.name or adapter.default_name).format(key=key, stem=stem(path), parent=parent or "root",
                                                     grandparent=grandparent or "root")
    name = _BAD.sub("-", raw.lower())
    name = re.sub(r"-{2,}", "-", re.sub(r"\.{2,}", ".", name)).strip("-._")
    return name


def build(policy: Policy, paths: Iterable[str], read: Callable[[str, FormatRule], ParsedFile],
          taken: Iterable[str] = ()) -> Catalog:
    """The adopted agents of a tree: ``paths`` lists its files, ``read`` parses one of them.

    ``taken`` holds names already used (native agents): an adopted agent may not shadow one.
    An agent of a prompt module (``constants:``) is listed only while an adopted ``agent.py``
    of the tree uses that very constant for it."""
    out = Catalog()
    owners: dict[str, list[Place]] = {}
    used: set[tuple[str, str, str, str]] = set()  # (module path, agent, field, constant)
    linked: list[Place] = []  # the agents of prompt modules
    paths = list(paths)
    tree = set(paths)
    for path in paths:
        try:
            rule = rule_for(policy, path)
        except InvalidFileError as exc:
            out.problems.setdefault(path, []).extend(exc.problems)
            continue
        if rule is None:
            continue
        out.paths.append(path)
        try:
            parsed = read(path, rule)
        except InvalidFileError as exc:
            out.problems.setdefault(path, []).extend(exc.problems)
            continue
        for use in getattr(parsed, "uses", ()):
            problem = use.ambiguous(tree)
            if problem is not None:  # the module's agent stays unlisted: its file is not known
                out.problems.setdefault(path, []).append(f"{path}: agent {use.key!r}: {problem}")
                continue
            used.update((f, use.key, use.field, use.constant) for f in (use.path, *use.also))
        seen: dict[str, str] = {}
        for entry in parsed.entries:
            name = agent_name(rule, path, entry.key)
            if not is_slug(name):
                out.problems.setdefault(path, []).append(
                    f"{path}: agent {entry.key!r} gets the name {name!r}, which is not a plain slug; "
                    "set `name:` for this file in gitimprove.yaml's `formats:`")
                continue
            if name in seen:
                out.problems.setdefault(path, []).append(
                    f"{path}: agents {seen[name]!r} and {entry.key!r} both get the name {name!r}")
                continue
            seen[name] = entry.key
            place = Place(name, path, rule.format, entry.key, tuple(rule.constants))
            if rule.constants:
                linked.append(place)
            owners.setdefault(name, []).append(place)
    for place in linked:
        key = place.key
        missing = [c for c in place.constants
                   if c.agent == key and (place.path, key, c.field, c.constant) not in used]
        if missing:
            c = missing[0]
            out.problems.setdefault(place.path, []).append(
                f"{place.path}: gitimprove.yaml lists `{c.constant}` as the {c.field} of agent {key!r}, "
                f"but no adopted agent.py gives agent {key!r} that {c.field}; {UNLINKED_HINT}")
            owners[place.name].remove(place)
    native = set(taken)
    for name, places in owners.items():
        if not places:
            continue
        if len(places) > 1 or name in native:
            where = [p.path for p in places] + ([f"the native agent {name}"] if name in native else [])
            for place in places:
                out.problems.setdefault(place.path, []).append(
                    f"{place.path}: the agent name {name!r} is used by {' and '.join(where)}; {COLLISION_HINT}")
            continue
        out.agents[name] = places[0]
    return out


UNLINKED_HINT = ("make the `constants:` of this file in gitimprove.yaml's `formats:` name the constant the "
                 "agent.py uses (and keep that agent.py in `formats:`)")
COLLISION_HINT = ("give the files' agents distinct names with `name:` in gitimprove.yaml's `formats:` "
                  "(for example name: \"{parent}-{key}\")")
