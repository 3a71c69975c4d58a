"""Human review: approval is a merge, rejection is a ref, rollback is a revert.

Every change to main goes through :func:`land`: build a commit from the current tip, check
the checkouts of main, move main by compare-and-swap (rebuilding from the new tip if another
process moved it first), then bring clean checkouts of main up to date.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gitimprove.errors import GitCommandError, GitImproveError, InvalidFileError, RefRaceError
from gitimprove.git import (
    Identity,
    Oid,
    diff_trees,
    merge_tree,
    replace_path,
    run_in,
    worktrees,
)
from gitimprove.instructions.policy import Policy
from gitimprove.instructions.repo import AgentAt, InstructionRepo
from gitimprove.proposals.build import (
    BRANCH_PREFIX,
    FALLBACK_COMMITTER,
    REJECTED_PREFIX,
    T_AGENT,
    T_BASE_VERSION,
    T_EVIDENCE,
    T_MODEL,
    T_PROPOSAL,
    T_PROPOSER,
    T_REJECTED,
    T_ROLLBACK_OF,
    approvals_on_main,
)
from gitimprove.trials.record import stop_updates
from gitimprove.validate import Violation, check_change

T_REVERTS = "Gitimprove-Reverts"
T_RESTORES = "Gitimprove-Restores"
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


@dataclass
class ProposalInfo:
    """A proposal found in git, whatever its state."""

    id: str
    agent: str
    state: str  # open | approved | rejected | rolled_back
    commit: Oid
    ref: str | None
    summary: str
    message: str
    trailers: dict[str, list[str]]
    time: int
    author: str
    merge_commit: Oid | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def evidence(self) -> list[str]:
        return [i for v in self.trailers.get(T_EVIDENCE, []) for i in v.split(",") if i]

    @property
    def base_commit(self) -> str | None:
        values = self.trailers.get("Gitimprove-Base-Commit")
        return values[0] if values else None

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref else None


def _identity(repo: InstructionRepo, by: str | None) -> Identity:
    if by is not None:
        try:
            return Identity.parse(by)
        except ValueError as exc:
            raise ReviewError(str(exc), hint='pass --by "Name <email>"') from None
    return repo.git.user_identity() or FALLBACK_COMMITTER


identity_for = _identity  # who acts: ``--by`` or git's user identity


def commit_info(repo: InstructionRepo, commit: Oid) -> tuple[str, dict[str, list[str]], int, str]:
    """Message, trailers, author time and author of a commit."""
    try:
        c = repo.git.read_commit(commit)
    except GitCommandError:
        raise ReviewError(f"{commit} is not a commit") from None
    return c.message, c.trailers, c.author_time, c.author


# -- finding proposals ------------------------------------------------------------------------

def list_proposals(repo: InstructionRepo, *, include_closed: bool = False) -> list[ProposalInfo]:
    """Open proposals (and with ``include_closed`` approved, rejected and rolled back ones)."""
    git = repo.git
    found: list[ProposalInfo] = []
    merged = {line.strip() for line in git.run(
        "for-each-ref", f"--merged={repo.main_ref}", "--format=%(refname)", BRANCH_PREFIX).splitlines()}
    for ref, tip in git.for_each_ref(BRANCH_PREFIX):
        if ref in merged:
            continue
        found.append(_info(repo, tip, ref, "open"))
    if not include_closed:
        return found
    for ref, tip in git.for_each_ref(REJECTED_PREFIX):
        info = _info(repo, tip, ref, "rejected")
        found.append(info)
    approved, rolled_back = _main_events(repo)
    for pid, merge in approved.items():
        parents = git.run("rev-list", "--parents", "-n1", merge).split()
        proposal_tip = Oid(parents[2]) if len(parents) > 2 else merge
        info = _info(repo, proposal_tip, None, "rolled_back" if pid in rolled_back else "approved")
        info.merge_commit = merge
        _, trailers, when, _ = commit_info(repo, merge)
        info.extra["approved_by"] = (trailers.get("Approved-by") or [""])[0]
        info.extra["approved_at"] = datetime.fromtimestamp(when, UTC).isoformat()
        found.append(info)
    return found


def _info(repo: InstructionRepo, commit: Oid, ref: str | None, state: str) -> ProposalInfo:
    message, trailers, when, author = commit_info(repo, commit)
    if state == "rejected":  # the tip is the rejection record; the proposal is its parent
        rejection = trailers
        parent = repo.git.run("rev-parse", f"{commit}^").strip()
        message, trailers, when, author = commit_info(repo, Oid(parent))
        info = ProposalInfo(id=(trailers.get(T_PROPOSAL) or ["?"])[0],
                            agent=(trailers.get(T_AGENT) or ["?"])[0], state=state, commit=Oid(parent),
                            ref=ref, summary=message.splitlines()[0] if message else "",
                            message=message, trailers=trailers, time=when, author=author)
        info.extra["reason"] = (rejection.get(T_REJECTED) or [""])[0]
        info.extra["rejected_by"] = (rejection.get("Rejected-by") or [""])[0]
        return info
    return ProposalInfo(id=(trailers.get(T_PROPOSAL) or [ref.rsplit("/", 1)[-1] if ref else "?"])[0],
                        agent=(trailers.get(T_AGENT) or ["?"])[0], state=state, commit=commit, ref=ref,
                        summary=message.splitlines()[0] if message else "", message=message,
                        trailers=trailers, time=when, author=author)


def _main_events(repo: InstructionRepo) -> tuple[dict[str, Oid], set[str]]:
    """Approved proposals (id -> merge commit) and the ids of those rolled back."""
    approved, rolled = approvals_on_main(repo)
    return {pid: a.merge for pid, a in approved.items()}, rolled


def find_proposal(repo: InstructionRepo, spec: str, *, include_closed: bool = True) -> ProposalInfo:
    """A proposal by id (``20261123-ab12cd``), branch (``improve/agent/id``) or ref."""
    spec = spec.removeprefix("refs/heads/").removeprefix("improve/")
    found = _find_open_by_ref(repo, spec)
    if found is not None:
        return found
    candidates = list_proposals(repo, include_closed=include_closed)
    for info in candidates:
        if spec in (info.id, f"{info.agent}/{info.id}") or (info.branch and info.branch.endswith(spec)):
            return info
    started = _by_prefix(spec, candidates)
    if len(started) == 1:
        return started[0]
    if len(started) > 1:
        raise ReviewError(f"{spec!r} starts {len(started)} proposals: "
                          f"{', '.join(sorted({p.id for p in started}))}",
                          hint="give more of the id")
    open_ids = ", ".join(p.id for p in candidates if p.state == "open") or "none"
    raise ReviewError(f"no proposal {spec!r}", hint=f"open proposals: {open_ids} (see `gitimprove proposals`)")


def _by_prefix(spec: str, candidates: list[ProposalInfo]) -> list[ProposalInfo]:
    """Proposals whose id (``20261123-ab12cd``), or its hash part (``ab12cd``), starts with
    ``spec``; at least four characters, like git's short ids."""
    if len(spec) < 4 or "/" in spec:
        return []
    return [p for p in candidates
            if p.id.startswith(spec) or p.id.partition("-")[2].startswith(spec)]


