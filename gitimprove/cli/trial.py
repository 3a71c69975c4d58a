"""``gitimprove trial``: serve a proposal to a share of live traffic, with a human's consent."""

from __future__ import annotations

import click

from gitimprove.cli.context import Context, echo, emit_json, json_option, pass_ctx
from gitimprove.cli.output import for_people


@click.group("trial")
def trial_group() -> None:
    """Serve a proposal to a share of users and compare it with main."""


@trial_group.command("start")
@click.argument("proposal")
@click.option("--share", required=True, metavar="PCT",
              help="The share of units served the proposal, a percentage like 10% (or 10), up "
                   "to the policy's trials.max_share (20% unless set).")
@click.option("--unit", type=click.Choice(["user", "run"]), default=None,
              help="What is assigned to an arm (default: the policy's trials.unit).")
@click.option("--by", metavar="'NAME <EMAIL>'", help="Who starts it (default: git's user).")
@json_option
@pass_ctx
@for_people
def start_cmd(ctx: Context, proposal: str, share: str, unit: str | None, by: str | None,
              as_json: bool) -> None:
    """Start a trial: validate the proposal, then serve it to a share of traffic."""
    from gitimprove.trials.manage import TrialError, start_trial

    raw = share.strip()
    try:
        bare = None if raw.endswith("%") else float(raw)
    except ValueError:
        bare = None  # not a number: the library says so
    if bare is not None and 0 < bare <= 1:
        # "0.5" could be half of the traffic or half a percent: a trial on the wrong share of
        # real users is not a typo to guess at
        raise TrialError(f"--share {raw} could mean {bare * 100:g}% or {bare:g}%",
                         hint=f"write the percentage, like --share {bare * 100:g}%")
    start = start_trial(ctx.repo, proposal, share=share, unit=unit, by=by)
    if as_json:
        emit_json({"trial": start.trial_id, "agent": start.agent, "proposal": start.proposal,
                   "share": start.share, "unit": start.unit, "record": str(start.record),
                   "candidate_version": str(start.candidate), "live_version": str(start.live)})
        return
    echo(f"Started trial {start.trial_id}: {start.agent} proposal {start.proposal} for "
               f"{start.share:.0%} of {start.unit}s")
    echo(f"  load({start.agent!r}, unit=...) now serves it to that share; "
               f"feedback lands on version {start.candidate[:10]}")
    echo(f"  compare: gitimprove trial status {start.agent}")
    echo(f"  stop:    gitimprove trial stop {start.proposal}")


@trial_group.command("stop")
@click.argument("proposal")
@click.option("--reason", default="stopped", help="Why (kept in the stop record).")
@click.option("--by", metavar="'NAME <EMAIL>'", help="Who stops it (default: git's user).")
@json_option
@pass_ctx
@for_people
def stop_cmd(ctx: Context, proposal: str, reason: str, by: str | None, as_json: bool) -> None:
    """Stop the trial of a proposal (or of an agent): everyone gets main's version again."""
    from gitimprove.trials.manage import stop_trial

    stop = stop_trial(ctx.repo, proposal, reason=reason, by=by)
    if as_json:
        emit_json({"trial": stop.start.trial_id, "agent": stop.start.agent,
                   "proposal": stop.start.proposal, "reason": stop.reason,
                   "record": str(stop.record)})
        return
    echo(f"Stopped trial {stop.start.trial_id} of {stop.start.agent} proposal "
               f"{stop.start.proposal}; everyone gets {ctx.repo.branch}'s version again")


@trial_group.command("status")
@click.argument("agent", required=False)
@json_option
@pass_ctx
@for_people
def status_cmd(ctx: Context, agent: str | None, as_json: bool) -> None:
    """Running trials: the candidate against live over the same period."""
    from gitimprove.trials.manage import trial_status

    if agent is not None:  # a typo must not read as "no trial running"
        ctx.repo._feedback_index().check_agent(agent)
    found = trial_status(ctx.repo, agent)
    if as_json:
        emit_json([s.to_json() for s in found])
        return
    if not found:
        echo("No trials running." + ("" if agent else
                                           " Start one with: gitimprove trial start ID --share 10%"))
        return
    for i, status in enumerate(found):
        if i:
            echo("")
        for line in status.lines():
            echo(line)


COMMANDS = [trial_group]
