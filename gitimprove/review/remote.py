"""Pushing proposals to a remote, so that teams can review them as pull requests.

A proposal is pushed as its branch (``refs/heads/improve/<agent>/<id>``); the records
(``refs/gitimprove/*``: rejections, evaluations, trials) go with ``--all``. Before pushing
everything, the remote's records are fetched: a proposal the remote has rejected is never
pushed back (its branch there is deleted instead). Git does not fetch ``refs/gitimprove/*``
by default; ``gitimprove fetch`` brings everything (docs/safety.md gives the refspecs).
"""

from __future__ import annotations

from gitimprove import ledger
from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitCommandError, GitImproveError
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.proposals.build import Outcome, Plan, propose_each
from gitimprove.proposals.proposers.base import Proposer
from gitimprove.review.actions import find_proposal
from gitimprove.review.hooks import DUPLICATE
from gitimprove.review.sync import (
    FETCH_HINT,
    PROPOSALS_REFSPEC,
    RECORDS_REFSPEC,
    check_remote,
    fetch,
    shared_ledger,
)

AUDIT_REFSPEC = RECORDS_REFSPEC
__all__ = [
    "AUDIT_REFSPEC",
    "FETCH_HINT",
    "PROPOSALS_REFSPEC",
    "Pushed",
    "check_remote",
    "propose_and_push",
    "push",
    "push_all",
    "push_proposal",
]


@dataclass
class Pushed:
    remote: str
    refspecs: list[str]
    output: str
    withheld: list[str] = field(default_factory=list)


def push(repo: InstructionRepo, refspecs: list[str], *, remote: str = "origin",
         deletions: dict[str, str] | None = None) -> Pushed:
    """``git push REMOTE REFSPEC...`` (never forced: a proposal branch on the remote that
    differs is someone else's work). ``deletions`` (ref -> the commit it must still point at)
    are deleted only if nobody moved them meanwhile."""
    check_remote(repo, remote)
    leases = [f"--force-with-lease={ref}:{old}" for ref, old in (deletions or {}).items()]
    specs = refspecs + [f":{ref}" for ref in deletions or {}]
    try:
        out = repo.git.run("push", "--porcelain", *leases, remote, *specs) if specs else ""
    except GitCommandError as exc:
        said = _remote_said(exc.stderr)
        if not said:
            raise
        raise RemoteRefusal(remote, said) from None
    return Pushed(remote, refspecs, out)


def _first_there(repo: InstructionRepo, remote: str, ref: str, plan: Plan,
                 exc: GitImproveError) -> str | None:
    """Why a new proposal's push failed, when it is because another clone proposed first:
    the same change under the same id (the remote's branch is another commit), or other
    changes citing the same feedback (the remote's pre-receive says so). Else None."""
    if isinstance(exc, RemoteRefusal):
        said = next((line for line in exc.said if DUPLICATE in line), None)
        return said.removeprefix("error:").strip() if said else None
    try:
        listed = repo.git.run("ls-remote", remote, ref).split()
    except GitImproveError:
        return None
    if listed and listed[0] != str(plan.commit):
        return f"the remote has proposal {plan.id} already (the same change, made there first)"
    return None


class RemoteRefusal(GitImproveError):
    """The remote's hooks refused a push; ``said`` holds their lines (its own hint last)."""

    def __init__(self, remote: str, said: list[str]) -> None:
        self.remote, self.said = remote, said
        reason = [line.removeprefix("error:").strip() for line in said
                  if not line.startswith("hint:")]
        hint = next((line.removeprefix("hint:").strip() for line in said
                     if line.startswith("hint:")), None)
        super().__init__(f"{remote} refused the push: {' '.join(reason)}", hint=hint)


def _remote_said(stderr: str) -> list[str]:
    """What the remote's hooks printed (git shows it as ``remote: ...`` lines)."""
    return [text for line in stderr.splitlines()
            if line.startswith("remote:") and (text := line.removeprefix("remote:").strip())]


