"""Commands for proposals and review: propose, proposals, review, approve, reject, rollback,
validate."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from gitimprove.cli.context import Context, cost_told, echo, emit_json, json_option, pass_ctx
from gitimprove.cli.output import for_people, paint
from gitimprove.errors import GitImproveError

if TYPE_CHECKING:
    from gitimprove.llm import Bill
    from gitimprove.proposals.build import Plan


LEFT_OUT_SHOWN = 4  # patterns named for a reason several share; the review names them all


@click.command("propose")
@click.argument("agents", nargs=-1)
@click.option("--all", "all_agents", is_flag=True, help="Propose for every agent.")
@click.option("--proposer", type=click.Choice(["auto", "anthropic", "heuristic"]),
              help="Who writes the draft (default: anthropic with a key, else heuristic).")
@click.option("--dry-run", is_flag=True,
              help="Print the diff and the message; write nothing (a model is still asked).")
@click.option("--push", "push_remote", is_flag=False, flag_value="origin", default=None,
              metavar="[REMOTE]", help="Push each new branch (to origin by default) for review.")
@click.option("--offline", is_flag=True, help="Do not read the remote's records first.")
@json_option
@pass_ctx
@for_people
def propose_cmd(ctx: Context, agents: tuple[str, ...], all_agents: bool, proposer: str | None,
                dry_run: bool, push_remote: str | None, offline: bool, as_json: bool) -> int:
    """Turn open feedback patterns into a proposal branch (improve/<agent>/<id>). Without
    AGENTS, the repository's only agent.

    With the anthropic proposer, each agent takes one request, or two when the model's first
    draft breaks a rule (a bounded prompt, at most proposer.max_tokens of answer each, all
    within proposer.deadline_seconds); the last line says what they cost, also when the
    command fails. A failure or a refused draft writes nothing."""
    from gitimprove.proposals.proposers.base import left_out_lines, left_out_summary
    from gitimprove.proposals.proposers.select import bill_of, make_proposer
    from gitimprove.review.remote import propose_and_push

    repo = ctx.repo
    names = repo.agent_names() if all_agents else list(agents) or [ctx.agent(None, or_all=True)]
    chosen = make_proposer(proposer, repo.policy().proposer)

    def failed(exc: GitImproveError, bill: Bill) -> dict[str, object]:
        # NOTE: the shape of `propose --all`, whose agents fail one by one
        from gitimprove.proposals.build import Outcome

        shown = [Outcome(names[0], "error", str(exc)).to_json()] if len(names) == 1 else []
        return {"proposals": shown, "model_usage": bill.to_json()}

    with cost_told(lambda: bill_of(chosen), as_json=as_json, json_error=failed):
        outcomes = propose_and_push(repo, names, chosen, dry_run=dry_run, remote=push_remote,
                                    offline=offline)
    bill = bill_of(chosen)
    if as_json:
        emit_json({"proposals": [o.to_json() for o in outcomes],
                   "model_usage": bill.to_json() if bill else None})
    for outcome in outcomes:
        plan = outcome.plan
        if outcome.status == "error":
            # NOTE: most reasons name the agent already ("... gave no valid draft for NAME")
            reason = outcome.reason or ""
            named = re.search(rf"(?<![\w-]){re.escape(outcome.agent)}(?![\w-])", reason)
            echo(f"error: {'' if named else f'{outcome.agent}: '}{reason}", err=True)
        elif as_json:
            continue
        elif plan is None:
            if len(outcome.left_out) > 1:  # each with its reason, not one as an example
                echo(f"nothing to propose for {outcome.agent}: "
                     f"{left_out_summary(outcome.left_out, example=False)}. Each, and why:")
                for line in left_out_lines(outcome.left_out, shown=LEFT_OUT_SHOWN):
                    echo(f"  - {line}")
            else:
                echo(outcome.reason)
            if outcome.hint:
                echo(f"hint: {outcome.hint}")
        elif dry_run:
            from gitimprove.review.view import message_text

            echo(f"Dry run for {outcome.agent}, by {_who(plan)}. Nothing was written.\n")
            echo("\n".join(message_text(plan.message, ("propose --dry-run --json",))))
            echo()
            echo(plan.diff)
        else:
            echo(f"Proposed {plan.short_branch} ({plan.commit and plan.commit[:10]})")
            echo(f"  by {_who(plan)}")
            echo(f"  {plan.message.splitlines()[0]}")
            for note in plan.notes:
                echo(f"  note: {note}")
            echo(f"  review: gitimprove review {plan.id}")
            if outcome.pushed_to:
                echo(f"  pushed to {outcome.pushed_to}: open a pull request from "
                 f"{plan.short_branch}")
    if bill is not None and not as_json:  # every request, those of failed drafts included
        echo(f"Model calls: {bill.said()}")
    return 1 if any(o.status == "error" for o in outcomes) else 0


def _who(plan: Plan) -> str:
    """Who wrote the draft (what a model's requests cost is the command's last line)."""
    result = plan.result
    if result.proposer == "heuristic":
        return "the heuristic proposer (offline, no model)"
    return f"{result.model} via the Anthropic API"


def _age(ts: int) -> str:
    seconds = max(0, int(datetime.now(UTC).timestamp()) - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@click.command("proposals")
@click.option("--all", "include_closed", is_flag=True, help="Include approved, rejected, rolled back.")
@click.option("--agent", help="Only this agent's proposals.")
@json_option
@pass_ctx
@for_people
def proposals_cmd(ctx: Context, include_closed: bool, agent: str | None, as_json: bool) -> None:
    """List proposals with their validator verdict and staleness."""
    from gitimprove.evaluation.check import short_status
    from gitimprove.review.actions import statuses

    rows = statuses(ctx.repo, include_closed=include_closed, agent=agent)
    if as_json:
        emit_json({"proposals": [r.to_json() for r in rows]})
        return
    if not rows and agent is not None:  # a typo must not read as "none open"
        ctx.repo._feedback_index().check_agent(agent)
    if not rows:
        echo("No proposals." if include_closed else "No open proposals. (--all shows closed ones)")
        return
    width = max(5, *(len(r.proposal.agent) for r in rows))  # long names keep the columns aligned
    echo(paint(f"{'id':<15}  {'state':<11} {'agent':<{width}} {'age':>4}  {'evidence':<8} "
                     "validator", "bold"))
    for row in rows:
        info, verdict = row.proposal, row.verdict
        flags = []
        if verdict is not None:
            flags.append(paint("valid", "green") if verdict.passed
                         else paint(f"INVALID ({len(verdict.violations)})", "red"))
            if verdict.stale:
                flags.append("stale, merges cleanly" if verdict.merges_cleanly else
                             paint("stale, CONFLICTS", "red"))
        if info.edits:
            flags.append("edited by " + ", ".join(dict.fromkeys(e.author for e in info.edits)))
        if row.evaluation is not None:
            flags.append(short_status(row.evaluation))
        echo(f"{info.id:<15}  {info.state.value:<11} {info.agent:<{width}} {_age(info.time):>4}  "
                   f"{len(info.evidence):<8} {', '.join(flags)}")
        echo(f"    {info.summary}")


@click.command("review")
@click.argument("proposal", required=False)
@json_option
@pass_ctx
@for_people
def review_cmd(ctx: Context, proposal: str | None, as_json: bool) -> None:
    """Everything a reviewer needs on one screen. Without PROPOSAL, the only open one."""
    from gitimprove.review.view import review_data, review_text
    from gitimprove.trials.manage import trial_status

    review = review_data(ctx.repo, ctx.proposal(proposal))
    trial = next((t for t in trial_status(ctx.repo, review.agent)
                  if t.start.proposal == review.id), None)
    if as_json:
        emit_json({**review.to_json(), "trial": trial.to_json() if trial else None})
        return
    text = review_text(review)
    if trial is not None:
        text = text.rstrip("\n") + "\n\nTrial on live traffic:\n" + "\n".join(
            "  " + line for line in trial.lines()) + "\n"
    echo(_coloured_review(text))


def _coloured_review(text: str) -> str:
    """The review with the diff's lines, the verdict and the headings in colour (on a terminal)."""
    out = []
    in_diff = False  # the message's own "- " items are not a diff's removed lines
    for line in text.split("\n"):
        bare = line.lstrip()
        if line and not line.startswith(" "):
            in_diff = line == "Diff:"
        if in_diff and line.startswith("  +") and not line.startswith("  +++"):
            line = paint(line, "green")
        elif in_diff and line.startswith("  -") and not line.startswith("  ---"):
            line = paint(line, "red")
        elif in_diff and bare.startswith("@@"):
            line = paint(line, "cyan")
        elif line == "Validator: passes":
            line = "Validator: " + paint("passes", "green")
        elif line == "Validator: FAILS":
            line = "Validator: " + paint("FAILS", "red", "bold")
        elif line.endswith(":") and not line.startswith(" ") and line:
            line = paint(line, "bold")
        out.append(line)
    return "\n".join(out)


