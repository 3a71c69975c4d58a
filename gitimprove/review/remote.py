"""Pushing proposals to a remote, so that teams can review them as pull requests.

A proposal is pushed as its branch (``refs/heads/improve/<agent>/<id>``); the audit trail of
the tool's own (``refs/gitimprove/*``: rejection and evaluation records) goes with ``--all``.
Git does not fetch ``refs/gitimprove/*`` by default; see docs/safety.md for the refspec.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitimprove.errors import GitImproveError
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.proposals.build import BRANCH_PREFIX
from gitimprove.review.actions import find_proposal

AUDIT_REFSPEC = "refs/gitimprove/*:refs/gitimprove/*"
PROPOSALS_REFSPEC = f"{BRANCH_PREFIX}*:{BRANCH_PREFIX}*"


@dataclass
class Pushed:
    remote: str
    refspecs: list[str]
    output: str


def refspecs_for(repo: InstructionRepo, proposal: str | None, *, everything: bool) -> list[str]:
    """The refspecs to push: one proposal's branch, or every proposal and the audit refs."""
    if everything:
        return [PROPOSALS_REFSPEC, AUDIT_REFSPEC]
    if proposal is None:
        raise GitImproveError("name a proposal, or pass --all", hint="see `gitimprove proposals`")
    info = find_proposal(repo, proposal, include_closed=False)
    if info.ref is None:
        raise GitImproveError(f"proposal {info.id} has no branch to push")
    return [f"{info.ref}:{info.ref}"]


def check_remote(repo: InstructionRepo, remote: str) -> None:
    """Refuse a remote that is neither configured nor a path or URL."""
    if remote.startswith("-"):
        raise GitImproveError(f"not a remote: {remote!r}")
    remotes = repo.git.run("remote").split()
    if remote not in remotes and "/" not in remote and ":" not in remote:
        raise GitImproveError(f"no remote named {remote!r}",
                              hint=f"remotes: {', '.join(remotes) or 'none'}; add one with "
                                   "`git remote add origin URL`")


def push(repo: InstructionRepo, refspecs: list[str], *, remote: str = "origin") -> Pushed:
    """``git push REMOTE REFSPEC...`` (never forced: a proposal branch on the remote that
    differs is someone else's work)."""
    check_remote(repo, remote)
    out = repo.git.run("push", "--porcelain", remote, *refspecs)
    return Pushed(remote, refspecs, out)