def _find_open_by_ref(repo: InstructionRepo, spec: str) -> ProposalInfo | None:
    """An open proposal found straight from its branch name, without listing every proposal.

    NOTE: with a thousand branches, listing them all (and the history of main) dominates
    approve; the full listing stays the fallback for ids that name no single open branch."""
    if not spec or any(c in spec for c in "*?[\\") or spec.startswith("-"):
        return None
    pattern = f"{BRANCH_PREFIX}{spec}" if "/" in spec else f"{BRANCH_PREFIX}*/{spec}"
    refs = repo.git.match_refs(pattern)
    if len(refs) != 1:
        return None
    ref, tip = refs[0]
    if _is_ancestor(repo, tip):  # merged already: the full listing says how it was closed
        return None
    info = _info(repo, tip, ref, "open")
    return info if spec in (info.id, f"{info.agent}/{info.id}") else None


def _is_ancestor(repo: InstructionRepo, commit: Oid) -> bool:
    try:
        repo.git.run("merge-base", "--is-ancestor", commit, repo.main_ref)
    except GitCommandError as exc:
        if exc.returncode == 1:
            return False
        raise
    return True


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


def check_trees(repo: InstructionRepo, base: Oid, tree: Oid, policy: Policy, *,
                scope: bool = True) -> MergeCheck:
    """Judge replacing ``base``'s tree by ``tree``. ``scope=False`` skips the scope limits
    (a rollback restores text a human approved before) but keeps every safety rule."""
    old: dict[str, bytes | None] = {}
    new: dict[str, bytes | None] = {}
    for path, a, b in diff_trees(repo.git, base, tree):  # diff-tree takes the commit as a tree-ish
        old[path] = _blob(repo, a)
        new[path] = _blob(repo, b)
    if not scope:
        policy = policy.model_copy(update={"limits": policy.limits.model_copy(update={
            "allow_remove_rules": True, "max_added_chars": 10**9, "max_operations": 10**9})})
    return MergeCheck(tree, list(old), check_change(old, new, policy))


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
    for _ in range(MAX_ATTEMPTS):
        tip = repo.main_tip()
        commit, paths = build(tip)
        checkouts = [w for w in worktrees(repo.git) if w.branch == repo.main_ref] \
            if not repo.git.is_bare else []
        for wt in checkouts:
            if wt.index_lock().exists():
                raise ReviewError(
                    f"another git command is using the checkout at {wt.path} "
                    f"({wt.index_lock()} exists); nothing was changed",
                    hint="wait for it to finish (or, if no git command is running, remove that "
                         "file), then run the command again")
            dirty = run_in(wt.path, "status", "--porcelain", "--untracked-files=all", "--", *paths)
            if dirty.strip():
                raise ReviewError(
                    f"{repo.branch} is checked out at {wt.path} with uncommitted changes to "
                    f"{', '.join(sorted({line[3:] for line in dirty.splitlines()}))}",
                    hint="commit or stash them, then run the command again; nothing was changed")
        try:
            # NOTE: tells our reference-transaction hook this update was validated already.
            repo.git.update_refs([(repo.main_ref, commit, tip), *also], reflog, env=VALIDATED_ENV)
        except RefRaceError:
            if repo.main_tip() == tip:  # main did not move: one of `also` did
                raise ReviewError(
                    f"{', '.join(ref for ref, _, _ in also)} moved meanwhile; nothing was changed",
                    hint="look at the new commits, then run the command again") from None
            continue  # another process moved main: rebuild on its tip
        for wt in checkouts:
            run_in(wt.path, "read-tree", "-m", "-u", tip, commit)
        return tip, commit
    raise ReviewError(f"{repo.branch} kept moving; gave up after {MAX_ATTEMPTS} attempts",
                      hint="run the command again")


