"""Commands for proposals and review: propose, proposals, review, approve, reject, rollback,
validate."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from gitimprove.cli import Context, emit_json, json_option, pass_ctx
from gitimprove.cli.output import for_people, paint
from gitimprove.errors import GitImproveError
from gitimprove.review.actions import ProposalInfo


def _proposer(ctx: Context, name: str | None) -> Any:
    from gitimprove.proposals.proposers.select import make_proposer

    return make_proposer(name, ctx.repo.policy().proposer)


@click.command("propose")
@click.argument("agents", nargs=-1)
@click.option("--all", "all_agents", is_flag=True, help="Propose for every agent.")
@click.option("--proposer", type=click.Choice(["auto", "anthropic", "heuristic"]),
              help="Who writes the draft (default: anthropic with a key, else heuristic).")
@click.option("--dry-run", is_flag=True, help="Print the diff and the message; write nothing.")
@click.option("--push", "push_remote", is_flag=False, flag_value="origin", default=None,
              metavar="[REMOTE]", help="Push each new branch (to origin by default) for review.")
@json_option
@pass_ctx
def propose_cmd(ctx: Context, agents: tuple[str, ...], all_agents: bool, proposer: str | None,
                dry_run: bool, push_remote: str | None, as_json: bool) -> None:
    """Turn open feedback patterns into a proposal branch (improve/<agent>/<id>)."""
    from gitimprove.proposals.build import NothingToPropose, propose

    repo = ctx.repo
    names = repo.agent_names() if all_agents else list(agents)
    if not names:
        raise GitImproveError("name an agent, or pass --all", hint="see `gitimprove agents`")
    if push_remote and not dry_run:
        from gitimprove.review.remote import check_remote

        check_remote(repo, push_remote)  # before anything is created
    chosen = _proposer(ctx, proposer)
    results: list[dict[str, Any]] = []
    failed = False
    for name in names:
        try:
            plan = propose(repo, name, chosen, dry_run=dry_run)
        except NothingToPropose as exc:
            results.append({"agent": name, "status": "nothing", "reason": exc.message})
            if not as_json:
                click.echo(f"{exc.message}")
            continue
        except GitImproveError as exc:
            if len(names) == 1:
                raise
            failed = True
            results.append({"agent": name, "status": "error", "reason": str(exc)})
            click.echo(f"error: {name}: {exc}", err=True)
            continue
        entry = {"agent": name, "status": "dry-run" if dry_run else "proposed", "id": plan.id,
                 "branch": plan.short_branch, "commit": str(plan.commit) if plan.commit else None,
                 "base_commit": str(plan.base_commit), "base_version": str(plan.base_blob),
                 "proposer": plan.result.proposer, "model": plan.result.model,
                 "operations": [op.model_dump(mode="json") for op in plan.result.draft.operations],
                 "evidence": plan.evidence, "patterns": [p.id for p in plan.patterns],
                 "usage": {"input_tokens": plan.result.usage.input_tokens,
                           "output_tokens": plan.result.usage.output_tokens},
                 "diff": plan.diff, "message": plan.message, "notes": plan.notes,
                 "left_out": [{"what": lo.what, "why": lo.why, "rejected": lo.rejected}
                              for lo in plan.left_out]}
        results.append(entry)
        if push_remote and not dry_run and plan.commit:
            from gitimprove.review.remote import push

            push(repo, [f"{plan.branch}:{plan.branch}"], remote=push_remote)
            entry["pushed_to"] = push_remote
        if as_json:
            continue
        who = "heuristic proposer (offline, no model)" if plan.result.proposer == "heuristic" \
            else f"{plan.result.model} via the Anthropic API"
        if dry_run:
            click.echo(f"Dry run for {name}, by the {who}. Nothing was written.\n")
            click.echo(plan.message)
            click.echo(plan.diff)
        else:
            click.echo(f"Proposed {plan.short_branch} ({plan.commit and plan.commit[:10]}) by the {who}")
            click.echo(f"  {plan.message.splitlines()[0]}")
            for note in plan.notes:
                click.echo(f"  note: {note}")
            click.echo(f"  review: gitimprove review {plan.id}")
            if entry.get("pushed_to"):
                click.echo(f"  pushed to {push_remote}: open a pull request from {plan.short_branch}")
    if as_json:
        emit_json({"proposals": results})
    if failed:
        sys.exit(1)


def _age(ts: int) -> str:
    seconds = max(0, int(datetime.now(UTC).timestamp()) - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def proposal_status(ctx: Context, info: ProposalInfo) -> dict[str, Any]:
    """Listing fields, with the validator's verdict and staleness for open proposals."""
    from gitimprove.review.actions import validate_merge

    repo = ctx.repo
    data: dict[str, Any] = {
        "id": info.id, "agent": info.agent, "state": info.state, "branch": info.branch,
        "commit": str(info.commit), "summary": info.summary, "author": info.author,
        "created_at": datetime.fromtimestamp(info.time, UTC).isoformat(),
        "evidence_count": len(info.evidence), **info.extra,
        "merge_commit": str(info.merge_commit) if info.merge_commit else None,
    }
    if info.state == "open":
        tip = repo.main_tip()
        _, violations = validate_merge(repo, tip, info.commit)
        data["stale"] = info.base_commit is not None and info.base_commit != tip
        data["merges_cleanly"] = not any(v.code == "conflict" for v in violations)
        data["verdict"] = "pass" if not violations else "fail"
        data["violations"] = [v.to_json() for v in violations]
    return data


