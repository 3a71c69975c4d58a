"""The command line: parses, calls the library, prints. Errors leave through :func:`main`."""

from __future__ import annotations

import difflib
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from gitimprove import __version__
from gitimprove.cli.output import for_people, paint
from gitimprove.errors import GitImproveError
from gitimprove.instructions.repo import InstructionRepo

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command receives: where the repository is, opened on first use."""

    def __init__(self, repo_path: str | None, branch: str | None) -> None:
        self.repo_path = repo_path
        self.branch = branch
        self._repo: InstructionRepo | None = None

    @property
    def repo(self) -> InstructionRepo:
        if self._repo is None:
            self._repo = InstructionRepo(self.repo_path or ".", branch=self.branch)
        return self._repo


pass_ctx: Callable[[Callable[..., Any]], Callable[..., Any]] = click.make_pass_decorator(Context)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (shapes: docs/json.md).")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    ctx.meta["gitimprove.no_pager"] = no_pager


@cli.command("init")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option("--from", "template", metavar="DIR", type=click.Path(file_okay=False),
              help="Copy a template into the new repository (`sample_repo`: the bundled sample).")
def init_cmd(path: str, template: str | None) -> None:
    """Make (or adopt) a git repository of agent instructions, with a first commit."""
    from gitimprove.instructions.init import init

    result = init(path, template=template)
    verb = "Created" if result.created_repo else "Adopted"
    click.echo(f"{verb} instruction repository at {result.path}")
    for name in result.written:
        click.echo(f"  wrote {name}")
    for item in result.adopted:
        click.echo(f"  adopted {item.path} ({item.format}): {', '.join(item.agents) or 'no agents'}")
    for path, why in result.left:
        click.echo(f"  left {path}: {why}")
    if result.commit:
        click.echo(f"  committed {result.commit[:10]}")
    else:
        click.echo("  nothing new to commit")
    click.echo(f"Next: cd {result.path} && gitimprove agents")


@cli.command("agents")
@json_option
@pass_ctx
@for_people
def agents_cmd(ctx: Context, as_json: bool) -> None:
    """List agents on the main branch with their current version."""
    repo = ctx.repo
    rows: list[dict[str, Any]] = []
    broken: list[dict[str, str]] = []
    for name in repo.agent_names():
        try:
            rows.append(repo.describe(name))
        except GitImproveError as exc:  # one broken file does not hide the others
            broken.append({"name": name, "error": str(exc)})
    for path, problems in repo.catalog().problems.items():  # adopted files that do not load
        broken += [{"name": path, "error": problem} for problem in problems]
    if as_json:
        emit_json({"branch": repo.branch, "agents": rows, "errors": broken})
    elif not rows and not broken:
        click.echo(f"No agents in {repo.policy().agents_dir}/ on {repo.branch}.")
    else:
        width = max([len(r["name"]) for r in rows] or [0])
        for r in rows:
            protected = ", ".join(r["protected"]) or "-"
            where = f"  ({r['format']}: {r['path']})" if r.get("format", "native") != "native" else ""
            click.echo(f"{r['name']:<{width}}  {r['version']:<5} {r['blob'][:10]}  "
                       f"sections: {', '.join(r['sections'])}  protected: {protected}{where}")
    for b in broken:
        click.echo(f"error: {b['error']}", err=True)
    if broken:
        sys.exit(1)


@cli.command("show")
@click.argument("agent")
@click.option("--at", "at", metavar="REV", help="A version (v3), commit, branch or tag.")
@click.option("--rendered", is_flag=True, help="Print the system prompt the agent receives.")
@json_option
@pass_ctx
def show_cmd(ctx: Context, agent: str, at: str | None, rendered: bool, as_json: bool) -> None:
    """Show an agent's file (or its rendered prompt) at a version."""
    repo = ctx.repo
    commit, version = repo.find_version(agent, at or repo.branch)
    found = repo.agent_at(agent, commit)
    text = found.rendered()
    if as_json:
        emit_json({
            "agent": agent, "path": found.path, "format": found.format, "key": found.key,
            "commit": str(commit), "blob": str(found.blob),
            "version": version.label if version else None,
            "number": version.number if version else None,
            "yaml": found.raw.decode("utf-8"), "rendered": text,
            "variables": found.file.variables,
            "sections": [s.model_dump(exclude_none=True) for s in found.file.sections],
        })
        return
    source = found.raw.decode("utf-8") if found.parsed is None or found.key is None else \
        found.parsed.excerpt(found.parsed.entry(found.key))
    click.echo(text if rendered else source, nl=False)