@dataclass
class Landed:
    commit: Oid
    previous: Oid
    proposal: ProposalInfo | None
    message: str


def approve(repo: InstructionRepo, spec: str, *, by: str | None = None,
            note: str | None = None) -> Landed:
    """Merge a proposal into main (always a merge commit) after the validator passes."""
    info = find_proposal(repo, spec, include_closed=True)
    if info.state != "open":
        raise ReviewError(f"proposal {info.id} is {info.state.replace('_', ' ')}, not open")
    approver = _identity(repo, by)
    message = _approval_message(repo, info, approver, note)

    def build(tip: Oid) -> tuple[Oid, list[str]]:
        check = check_merge(repo, tip, info.commit)
        if check.violations or check.tree is None:
            if any(v.code == "conflict" for v in check.violations):
                raise ReviewError(
                    f"proposal {info.id} conflicts with {repo.branch}: "
                    + ", ".join(str(v.path) for v in check.violations),
                    hint=f"reject it and propose again from the current {repo.branch}")
            raise ValidationFailed(f"approval of {info.id}", check.violations)
        commit = repo.git.commit_tree(check.tree, [tip, info.commit], message, author=approver,
                                      committer=approver)
        return commit, check.paths

    also: list[RefUpdate] = [(info.ref, None, info.commit)] if info.ref else []
    also += stop_updates(repo.git, info.agent, info.id, "approved", approver)
    previous, commit = land(repo, build, f"gitimprove approve: {info.id}", also=also)
    return Landed(commit, previous, info, message)


