"""One error hierarchy. The CLI turns a :class:`GitImproveError` into a one-line message and
exit code 1; anything else is a bug and becomes a short report with exit code 3."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence


class GitImproveError(Exception):
    """A refusal the user can fix. ``hint`` says what to do next."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class NotARepositoryError(GitImproveError):
    """The path is not inside a git repository."""


class GitVersionError(GitImproveError):
    """The installed git is older than gitimprove needs."""


class GitCommandError(GitImproveError):
    """A git command failed: carries the command, its exit code and its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        cmd = _cut(" ".join(self.argv), MAX_SHOWN)  # a pattern or a list of ids can be 100 KB
        # git's first fatal:/error: lines say what is wrong; hints and context follow them.
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        key = [line for line in lines if line.startswith(("fatal:", "error:"))]
        detail = _cut(" ".join((key or lines[-1:])[:2]), MAX_SHOWN) if lines else "no output"
        super().__init__(f"`{cmd}` failed with exit code {returncode}: {detail}")


MAX_SHOWN = 300  # characters of a failed git command, and of what it said, in its message


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class StaleLockError(GitCommandError):
    """Git found a ``.lock`` file in its way: another git command is running, or one was killed."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, *, lock: str,
                 holder: str) -> None:
        super().__init__(argv, returncode, stderr)
        self.lock = lock
        self.message = f"git could not take the lock {lock}: the file exists; {holder}"
        self.hint = (f"if no git command is running in this repository, remove it (rm '{lock}') "
                     "and run the command again; nothing was changed")


class RefRaceError(GitImproveError):
    """A compare-and-swap on a ref lost: someone else moved it first."""


class InvalidFileError(GitImproveError):
    """A YAML file (agent or policy) is malformed or does not validate.

    ``problems`` holds one ``path:line:col: field: message`` string per problem."""

    def __init__(self, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "invalid file"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more, hint=hint)

    def __str__(self) -> str:
        text = "\n".join(self.problems)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UnknownAgentError(GitImproveError):
    """No agent of that name on the ref."""


class UnknownRevisionError(GitImproveError):
    """A version, commit, branch or tag that does not resolve."""


CRASH_ENV = "GITIMPROVE_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, as by ``kill -9``, when ``$GITIMPROVE_CRASH_AT`` names this point.

    For the crash tests and the torture suite: they prove that whatever a kill at this
    point leaves, the next command finishes or undoes it."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
