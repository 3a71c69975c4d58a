"""What a command is waiting for, told to whoever shows it.

A model call can take a minute (and a command's calls up to their deadline); a user who sees
nothing cannot tell a slow answer from a hung command. The library reports waits here and
prints nothing itself: by default nobody listens; the command line listens with a status line
on a terminal (:mod:`gitimprove.cli.output`). Kept apart from :mod:`gitimprove.llm` so that a
command can listen without importing the Anthropic SDK.
"""

from __future__ import annotations


class Progress:
    """A listener for waits. This one ignores them."""

    def waiting(self, text: str) -> None:
        """A passing status (``""``: the wait is over), replacing the one before."""

    def note(self, text: str) -> None:
        """A line that stays: something the user should know afterwards (a retry and why)."""


_listener = Progress()


def report_progress_to(listener: Progress | None) -> None:
    """Send waits to ``listener``; None: to nobody again."""
    global _listener
    _listener = listener if listener is not None else Progress()


def progress() -> Progress:
    """The current listener."""
    return _listener
