"""Human review: approval is a merge, rejection is a ref, rollback is a revert.

Every change to main goes through :func:`land`: build a commit from the current tip, check
the checkouts of main, move main by compare-and-swap (rebuilding from the new tip if another
process moved it first), then bring clean checkouts of main up to date.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gitimprove import ledger
from gitimprove.dataclass import dataclass
from gitimprove.errors import GitImproveError, InvalidFileError, RefRaceError, crash_point
from gitimprove.git import (
    FALLBACK_COMMITTER,
    Identity,
    Oid,
    diff_trees,
    lock_holder,
    merge_tree,
    read_changes,
    replace_path,
    run_in,
    worktrees,
)
from gitimprove.instructions.policy import Policy
from gitimprove.instructions.repo import AgentAt, InstructionRepo
from gitimprove.ledger import Proposal, ProposalState
from gitimprove.review.checkout import landing_lock, recover, update_checkouts, write_journal
from gitimprove.review.sync import FETCH_HINT, default_remote, shared_ledger
from gitimprove.text import shorten
from gitimprove.validate import Violation, check_change

SUBJECT_WIDTH = 72  # an approval merge's subject, as git's own messages are wrapped

if TYPE_CHECKING:
    from gitimprove.evaluation.check import EvaluationStatus

MAX_ATTEMPTS = 5
VALIDATED_ENV = {"GITIMPROVE_VALIDATED": "1"}


class ReviewError(GitImproveError):
    """A review action that cannot go ahead (conflict, dirty checkout, unknown proposal)."""


class ValidationFailed(GitImproveError):
    def __init__(self, what: str, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"{what} refused by the validator:\n{lines}",
                         hint="nothing was changed; fix the proposal or reject it")


class EvaluationRequired(ReviewError):
    """The target's policy asks for a passing evaluation of the exact trees being merged."""

    def __init__(self, proposal: str, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v.message}" for v in violations)
        # NOTE: a missing or stale evaluation's own line says to run evaluate: said once
        named = all("`gitimprove evaluate" in v.message for v in violations)
        run = "evaluating needs ANTHROPIC_API_KEY" if named else \
            f"`gitimprove evaluate {proposal}` records a scorecard (needs ANTHROPIC_API_KEY)"
        super().__init__(f"approval of {proposal} refused by the policy's evaluation gate:\n{lines}",
                         hint=f"nothing was changed; {run}, or reject the proposal")


def _identity(repo: InstructionRepo, by: str | None) -> Identity:
    if by is not None:
        try:
            who = Identity.parse(by)
        except ValueError as exc:
            raise ReviewError(str(exc), hint='pass --by "Name <email>"') from None
    else:
        who = repo.git.user_identity() or FALLBACK_COMMITTER
    if ledger.is_model_email(who.email):
        # NOTE: an approval is a merge *not* authored by a model; under a model's address
        # it would be no approval at all, and the proposal would read as landed unapproved.
        raise ReviewError(f"{who} is a model's identity (…{ledger.MODEL_EMAIL_SUFFIX}): a "
                          "person's decision cannot be recorded under it",
                          hint='pass --by "Name <email>", or set git config user.email')
    return who


identity_for = _identity  # who acts: ``--by`` or git's user identity


# -- finding proposals ------------------------------------------------------------------------

def list_proposals(repo: InstructionRepo, *, include_closed: bool = False,
                   agent: str | None = None) -> list[Proposal]:
    """Open proposals (and with ``include_closed`` approved, rejected and rolled back ones),
    of ``agent`` when given: only those are built (:meth:`ledger.Ledger.select`)."""
    book = ledger.scan(repo.git, repo.main_ref)
    return book.select(s.key for s in _chosen(book, include_closed, agent))


def open_keys(repo: InstructionRepo) -> list[str]:
    """The open proposals' keys (``agent/id``), sorted; read from the summaries alone."""
    return sorted(s.key for s in _chosen(ledger.scan(repo.git, repo.main_ref), False, None))


def _chosen(book: ledger.Ledger, include_closed: bool, agent: str | None) -> list[ledger.Summary]:
    return [s for s in book.summaries() if (include_closed or s.state == ProposalState.OPEN)
            and (agent is None or s.agent == agent)]