def _approval_message(repo: InstructionRepo, info: ProposalInfo, approver: Identity,
                      note: str | None) -> str:
    summary = info.summary.split(": ", 1)[-1] if ": " in info.summary else info.summary
    parts = [f"Approve {info.agent} proposal {info.id}: {summary}",
             f"Merge {info.branch or info.commit} into {repo.branch}."]
    if note:
        parts.append(note.strip())
    keep = [T_PROPOSAL, T_AGENT, T_BASE_VERSION, T_EVIDENCE, T_MODEL, T_PROPOSER]
    trailers = [f"{k}: {v}" for k in keep for v in info.trailers.get(k, [])]
    trailers.append(f"Approved-by: {approver}")
    parts.append("\n".join(trailers))
    return "\n\n".join(parts) + "\n"


def reject(repo: InstructionRepo, spec: str, *, reason: str, by: str | None = None) -> ProposalInfo:
    """Close a proposal: a rejection record keeps its commits and the reason in git."""
    if not reason.strip():
        raise ReviewError("a rejection needs a reason", hint='pass --reason "why"')
    info = find_proposal(repo, spec, include_closed=True)
    if info.state != "open" or info.ref is None:
        raise ReviewError(f"proposal {info.id} is {info.state.replace('_', ' ')}, not open")
    reviewer = _identity(repo, by)
    tree = repo.git.tree_of(info.commit)
    message = (f"Reject {info.agent} proposal {info.id}\n\n{reason.strip()}\n\n"
               f"{T_PROPOSAL}: {info.id}\n{T_AGENT}: {info.agent}\n"
               f"{T_REJECTED}: {' '.join(reason.split())}\nRejected-by: {reviewer}\n")
    record = repo.git.commit_tree(Oid(tree), [info.commit], message, author=reviewer, committer=reviewer)
    rejected_ref = f"{REJECTED_PREFIX}{info.agent}/{info.id}"
    repo.git.update_ref(rejected_ref, record, None, f"gitimprove reject: {info.id}")
    with contextlib.suppress(GitImproveError):  # the branch deletion below stops serving it anyway
        ends = stop_updates(repo.git, info.agent, info.id, "rejected", reviewer)
        if ends:
            repo.git.update_refs(ends, f"gitimprove reject: {info.id}")
    try:
        repo.git.delete_ref(info.ref, info.commit, f"gitimprove reject: {info.id}")
    except GitImproveError:
        repo.git.delete_ref(rejected_ref, record, "gitimprove reject: undone")
        raise ReviewError(f"{info.branch} moved while rejecting; nothing was changed",
                          hint="look at the new commits, then reject again") from None
    info.state = "rejected"
    info.extra["reason"] = reason
    return info


