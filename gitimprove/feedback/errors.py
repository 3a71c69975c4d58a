"""Errors and warnings of the feedback package (all refusals are :class:`GitImproveError`)."""

from __future__ import annotations

from collections.abc import Sequence

from gitimprove.dataclass import dataclass
from gitimprove.errors import GitImproveError
from gitimprove.text import fold


class FeedbackError(GitImproveError):
    """A refusal about feedback the user can fix."""


class InvalidFeedbackError(FeedbackError):
    """A feedback record that does not validate (bad rating, empty record, too long, ...)."""


class FeedbackStoreError(FeedbackError):
    """The feedback database cannot be opened, read or written (locked, unreadable, too new)."""


@dataclass(frozen=True)
class LineProblem:
    """Something wrong with (or worth telling of) one line of an imported file."""

    line: int
    message: str
    noun: str = "line"  # "record" for the Nth record of a JSON array

    def __str__(self) -> str:
        return f"{self.noun} {self.line}: {self.message}" if self.line else self.message


def said_once(problems: Sequence[LineProblem]) -> list[str]:
    """One line per distinct message of ``problems``, in the order first met, with the lines
    that said it (:func:`where_said`): a file that names the wrong agent on every line is one
    mistake, not twenty lines of it."""
    said: dict[str, list[LineProblem]] = {}
    for problem in problems:
        said.setdefault(problem.message, []).append(problem)
    return [str(found[0]) if len(found) == 1 or not found[0].line
            else f"{where_said(found[0].noun, [p.line for p in found])}: {message}"
            for message, found in said.items()]


class FeedbackImportError(FeedbackError):
    """A file that cannot be imported. ``problems`` holds one ``line N: why`` per bad line.

    Raised before anything is written: an import is all-or-nothing per file."""

    def __init__(self, summary: str, problems: Sequence[LineProblem] = (), *,
                 hint: str | None = None) -> None:
        self.lines = list(problems)
        self.problems = list(map(str, self.lines))
        super().__init__(summary, hint=hint)

    SHOWN = 20  # a file of thousands of bad lines is read from the first few; all stay in .problems

    def __str__(self) -> str:
        shown = said_once(self.lines)
        lines = [self.message, *(f"  {line}" for line in shown[:self.SHOWN])]
        if len(shown) > self.SHOWN:
            lines.append(f"  ... and {len(shown) - self.SHOWN:,} more problems, the last: "
                         f"{self.problems[-1]}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


def where_said(noun: str, numbers: Sequence[int | str]) -> str:
    """``line 8``, ``lines 1, 2, 3``, ``lines 1, 2, 3, 4, 5 and 9,203 more``: the lines (or
    records) that said one thing."""
    if len(numbers) == 1:
        return f"{noun} {numbers[0]}"
    return f"{noun}s {fold([str(n) for n in numbers], PLACES_SHOWN)}"


PLACES_SHOWN = 5  # lines named for a problem many lines share


def add_feedback_hint(agent: str | None = None) -> str:
    """What to do when there is no feedback to read: the one way in a new user has."""
    flag = f" --agent {agent}" if agent else ""
    return (f"import some: gitimprove feedback import FILE{flag} (the fields: "
            "`gitimprove docs feedback`)")


class FeedbackWarning(UserWarning):
    """Something worth telling that does not stop a record (an unknown version, say)."""