def push_proposal(repo: InstructionRepo, proposal: str | None, *, remote: str = "origin") -> Pushed:
    """Push one open proposal's branch."""
    if proposal is None:
        raise GitImproveError("name a proposal, or pass --all", hint="see `gitimprove proposals`")
    check_remote(repo, remote)
    info = find_proposal(repo, proposal, include_closed=False)
    if info.ref is None:
        raise GitImproveError(f"proposal {info.id} has no branch to push")
    return push(repo, [f"{info.ref}:{info.ref}"], remote=remote)


def push_all(repo: InstructionRepo, *, remote: str = "origin") -> Pushed:
    """Push every open proposal's branch and every record, after reading the remote's records:
    a proposal closed there (or here) is not pushed, and its branch on the remote is deleted."""
    check_remote(repo, remote)
    fetch(repo, remote, proposals=False)
    book = ledger.scan(repo.git, repo.main_ref)
    there = {line.split("\t", 1)[1] for line in repo.git.run(
        "ls-remote", "--refs", remote, f"{ledger.BRANCH_PREFIX}*").splitlines() if "\t" in line}
    specs: list[str] = []
    deletions: dict[str, str] = {}
    withheld: list[str] = []
    summaries = sorted(book.summaries(), key=lambda s: s.id)
    # NOTE: built only where the branch tip a rejection closed is needed (the deletion's lease)
    rejected = {p.key: p for p in book.select(
        s.key for s in summaries if s.state == ledger.ProposalState.REJECTED)}
    for s in summaries:
        branch = f"{ledger.BRANCH_PREFIX}{s.agent}/{s.id}"
        if s.state == ledger.ProposalState.OPEN and s.ref is not None:
            specs.append(f"{s.ref}:{s.ref}")
        elif (p := rejected.get(s.key)) is not None:
            if branch in there and p.tip is not None:
                deletions[branch] = str(p.tip)
            if repo.git.read_ref(branch) is not None:
                withheld.append(branch)
    specs.append(RECORDS_REFSPEC)
    pushed = push(repo, specs, remote=remote, deletions=deletions)
    pushed.withheld = withheld
    return pushed


def propose_and_push(repo: InstructionRepo, agents: list[str], proposer: Proposer, *,
                     dry_run: bool = False, remote: str | None = None,
                     offline: bool = False) -> list[Outcome]:
    """:func:`~gitimprove.proposals.build.propose_each`, after reading the remote's records
    (``remote``, else the configured one; ``offline`` skips that), pushing each new branch to
    ``remote`` when one is named (checked before anything is created).

    The remote is the shared truth: its records and open proposal branches are fetched first
    (as ``gitimprove fetch`` does) and its main's approvals count, so a clone that has not
    fetched neither duplicates a proposal open or approved there nor repeats a rejected rule.
    An unreachable remote refuses before anything is written."""
    if remote is not None:
        check_remote(repo, remote)
    shared = shared_ledger(repo, offline=offline, remote=remote, proposals=True)
    if remote is None or dry_run:
        return propose_each(repo, agents, proposer, dry_run=dry_run, shared=shared)

    def publish(plan: Plan) -> str:
        ref = plan.branch
        try:
            push(repo, [f"{ref}:{ref}"], remote=remote)
        except GitImproveError as exc:
            first = _first_there(repo, remote, ref, plan, exc)
            if first is None or plan.commit is None:
                raise
            # Another clone proposed first; keep no copy that a later `push --all` would
            # offer again. Deleted only if the branch is still where propose made it.
            repo.git.delete_ref(ref, plan.commit, "gitimprove: the remote has it already")
            raise GitImproveError(f"another clone proposed for this feedback first: {first}; "
                                  f"the local branch {ref.removeprefix('refs/heads/')} was removed",
                                  hint="run `gitimprove fetch`, then `gitimprove proposals`") from None
        return remote

    return propose_each(repo, agents, proposer, publish=publish, shared=shared)