def find_proposal(repo: InstructionRepo, spec: str, *, include_closed: bool = True) -> Proposal:
    """A proposal by id (``20261123-ab12cd``), branch (``improve/agent/id``) or ref. It is
    looked for among the proposals' summaries: only the one found is built."""
    spec = spec.removeprefix("refs/heads/").removeprefix("improve/")
    found = open_by_branch(repo, spec)
    if found is not None:
        return found
    book = ledger.scan(repo.git, repo.main_ref)
    candidates = _chosen(book, include_closed, None)
    named = [s.key for s in candidates if spec in (s.id, s.key)]
    if len(named) > 1:  # two agents' proposals share the id (improve/a/X and improve/b/X)
        raise ReviewError(f"{ledger.one_line(spec, 80)!r} is the id of {len(named)} proposals: "
                          f"{', '.join(sorted(named))}", hint="give AGENT/ID")
    if not named:
        named = sorted(s.key for s in candidates if (s.branch or "").endswith(spec))
        if len(named) > 1:
            raise ReviewError(f"{ledger.one_line(spec, 80)!r} ends {len(named)} proposals' "
                              f"branches: {_shown(named)}", hint="give the whole branch")
    agent, _, rest = spec.rpartition("/")  # AGENT/PREFIX: a prefix among one agent's proposals
    started = named or [s.key for s in candidates if by_prefix(spec, [s.id])
                        or (agent and s.key.rpartition("/")[0] == agent and by_prefix(rest, [s.id]))]
    if len(started) > 1:
        raise ReviewError(f"{ledger.one_line(spec, 80)!r} starts {len(started)} proposals: "
                          f"{_shown(started)}", hint="give more of the id")
    info = book.proposal(started[0]) if started else None
    if info is not None:
        return info
    open_ids = _shown([s.key for s in candidates if s.state == ProposalState.OPEN]) or "none"
    raise ReviewError(f"no proposal {ledger.one_line(spec, 80)!r}",
                      hint=f"open proposals: {open_ids} (see `gitimprove proposals`)")


def _shown(keys: Sequence[str]) -> str:
    """Proposals named by their ids, or by ``agent/id`` where two of them share an id."""
    ids = sorted({k.partition("/")[2] for k in keys})
    return ", ".join(ids if len(ids) == len(keys) else sorted(keys))


def by_prefix(spec: str, ids: Sequence[str]) -> list[str]:
    """The ids (``20261123-ab12cd``) that start with ``spec``, or whose hash part
    (``ab12cd``) does; at least four characters, like git's short ids."""
    if len(spec) < 4 or "/" in spec:
        return []
    return [i for i in ids if i.startswith(spec) or i.partition("-")[2].startswith(spec)]


def open_by_branch(repo: InstructionRepo, spec: str) -> Proposal | None:
    """An open proposal found straight from its branch name, without listing every proposal
    (from git alone: nothing kept on disk is read, so the hooks use it too).

    NOTE: with a thousand branches, listing them all (and the history of main) dominates
    approve; the full listing stays the fallback for ids that name no single open branch."""
    if not spec or any(c in spec for c in "*?[\\") or spec.startswith("-"):
        return None
    pattern = f"{ledger.BRANCH_PREFIX}{spec}" if "/" in spec else f"{ledger.BRANCH_PREFIX}*/{spec}"
    refs = repo.git.match_refs(pattern)
    if len(refs) != 1:
        return None
    info = ledger.branch_proposal(repo.git, repo.main_ref, refs[0][0])
    return info if info is not None and spec in (info.id, f"{info.agent}/{info.id}") else None


# -- validation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MergeCheck:
    """The merge of a change into a target, and the validator's judgement of it."""

    tree: Oid | None
    paths: list[str]
    violations: list[Violation]


def check_merge(repo: InstructionRepo, base: Oid, head: Oid, *, scope: bool = True) -> MergeCheck:
    """What merging ``head`` into ``base`` would change, judged by ``base``'s policy."""
    try:
        policy = repo.policy_at(base)
    except InvalidFileError as exc:
        return MergeCheck(None, [], [Violation(
            "policy-unreadable", f"the target's policy does not parse: {exc.problems[0]}")])
    tree, conflicts = merge_tree(repo.git, base, head)
    if conflicts:
        return MergeCheck(None, conflicts, [
            Violation("conflict", f"does not merge cleanly: conflict in {path}", path=path)
            for path in conflicts])
    return check_trees(repo, base, tree, policy, scope=scope)


def validate_merge(repo: InstructionRepo, base: Oid, head: Oid, *,
                   scope: bool = True) -> tuple[Oid | None, list[Violation]]:
    """:func:`check_merge` as (merged tree or None, violations)."""
    check = check_merge(repo, base, head, scope=scope)
    return check.tree, check.violations


@dataclass(frozen=True)
class Verdict:
    """The validator's judgement of an open proposal against main's tip."""

    against: Oid
    violations: list[Violation]
    stale: bool
    merges_cleanly: bool

    @property
    def passed(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, object]:
        return {"verdict": "pass" if self.passed else "fail", "stale": self.stale,
                "merges_cleanly": self.merges_cleanly,
                "violations": [v.to_json() for v in self.violations]}