@click.command("proposals")
@click.option("--all", "include_closed", is_flag=True, help="Include approved, rejected, rolled back.")
@click.option("--agent", help="Only this agent's proposals.")
@json_option
@pass_ctx
@for_people
def proposals_cmd(ctx: Context, include_closed: bool, agent: str | None, as_json: bool) -> None:
    """List proposals with their validator verdict and staleness."""
    from gitimprove.review.actions import list_proposals

    infos = [i for i in list_proposals(ctx.repo, include_closed=include_closed)
             if agent is None or i.agent == agent]
    infos.sort(key=lambda i: i.time, reverse=True)
    rows = [proposal_status(ctx, i) for i in infos]
    if as_json:
        emit_json({"proposals": rows})
        return
    if not rows:
        click.echo("No proposals." if include_closed else "No open proposals. (--all shows closed ones)")
        return
    click.echo(paint(f"{'id':<15}  {'state':<11} {'agent':<18} {'age':>4}  {'evidence':<12} "
                     "validator", "bold"))
    for row, info in zip(rows, infos, strict=True):
        flags = []
        if row["state"] == "open":
            flags.append(paint("valid", "green") if row["verdict"] == "pass"
                         else paint(f"INVALID ({len(row['violations'])})", "red"))
            if row["stale"]:
                flags.append("stale, merges cleanly" if row["merges_cleanly"] else
                             paint("stale, CONFLICTS", "red"))
        click.echo(f"{row['id']:<15}  {row['state']:<11} {info.agent:<18} {_age(info.time):>4}  "
                   f"{row['evidence_count']:<12} {' '.join(flags)}")
        click.echo(f"    {row['summary']}")


@click.command("review")
@click.argument("proposal")
@json_option
@pass_ctx
@for_people
def review_cmd(ctx: Context, proposal: str, as_json: bool) -> None:
    """Everything a reviewer needs on one screen."""
    from gitimprove.review.view import review_data, review_text

    data = review_data(ctx.repo, proposal)
    if as_json:
        emit_json(data)
    else:
        click.echo(_coloured_review(review_text(data)))


def _coloured_review(text: str) -> str:
    """The review with the diff's lines, the verdict and the headings in colour (on a terminal)."""
    out = []
    for line in text.split("\n"):
        bare = line.lstrip()
        if line.startswith("  +") and not line.startswith("  +++"):
            line = paint(line, "green")
        elif line.startswith("  -") and not line.startswith("  ---"):
            line = paint(line, "red")
        elif bare.startswith("@@"):
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
@pass_ctx
def approve_cmd(ctx: Context, proposal: str, by: str | None, note: str | None) -> None:
    """Validate, then merge a proposal into main (always a merge commit)."""
    from gitimprove.review.actions import approve

    landed = approve(ctx.repo, proposal, by=by, note=note)
    info = landed.proposal
    assert info is not None
    inst = ctx.repo.load(info.agent)
    click.echo(f"Approved {info.id}: merged into {ctx.repo.branch} as {landed.commit[:10]}")
    click.echo(f"  {info.agent} is now {inst.label} (blob {inst.version[:10]})")
    click.echo(f"  undo with: gitimprove rollback {info.id}")


@click.command("reject")
@click.argument("proposal")
@click.option("--reason", required=True, help="Why (kept in git for the audit trail).")
@click.option("--by", metavar='"NAME <EMAIL>"', help="The reviewer (default: your git identity).")
@pass_ctx
def reject_cmd(ctx: Context, proposal: str, reason: str, by: str | None) -> None:
    """Close a proposal; its commits and the reason stay in git."""
    from gitimprove.review.actions import reject

    info = reject(ctx.repo, proposal, reason=reason, by=by)
    click.echo(f"Rejected {info.id} ({info.agent}); recorded under "
               f"refs/gitimprove/rejected/{info.agent}/{info.id}")
    click.echo("  its feedback is open again for future proposals")


