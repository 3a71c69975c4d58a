"""Errors and warnings of the feedback package (all refusals are :class:`GitImproveError`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gitimprove.errors import GitImproveError
from gitimprove.text import fold


class FeedbackError(GitImproveError):
    """A refusal about feedback the user can fix."""


class InvalidFeedbackError(FeedbackError):
    """A feedback record that does not validate (bad rating, empty record, too long, ...)."""


class FeedbackStoreError(FeedbackError):
    """The feedback database cannot be opened, read or written (locked, unreadable, too new)."""


class FeedbackImportError(FeedbackError):
    """A file that cannot be imported. ``problems`` holds one ``file:line: why`` per bad line.

    Raised before anything is written: an import is all-or-nothing per file."""

    def __init__(self, summary: str, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__(summary, hint=hint)

    SHOWN = 20  # a file of thousands of bad lines is read from the first few; all stay in .problems

    def __str__(self) -> str:
        # NOTE: one line per distinct problem, with the lines that have it: a file that names
        # the wrong agent on every line is one mistake, not twenty lines of it
        said: dict[str, list[tuple[str, str]]] = {}
        for problem in self.problems:
            at = _AT.match(problem)
            why, where = (at["why"], (at["noun"], at["n"])) if at else (problem, ("", ""))
            said.setdefault(why, []).append(where)
        shown = list(said.items())
        lines = [self.message, *(f"  {_where(places)}{why}" for why, places in shown[:self.SHOWN])]
        if len(shown) > self.SHOWN:
            last = self.problems[-1]
            lines.append(f"  ... and {len(shown) - self.SHOWN:,} more problems, the last: {last}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


_AT = re.compile(r"(?P<noun>line|record|row) (?P<n>\d+): (?P<why>.*)", re.DOTALL)


def where_said(noun: str, numbers: Sequence[int | str]) -> str:
    """``line 8``, ``lines 1, 2, 3``, ``lines 1, 2, 3, 4, 5 and 9,203 more``: the lines (or
    records) that said one thing."""
    if len(numbers) == 1:
        return f"{noun} {numbers[0]}"
    return f"{noun}s {fold([str(n) for n in numbers], PLACES_SHOWN)}"


PLACES_SHOWN = 5  # lines named for a problem many lines share


def _where(places: Sequence[tuple[str, str]]) -> str:
    """:func:`where_said` of the lines a problem was found on, and a colon (nothing, for a
    problem of no line)."""
    noun = places[0][0]
    return f"{where_said(noun, [n for _, n in places])}: " if noun else ""


def add_feedback_hint(agent: str | None = None) -> str:
    """What to do when there is no feedback to read: the one way in a new user has."""
    flag = f" --agent {agent}" if agent else ""
    return (f"import some: gitimprove feedback import FILE{flag} (the fields: "
            "`gitimprove docs feedback`)")


class FeedbackWarning(UserWarning):
    """Something worth telling that does not stop a record (an unknown version, say)."""
