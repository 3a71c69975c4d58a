"""``gitimprove audit``: the complete log of proposed and applied changes, read from git."""

from __future__ import annotations

import click

from gitimprove.cli.context import Context, echo, emit_json, json_option, parse_since, pass_ctx
from gitimprove.cli.output import for_people, paint


@click.command("audit")
@click.option("--agent", help="Only this agent's events.")
@click.option("--since", metavar="DATE", help="Only events since a date (2026-09-15; UTC if no zone) or 7d / 24h / 2w ago.")
@json_option
@pass_ctx
@for_people
def audit_cmd(ctx: Context, agent: str | None, since: str | None, as_json: bool) -> None:
    """Every proposal, approval, rejection, rollback and human edit, oldest first."""
    from gitimprove.audit import audit

    events = audit(ctx.repo, agent=agent, since=parse_since(since))
    if as_json:
        emit_json({"branch": ctx.repo.branch, "events": [e.to_json() for e in events]})
        return
    if not events and agent is not None:  # a typo must not read as "nothing happened"
        ctx.repo._feedback_index().check_agent(agent)
    if not events:
        echo("No events.")
        return
    colours = {"approved": "green", "rolled_back": "red", "rejected": "yellow",
               "human_edit": "cyan", "proposed": "blue"}
    width = max(18, *(len(e.agent or "-") for e in events))
    for e in events:
        lines = e.lines(width)
        if e.kind in colours:  # the kind is our word; the rest of the line is data
            lines[0] = lines[0].replace(e.kind, paint(e.kind, colours[e.kind]), 1)
        lines = [paint(x, "red", "bold") if x.lstrip().startswith(("PROTECTED", "BROKEN")) else x
                 for x in lines]
        echo("\n".join(lines))


COMMANDS: list[click.Command] = [audit_cmd]