@click.command("rollback")
@click.argument("target")
@click.option("--reason", help="Why (kept in the revert commit).")
@click.option("--by", metavar='"NAME <EMAIL>"', help="Who (default: your git identity).")
@pass_ctx
def rollback_cmd(ctx: Context, target: str, reason: str | None, by: str | None) -> None:
    """Revert an approved proposal or merge commit, or restore AGENT@vN."""
    from gitimprove.review.actions import rollback

    landed = rollback(ctx.repo, target, reason=reason, by=by)
    click.echo(f"Rolled back {target}: {ctx.repo.branch} is now {landed.commit[:10]}")
    from gitimprove.git import parse_trailers

    for restored in parse_trailers(landed.message).get("Gitimprove-Restores", []):
        click.echo(f"  restores {restored}")


@click.command("validate")
@click.option("--base", metavar="REV", help="The target (default: the main branch).")
@click.option("--head", metavar="REV", default="HEAD", show_default=True, help="The change.")
@json_option
@pass_ctx
def validate_cmd(ctx: Context, base: str | None, head: str, as_json: bool) -> None:
    """Check what merging HEAD into BASE would change; policy read from BASE. Exit 1 on violations."""
    from gitimprove.review.actions import validate_merge

    repo = ctx.repo
    _, base_commit = repo.resolve(base)
    head_commit = repo.git.rev_parse(head)
    if head_commit is None:
        raise GitImproveError(f"{head!r} is not a commit", hint="pass --head BRANCH")
    _, violations = validate_merge(repo, base_commit, head_commit)
    if as_json:
        emit_json({"base": str(base_commit), "head": str(head_commit), "ok": not violations,
                   "violations": [v.to_json() for v in violations]})
    elif violations:
        click.echo(f"{len(violations)} violation(s) merging {head} into {base or repo.branch}:")
        for v in violations:
            click.echo(f"  - {v}")
    else:
        click.echo(f"ok: merging {head} into {base or repo.branch} passes the validator")
    if violations:
        sys.exit(1)


COMMANDS = [propose_cmd, proposals_cmd, review_cmd, approve_cmd, reject_cmd, rollback_cmd, validate_cmd]


# `check-regressions` found nothing it could judge (docs/json.md): not a green light.
EXIT_NOTHING_JUDGED = 4


@click.command("check-regressions")
@json_option
@pass_ctx
def check_regressions_cmd(ctx: Context, as_json: bool) -> None:
    """Exit 1 when an agent's current version is significantly worse than the one before.

    For a scheduled job. It never rolls back by itself; it prints the command. Exit 4 when no
    agent has enough feedback on its current and previous versions to judge."""
    from gitimprove.metrics import MIN_RUNS, check_regressions

    check = check_regressions(ctx.repo)
    found = check.regressions
    if as_json:
        emit_json({"regressions": [r.to_json() for r in found],
                   "agents": [j.to_json() for j in check.agents],
                   "nothing_judged": check.nothing_judged})
    else:
        for j in check.agents:
            if j.verdict == "first version":
                why = "first version, nothing to compare with"
            elif j.verdict == "too little feedback":
                why = (f"too little feedback to judge ({j.runs} vs {j.previous_runs} runs; "
                       f"{MIN_RUNS} a side needed)")
            elif j.judged:
                why = f"{j.verdict} ({j.previous_runs} vs {j.runs} runs)"
            else:
                why = {"no feedback": "no feedback on it or the version before",
                       "unreadable": "its file or history cannot be read"}.get(j.verdict, j.verdict)
            click.echo(f"{j.agent} {j.version or ''}: {why}".replace(" :", ":"))
        if check.nothing_judged:
            click.echo("Nothing to judge: no agent has enough feedback on its current and "
                       "previous version. This is not a pass.")
        elif not found:
            click.echo("No regressions: no agent's current version is significantly worse "
                       "than the one before.")
    for r in found if not as_json else []:
        neg = next((c for c in r.figures.comparisons if c.verdict == "worse"), None)
        what = (f"{neg.metric.replace('_', ' ')} {neg.old.value:.0%} -> {neg.new.value:.0%} "
                f"(p={neg.p_worse:.3f}, {neg.old.n} vs {neg.new.n} runs)") if neg else ""
        prev = r.figures.previous.label if r.figures.previous else "?"
        click.echo(f"{r.agent}: {r.figures.version.label} is worse than {prev}: {what}")
        click.echo(f"  to undo: {r.rollback}")
    if found:
        sys.exit(1)
    if check.nothing_judged:
        sys.exit(EXIT_NOTHING_JUDGED)


COMMANDS.append(check_regressions_cmd)