def judge(repo: InstructionRepo, info: Proposal, target: Oid | None = None, *,
          book: ledger.Ledger | None = None) -> Verdict:
    """What approving ``info`` into ``target`` (main's tip by default) would be judged: the
    whole branch merged, plus a record a model may not have written (read from ``book``, the
    scan that found ``info``, when it was of the same tip)."""
    tip = target or repo.main_tip()
    try:
        violations = _judged(repo, tip, info.head, book)
    except GitImproveError as exc:  # fails closed, like the validator itself
        violations = [Violation("error", exc.message)]
    forged = [Violation("forged-record", f"forged record on the proposal commit: {problem}")
              for problem in info.problems]
    riding = ledger.riders_in(book, info.head, info.commit.oid) \
        if book is not None and book.main == tip else \
        ledger.riders(repo.git, tip, info.head, info.commit.oid)
    forged += [Violation("forged-record", problem) for problem in riding]
    return Verdict(tip, forged + violations, info.base_commit != tip,
                   not any(v.code == "conflict" for v in violations))


def _judged(repo: InstructionRepo, tip: Oid, head: Oid, book: ledger.Ledger | None
            ) -> list[Violation]:
    """:func:`check_merge`'s violations, without the merge where :func:`_brought` can tell
    what it brings."""
    brought = _brought(repo, book, tip, head) if book is not None else None
    if brought is not None:
        try:
            return _check_changes(repo, brought, repo.policy_at(tip))
        except InvalidFileError:
            pass  # the target's policy does not parse: check_merge says so
    return check_merge(repo, tip, head).violations


def _brought(repo: InstructionRepo, book: ledger.Ledger, tip: Oid,
             head: Oid) -> list[tuple[str, Oid | None, Oid | None]] | None:
    """What merging ``head`` into main's ``tip`` changes, without a merge when it is plain:
    the branch a line of commits beyond main (read by the scan ``book`` of this tip) from a
    commit of main, whose files main has not touched since. Then the merge is clean and brings
    the branch's own changes, which git reads from the object store alone (a listing of a
    hundred open proposals runs no ``merge-tree`` for any of them). None: let git merge."""
    if book.main != tip:
        return None
    fork = head
    while (c := book.commits.get(fork)) is not None:
        if len(c.parents) != 1:
            return None  # a merge on the branch, or a root: git's merge decides
        fork = c.parents[0]
    if fork == head:
        return None
    ours = _main_changes(repo, fork, tip)
    theirs = read_changes(repo.git, fork, head)
    if ours is None or theirs is None:
        return None
    # NOTE: a side that removes a file while the other adds one may be a rename, which git's
    # merge follows (a file added in a folder the other side renamed moves with it)
    adds = [any(a is None for _, a, _ in side) for side in (ours, theirs)]
    drops = [any(b is None for _, _, b in side) for side in (ours, theirs)]
    if (drops[0] and adds[1]) or (adds[0] and drops[1]):
        return None
    touched = {path for path, _, _ in ours}
    folders = {path[:i] for path in touched for i, ch in enumerate(path) if ch == "/"}
    for path, _, _ in theirs:
        if path in touched or path in folders or \
                any(path[:i] in touched for i, ch in enumerate(path) if ch == "/"):
            return None
    return theirs


# What main changed since a fork, by (fork, tip): most open proposals share a few forks. Keyed
# by object ids alone, so right in any repository that has the objects.
_SINCE: dict[tuple[Oid, Oid], list[tuple[str, Oid | None, Oid | None]] | None] = {}


def _main_changes(repo: InstructionRepo, fork: Oid, tip: Oid
                  ) -> list[tuple[str, Oid | None, Oid | None]] | None:
    if fork == tip:
        return []
    if (fork, tip) not in _SINCE:
        if len(_SINCE) >= 64:
            _SINCE.clear()
        _SINCE[fork, tip] = read_changes(repo.git, fork, tip)
    return _SINCE[fork, tip]


def check_trees(repo: InstructionRepo, base: Oid, tree: Oid, policy: Policy, *,
                scope: bool = True, repair: bool = False) -> MergeCheck:
    """Judge replacing ``base``'s tree by ``tree``. ``scope=False`` skips the scope limits
    (a rollback restores text a human approved before) but keeps every safety rule."""
    # NOTE: from the object store (no process) where it can; diff-tree takes a commit too
    changes = read_changes(repo.git, base, tree)
    if changes is None:
        changes = diff_trees(repo.git, base, tree)
    return MergeCheck(tree, [path for path, _, _ in changes],
                      _check_changes(repo, changes, policy, scope=scope, repair=repair))


def _check_changes(repo: InstructionRepo, changes: list[tuple[str, Oid | None, Oid | None]],
                   policy: Policy, *, scope: bool = True, repair: bool = False) -> list[Violation]:
    old: dict[str, bytes | None] = {}
    new: dict[str, bytes | None] = {}
    for path, a, b in changes:
        old[path] = _blob(repo, a)
        new[path] = _blob(repo, b)
    if not scope:
        policy = policy.model_copy(update={"limits": policy.limits.model_copy(update={
            "allow_remove_rules": True, "max_added_chars": 10**9, "max_operations": 10**9})})
    return check_change(old, new, policy, repair=repair)