@cli.command("history")
@click.argument("agent")
@json_option
@pass_ctx
@for_people
def history_cmd(ctx: Context, agent: str, as_json: bool) -> None:
    """Versions of an agent on the main branch, newest first, with feedback per version."""
    from gitimprove.metrics import rollback_command, summary_line, version_figures

    repo = ctx.repo
    figures = version_figures(repo, agent)
    if as_json:
        emit_json({"agent": agent, "branch": repo.branch, "versions": [
            {"version": f.version.label, "number": f.version.number, "commit": str(f.version.commit),
             "blob": str(f.version.blob), "date": f.version.date.isoformat(),
             "author": f.version.author, "subject": f.version.subject,
             "feedback": {k: v for k, v in f.to_json().items()
                          if k in ("runs", "rates", "inferred_version", "previous", "verdict",
                                   "changes")}}
            for f in figures]})
        return
    for f in figures:
        v = f.version
        click.echo(f"{v.label:<5} {v.commit[:10]}  blob {v.blob[:10]}  "
                   f"{v.date:%Y-%m-%d %H:%M}  {v.author}  {v.subject}")
        if f.runs:
            line = summary_line(f)
            if f.previous is not None and f.verdict in ("worse", "better"):
                line = line.replace(f.verdict, paint(f.verdict, "red" if f.verdict == "worse"
                                                     else "green"))
            click.echo(f"      {line}")
    if figures and figures[0].verdict == "worse":
        click.echo(f"\n{figures[0].version.label} is significantly worse than "
                   f"{figures[0].previous.label if figures[0].previous else 'before'} "
                   f"on enough feedback. To undo it: {rollback_command(repo, agent, figures[0])}")


@cli.command("diff")
@click.argument("agent")
@click.argument("a")
@click.argument("b")
@pass_ctx
def diff_cmd(ctx: Context, agent: str, a: str, b: str) -> None:
    """Unified diff of an agent's YAML between two versions (v2, a commit or a ref)."""
    repo = ctx.repo
    sides = []
    for spec in (a, b):
        commit, version = repo.find_version(agent, spec)
        found = repo.agent_at(agent, commit)
        label = f"{agent} {version.label if version else spec} ({found.blob[:10]})"
        sides.append((label, found.raw.decode("utf-8").splitlines(keepends=True)))
    diff = difflib.unified_diff(sides[0][1], sides[1][1], fromfile=sides[0][0], tofile=sides[1][0])
    out = "".join(diff)
    click.echo(out if out else f"{a} and {b} of {agent} are the same version.", nl=not out)


@cli.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Where to create the demo repository (default: a new temporary folder).")
def demo_cmd(directory: str | None) -> None:
    """Run the self-improvement loop on a copy of sample_repo/, offline."""
    from gitimprove.demo import run_demo

    run_demo(Path(directory) if directory else None, echo=click.echo)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: the single place errors become messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="gitimprove", standalone_mode=False)
    except GitImproveError as exc:
        _fail(f"error: {exc}", 1)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        _fail(f"gitimprove: internal error: {type(exc).__name__}: {exc}\n"
              f"  at {Path(tb.filename).name}:{tb.lineno}\n"
              "  This is a bug. Please report it with the command you ran.", 3)


# -- command groups that live in their own modules (keep this block at the end) -------------
from gitimprove.cli.review import COMMANDS as _REVIEW_COMMANDS  # noqa: E402

for _command in _REVIEW_COMMANDS:
    cli.add_command(_command)
from gitimprove.cli.hooks import COMMANDS as _HOOK_COMMANDS  # noqa: E402

for _command in _HOOK_COMMANDS:
    cli.add_command(_command)
from gitimprove.cli.audit import COMMANDS as _AUDIT_COMMANDS  # noqa: E402

for _command in _AUDIT_COMMANDS:
    cli.add_command(_command)
from gitimprove.cli.feedback import analyze_cmd, feedback_group  # noqa: E402
from gitimprove.cli.trial import COMMANDS as _TRIAL_COMMANDS  # noqa: E402

for _command in _TRIAL_COMMANDS:
    cli.add_command(_command)

cli.add_command(feedback_group)
cli.add_command(analyze_cmd)
from gitimprove.cli.report import COMMANDS as _REPORT_COMMANDS  # noqa: E402

for _command in _REPORT_COMMANDS:
    cli.add_command(_command)
