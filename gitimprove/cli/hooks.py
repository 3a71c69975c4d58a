"""Commands for plain git and hosted remotes: hooks install/uninstall, the hidden hook entry
point git calls, and push."""

from __future__ import annotations

import sys

import click

from gitimprove.cli.context import Context, echo, emit_json, json_option, pass_ctx
from gitimprove.cli.output import for_people


@click.group("hooks")
def hooks_group() -> None:
    """Git hooks that run the validator when proposals are merged with plain git."""


@hooks_group.command("install")
@click.option("--bare", "bare", flag_value=True, default=None,
              help="Install the server-side pre-receive hook (default for a bare repository).")
@click.option("--force", is_flag=True, help="Replace hooks that are not gitimprove's.")
@click.option("--chain", is_flag=True, help="Keep existing hooks as NAME.local, run before ours.")
@pass_ctx
@for_people
def hooks_install_cmd(ctx: Context, bare: bool | None, force: bool, chain: bool) -> None:
    """Install pre-merge-commit + reference-transaction (checkout) or pre-receive (--bare)."""
    from gitimprove.review.hooks import install

    for item in install(ctx.repo, bare=bare, force=force, chain=chain):
        extra = f" (kept the previous hook as {item.chained.name})" if item.chained else (
            " (replaced a previous hook)" if item.replaced else "")
        echo(f"installed {item.path}{extra}")
    echo("What these hooks cover and what they do not: `gitimprove docs safety`")


@hooks_group.command("uninstall")
@pass_ctx
@for_people
def hooks_uninstall_cmd(ctx: Context) -> None:
    """Remove gitimprove's hooks (a chained hook is put back)."""
    from gitimprove.review.hooks import uninstall

    removed = uninstall(ctx.repo)
    for path in removed:
        echo(f"removed {path}")
    if not removed:
        echo("no gitimprove hooks installed")


@click.command("hook", hidden=True)
@click.argument("name", type=click.Choice(["pre-merge-commit", "reference-transaction", "pre-receive"]))
@click.argument("args", nargs=-1)
@pass_ctx
def hook_cmd(ctx: Context, name: str, args: tuple[str, ...]) -> None:
    """Entry point for the installed hooks (git calls this; exit 1 refuses)."""
    import gitimprove.review.hooks as hooks

    ctx.recover_first = False  # git holds the index while its hooks run
    repo = ctx.repo
    if name == "pre-merge-commit":
        hooks.run_pre_merge_commit(repo)
        return
    lines = sys.stdin.read().splitlines()
    if name == "reference-transaction":
        hooks.run_reference_transaction(repo, args[0] if args else "", lines)
    else:
        hooks.run_pre_receive(repo, lines)


@click.command("push")
@click.argument("proposal", required=False)
@click.option("--all", "everything", is_flag=True,
              help="Every open proposal branch and the records (refs/gitimprove/*).")
@click.option("--remote", default="origin", show_default=True)
@json_option
@pass_ctx
def push_cmd(ctx: Context, proposal: str | None, everything: bool, remote: str,
             as_json: bool) -> None:
    """Push a proposal branch (or all of them) for review as a pull request."""
    from gitimprove.review.remote import FETCH_HINT, push_all, push_proposal

    pushed = push_all(ctx.repo, remote=remote) if everything else \
        push_proposal(ctx.repo, proposal, remote=remote)
    if as_json:
        emit_json({"remote": pushed.remote, "refspecs": pushed.refspecs,
                   "withheld": pushed.withheld})
        return
    echo(f"pushed to {pushed.remote}: {' '.join(pushed.refspecs)}")
    for branch in pushed.withheld:
        echo(f"  not pushed: {branch.removeprefix('refs/heads/')} (rejected)")
    echo("  others fetch the audit refs with: "
               f"git fetch {pushed.remote} 'refs/gitimprove/*:refs/gitimprove/*'")
    echo(f"  and everything (proposals, records, evaluations, trials) with: "
               f"{FETCH_HINT.replace('REMOTE', pushed.remote)}")


@click.command("fetch")
@click.option("--remote", metavar="NAME", help="The remote (default: main's upstream, else origin).")
@json_option
@pass_ctx
def fetch_cmd(ctx: Context, remote: str | None, as_json: bool) -> int:
    """Bring every proposal, record, evaluation and trial from the remote."""
    from gitimprove.review.sync import RemoteError, default_remote, fetch

    remote = remote or default_remote(ctx.repo)
    if remote is None:
        raise RemoteError("no remote to fetch from", hint="pass --remote NAME, or add one with "
                                                          "`git remote add origin URL`")
    got = fetch(ctx.repo, remote)
    if as_json:
        emit_json({"remote": got.remote, "main": got.main, "kept": got.kept})
        return 0
    echo(f"fetched proposals and records from {got.remote}"
               + (f"; its {ctx.repo.branch} is {got.main}" if got.main else ""))
    for ref in got.kept:
        echo(f"  kept yours: {ref.removeprefix('refs/heads/')} (differs from {got.remote}'s, "
                   "or is checked out)")
    return 0


COMMANDS: list[click.Command] = [hooks_group, hook_cmd, push_cmd, fetch_cmd]
