"""``gitimprove evaluate``: replay a proposal on its evidence runs, judge, record the scorecard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from gitimprove.cli.context import Context, cost_told, echo, emit_json, json_option, pass_ctx
from gitimprove.cli.output import for_people

if TYPE_CHECKING:
    from gitimprove.errors import GitImproveError
    from gitimprove.llm import Bill


@click.command("evaluate")
@click.argument("proposal", required=False)
@click.option("--sample", type=click.IntRange(min=1), metavar="N",
              help="Runs to fix (and to keep) to replay at most, three requests each "
                   "(default: evaluation.sample).")
@click.option("--seed", type=int, help="Draw the same runs and order again (default: random, recorded).")
@click.option("--by", metavar='"NAME <EMAIL>"', help="Who evaluated (default: your git identity).")
@json_option
@pass_ctx
@for_people
def evaluate_cmd(ctx: Context, proposal: str | None, sample: int | None, seed: int | None,
                 by: str | None, as_json: bool) -> int:
    """Replay a proposal on the runs it is meant to fix (and well-rated ones), have a model
    judge base against proposal, and record the scorecard in git. Needs ANTHROPIC_API_KEY.
    Without PROPOSAL, the only open one.

    Three requests per run (two replays and a judgement), within evaluation.token_budget
    and evaluation.deadline_seconds: at either it stops cleanly and records what it judged.
    The scorecard says what they cost; a failure before the first run is judged records
    nothing and says what the answered requests cost."""
    from gitimprove.evaluate import NeedsModel, evaluate
    from gitimprove.evaluation.record import record_ref

    repo = ctx.repo
    proposal = ctx.proposal(proposal)
    bills: list[Bill] = []

    def failed(exc: GitImproveError, bill: Bill) -> dict[str, Any]:
        return {"status": "failed", "message": exc.message, "hint": exc.hint,
                "model_usage": bill.to_json()}

    try:
        with cost_told(lambda: bills[0] if bills else None, as_json=as_json, json_error=failed):
            evaluation = evaluate(repo, proposal, sample=sample, seed=seed, by=by, bills=bills)
    except NeedsModel as exc:
        if not as_json:
            raise
        emit_json({"status": "needs_model", "message": exc.message, "hint": exc.hint,
                   "would_judge": exc.plan.to_json()})
        return 1
    card = evaluation.scorecard
    if as_json:
        emit_json(evaluation.to_json())
        return 0
    echo(f"Evaluated {card.proposal} ({card.agent}): {card.headline()}")
    for line in card.lines(evaluation.plan.settings):
        echo(f"  {line}")
    if evaluation.examples:
        echo("Examples (kept on this machine, not in git: they quote users' runs):")
        from gitimprove.evaluation.examples import lines

        for line in lines(evaluation.examples):
            echo(line)
    record = evaluation.record
    echo(f"Recorded {record_ref(card.agent, card.proposal)} ({record.commit.short}) for base "
               f"tree {card.base_tree[:10]} and proposal tree {card.proposal_tree[:10]}")
    echo(f"  review: gitimprove review {card.proposal}    share: gitimprove push --all")
    return 0


COMMANDS = [evaluate_cmd]
