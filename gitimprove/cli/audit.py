"""``gitimprove audit``: the complete log of proposed and applied changes, read from git."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from gitimprove.cli import Context, emit_json, json_option, pass_ctx
from gitimprove.cli.output import for_people, paint
from gitimprove.errors import GitImproveError


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise GitImproveError(f"--since {value!r} is not a date",
                              hint="use ISO 8601: 2026-11-23 or 2026-11-23T09:30:00+00:00") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command("audit")
@click.option("--agent", help="Only this agent's events.")
@click.option("--since", metavar="DATE", help="Only events at or after DATE (ISO 8601; UTC if no zone).")
@json_option
@pass_ctx
@for_people
def audit_cmd(ctx: Context, agent: str | None, since: str | None, as_json: bool) -> None:
    """Every proposal, approval, rejection, rollback and human edit, oldest first."""
    from gitimprove.audit import audit

    events = audit(ctx.repo, agent=agent, since=_parse_since(since))
    if as_json:
        emit_json({"branch": ctx.repo.branch, "events": [e.to_json() for e in events]})
        return
    if not events:
        click.echo("No events.")
        return
    colours = {"approved": "green", "rolled_back": "red", "rejected": "yellow",
               "human_edit": "cyan", "proposed": "blue"}
    for e in events:
        lines = e.lines()
        if e.kind in colours:  # the kind is our word; the rest of the line is data
            lines[0] = lines[0].replace(e.kind, paint(e.kind, colours[e.kind]), 1)
        lines = [paint(x, "red", "bold") if x.lstrip().startswith(("PROTECTED", "BROKEN")) else x
                 for x in lines]
        click.echo("\n".join(lines))


COMMANDS: list[click.Command] = [audit_cmd]
