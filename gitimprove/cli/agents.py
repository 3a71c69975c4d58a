"""Commands about agents and their versions: init, agents, show, history, diff, and the demo."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitimprove.cli.context import Context, cost_told, echo, emit_json, json_option, pass_ctx
from gitimprove.cli.output import for_people, paint, visible_len
from gitimprove.cli.output import width as terminal_width
from gitimprove.errors import GitImproveError, InvalidFileError
from gitimprove.instructions.agentfile import protected_ids
from gitimprove.text import fold

if TYPE_CHECKING:
    from gitimprove.instructions.repo import AgentSummary
    from gitimprove.llm import Bill


@click.command("init")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option("--from", "template", metavar="DIR", type=click.Path(file_okay=False),
              help="Copy a template into the new repository (`sample_repo`: the bundled sample).")
@click.option("--adopt-new", is_flag=True,
              help="In a repository adopted before: map the agent files added since "
                   "(those `init` lists as not mapped) in gitimprove.yaml, and commit.")
@for_people
def init_cmd(path: str, template: str | None, adopt_new: bool) -> None:
    """Make (or adopt) a git repository of agent instructions, with a first commit."""
    from gitimprove.instructions.init import init

    result = init(path, template=template, adopt_new=adopt_new)
    verb = "Created" if result.created_repo else "Adopted"
    echo(f"{verb} instruction repository at {result.path}")
    for name in result.written:
        echo(f"  wrote {name}")
    for item in result.adopted:
        held = f"code only (its agents' texts are in {', '.join(item.texts_in)})" if item.texts_in else "no agents"
        echo(f"  adopted {item.path} ({item.format}): {', '.join(item.agents) or held}")
    for path, why in result.left:
        echo(f"  left {path}: {why}")
    for note in result.notes:
        echo(f"  {note}")
    if result.commit:
        echo(f"  committed {result.commit[:10]}")
    else:
        echo("  nothing new to commit")
    here = Path(result.path).resolve() == Path.cwd().resolve()
    echo("Next: gitimprove agents" if here else f"Next: cd {result.path} && gitimprove agents")


_SECTIONS_SHOWN = 6


@click.command("agents")
@json_option
@pass_ctx
@for_people
def agents_cmd(ctx: Context, as_json: bool) -> int:
    """List agents on the main branch with their current version."""
    repo = ctx.repo
    rows: list[AgentSummary] = []
    broken: list[dict[str, str]] = []
    ctx.warnings.muted = True  # every broken file is reported below, once
    try:
        for name in repo.agent_names():
            try:
                row = repo.describe(name)
            except GitImproveError as exc:  # one broken file does not hide the others
                broken.append({"name": name, "error": str(exc)})
                continue
            rows.append(row)
            if row.fallback_from:
                broken.append({"name": name, "error": f"{row.problem} (agents are served "
                               f"{row.version}, the last valid version)"})
    finally:
        ctx.warnings.muted = False
    for path, problems in repo.catalog().problems.items():  # adopted files that do not load
        broken += [{"name": path, "error": problem} for problem in problems]
    policy = repo.policy()
    unmatched = policy.unmatched_protections({r.name: r.sections + list(r.former) for r in rows}) \
        if rows and not broken else []
    # a protection written with a section's former id (see agentfile.former_ids): it holds, but
    # the id it names is no longer the section's
    former = sorted({(pattern, old, new) for r in rows for old, new in r.former.items()
                     for pattern in policy.patterns_for(r.name, old)
                     if pattern not in policy.patterns_for(r.name, new)})
    if as_json:
        emit_json({"branch": repo.branch, "agents": [r.to_json() for r in rows],
                   "errors": broken, "unmatched_protections": unmatched})
    elif not rows and not broken:
        echo(f"No agents in {repo.policy().agents_dir}/ on {repo.branch}.")
    else:
        width = max([len(r.name) for r in rows] or [0])
        columns = terminal_width()
        for r in rows:
            protected = ", ".join(r.protected) or "-"
            where = f"  ({r.format}: {r.path})" if r.format != "native" else ""
            state = f"  BROKEN at {r.fallback_from[:10]}, serving {r.version}" \
                if r.fallback_from else ""
            # NOTE: a Markdown file can have 80 headings: a row names the first few
            sections = fold(r.sections, _SECTIONS_SHOWN, more="all: agents --json")
            head = f"{r.name:<{width}}  {r.version:<5} {r.blob[:10]}  sections: {sections}"
            tail = f"protected: {protected}{where}{state}"
            if columns is not None and visible_len(f"{head}  {tail}") > columns:
                # on a terminal too narrow for the row, what is protected and where the agent
                # lives on a line of their own, not wrapped between "protected:" and its value
                echo(head)
                echo(f"    {tail}")
            else:
                echo(f"{head}  {tail}")
        listed = {r.name for r in rows}
        served = {r.path for r in rows}  # a broken file whose agents get its last valid version
        for b in broken:
            if b["name"] not in listed and "/" not in b["name"] and b["name"] not in served:
                echo(f"{b['name']:<{width}}  broken (no valid version to serve)")
    said: list[str] = []  # a file holding several agents: its problem once, not once per agent
    for b in broken:
        if not any(b["error"] == s or s.startswith(b["error"] + " (") for s in said):
            said.append(b["error"])
            echo(f"error: {b['error']}", err=True)
    if as_json:
        return 1 if broken else 0
    from gitimprove.instructions.policy import POLICY_PATH

    if unmatched:
        echo(f"note: protected_sections in {POLICY_PATH} protects no section with "
             f"{', '.join(repr(p) for p in unmatched)} (a section renamed, or not there); "
             "`gitimprove show AGENT` lists section ids", err=True)
    for pattern, old, new in former:
        echo(f"note: protected_sections in {POLICY_PATH} names the section {new!r} by its former "
             f"id {old!r}: it is protected all the same; write {new!r} instead of {pattern!r}",
             err=True)
    return 1 if broken else 0


@click.command("show")
@click.argument("agent", required=False)
@click.option("--at", "at", metavar="REV", help="A version (v3), commit, branch or tag.")
@click.option("--rendered", is_flag=True, help="Print the system prompt the agent receives.")
@json_option
@pass_ctx
def show_cmd(ctx: Context, agent: str | None, at: str | None, rendered: bool,
             as_json: bool) -> None:
    """Show an agent's file (or its rendered prompt) at a version (--at v3, or AGENT@v3).
    Without AGENT, the repository's only agent."""
    repo = ctx.repo
    agent = ctx.agent(agent)
    if at is None and "@" in agent:
        agent, _, at = agent.partition("@")  # as `rollback AGENT@vN` takes it
    commit, version = repo.find_version(agent, at or repo.branch)
    try:
        found = repo.agent_at(agent, commit)
    except InvalidFileError as exc:
        served = _served_instead(ctx, agent) if at is None else None
        if served is None:
            raise
        raise InvalidFileError(exc.problems, hint=(
            f"agents are served {served}, the last valid version (`gitimprove show {agent}@"
            f"{served}`; to restore it: `gitimprove rollback {agent}@{served}`)"
            + (f"; {exc.hint}" if exc.hint else ""))) from None
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
            "protected": protected_ids(found.file, repo.policy().is_protected),
        })
        return
    source = found.raw.decode("utf-8") if found.parsed is None or found.key is None else \
        found.parsed.excerpt(found.parsed.entry(found.key))
    echo(text if rendered else source, nl=False)


