"""What every command shares: the context (the repository, opened on first use), ``--json``
output, ``--repo``/``--branch`` accepted after the subcommand too, and the one ``--since``
parser. Command modules import this module and nothing else from the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitimprove.errors import GitImproveError
from gitimprove.instructions.repo import InstructionRepo, send_warnings_to
from gitimprove.progress import Progress, report_progress_to
from gitimprove.safetext import printable
from gitimprove.text import UNSAFE_RANGES, shorten

if TYPE_CHECKING:
    from gitimprove.llm import Bill

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command receives: where the repository is, opened on first use."""

    def __init__(self, repo_path: str | None, branch: str | None) -> None:
        self.repo_path = repo_path
        self.branch = branch
        self._repo: InstructionRepo | None = None
        self.warnings = Warnings()
        self.status = StatusLine()
        self.recover_first = True  # False in hooks (git holds the index) and in `recover`

    @property
    def repo(self) -> InstructionRepo:
        if self._repo is None:
            self._repo = InstructionRepo(self.repo_path or ".", branch=self.branch)
            if self.recover_first:
                self._finish_interrupted(self._repo)
        return self._repo

    def agent(self, name: str | None, *, or_all: bool = False) -> str:
        """The agent a command is about: ``name``, or the only agent on main when none is given
        (a repository of one agent need not name it). ``or_all``: the command takes --all."""
        if name is not None:
            return name
        names = self.repo.agent_names()
        if len(names) == 1:
            return names[0]
        if not names:
            raise GitImproveError("there is no agent on main yet",
                                  hint="commit an agent file to main (`gitimprove docs "
                                       "file-formats`: agents/NAME.yaml, or a file of another "
                                       "format the policy's `formats:` names)")
        raise GitImproveError(f"name an agent{', or pass --all' if or_all else ''}: there are "
                              f"{len(names)} "
                              f"({shorten(', '.join(names), 120)})", hint="see `gitimprove agents`")

    def proposal(self, spec: str | None) -> str:
        """The proposal a command is about: ``spec``, or the only open proposal when none is
        given (right after `propose`, `review` needs no id)."""
        if spec is not None:
            return spec
        from gitimprove.review.actions import open_keys

        keys = open_keys(self.repo)
        if len(keys) == 1:
            return keys[0]
        if not keys:
            raise GitImproveError("there is no open proposal to name",
                                  hint="`gitimprove propose` makes one; `gitimprove proposals "
                                       "--all` lists the closed ones")
        raise GitImproveError(f"name a proposal: {len(keys)} are open "
                              f"({shorten(', '.join(keys), 120)})",
                              hint="see `gitimprove proposals`")

    def close(self) -> None:
        """Close the repository (its git reader and feedback database) when the command ends."""
        send_warnings_to(None)
        report_progress_to(None)
        if self._repo is not None:
            self._repo.close()

    @staticmethod
    def _finish_interrupted(repo: InstructionRepo) -> None:
        """What a killed approve or rollback left half done is finished before anything else."""
        from gitimprove.review.checkout import CheckoutBehind, recover

        try:
            for note in recover(repo.git):
                echo(f"note: {note}", err=True)
        except CheckoutBehind as exc:
            echo(f"warning: {exc}", err=True)


