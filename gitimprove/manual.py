"""The documentation shipped inside the package, read by `gitimprove docs [TOPIC]`.

The repository's ``docs/`` folder is the only copy: ``gitimprove/docs`` is a link to it, and
the wheel carries its Markdown files as package data (``pyproject.toml``), so a user who
installed with pip can read what an error's hint names. Messages name a topic
(```gitimprove docs safety```), never a path in the repository."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gitimprove.dataclass import dataclass
from gitimprove.errors import GitImproveError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

MISSING = "reinstall gitimprove: its documentation ships inside the package"


@dataclass(frozen=True)
class Topic:
    """One page of documentation: its name (``evaluation``) and its title (first heading)."""

    name: str
    title: str


def _root() -> Traversable:
    from importlib.resources import files  # here: only `gitimprove docs` reads the pages

    return files("gitimprove") / "docs"


def _pages(root: Traversable) -> dict[str, Traversable]:
    try:
        entries = list(root.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        entries = []
    return {e.name.removesuffix(".md"): e for e in entries if e.name.endswith(".md") and e.is_file()}


def topics(root: Traversable | None = None) -> list[Topic]:
    """Every page, by name."""
    pages = _pages(_root() if root is None else root)
    if not pages:
        raise GitImproveError("the documentation is missing from this installation", hint=MISSING)
    return [Topic(name, _title(page.read_text(encoding="utf-8"), name))
            for name, page in sorted(pages.items())]


def read(topic: str, root: Traversable | None = None) -> str:
    """The page ``topic`` as written (Markdown is plain text); ``docs/x.md`` and ``x.md`` name
    the page ``x`` too, as older messages and the repository's links do."""
    from gitimprove.text import did_you_mean

    name = topic.strip().removeprefix("docs/").removesuffix(".md").lower()
    pages = _pages(_root() if root is None else root)
    if name not in pages:
        raise GitImproveError(f"no documentation topic {topic!r}",
                              hint=did_you_mean(name, sorted(pages), what="the topics",
                                                none=MISSING))
    return pages[name].read_text(encoding="utf-8")


def _title(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return name


_ITEM = re.compile(r"\s*(?:[-*+]|\d+\.)\s+")


def reflow(text: str, columns: int) -> str:
    """A page for a terminal of ``columns``: paragraphs and list items, hard-wrapped in the
    files at about 100 columns, filled again to the width (an item's lines under its text);
    headings, tables, quotes and code blocks as written."""
    import textwrap  # here: only a page read on a terminal needs it

    out: list[str] = []
    words: list[str] = []
    first = rest = ""

    def flush() -> None:
        if words:
            out.extend(textwrap.wrap(" ".join(words), max(columns, 20), initial_indent=first,
                                     subsequent_indent=rest, break_long_words=False,
                                     break_on_hyphens=False))
            words.clear()

    fenced = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            fenced = not fenced
            out.append(line)
        elif fenced or not stripped or stripped.startswith(("#", "|", ">")):
            flush()
            out.append(line)
        elif item := _ITEM.match(line):
            flush()
            first, rest = item.group(0), " " * len(item.group(0))
            words.extend(line[item.end():].split())
        else:
            if not words:
                first = rest = line[: len(line) - len(line.lstrip())]
            words.extend(line.split())
    flush()
    return "\n".join(out)