def _served_instead(ctx: Context, agent: str) -> str | None:
    """The version agents are served while main's file of ``agent`` is broken, if any."""
    ctx.warnings.muted = True  # the error says it
    try:
        inst = ctx.repo.load(agent)
    except GitImproveError:
        return None
    finally:
        ctx.warnings.muted = False
    return inst.label if inst.fallback_from else None


@click.command("history")
@click.argument("agent", required=False)
@json_option
@pass_ctx
@for_people
def history_cmd(ctx: Context, agent: str | None, as_json: bool) -> None:
    """Versions of an agent on the main branch, newest first, with feedback per version.
    Without AGENT, the repository's only agent."""
    from gitimprove.metrics import regression, summary_line, tools_line, version_figures

    repo = ctx.repo
    agent = ctx.agent(agent)
    figures = version_figures(repo, agent)
    if as_json:
        from gitimprove.ledger import evaluations_named

        gates = evaluations_named(repo.git, [f.version.commit for f in figures])
        emit_json({"agent": agent, "branch": repo.branch, "versions": [
            {"version": f.version.label, "number": f.version.number, "commit": str(f.version.commit),
             "evaluation": gates.get(f.version.commit),
             "blob": str(f.version.blob), "date": f.version.date.isoformat(),
             "author": f.version.author, "subject": f.version.subject,
             "feedback": {k: v for k, v in f.to_json().items()
                          if k in ("runs", "rates", "inferred_version", "previous", "verdict",
                                   "changes", "decisions", "tools", "decision_changes")}}
            for f in figures]})
        return
    for f in figures:
        v = f.version
        # the author's name, as `git log --format=%an` shows it: the address made lines of
        # 200 columns (--json keeps both)
        who = v.author.partition(" <")[0] or v.author
        echo(f"{v.label:<5} {v.commit[:10]}  blob {v.blob[:10]}  "
             f"{v.date:%Y-%m-%d %H:%M}  {who}  {v.subject}")
        if f.runs:
            line = summary_line(f)
            if f.previous is not None and f.verdict in ("worse", "better"):
                line = line.replace(f.verdict, paint(f.verdict, "red" if f.verdict == "worse"
                                                     else "green"))
            echo(f"      {line}")
        tools = tools_line(f)
        if tools:
            echo(f"      {tools}")
    worse = regression(repo, agent, figures)
    if worse is not None:
        previous = worse.figures.previous
        echo(f"\n{worse.figures.version.label} is significantly worse than "
                   f"{previous.label if previous else 'before'} "
                   f"on enough feedback. To undo it: {worse.rollback}")