def rollback(repo: InstructionRepo, target: str, *, reason: str | None = None,
             by: str | None = None) -> Landed:
    """Revert an approval (proposal id or merge commit), or restore ``AGENT@vN``'s text."""
    actor = _identity(repo, by)
    git = repo.git
    match = re.fullmatch(r"([^@\s]+)@[vV](\d+)", target)
    info: ProposalInfo | None = None
    if match:
        agent, number = match.group(1), int(match.group(2))
        commit, version = repo.find_version(agent, f"v{number}")
        assert version is not None
        then = repo.agent_at(agent, commit)
        path = then.path
        current = repo.load(agent)
        if current.version == version.blob:
            raise ReviewError(f"{agent} is already at v{number}")
        restored_blob = version.file_blob or version.blob
        if then.parsed is not None and len(then.parsed.entries) > 1:
            _check_neighbours(repo, agent, then, repo.agent_at(agent, current.tip))
        subject = f"Roll back {agent} to v{number}"
        trailers = [f"{T_AGENT}: {agent}", f"{T_RESTORES}: {agent}@v{number} {version.blob}"]

        def new_tree(tip: Oid) -> Oid:
            base_tree = git.tree_of(tip)
            return replace_path(git, base_tree, path, restored_blob)
    else:
        merge = _find_merge(repo, target)
        merged = git.read_commit(merge)
        approved, rolled = approvals_on_main(repo)
        # A proposal merged with plain git has its trailers on the second parent only.
        pid = next((p for p, a in approved.items() if a.merge == merge), None)
        about = merged.trailers if T_AGENT in merged.trailers or len(merged.parents) < 2 \
            else git.read_commit(merged.parents[1]).trailers
        agent = (about.get(T_AGENT) or ["?"])[0]
        if pid and pid in rolled:
            raise ReviewError(f"proposal {pid} was rolled back already")
        first_parent = merged.parents[0]
        subject = f"Roll back {agent} proposal {pid}" if pid else f"Revert {merge.short}"
        trailers = [f"{T_AGENT}: {agent}"] + ([f"{T_ROLLBACK_OF}: {pid}"] if pid else []) + \
                   [f"{T_REVERTS}: {merge}"]
        restored = _restored_version(repo, agent, first_parent)
        if restored:
            trailers.append(f"{T_RESTORES}: {restored}")

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
    body = [subject + (f": {reason.strip().splitlines()[0]}" if reason else "")]
    if reason and len(reason.strip().splitlines()) > 1:
        body.append(reason.strip())
    body.append("\n".join([*trailers, f"Rolled-back-by: {actor}"]))
    message = "\n\n".join(body) + "\n"

    def build(tip: Oid) -> tuple[Oid, list[str]]:
        tree = new_tree(tip)
        check = check_trees(repo, tip, tree, repo.policy_at(tip), scope=False)
        if check.violations:
            raise ValidationFailed("rollback", check.violations)
        commit = git.commit_tree(tree, [tip], message, author=actor, committer=actor)
        return commit, check.paths

    previous, commit = land(repo, build, f"gitimprove rollback: {target}")
    return Landed(commit, previous, info, message)


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


def _find_merge(repo: InstructionRepo, target: str) -> Oid:
    approved, _ = _main_events(repo)
    for pid, merge in approved.items():
        if target in (pid, merge) or (len(target) >= 7 and merge.startswith(target)):
            return merge
    commit = repo.git.rev_parse(target)
    if commit is None:
        raise ReviewError(f"{target!r} is not an approved proposal, a commit, or AGENT@vN",
                          hint="see `gitimprove proposals --all` or `gitimprove history AGENT`")
    parents = repo.git.run("rev-list", "--parents", "-n1", commit).split()
    if len(parents) != 3:
        raise ReviewError(f"{commit.short} is not a merge commit",
                          hint="to restore an older text use AGENT@vN")
    return commit


def _restored_version(repo: InstructionRepo, agent: str, commit: Oid) -> str | None:
    try:
        blob = repo.agent_at(agent, commit).blob
    except GitImproveError:
        return None
    for v in reversed(repo.history(agent)):
        if v.blob == blob:
            return f"{agent}@v{v.number} {blob}"
    return None