def validate_trees(repo: InstructionRepo, base: Oid, tree: Oid, policy: Policy, *,
                   scope: bool = True) -> list[Violation]:
    return check_trees(repo, base, tree, policy, scope=scope).violations


def _blob(repo: InstructionRepo, oid: Oid | None) -> bytes | None:
    if oid is None:
        return None
    got = repo.git.read_blob(oid)
    if got is None:
        raise ReviewError(f"blob {oid} is missing from the object store")
    return got[1]


# -- landing on main ----------------------------------------------------------------------------

Builder = Callable[[Oid], tuple[Oid, list[str]]]
RefUpdate = tuple[str, Oid | None, Oid | None]


def land(repo: InstructionRepo, build: Builder, reflog: str, *,
         also: Sequence[RefUpdate] = ()) -> tuple[Oid, Oid]:
    """Move main to ``build(tip)`` by compare-and-swap; returns (old tip, new commit).

    ``build`` returns the new commit and the paths it changes. Checkouts of main must have
    those paths clean (else nothing moves); afterwards they are brought up to date. ``also``
    are ref updates made in the same atomic transaction (the approved proposal's branch is
    deleted together with the merge landing)."""
    with landing_lock(repo.git):
        return _land(repo, build, reflog, also)


def _land(repo: InstructionRepo, build: Builder, reflog: str,
          also: Sequence[RefUpdate]) -> tuple[Oid, Oid]:
    recover(repo.git, locked=True)  # an earlier landing that was killed is finished first
    for _ in range(MAX_ATTEMPTS):
        tip = repo.main_tip()
        commit, paths = build(tip)
        checkouts = [w for w in worktrees(repo.git) if w.branch == repo.main_ref] \
            if not repo.git.is_bare else []
        for wt in checkouts:
            if wt.index_lock().exists():
                raise ReviewError(
                    f"the checkout at {wt.path} is locked ({wt.index_lock()} exists): "
                    f"{lock_holder(wt.index_lock())}; nothing was changed",
                    hint=f"wait for it to finish; if no git command is running, remove the file "
                         f"(rm '{wt.index_lock()}'), then run the command again")
            dirty = run_in(wt.path, "status", "--porcelain", "--untracked-files=all", "--", *paths)
            if dirty.strip():
                raise ReviewError(
                    f"{repo.branch} is checked out at {wt.path} with uncommitted changes to "
                    f"{', '.join(sorted({line[3:] for line in dirty.splitlines()}))}",
                    hint="commit or stash them, then run the command again; nothing was changed")
        # The journal says what to finish if this process dies once main has moved.
        journal = write_journal(repo.git, repo.main_ref, tip, commit, checkouts) if checkouts else None
        try:
            # NOTE: tells our reference-transaction hook this update was validated already.
            repo.git.update_refs([(repo.main_ref, commit, tip), *also], reflog, env=VALIDATED_ENV)
        except BaseException as exc:
            if journal is not None and repo.git.read_ref(repo.main_ref) != commit:
                journal.path.unlink(missing_ok=True)
            if not isinstance(exc, RefRaceError):
                raise
            if repo.main_tip() == tip:  # main did not move: one of `also` did
                raise ReviewError(
                    f"{', '.join(ref for ref, _, _ in also)} moved meanwhile; nothing was changed",
                    hint="look at the new commits, then run the command again") from None
            continue  # another process moved main: rebuild on its tip
        crash_point("after-main-moved")
        if journal is not None:
            update_checkouts(repo.git, journal)
        return tip, commit
    raise ReviewError(f"{repo.branch} kept moving; gave up after {MAX_ATTEMPTS} attempts",
                      hint="run the command again")


@dataclass
class Landed:
    commit: Oid
    previous: Oid
    proposal: Proposal | None
    message: str
    restores: str | None = None


def _not_open(info: Proposal) -> ReviewError:
    hint = None
    if info.state in (ProposalState.APPROVED, ProposalState.LANDED):
        merged = f"merged as {info.merge_commit.short}" if info.merge_commit else "on main"
        hint = (f"it is {merged} (`gitimprove history {info.agent}`); to undo it: "
                f"gitimprove rollback {info.id}")
    elif info.state in (ProposalState.REJECTED, ProposalState.ROLLED_BACK):
        hint = f"for a new proposal: gitimprove propose {info.agent}"
    return ReviewError(f"proposal {info.id} is {info.state.replace('_', ' ')}, not open", hint=hint)