@click.command("approve")
@click.argument("proposal")
@click.option("--by", metavar='"NAME <EMAIL>"', help="The approver (default: your git identity).")
@click.option("--message", "-m", "note", help="A note for the merge commit.")
@click.option("--offline", is_flag=True, help="Do not read the remote's records first.")
@pass_ctx
@for_people
def approve_cmd(ctx: Context, proposal: str, by: str | None, note: str | None,
                offline: bool) -> None:
    """Validate, then merge a proposal into main (always a merge commit)."""
    from gitimprove.review.actions import approve

    landed = approve(ctx.repo, proposal, by=by, note=note, offline=offline)
    info = landed.proposal
    assert info is not None
    inst = ctx.repo.load(info.agent)
    echo(f"Approved {info.id}: merged into {ctx.repo.branch} as {landed.commit[:10]}")
    echo(f"  {info.agent} is now {inst.label} (blob {inst.version[:10]})")
    echo(f"  undo with: gitimprove rollback {info.id}")


@click.command("reject")
@click.argument("proposal")
@click.option("--reason", required=True, help="Why (kept in git for the audit trail).")
@click.option("--by", metavar='"NAME <EMAIL>"', help="The reviewer (default: your git identity).")
@click.option("--offline", is_flag=True, help="Do not read the remote's records first.")
@pass_ctx
@for_people
def reject_cmd(ctx: Context, proposal: str, reason: str, by: str | None, offline: bool) -> None:
    """Close a proposal; its commits and the reason stay in git."""
    from gitimprove.review.actions import reject

    done = reject(ctx.repo, proposal, reason=reason, by=by, offline=offline)
    info = done.proposal
    if done.finished is not None:
        echo(f"Finished the rejection of {info.id} ({info.agent}): deleted {done.finished}, "
             "which an interrupted reject had left")
        echo(f"  recorded before under refs/gitimprove/rejected/{info.agent}/{info.id}, "
             "with its reason")
        return
    echo(f"Rejected {info.id} ({info.agent}); recorded under "
               f"refs/gitimprove/rejected/{info.agent}/{info.id}")
    echo("  its feedback is open again for future proposals")


