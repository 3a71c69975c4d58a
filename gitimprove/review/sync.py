"""A remote, when one is configured, is the shared truth: reading its records before a decision.

Records (``refs/gitimprove/*``: rejections, and the evaluation and trial records) are written
once and never moved, so they are fetched without force into the same names; main is fetched
into its remote-tracking branch. Proposal branches are fetched without force too: a local
branch a reviewer has added commits to is kept, and said so.
"""

from __future__ import annotations

from gitimprove import ledger
from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitCommandError, GitImproveError
from gitimprove.git import file_lock, worktrees
from gitimprove.instructions.repo import InstructionRepo

RECORDS_REFSPEC = f"{ledger.RECORDS_PREFIX}*:{ledger.RECORDS_PREFIX}*"
PROPOSALS_REFSPEC = f"{ledger.BRANCH_PREFIX}*:{ledger.BRANCH_PREFIX}*"
FETCH_HINT = (f"gitimprove fetch (or: git fetch REMOTE '{PROPOSALS_REFSPEC}' "
              f"'{RECORDS_REFSPEC}')")


class RemoteError(GitImproveError):
    """The remote's records could not be read or brought in."""


def remotes(repo: InstructionRepo) -> list[str]:
    return repo.git.run("remote").split()


def default_remote(repo: InstructionRepo) -> str | None:
    """The remote records are shared through: main's upstream, else ``origin``, else the only
    remote; None when no remote is configured."""
    names = remotes(repo)
    if not names:
        return None
    upstream = repo.git.run("config", "--get", f"branch.{repo.branch}.remote", check=False).strip()
    if upstream in names:
        return upstream
    if "origin" in names:
        return "origin"
    return names[0] if len(names) == 1 else None


def check_remote(repo: InstructionRepo, remote: str) -> None:
    """Refuse a remote that is neither configured nor a path or URL."""
    if remote.startswith("-"):
        raise RemoteError(f"not a remote: {remote!r}")
    names = remotes(repo)
    if remote not in names and "/" not in remote and ":" not in remote:
        raise RemoteError(f"no remote named {remote!r}",
                          hint=f"remotes: {', '.join(names) or 'none'}; add one with "
                               "`git remote add origin URL`")


@dataclass
class Fetched:
    """What a fetch brought, and the refs it could not update (kept as they are here)."""

    remote: str
    main: str | None
    kept: list[str] = field(default_factory=list)


def remote_main(repo: InstructionRepo, remote: str) -> str:
    return f"refs/remotes/{remote}/{repo.branch}"


def fetch(repo: InstructionRepo, remote: str, *, proposals: bool = True) -> Fetched:
    """Bring the remote's records and its main (as ``refs/remotes/REMOTE/MAIN``), then, with
    ``proposals``, its proposal branches, except those this clone's ledger (with the records
    just fetched) or the remote's main knows are closed, and those checked out here. Never forced: a local ref
    that differs is kept and listed in :attr:`Fetched.kept`.

    Two gitimprove commands in one clone (an approve and a propose) fetch in turn, so they
    do not meet on git's ref locks."""
    check_remote(repo, remote)
    with file_lock(repo.git.state_dir / "locks" / "fetch.lock"):
        return _fetch_all(repo, remote, proposals)


def _fetch_all(repo: InstructionRepo, remote: str, proposals: bool) -> Fetched:
    main = remote_main(repo, remote)
    try:
        kept = _fetch(repo, remote, [RECORDS_REFSPEC, f"+refs/heads/{repo.branch}:{main}"])
    except _NoSuchRef:  # a new remote main was not pushed to yet: its records, if any
        kept = _fetch(repo, remote, [RECORDS_REFSPEC])
    if proposals:
        # Closed by this clone's records and main, or by the remote's main (ahead of ours
        # until a pull): an approved proposal's branch left on the remote is not brought.
        books = [ledger.scan(repo.git, ref) for ref in (repo.main_ref, main)
                 if repo.git.read_ref(ref) is not None]
        closed = {f"{ledger.BRANCH_PREFIX}{s.agent}/{s.id}" for book in books
                  for s in book.summaries() if s.state != ledger.ProposalState.OPEN}
        busy = {w.branch for w in worktrees(repo.git) if w.branch}
        listed = repo.git.run("ls-remote", "--refs", remote, f"{ledger.BRANCH_PREFIX}*")
        refs = [line.split("\t", 1)[1] for line in listed.splitlines() if "\t" in line]
        kept += sorted(r for r in refs if r in busy)
        wanted = [f"{r}:{r}" for r in refs if r not in closed and r not in busy]
        if wanted:
            kept += _fetch(repo, remote, wanted)
    return Fetched(remote, main if repo.git.read_ref(main) else None, kept)


class _NoSuchRef(RemoteError):
    """The remote has no ref a refspec names (git: "couldn't find remote ref")."""


def _fetch(repo: InstructionRepo, remote: str, specs: list[str]) -> list[str]:
    try:
        repo.git.run("fetch", "--no-write-fetch-head", remote, *specs)
    except GitCommandError as exc:
        kept = _rejected(exc.stderr)
        if not kept:
            lines = exc.stderr.strip().splitlines() or [str(exc)]
            why = next((line for line in lines if line.startswith(("fatal:", "error:"))),
                       lines[-1])
            kind = _NoSuchRef if "couldn't find remote ref" in why else RemoteError
            raise kind(f"cannot fetch from {remote}: {why}",
                       hint="check the remote (git remote -v) and the network") from None
        return kept
    return []


def _rejected(stderr: str) -> list[str]:
    """The local refs git refused to update (``! [rejected] ... -> REF``)."""
    out = []
    for line in stderr.splitlines():
        if line.lstrip().startswith("!") and "->" in line:
            out.append(line.split("->", 1)[1].split("(", 1)[0].strip())
    return out


def shared_ledger(repo: InstructionRepo, *, offline: bool = False, remote: str | None = None,
                  proposals: bool = False) -> ledger.Ledger | None:
    """The remote's view, read before a decision when a remote is configured (``remote``, else
    :func:`default_remote`): its records are fetched (so this clone's scan sees them), with
    ``proposals`` its open proposal branches too (as :func:`fetch`), and the ledger of its main
    returned. None when there is no remote, or with ``offline``. An unreachable remote raises
    :class:`RemoteError` (``--offline`` decides from this clone's records alone)."""
    remote = None if offline else remote or default_remote(repo)
    if remote is None:
        return None
    try:
        got = fetch(repo, remote, proposals=proposals)
    except RemoteError as exc:
        raise RemoteError(exc.message, hint="check the network, or pass --offline to decide from "
                                            "this clone's records alone") from None
    if got.main is None:
        return None
    return ledger.scan(repo.git, got.main)