def _forged(info: Proposal) -> ReviewError:
    return ReviewError(f"proposal {info.id} does not carry a valid proposal record: "
                       + "; ".join(info.problems),
                       hint="a model-authored commit may carry only the proposal trailers; "
                            "reject it")


def refuse_riders(repo: InstructionRepo, info: Proposal, tip: Oid) -> None:
    """Refuse a proposal whose branch brings other model-authored commits with a record of
    their own (forged, or another proposal's), as every hook would refuse the merge."""
    riding = ledger.riders(repo.git, tip, info.head, info.commit.oid)
    if riding:
        raise ReviewError(f"proposal {info.id}'s branch brings other model-authored commits: "
                          + "; ".join(riding),
                          hint="reject it; a model-authored commit may carry only its own "
                               "proposal's trailers")


def refuse_untrusted(repo: InstructionRepo, info: Proposal, tip: Oid) -> None:
    """Refuse a proposal that carries or brings a record a model may not write."""
    if info.problems:
        raise _forged(info)
    refuse_riders(repo, info, tip)


def _decided_elsewhere(repo: InstructionRepo, info: Proposal, shared: ledger.Ledger | None) -> None:
    """Refuse when the remote (the shared truth, when one is configured) has closed it."""
    there = next((s for s in shared.summaries() if s.id == info.id), None) \
        if shared is not None else None
    if there is not None and there.state != ProposalState.OPEN:
        raise ReviewError(f"proposal {info.id} is {there.state.replace('_', ' ')} on the remote "
                          f"({default_remote(repo)}), not open",
                          hint=f"bring this clone up to date: git pull, then {FETCH_HINT}")


def approve(repo: InstructionRepo, spec: str, *, by: str | None = None,
            note: str | None = None, offline: bool = False) -> Landed:
    """Merge a proposal into main (always a merge commit) after the validator passes.

    The proposal's branch is merged as it is: the model's commit and any commits reviewers
    added on top, judged as a whole (what the merge would really change on main). When a
    remote is configured its records are read first (``offline`` skips that): a proposal it
    has rejected or approved is not approved here."""
    shared = shared_ledger(repo, offline=offline)  # the remote's records, before looking
    info = find_proposal(repo, spec, include_closed=True)
    if info.state != ProposalState.OPEN:
        raise _not_open(info)
    _decided_elsewhere(repo, info, shared)
    if info.problems:
        raise _forged(info)
    approver = _identity(repo, by)
    message = _approval_message(repo, info, approver, note)
    head = info.head

    def build(tip: Oid) -> tuple[Oid, list[str]]:
        nonlocal message
        refuse_riders(repo, info, tip)
        check = check_merge(repo, tip, head)
        if check.violations or check.tree is None:
            if any(v.code == "conflict" for v in check.violations):
                raise ReviewError(
                    f"proposal {info.id} conflicts with {repo.branch}: "
                    + ", ".join(str(v.path) for v in check.violations),
                    hint=f"reject it and propose again from the current {repo.branch}")
            raise ValidationFailed(f"approval of {info.id}", check.violations)
        from gitimprove.evaluation.check import evaluation_status  # only where a merge is decided

        status = evaluation_status(repo, tip, head, proposal=info.id, agent=info.agent)
        if status.refused:
            raise EvaluationRequired(info.id, status.refused)
        if status.gate is not None and status.record is not None:
            # NOTE: the record the gate read and let through, by the id of a commit the
            # reader checked is a well-formed record gitimprove wrote: never model text.
            message = _approval_message(repo, info, approver, note, status.record.commit)
        commit = repo.git.commit_tree(check.tree, [tip, head], message, author=approver,
                                      committer=approver)
        return commit, check.paths

    from gitimprove.ledger.trials import stop_updates  # imported where a trial can end

    also: list[RefUpdate] = [(info.ref, None, head)] if info.ref else []
    also += stop_updates(repo.git, info.agent, info.id, "approved", approver)
    previous, commit = land(repo, build, f"gitimprove approve: {info.id}", also=also)
    return Landed(commit, previous, info, message)


def _approval_message(repo: InstructionRepo, info: Proposal, approver: Identity,
                      note: str | None, evaluation: Oid | None = None) -> str:
    summary = ledger.one_line(info.summary.split(": ", 1)[-1] if ": " in info.summary
                              else info.summary, 200)
    subject = f"Approve {info.agent} proposal {info.id}: {summary}"
    parts = [subject]
    if len(subject) > SUBJECT_WIDTH:
        # NOTE: a model's summary may run to 200 characters; `git log --oneline` shows the
        # subject, so it is cut there and the whole summary follows in the body.
        parts = [shorten(subject, SUBJECT_WIDTH), summary]
    parts.append(f"Merge {info.branch or info.head} into {repo.branch}.")
    if info.edits:
        parts.append("With commits by " + ", ".join(dict.fromkeys(e.author for e in info.edits))
                     + " on top of the model's.")
    if note and note.strip():
        parts.append(note.strip())
    return ledger.ApprovalRecord(approver, info.record, evaluation).message(parts)


