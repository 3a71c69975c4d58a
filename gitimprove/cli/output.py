"""Output for people: the terminal's width, colour on a terminal only, and a pager like git's.

Hand-written rather than a library (rich, for one): everything here is a few lines of the
standard library, and a command must start in well under a tenth of a second; importing rich
alone costs more than that. See docs/design.md.

- **Width**: long lines are wrapped at word boundaries to the terminal's width (``COLUMNS``
  when set), with a hanging indent; nothing is wrapped when the output is not a terminal, so
  pipes and scripts get whole lines.
- **Colour**: only on a terminal, never with ``NO_COLOR`` set (https://no-color.org) or
  ``TERM=dumb``. Text from feedback, a model or a commit is cleaned of control characters
  before it is printed (:func:`clean`), so it cannot colour, move or clear the terminal.
- **Pager**: output longer than the screen goes through ``GIT_PAGER``, else ``PAGER``, else
  ``less`` (with ``LESS=FRX`` unless set: quit if one screen, keep colours, no clearing), as
  git does; only when standard output is a terminal; ``--no-pager`` (or a pager of ``cat`` or
  an empty one) turns it off.
"""

from __future__ import annotations

import functools
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from gitimprove.safetext import printable

F = TypeVar("F", bound=Callable[..., Any])

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLOURS = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36,
           "bold": 1, "dim": 2}


def clean(text: str) -> str:
    """``text`` with control, escape and bidi characters shown escaped (``\\x1b``); newlines
    and tabs kept. The same function every printer ends with (:func:`gitimprove.cli.echo`)."""
    return printable(text)


_CAPTURING: list[bool] = []  # while for_people collects output: whether the real stdout is a tty


def is_terminal() -> bool:
    if _CAPTURING:
        return _CAPTURING[-1]
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def colour_on() -> bool:
    """Colour only on a terminal, without ``NO_COLOR`` (any value) and not on a dumb terminal."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal()


# NOTE: our colour marks carry a key drawn afresh in each process: data (feedback, a rule, a
# commit message) may hold the private-use mark characters too, and without the key its
# "\ue0008\ue001...\ue002" would become an escape sequence that hides its text (SGR 8).
_KEY = os.urandom(8).hex()
_MARK = re.compile(f"\ue000{_KEY}([0-9;]+)\ue001(.*?)\ue002", re.S)


def paint(text: str, *styles: str) -> str:
    """``text`` in colour when :func:`colour_on`, for a command decorated with
    :func:`for_people` (the colour is marked here and made an escape sequence by :func:`show`,
    after every control character that came with the data has been removed)."""
    if not styles or not colour_on():
        return text
    codes = ";".join(str(COLOURS[s]) for s in styles)
    return f"\ue000{_KEY}{codes}\ue001{text}\ue002"


def _colours(text: str) -> str:
    on = colour_on()
    return _MARK.sub(lambda m: f"\x1b[{m.group(1)}m{m.group(2)}\x1b[0m" if on else m.group(2), text)


def width() -> int | None:
    """Columns to wrap to on a terminal (``COLUMNS`` when set); None when not a terminal."""
    if not is_terminal():
        return None
    import shutil  # here: it imports the compression modules, and output to a pipe needs none

    return max(shutil.get_terminal_size((100, 24)).columns, 20)


def error_width() -> int | None:
    """Columns to wrap ``error:``/``hint:`` lines to when standard error is a terminal
    (``COLUMNS`` when set); None otherwise."""
    try:
        if not sys.stderr.isatty():
            return None
        columns = os.environ.get("COLUMNS", "")
        return max(int(columns) if columns.isdigit() else
                   os.get_terminal_size(sys.stderr.fileno()).columns, 20)
    except (AttributeError, ValueError, OSError):
        return None


def visible_len(text: str) -> int:
    """Columns ``text`` takes on a terminal: no colour codes, a wide character (an emoji, CJK)
    two."""
    text = _ANSI.sub("", text)
    if text.isascii():
        return len(text)
    import unicodedata  # here: most lines are ASCII

    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF"
               else 1 for c in text)


# A line's indent; in a diff, the text's after the + or - (a YAML line added: "+      - rule")
_INDENT = re.compile(r" *(?:[+-](?=  ))? *")
_QUOTED = re.compile(r" *\| ")  # a line of a block quoted inside another output


def wrap(line: str, columns: int | None = None, *, hang: int = 4) -> list[str]:
    """One line as lines no wider than ``columns`` (words kept whole where they fit), each
    continuation indented ``hang`` more than the line's own indent."""
    columns = width() if columns is None else columns
    if columns is None or visible_len(line) <= columns:
        return [line]
    line = _ANSI.sub("", line)  # a line too long for the screen loses its colour, not words
    quoted = _QUOTED.match(line)
    if quoted is not None and columns - quoted.end() >= 20:
        # a block shown inside another ("   | " before each line of the demo's review):
        # its lines wrap inside the block, each continuation keeping the bar
        return [quoted.group(0) + part
                for part in wrap(line[quoted.end():], columns - quoted.end(), hang=hang)]
    found = _INDENT.match(line)
    indent = found.end() if found else 0
    if visible_len(line) != len(line):  # textwrap counts characters, not columns
        return _wrap_columns(line, columns, " " * (indent + hang))
    import textwrap  # here: only a line too long for a terminal needs it

    return textwrap.wrap(line, columns, initial_indent="", subsequent_indent=" " * (indent + hang),
                         break_long_words=True, break_on_hyphens=False, drop_whitespace=True) or [line]