def _set(name: str) -> Callable[[click.Context, click.Parameter, str | None], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        obj = ctx.find_object(Context)
        if value is not None and obj is not None:
            setattr(obj, name, value)
    return callback


def repo_options(func: F) -> F:
    """``--repo`` and ``--branch`` after the subcommand (``gitimprove audit --repo X``)."""
    func = click.option("--repo", metavar="PATH", expose_value=False, callback=_set("repo_path"),
                        help="The instruction repository (also accepted before the command).")(func)
    return click.option("--branch", metavar="NAME", expose_value=False, callback=_set("branch"),
                        help="The main branch (default: from gitimprove.yaml).")(func)


def pass_ctx(func: F) -> F:
    """Give the command the :class:`Context` (and accept ``--repo``/``--branch`` after it)."""
    return repo_options(click.make_pass_decorator(Context)(func))  # type: ignore[return-value]


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Every line gitimprove prints goes through here: feedback, model text and commit
    messages are data, so their control, escape and bidi characters are shown escaped."""
    # NOTE: our own colour is marked with private-use characters by output.paint and made an
    # escape sequence only after this (output.show), so data can never colour the terminal.
    text = printable(message)
    if err:
        from gitimprove.cli.output import error_width, fit

        columns = error_width()
        if columns is not None:
            text = fit(text, columns)  # an error and its hint wrapped to the terminal too
    click.echo(text, err=err, nl=nl)


class Warnings:
    """The library's warnings (a broken file served from its last valid version, ...) as
    ``warning:`` lines on standard error, each once; none while ``muted`` (a command that
    reports the same problem itself)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.muted = False

    def __call__(self, text: str) -> None:
        if not self.muted and text not in self.seen:
            self.seen.add(text)
            echo(f"warning: {text}", err=True)


class StatusLine(Progress):
    """Waits (a model's answer) as one line on standard error that rewrites itself on a
    terminal (elsewhere the first as a note); retries and the like as ``note:`` lines, everywhere, each once (an
    evaluation's many requests may each be retried alike)."""

    def __init__(self) -> None:
        self.shown = False
        self.logged = False
        self.seen: set[str] = set()

    def waiting(self, text: str) -> None:
        from gitimprove.cli.output import error_width

        columns = error_width()
        if columns is None:  # NOTE: a log or a pipe gets no line rewritten in place: the
            if text and not self.logged:  # first wait of the command as a note, once
                self.logged = True
                echo(f"note: {text}", err=True)
            return
        text = fitted(printable(text), columns - 1)
        click.echo(f"\r\x1b[K{text}" if text else "\r\x1b[K", err=True, nl=False)
        self.shown = bool(text)

    def note(self, text: str) -> None:
        if text in self.seen:
            return
        self.seen.add(text)
        if self.shown:
            self.waiting("")
        echo(f"note: {text}", err=True)


def fitted(text: str, width: int) -> str:
    """A status (``waiting for MODEL (request 3 of 8): 12 s, at most 9 min more``) in
    ``width`` columns. What gives way first: the request count, then the end of a long model
    name (down to 16 characters); the figures (how long so far, how long at most) stay to
    the last."""
    from gitimprove.cli.output import visible_len

    if visible_len(text) <= width:
        return text
    parts = re.match(r"(.*?)( \([^)]*\))?(: .*)\Z", text, re.S)
    if parts is None:
        return shorten(text, width)
    head, tail = parts.group(1), parts.group(3)  # the count in between gives way first
    room = width - visible_len(tail) - 1  # what is left of the head, with its "…"
    if visible_len(head + tail) <= width:
        return head + tail
    if room >= 16:
        return head[:room] + "…" + tail
    return shorten(text, width)


def emit_json(data: Any) -> None:
    # NOTE: JSON escapes C0 controls itself; C1 and bidi characters would pass raw.
    echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default).translate(_JSON_ESCAPES))


# (a tag character beyond U+FFFF as JSON writes it: a pair of surrogates)
_JSON_ESCAPES = {c: json.dumps(chr(c))[1:-1] for a, b in UNSAFE_RANGES for c in range(max(a, 0x80), b + 1)}


def _default(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else str(value)


@contextmanager
def cost_told(bill: Callable[[], Bill | None], *, as_json: bool,
              json_error: Callable[[GitImproveError, Bill], dict[str, Any]] | None = None
              ) -> Iterator[None]:
    """A model command that fails, or is interrupted, still says what its answered requests
    cost (``bill()``; None when it made none), in the words of a success: the line
    ``Model calls: ...`` before the error. With ``--json``, ``json_error(error, bill)`` (an
    object that carries ``model_usage``) goes to standard output where the command's shape has
    one for errors, else the line goes to standard error."""
    try:
        yield
    except (GitImproveError, KeyboardInterrupt) as exc:
        spent = bill()
        if spent is not None:
            if as_json and json_error is not None and isinstance(exc, GitImproveError):
                emit_json(json_error(exc, spent))
            else:
                echo(f"Model calls: {spent.said()}", err=as_json)
        raise


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (shapes: `gitimprove docs json`).")(func)


_RELATIVE = re.compile(r"\A(\d+)\s*([hdw])\Z")


def parse_since(text: str | None, option: str = "--since") -> datetime | None:
    """``2026-09-15``, ``2026-09-15T10:00:00Z`` or relative: ``24h``, ``7d``, ``2w`` ago (UTC
    when no zone is given); ``option`` names it in an error."""
    if text is None:
        return None
    match = _RELATIVE.match(text.strip().lower())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        try:
            delta = {"h": timedelta(hours=amount), "d": timedelta(days=amount),
                     "w": timedelta(weeks=amount)}[unit]
            return datetime.now(UTC) - delta
        except OverflowError:
            raise GitImproveError(f"{option} {text!r} reaches before year 1",
                                  hint="use a smaller number, or a date like 2026-09-15") from None
    from gitimprove.feedback.models import parse_timestamp

    try:
        return parse_timestamp(text.strip())
    except ValueError:
        raise GitImproveError(f"{option} {text!r} is not a date",
                              hint="use 2026-09-15, 2026-09-15T10:00:00Z, or 7d / 24h / 2w") from None