@dataclass
class Rejected:
    """A rejection done now, or (``finished``: the branch deleted) one a kill left half done."""

    proposal: Proposal
    finished: str | None = None


def reject(repo: InstructionRepo, spec: str, *, reason: str, by: str | None = None,
           offline: bool = False) -> Rejected:
    """Close a proposal: a rejection record keeps its commits and the reason in git. When a
    remote is configured its records are read first (``offline`` skips that).

    A rejection an older version left half done (the record written, the branch still there)
    is finished instead: the branch is deleted, the record left as it is."""
    if not reason.strip():
        raise ReviewError("a rejection needs a reason", hint='pass --reason "why"')
    shared = shared_ledger(repo, offline=offline)  # the remote's records, before looking
    info = find_proposal(repo, spec, include_closed=True)
    if info.state == ProposalState.REJECTED:
        finished = _finish_rejection(repo, info)
        if finished is not None:
            return Rejected(info, finished)
    if info.state != ProposalState.OPEN or info.ref is None:
        raise _not_open(info)
    _decided_elsewhere(repo, info, shared)
    reviewer = _identity(repo, by)
    head = info.head
    record = ledger.RejectionRecord(info.id, info.agent, reason, str(reviewer))
    commit = repo.git.commit_tree(repo.git.tree_of(head), [head], record.message(),
                                  author=reviewer, committer=reviewer)
    rejected_ref = ledger.RejectionRecord.ref(info.agent, info.id)
    from gitimprove.ledger.trials import stop_updates

    ends: list[RefUpdate] = []
    with contextlib.suppress(GitImproveError):  # the branch deletion below stops serving it anyway
        ends = stop_updates(repo.git, info.agent, info.id, "rejected", reviewer)
    try:
        # One transaction: the record appears exactly when the branch goes (and a trial ends).
        repo.git.update_refs([(rejected_ref, commit, None), (info.ref, None, head), *ends],
                             f"gitimprove reject: {info.id}")
    except RefRaceError:
        raise ReviewError(f"{info.branch} moved, or {info.id} was rejected, meanwhile; nothing "
                          "was changed", hint="look at `gitimprove proposals --all`, then "
                          "reject again") from None
    info.state = ProposalState.REJECTED
    info.rejection = ledger.Rejection(rejected_ref, commit, str(reviewer), record.reason,
                                      0, record.message().split("\n", 1)[0])
    return Rejected(info)


def _finish_rejection(repo: InstructionRepo, info: Proposal) -> str | None:
    """Delete the branch a half-done rejection left (one transaction, compare-and-swap on the
    tip the record saw, ending a trial of it too); None when there is none. A branch that
    moved since the record was written holds someone's work: it is named, not deleted."""
    branch = f"{ledger.BRANCH_PREFIX}{info.agent}/{info.id}"
    old = repo.git.read_ref(branch)
    if old is None:
        return None
    short = branch.removeprefix("refs/heads/")
    if info.tip is None or old != info.tip:
        raise ReviewError(
            f"proposal {info.id} is rejected, but its branch {short} has commits the rejection "
            "did not record; it was left as it is",
            hint=f"keep them on another branch (git branch -m {short} NEW-NAME), or delete it: "
                 f"git branch -D {short}")
    from gitimprove.ledger.trials import stop_updates

    ends: list[RefUpdate] = []
    with contextlib.suppress(GitImproveError):
        ends = stop_updates(repo.git, info.agent, info.id, "rejected", _identity(repo, None))
    try:
        repo.git.update_refs([(branch, None, old), *ends], f"gitimprove reject: finish {info.id}")
    except RefRaceError:
        raise ReviewError(f"{short} moved meanwhile; nothing was changed",
                          hint="run the command again") from None
    return short