@click.command("rollback")
@click.argument("target")
@click.option("--reason", help="Why (kept in the revert commit).")
@click.option("--by", metavar='"NAME <EMAIL>"', help="Who (default: your git identity).")
@pass_ctx
@for_people
def rollback_cmd(ctx: Context, target: str, reason: str | None, by: str | None) -> None:
    """Revert an approved proposal or merge commit, or restore AGENT@vN."""
    from gitimprove.review.actions import rollback

    landed = rollback(ctx.repo, target, reason=reason, by=by)
    named = landed.proposal.id if landed.proposal is not None else target
    echo(f"Rolled back {named}: {ctx.repo.branch} is now {landed.commit[:10]}")
    if landed.restores:
        echo(f"  restores {landed.restores}")


@click.command("validate")
@click.option("--base", metavar="REV", help="The target (default: the main branch).")
@click.option("--head", metavar="REV", default="HEAD", show_default=True, help="The change.")
@click.option("--proposals-only", is_flag=True,
              help="Judge only the proposal commits HEAD brings, under any branch name, and "
                   "whether the files it changes still load, as the hooks do: for a check "
                   "that runs on every pull request (a person's own edit passes).")
@json_option
@pass_ctx
@for_people
def validate_cmd(ctx: Context, base: str | None, head: str, proposals_only: bool,
                 as_json: bool) -> int:
    """Check what merging HEAD into BASE would change; policy read from BASE. Exit 1 on violations."""
    from gitimprove.evaluation.check import status_lines
    from gitimprove.review.hooks import check_as_hooks, check_head, proposal_commits

    repo = ctx.repo
    _, base_commit = repo.resolve(base)
    head_commit = repo.git.rev_parse(head)
    if head_commit is None:
        raise GitImproveError(f"{head!r} is not a commit", hint="pass --head BRANCH")
    if proposals_only:
        violations, evaluation = check_as_hooks(repo, base_commit, head_commit)
    else:
        violations, evaluation = check_head(repo, base_commit, head_commit)
    if as_json:
        emit_json({"base": str(base_commit), "head": str(head_commit), "ok": not violations,
                   "proposals_only": proposals_only,
                   "violations": [v.to_json() for v in violations],
                   "evaluation": {**evaluation.to_json(), "proposal": evaluation.proposal}
                   if evaluation is not None else None})
        return 1 if violations else 0
    if evaluation is not None:
        for line in status_lines(evaluation):
            echo(line)
    if violations:
        echo(f"{len(violations)} violation(s) merging {head} into {base or repo.branch}:")
        for v in violations:
            echo(f"  - {v}")
        if not proposals_only and not proposal_commits(repo.git, base_commit, [head_commit]):
            echo(f"note: {head} brings no proposal; these are the rules a proposal must pass. "
                 "A person's own change is held back by the hooks only where it leaves a file "
                 "that does not validate (`gitimprove docs safety`).")
    else:
        echo(f"ok: merging {head} into {base or repo.branch} passes the validator")
    return 1 if violations else 0