@click.command("diff")
@click.argument("agent")
@click.argument("a")
@click.argument("b")
@pass_ctx
def diff_cmd(ctx: Context, agent: str, a: str, b: str) -> None:
    """Unified diff of an agent's file between two versions (v2, a commit or a ref)."""
    repo = ctx.repo
    sides = []
    for spec in (a, b):
        commit, version = repo.find_version(agent, spec)
        found = repo.agent_at(agent, commit)
        label = f"{agent} {version.label if version else spec} ({found.blob[:10]})"
        sides.append((label, found.raw.decode("utf-8").splitlines(keepends=True)))
    diff = difflib.unified_diff(sides[0][1], sides[1][1], fromfile=sides[0][0], tofile=sides[1][0])
    out = "".join(diff)
    echo(out if out else f"{a} and {b} of {agent} are the same version.", nl=not out)


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Where to create the demo repository (default: a new temporary folder).")
def demo_cmd(directory: str | None) -> None:
    """Run the self-improvement loop on a copy of sample_repo/: offline, or with
    ANTHROPIC_API_KEY set, Claude writes the proposals and judges the evaluation; then each
    such step says what its model calls cost, and the last line their total (also when the
    demo fails)."""
    from gitimprove.cli.output import fit
    from gitimprove.demo import run_demo

    bills: list[Bill] = []

    def total() -> Bill | None:
        return sum(bills[1:], bills[0]) if bills else None

    # line by line as it goes (no pager), each wrapped to the terminal like any other output
    with cost_told(total, as_json=False):
        run_demo(Path(directory) if directory else None, echo=lambda text: echo(fit(text)),
                 bills=bills)
    spent = total()
    if spent is not None:
        echo(f"Model calls: {spent.said()}")


COMMANDS: list[click.Command] = [init_cmd, agents_cmd, show_cmd, history_cmd, diff_cmd, demo_cmd]