def _wrap_columns(line: str, columns: int, hang: str) -> list[str]:
    """:func:`wrap` by columns, for a line with wide (CJK, emoji) or zero-width characters:
    words kept whole where they fit; a run wider than a line (Chinese has no spaces) fills
    each line to its end."""
    import unicodedata

    def width(c: str) -> int:
        return 0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1

    lead = len(line) - len(line.lstrip(" "))
    out: list[str] = []
    current, used, empty = line[:lead], lead, True  # empty: nothing but the indent yet
    room = max(columns - len(hang), 1)
    for word in line[lead:].split():
        size = sum(width(c) for c in word)
        if not empty and used + 1 + size <= columns:
            current, used = f"{current} {word}", used + 1 + size
            continue
        if not empty and size <= room:  # whole on the next line
            out.append(current)
            current, used = hang, len(hang)
        elif not empty:
            current, used = current + " ", used + 1
        for c in word:  # at a line's start, or wider than a line: cut where the line ends
            w = width(c)
            if used + w > columns and current.strip():
                out.append(current)
                current, used = hang, len(hang)
            current, used = current + c, used + w
        empty = False
    out.append(current)
    return out


def fit(text: str, columns: int | None = None) -> str:
    """Every line of ``text`` wrapped to the width (see :func:`wrap`)."""
    columns = width() if columns is None else columns
    if columns is None:
        return text
    return "\n".join(part for line in text.split("\n") for part in wrap(line, columns))


def pager_command(no_pager: bool = False) -> str | None:
    """The pager to use, as git chooses it, or None."""
    if no_pager or not is_terminal():
        return None
    for var in ("GIT_PAGER", "PAGER"):
        if var in os.environ:
            command = os.environ[var].strip()
            return None if command in ("", "cat") else command
    import shutil

    return "less" if shutil.which("less") else None


class Page:
    """Collects a command's output (see :func:`paged`)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def echo(self, text: str = "") -> None:
        self.lines.append(text)


@contextmanager
def paged(no_pager: bool = False) -> Iterator[Page]:
    """Collect output, then :func:`show` it."""
    page = Page()
    yield page
    show("\n".join(page.lines) + ("\n" if page.lines else ""), no_pager=no_pager)

def show(text: str, *, no_pager: bool = False) -> None:
    """Print ``text`` wrapped to the width, through the pager when longer than the screen."""
    if not text:
        return
    text = fit(_colours(clean(text.rstrip("\n")))) + "\n"
    command = pager_command(no_pager)
    if command is None:
        click.echo(text, nl=False)
        return
    import shutil

    if text.count("\n") < shutil.get_terminal_size((100, 24)).lines:
        click.echo(text, nl=False)
        return
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        click.echo(text, nl=False)
        return
    assert proc.stdin is not None
    try:
        proc.stdin.write(text.encode("utf-8", "replace"))
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the reader quit early (q in less): not an error
    proc.wait()


def for_people(func: F) -> F:
    """A command whose text output is wrapped to the terminal and paged (see :func:`show`);
    ``--no-pager`` before the command turns the pager off. Nothing changes when standard
    output is not a terminal and ``COLUMNS`` is not set."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("as_json") or (width() is None and pager_command() is None):
            return func(*args, **kwargs)
        ctx = click.get_current_context(silent=True)
        no_pager = bool(ctx and ctx.find_root().meta.get("gitimprove.no_pager"))
        tty = is_terminal()
        real, buffer = sys.stdout, io.StringIO()
        sys.stdout = buffer
        _CAPTURING.append(tty)
        try:
            return func(*args, **kwargs)
        finally:
            _CAPTURING.pop()
            sys.stdout = real
            show(buffer.getvalue(), no_pager=no_pager)

    return wrapper  # type: ignore[return-value]
