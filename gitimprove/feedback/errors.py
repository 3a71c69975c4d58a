"""Errors and warnings of the feedback package (all refusals are :class:`GitImproveError`)."""

from __future__ import annotations

from collections.abc import Sequence

from gitimprove.errors import GitImproveError


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
        lines = [self.message, *(f"  {p}" for p in self.problems[:self.SHOWN])]
        if len(self.problems) > self.SHOWN:
            lines.append(f"  ... and {len(self.problems) - self.SHOWN:,} more, the last: "
                         f"{self.problems[-1]}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


def add_feedback_hint(agent: str | None = None) -> str:
    """What to do when there is no feedback to read: the one way in a new user has."""
    flag = f" --agent {agent}" if agent else ""
    return (f"import some: gitimprove feedback import FILE{flag} (the fields: "
            "`gitimprove docs feedback`)")


class FeedbackWarning(UserWarning):
    """Something worth telling that does not stop a record (an unknown version, say)."""