def rollback(repo: InstructionRepo, target: str, *, reason: str | None = None,
             by: str | None = None) -> Landed:
    """Revert an approval (proposal id or merge commit), or restore ``AGENT@vN``'s text."""
    actor = _identity(repo, by)
    git = repo.git
    match = re.fullmatch(r"([^@\s]+)@[vV](\d+)", target)
    info: Proposal | None = None
    if match:
        agent, number = match.group(1), int(match.group(2))
        commit, version = repo.find_version(agent, f"v{number}")
        assert version is not None
        then = repo.agent_at(agent, commit)
        path = then.path
        current = repo.load(agent)
        # NOTE: a broken tip is served as an older version (fallback_from): rolling back to
        # that version still changes main.
        if current.version == version.blob and current.fallback_from is None:
            raise ReviewError(f"{agent} is already at v{number}")
        restored_blob = version.file_blob or version.blob
        if then.parsed is not None and len(then.parsed.entries) > 1:
            # From a broken tip, the others are compared with the newest valid version.
            _check_neighbours(repo, agent, then, repo.valid_agent_at(agent, current.tip))
        subject = f"Roll back {agent} to v{number}"
        record = ledger.RollbackRecord(agent, str(actor), restores=f"{agent}@v{number} {version.blob}")

        def new_tree(tip: Oid) -> Oid:
            base_tree = git.tree_of(tip)
            return replace_path(git, base_tree, path, restored_blob)
    else:
        book = ledger.scan(repo.git, repo.main_ref)
        merge, first_parent, info = _find_approval(repo, book, target)
        if info is not None and info.state == ProposalState.ROLLED_BACK:
            raise ReviewError(f"proposal {info.id} was rolled back already")
        pid = info.id if info is not None else None
        agent = info.agent if info is not None else _agent_of_merge(repo, merge)
        subject = f"Roll back {agent} proposal {pid}" if pid else f"Revert {merge.short}"
        record = ledger.RollbackRecord(agent, str(actor), rollback_of=pid, reverts=merge,
                                       restores=_restored_version(repo, agent, first_parent))

        def new_tree(tip: Oid) -> Oid:
            # NOTE: git 2.38 has no `merge-tree --merge-base`; a throwaway commit whose parent is
            # the merge makes the merge the merge base, so this is a three-way revert.
            first_tree = git.tree_of(first_parent)
            undo = git.commit_tree(first_tree, [merge], "revert helper", author=actor, committer=actor)
            tree, conflicts = merge_tree(git, tip, undo)
            if conflicts:
                raise ReviewError(
                    f"reverting {merge.short} conflicts with later changes to {', '.join(conflicts)}",
                    hint=f"resolve by hand: git checkout {repo.branch} && git revert -m 1 {merge} "
                         "(fix the conflicts, then git revert --continue); or roll back to a "
                         "version instead: gitimprove rollback AGENT@vN")
            return tree
    body = [subject + (f": {ledger.one_line(reason.strip().splitlines()[0], 200)}" if reason and reason.strip() else "")]
    if reason and len(reason.strip().splitlines()) > 1:
        body.append(reason.strip())
    message = record.message(body)

    def build(tip: Oid) -> tuple[Oid, list[str]]:
        tree = new_tree(tip)
        check = check_trees(repo, tip, tree, repo.policy_at(tip), scope=False, repair=True)
        if check.violations:
            raise ValidationFailed("rollback", check.violations)
        commit = git.commit_tree(tree, [tip], message, author=actor, committer=actor)
        return commit, check.paths

    previous, commit = land(repo, build, f"gitimprove rollback: {target}")
    return Landed(commit, previous, info, message, record.restores)


def _check_neighbours(repo: InstructionRepo, agent: str, then: AgentAt, now: AgentAt) -> None:
    """Restoring a whole file that holds several agents is safe only when the others did not
    change since: otherwise it would roll them back too."""
    assert then.parsed is not None and now.parsed is not None
    changed = [e.key for e in now.parsed.entries if e.key != then.key and (
        e.key not in [o.key for o in then.parsed.entries]
        or now.parsed.data(e) != then.parsed.data(then.parsed.entry(e.key)))]
    if changed or then.parsed.fixed() != now.parsed.fixed():
        others = ", ".join(changed) or "its other keys"
        raise ReviewError(f"{then.path} holds other agents that changed since that version ({others}); "
                          f"restoring the file would roll them back too",
                          hint="roll back the proposal instead: gitimprove rollback <proposal id>")


