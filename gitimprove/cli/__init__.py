"""The command line: parses, calls the library, prints. Errors leave through :func:`run`.

One module per group of commands; each imports only :mod:`gitimprove.cli.context`, and this
module puts them together."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from gitimprove import __version__
from gitimprove.cli.context import Context, echo
from gitimprove.errors import GitImproveError
from gitimprove.instructions.repo import send_warnings_to
from gitimprove.progress import report_progress_to

# Which module holds each command: a command imports its own module only (tests/test_cli.py
# checks this table against the modules' COMMANDS).
MODULES: dict[str, str] = {
    **dict.fromkeys(["init", "agents", "show", "history", "diff", "demo"], "agents"),
    **dict.fromkeys(["propose", "proposals", "review", "approve", "reject", "rollback",
                     "validate", "recover", "check-regressions"], "review"),
    **dict.fromkeys(["feedback", "analyze"], "feedback"),
    **dict.fromkeys(["hooks", "hook", "push", "fetch"], "hooks"),
    "audit": "audit", "trial": "trial", "report": "report", "evaluate": "evaluate",
    "docs": "docs",
}


class Group(click.Group):
    """A click group whose commands return their exit code, and whose command modules are
    imported when one of their commands runs (all of them for ``--help`` or an unknown name)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module in [MODULES[cmd_name]] if cmd_name in MODULES else set(MODULES.values()):
                self.add_module(module)
        return self.commands.get(cmd_name)

    def add_module(self, name: str) -> None:
        for command in importlib.import_module(f"gitimprove.cli.{name}").COMMANDS:
            self.add_command(command)

    def invoke(self, ctx: click.Context) -> Any:
        code = super().invoke(ctx)
        if isinstance(code, int) and not isinstance(code, bool) and code:
            ctx.exit(code)
        return code


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"],
                                          "max_content_width": 100})
@click.version_option(__version__, prog_name="gitimprove")
@click.option("--repo", "repo_path", metavar="PATH", envvar="GITIMPROVE_REPO",
              help="The instruction repository (default: discovered from the current folder).")
@click.option("--branch", metavar="NAME", help="The main branch (default: from gitimprove.yaml).")
@click.option("--no-pager", is_flag=True,
              help="Do not pipe long output into a pager (GIT_PAGER, PAGER or less).")
@click.pass_context
def cli(ctx: click.Context, repo_path: str | None, branch: str | None, no_pager: bool) -> None:
    """Improve agent instructions from user feedback, safely, with git."""
    ctx.obj = Context(repo_path, branch)
    send_warnings_to(ctx.obj.warnings)
    report_progress_to(ctx.obj.status)
    ctx.call_on_close(ctx.obj.close)
    ctx.meta["gitimprove.no_pager"] = no_pager


def run(argv: list[str] | None = None) -> int:
    """Run a command line; the single place errors become messages and exit codes."""
    try:
        code = cli.main(args=argv, prog_name="gitimprove", standalone_mode=False)
        return code if isinstance(code, int) and not isinstance(code, bool) else 0
    except GitImproveError as exc:
        return _fail(f"error: {exc}", 1)
    except click.exceptions.Abort as exc:
        # NOTE: click turns Ctrl-C into Abort (after ending the ^C line)
        if isinstance(exc.__context__, KeyboardInterrupt):
            return _fail("interrupted", 130)
        return _fail("aborted", 1)
    except click.UsageError as exc:
        exit_code: int = exc.exit_code
        if isinstance(exc, _NO_ARGS_IS_HELP):
            exc.show()  # a group named alone: its help, as click shows it
            return exit_code
        return _fail(f"error: {usage_error(exc)}", exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        import traceback

        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return _fail(f"gitimprove: internal error: {type(exc).__name__}: {exc}\n"
                     f"  at {Path(tb.filename).name}:{tb.lineno}\n"
                     "  This is a bug. Please report it with the command you ran.", 3)


# NOTE: click 8.2 and later raise this for a group named without a command (8.1 prints the help)
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def usage_error(exc: click.UsageError) -> str:
    """A mistake on the command line as the project's other errors read: what is wrong or
    missing (a missing option with its help), and where to read how the command is used."""
    ctx = exc.ctx
    command = ctx.command_path if ctx is not None else "gitimprove"
    param = exc.param if isinstance(exc, click.BadParameter) else None
    if isinstance(exc, click.MissingParameter) and isinstance(param, click.Option):
        name = max(param.opts, key=len)
        what = f"{name} {_metavar(param)}"
        help_text = (param.help or "").strip().rstrip(".")
        if help_text:
            what += f": {help_text[:1].lower()}{help_text[1:]}"
        message = f"{command} needs {what}"
    elif isinstance(exc, click.MissingParameter) and isinstance(param, click.Argument) \
            and ctx is not None:
        usage = " ".join(ctx.command.collect_usage_pieces(ctx))
        message = f"{command} needs {param.human_readable_name} (usage: {command} {usage})"
    else:
        said = exc.format_message().strip().rstrip(".").replace(". (", " (")
        message = f"{command}: {said[:1].lower()}{said[1:]}"
    return f"{message}\n  hint: see `{command} --help`"


def _metavar(option: click.Option) -> str:
    if option.metavar:
        return option.metavar
    if isinstance(option.type, click.Choice):
        return "[" + "|".join(str(choice) for choice in option.type.choices) + "]"
    return option.type.name.upper()


def _fail(message: str, code: int) -> int:
    echo(message, err=True)
    return code


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point. Without ``argv`` this process is the command: it ends as soon as
    its output is out, without tearing down the interpreter (see :func:`_leave`)."""
    code = run(argv)
    if argv is None:
        _leave(code)
    sys.exit(code)


def _leave(code: int) -> None:
    """End the process now if nothing but the output is left to finish."""
    # NOTE: freeing every module and object at exit costs ~10 ms of a command's 60-90 ms. The
    # command's repository (git reader, feedback database) is closed with its click context;
    # with no atexit callback and no other thread, nothing else waits for the teardown. When
    # the output cannot be flushed (a closed pipe), the ordinary exit reports it as it did.
    import atexit
    import os
    import threading

    # NOTE: CPython's count of atexit callbacks; an interpreter without it exits the usual way
    callbacks = getattr(atexit, "_ncallbacks", None)
    if callbacks is None or callbacks() or threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