@click.command("recover")
@pass_ctx
def recover_cmd(ctx: Context) -> None:
    """Finish what a killed approve or rollback left half done (every command does)."""
    from gitimprove.review.checkout import recover

    ctx.recover_first = False
    notes = recover(ctx.repo.git)  # raises, saying what to run, when a checkout stays behind
    for note in notes:
        echo(note)
    if not notes:
        echo("nothing to recover")


COMMANDS: list[click.Command] = [propose_cmd, proposals_cmd, review_cmd, approve_cmd, reject_cmd, rollback_cmd, validate_cmd, recover_cmd]


# `check-regressions` found nothing it could judge (docs/json.md): not a green light.
EXIT_NOTHING_JUDGED = 4


@click.command("check-regressions")
@json_option
@pass_ctx
@for_people
def check_regressions_cmd(ctx: Context, as_json: bool) -> int:
    """Exit 1 when an agent's current version is significantly worse than the one before, or a
    running trial's candidate than live (then: stop the trial).

    For a scheduled job. It never rolls back by itself; it prints the command. Exit 4 when no
    agent has enough feedback on its current and previous versions to judge."""
    from gitimprove.metrics import MIN_RUNS, check_regressions
    from gitimprove.trials.manage import trial_status

    check = check_regressions(ctx.repo)
    found = check.regressions
    trials = trial_status(ctx.repo)
    worse_trials = [t for t in trials if t.verdict == "worse"]
    if as_json:
        emit_json({"regressions": [r.to_json() for r in found],
                   "agents": [j.to_json() for j in check.agents],
                   "nothing_judged": check.nothing_judged,
                   "trials": [t.to_json() for t in trials]})
    else:
        # NOTE: one line for every agent with a single version, not one each: a crew of a dozen
        # agents, most never changed, would bury the verdicts that matter
        firsts = [j.agent for j in check.agents if j.verdict == "first version"]
        if firsts:
            echo(f"{len(firsts)} agent(s) with one version, nothing to compare with: "
                 + ", ".join(firsts))
        for j in check.agents:
            if j.verdict == "first version":
                continue
            if j.verdict == "too little feedback":
                why = (f"too little feedback to judge ({j.runs} vs {j.previous_runs} runs; "
                       f"{MIN_RUNS} a side needed)")
            elif j.judged:
                why = f"{j.verdict} ({j.previous_runs} vs {j.runs} runs)"
            else:
                # the version before is named: after a rollback it is not the one numbered
                # below it (v2 restored over v3: the version before v2 is v3)
                before = f"on {j.previous}, the version before it" if j.previous \
                    else "the version before"
                why = {"no feedback": f"no feedback on it or {before}",
                       "unreadable": "its file or history cannot be read"}.get(j.verdict, j.verdict)
            echo(f"{j.agent} {j.version or ''}: {why}".replace(" :", ":"))
        if check.nothing_judged:
            echo("Nothing to judge: no agent has enough feedback on its current and "
                       "previous version. This is not a pass.")
        elif not found:
            echo("No regressions: no agent's current version is significantly worse "
                       "than the one before.")
    for r in found if not as_json else []:
        neg = next((c for c in r.figures.comparisons if c.verdict == "worse"), None)
        what = (f"{neg.metric.replace('_', ' ')} {neg.old.value:.0%} -> {neg.new.value:.0%} "
                f"(p={neg.p_worse:.3f}, {neg.old.n} vs {neg.new.n} runs)") if neg else ""
        prev = r.figures.previous.label if r.figures.previous else "?"
        echo(f"{r.agent}: {r.figures.version.label} is worse than {prev}: {what}")
        echo(f"  to undo: {r.rollback}")
    for t in trials if not as_json else []:
        neg = next((c for c in t.comparisons if c.verdict == "worse"), None)
        what = (f": {neg.metric.replace('_', ' ')} {neg.old.value:.0%} live -> "
                f"{neg.new.value:.0%} candidate (p={neg.p_worse:.3f})") if neg else ""
        echo(f"{t.start.agent}: trial of {t.start.proposal} ({t.candidate_runs} vs "
                   f"{t.live_runs} runs): {t.verdict}{what}")
        if t.verdict == "worse":
            echo(f"  stop the trial: gitimprove trial stop {t.start.proposal}")
    if found or worse_trials:
        return 1
    return EXIT_NOTHING_JUDGED if check.nothing_judged else 0


COMMANDS.append(check_regressions_cmd)