def _find_approval(repo: InstructionRepo, book: ledger.Ledger, target: str
                   ) -> tuple[Oid, Oid, Proposal | None]:
    """The approval to revert, named by proposal id or by commit: (merge, its first parent,
    the proposal it approved when it approved one)."""
    same = sorted(p.key for p in book.proposals.values() if target == p.id
                  and (p.approval is not None or p.state == ProposalState.LANDED))
    if len(same) > 1:  # two agents' proposals share the id
        raise ReviewError(f"{ledger.one_line(target, 80)!r} is the id of {len(same)} proposals: "
                          f"{', '.join(same)}", hint="give AGENT/ID")
    for p in book.proposals.values():
        a = p.approval
        names = target in (p.id, p.key)
        if a is not None and (names or target == a.merge
                              or (len(target) >= 7 and a.merge.startswith(target))):
            return a.merge, a.first_parent, p
        landed = p.landed_as or p.commit
        if p.state == ProposalState.LANDED and names and landed.parents:
            return landed.oid, landed.parents[0], p
    # A unique prefix of an approved proposal's id, or of its hash part, as approve takes it.
    started = by_prefix(target, [p.id for p in book.proposals.values() if p.approval is not None])
    if len(started) > 1:
        raise ReviewError(f"{ledger.one_line(target, 80)!r} starts {len(started)} approved proposals: "
                          f"{', '.join(sorted(started))}", hint="give more of the id")
    if started:
        return _find_approval(repo, book, started[0])
    commit = repo.git.rev_parse(target)
    if commit is None:
        named = [target] if target in book.proposals else by_prefix(target, list(book.proposals))
        found = book.proposals[named[0]] if len(named) == 1 else None
        if found is not None and found.state == ProposalState.LANDED and found.id != target:
            return _find_approval(repo, book, found.id)  # on main without an approval merge
        if found is not None and found.state == ProposalState.ROLLED_BACK:
            raise ReviewError(f"proposal {found.id} was rolled back already")
        if found is not None:  # a proposal that was never approved: nothing of it is on main
            raise ReviewError(
                f"proposal {found.id} is {found.state.replace('_', ' ')}, not approved: "
                "nothing of it is on main to roll back",
                hint=f"to close it: gitimprove reject {found.id} --reason \"why\""
                if found.state == ProposalState.OPEN
                else f"for a new proposal: gitimprove propose {found.agent}")
        if target in repo.agent_names():
            raise ReviewError(f"{target!r} is an agent: name the version to go back to "
                              f"({target}@vN) or an approved proposal",
                              hint=f"its versions: gitimprove history {target}")
        raise ReviewError(f"{target!r} is not an approved proposal, a commit, or AGENT@vN",
                          hint="see `gitimprove proposals --all` or `gitimprove history AGENT`")
    approval = book.approval_of(commit)
    if approval is not None and approval.proposals:
        return commit, approval.first_parent, book.proposals.get(approval.proposals[0])
    parents = repo.git.read_commit(commit).parents
    if len(parents) != 2:
        raise ReviewError(f"{commit.short} is not a merge commit",
                          hint="to restore an older text use AGENT@vN")
    return commit, parents[0], None


def _agent_of_merge(repo: InstructionRepo, merge: Oid) -> str:
    """The agent a merge that approved no proposal changed (for the rollback's record)."""
    commit = repo.git.read_commit(merge)
    policy = repo.policy_at(commit.parents[0])
    for path, _, _ in diff_trees(repo.git, commit.parents[0], merge):
        if policy.is_native_path(path):
            return path.rpartition("/")[2][:-5]
    return "?"


def _restored_version(repo: InstructionRepo, agent: str, commit: Oid) -> str | None:
    try:
        blob = repo.agent_at(agent, commit).blob
    except GitImproveError:
        return None
    for v in reversed(repo.history(agent)):
        if v.blob == blob:
            return f"{agent}@v{v.number} {blob}"
    return None


@dataclass(frozen=True)
class Status:
    """A proposal as `gitimprove proposals` lists it, with the verdict and the evaluation
    for an open one."""

    proposal: Proposal
    verdict: Verdict | None
    evaluation: EvaluationStatus | None = None

    def to_json(self) -> dict[str, object]:
        p = self.proposal
        data: dict[str, object] = {
            "id": p.id, "agent": p.agent, "state": p.state.value, "branch": p.branch,
            "commit": str(p.commit.oid), "head": str(p.head), "summary": p.summary,
            "author": p.author, "created_at": datetime.fromtimestamp(p.time, UTC).isoformat(),
            "evidence_count": len(p.evidence),
            "edited_by": list(dict.fromkeys(e.author for e in p.edits)),
            "merge_commit": str(p.merge_commit) if p.merge_commit else None,
        }
        if p.rejection is not None:
            data["reason"] = p.rejection.reason
            data["rejected_by"] = p.rejection.by
        if p.approval is not None:
            data["approved_by"] = p.approval.by
            data["approved_at"] = datetime.fromtimestamp(p.approval.time, UTC).isoformat()
        if self.verdict is not None:
            data.update(self.verdict.to_json())
        if self.evaluation is not None:
            data["evaluation"] = self.evaluation.to_json()
        return data


def statuses(repo: InstructionRepo, *, include_closed: bool = False,
             agent: str | None = None) -> list[Status]:
    """Proposals newest first, each open one judged against main's tip, with its evaluation
    (records read by the same scan). Only the proposals listed are built."""
    from gitimprove.evaluation.check import evaluation_status

    book = ledger.scan(repo.git, repo.main_ref)
    chosen = sorted(_chosen(book, include_closed, agent), key=lambda s: (s.time, s.id),
                    reverse=True)
    found = book.select(s.key for s in chosen)
    tip = repo.main_tip()
    return [Status(p, judge(repo, p, tip, book=book), evaluation_status(
                repo, tip, p.head, proposal=p.id, agent=p.agent, book=book))
            if p.state == ProposalState.OPEN else Status(p, None) for p in found]
