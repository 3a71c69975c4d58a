"""Proposals: model-authored branches built straight in git's object store.

``propose`` reads main once, asks a proposer for a draft, checks it with the same validator
that guards the merge, and only then writes a blob, a tree, a commit (parent: the main tip it
read; author: the model) and creates ``improve/<agent>/<id>`` with compare-and-swap. The
working tree, the index and HEAD are never touched; a refused draft leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gitimprove.errors import GitImproveError
from gitimprove.git import Identity, Oid, parse_trailers, replace_path
from gitimprove.instructions.formats import variable_syntax
from gitimprove.instructions.formats.prose import EditError
from gitimprove.instructions.repo import AgentAt, InstructionRepo
from gitimprove.patterns.model import EvidenceState, Pattern
from gitimprove.proposals.operations import Draft, Operation, apply, describe, operation_section
from gitimprove.proposals.proposers.base import (
    LeftOut,
    NothingNew,
    ProposalRequest,
    Proposer,
    ProposerResult,
)
from gitimprove.proposals.rules import PriorRule
from gitimprove.proposals.support import support_of
from gitimprove.validate import Violation, check_change, protected_ids

BRANCH_PREFIX = "refs/heads/improve/"
REJECTED_PREFIX = "refs/gitimprove/rejected/"
FALLBACK_COMMITTER = Identity("gitimprove", "gitimprove@localhost")

T_PROPOSAL = "Gitimprove-Proposal"
T_AGENT = "Gitimprove-Agent"
T_BASE_VERSION = "Gitimprove-Base-Version"
T_BASE_COMMIT = "Gitimprove-Base-Commit"
T_EVIDENCE = "Gitimprove-Evidence"
T_PATTERNS = "Gitimprove-Patterns"
T_MODEL = "Gitimprove-Model"
T_PROPOSER = "Gitimprove-Proposer"
T_USAGE = "Gitimprove-Usage"
T_ROLLBACK_OF = "Gitimprove-Rollback-Of"
T_REJECTED = "Gitimprove-Rejected"


class NothingToPropose(GitImproveError):
    """No open pattern calls for a change (all addressed, pending, or none found)."""


class ProposalRefused(GitImproveError):
    """The draft would fail the validator; nothing was written."""

    def __init__(self, agent: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"proposal for {agent} refused: " + "; ".join(problems),
                         hint="nothing was written; the proposer's answer broke the rules above")


def model_identity(result: ProposerResult) -> Identity:
    """Commits are authored by the model that wrote them."""
    if result.proposer == "heuristic":
        return Identity("gitimprove-heuristic", "heuristic@gitimprove.invalid")
    return Identity(result.model, "model@gitimprove.invalid")


@dataclass
class Plan:
    """A proposal before (or after) it is written to git."""

    agent: str
    id: str
    branch: str
    base_commit: Oid
    base_blob: Oid
    path: str
    old_text: str
    new_text: str
    message: str
    result: ProposerResult
    patterns: list[Pattern]
    evidence: list[str]
    commit: Oid | None = None
    notes: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)

    @property
    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.old_text.splitlines(keepends=True), self.new_text.splitlines(keepends=True),
            fromfile=f"a/{self.path}", tofile=f"b/{self.path}"))

    @property
    def short_branch(self) -> str:
        return self.branch.removeprefix("refs/heads/")


# -- evidence already cited ---------------------------------------------------------------------

def _split_ids(values: Iterable[str]) -> list[str]:
    return [i.strip() for v in values for i in v.split(",") if i.strip()]


def evidence_states(repo: InstructionRepo) -> dict[str, EvidenceState]:
    """Feedback cited by an open proposal is pending; by an approved (not rolled back) one,
    addressed. One ``for-each-ref`` and one ``log`` whatever the number of proposals."""
    states: dict[str, EvidenceState] = {}
    approved, rolled_back = approvals_on_main(repo)
    # NOTE: a branch that was merged (with plain git) may still exist; it is closed because its
    # proposal id is among the approvals, which is far cheaper than `--no-merged` over
    # a thousand branches.
    # NOTE: for-each-ref before git 2.42 shares one key filter across `%(trailers:key=...)`
    # atoms, so the whole trailer block is read and split here.
    out = repo.git.run("for-each-ref", "--format=%(trailers:only,unfold)%01", BRANCH_PREFIX)
    for record in out.split("\x01"):
        trailers = parse_trailers("x\n\n" + record.strip())
        pid = next(iter(trailers.get(T_PROPOSAL, [])), None)
        if pid not in approved and pid not in rolled_back:
            for fid in _split_ids(trailers.get(T_EVIDENCE, [])):
                states[fid] = "pending"
    for pid, approval in approved.items():
        if pid not in rolled_back:
            for fid in approval.evidence:
                states[fid] = "addressed"
    return states


@dataclass(frozen=True)
class Approval:
    """A proposal merged into main: by ``gitimprove approve`` (``approved_by`` set) or with
    plain git (``approved_by`` None; the merge's second parent is the proposal commit)."""

    proposal: str
    merge: Oid
    evidence: list[str]
    approved_by: str | None


def approvals_on_main(repo: InstructionRepo) -> tuple[dict[str, Approval], set[str]]:
    """Proposals merged on main's first-parent history, and the ids of those rolled back."""
    fmt = ("%H%x00%P%x00%(trailers:key=Approved-by,valueonly,separator=%x2C)%x00"
           f"%(trailers:key={T_PROPOSAL},valueonly,separator=%x2C)%x00"
           f"%(trailers:key={T_EVIDENCE},valueonly,separator=%x2C)%x00"
           f"%(trailers:key={T_ROLLBACK_OF},valueonly,separator=%x2C)%x01")
    # NOTE: every merge, and every commit with our trailers: a plain `git merge` of a proposal
    # carries no trailer of its own, only its second parent does.
    out = repo.git.run("log", "--first-parent", f"--format={fmt}", repo.main_ref,
                       "--grep=^Gitimprove-", "--grep=^Merge ", "--extended-regexp")
    approved: dict[str, Approval] = {}
    rolled_back: set[str] = set()
    for record in reversed(out.split("\x01")):
        fields = record.strip("\n").split("\x00")
        if len(fields) < 6:
            continue
        commit, parents, by = Oid(fields[0]), fields[1].split(), fields[2]
        pids, ids = _split_ids([fields[3]]), _split_ids([fields[4]])
        reverted = _split_ids([fields[5]])
        if reverted:
            rolled_back.update(reverted)
        elif by and pids:
            approved.setdefault(pids[0], Approval(pids[0], commit, ids, by))
        elif len(parents) == 2 and not by:
            trailers = repo.git.read_commit(parents[1]).trailers
            pid = next(iter(trailers.get(T_PROPOSAL, [])), None)
            if pid:
                approved.setdefault(pid, Approval(
                    pid, commit, _split_ids(trailers.get(T_EVIDENCE, [])), None))
    return approved, rolled_back


# -- building ---------------------------------------------------------------------------------

def attribute(violations: list[Violation], operations: list[Operation]) -> list[str]:
    """Each violation, prefixed by the operation at fault where one can be named."""
    out = []
    for v in violations:
        culprits = [n for n, op in enumerate(operations, 1)
                    if v.section is not None and operation_section(op) == v.section]
        if not culprits and v.code in ("too-much-text", "too-large"):
            # NOTE: size has no section; blame the operation that adds the most text.
            sizes = [(_text_size(op), n) for n, op in enumerate(operations, 1)]
            culprits = [max(sizes)[1]] if sizes and max(sizes)[0] else []
        elif not culprits and v.section is None and len(operations) == 1:
            culprits = [1]
        prefix = "".join(f"operation {n} ({operations[n - 1].op}): " for n in culprits[:1])
        out.append(prefix + str(v))
    return out


def _text_size(op: Operation) -> int:
    text = getattr(op, "text", None) or ""
    return len(text) + sum(len(r) for r in getattr(op, "rules", None) or [])


def draft_problems(at: AgentAt, repo: InstructionRepo, draft: Draft) -> tuple[str | None, list[str]]:
    """Apply a draft to the agent file and judge the result by the target branch's policy."""
    policy = repo.policy_at(at.commit)
    doc = at.document()
    try:
        apply(doc, list(draft.operations))
        new_text = doc.dumps()
    except EditError as exc:
        return None, [exc.message]
    violations = check_change({at.path: at.raw}, {at.path: new_text.encode()}, policy,
                              operations=len(draft.operations))
    return new_text, attribute(violations, list(draft.operations))


def _proposal_id(repo: InstructionRepo, agent: str, base: Oid, draft: Draft, when: datetime) -> str:
    """The day and a hash of what is proposed: ``--dry-run`` shows the id ``propose`` then
    creates for the same draft. An id already taken (the same draft proposed and rejected
    earlier that day) is made longer, never reused."""
    digest = hashlib.sha256(json.dumps(
        [agent, base, draft.model_dump(mode="json")]).encode()).hexdigest()
    for size in range(6, len(digest) + 1, 2):
        pid = f"{when:%Y%m%d}-{digest[:size]}"
        taken = (repo.git.read_ref(f"refs/heads/{BRANCH_PREFIX}{agent}/{pid}") is not None
                 or repo.git.read_ref(f"{REJECTED_PREFIX}{agent}/{pid}") is not None)
        if not taken:
            return pid
    raise GitImproveError(f"no free proposal id for {agent}", hint="this is a bug; please report it")


def _quote(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def compose_message(agent: str, pid: str, at: AgentAt, result: ProposerResult,
                    patterns: list[Pattern], evidence: list[str],
                    left_out: list[LeftOut] | None = None) -> str:
    """The commit message is the review: summary, rationale, operations, evidence, trailers."""
    draft = result.draft
    parts = [f"{agent}: {draft.summary.strip().splitlines()[0]}", textwrap.fill(draft.rationale.strip(), 72)]
    ops = ["Operations:"]
    for n, op in enumerate(draft.operations, 1):
        ops.append(f"{n}. {describe(op)}")
        ops.append(f"   Reason: {_quote(op.reason, 300)}")
    parts.append("\n".join(ops))
    if patterns:
        lines = ["Feedback behind it (quoted from users; data, not instructions):"]
        for p in patterns:
            lines.append(f"- {p.label} ({p.kind.replace('_', ' ')}, {p.count} items, "
                         f"{p.share:.0%} of feedback) [{p.id}]")
            lines += [f'    > "{_quote(q)}"' for q in p.quotes[:3]]
        parts.append("\n".join(lines))
    if left_out:
        lines = ["Left out, and why:"]
        lines += [f"- {_quote(lo.line(), 300)}" for lo in left_out]
        parts.append("\n".join(lines))
    parts.append(f"Based on {at.path} at {at.commit.short} (blob {at.blob.short}).")
    usage = result.usage
    trailers = [f"{T_PROPOSAL}: {pid}", f"{T_AGENT}: {agent}", f"{T_BASE_VERSION}: {at.blob}",
                f"{T_BASE_COMMIT}: {at.commit}",
                f"{T_EVIDENCE}: {','.join(evidence)}",
                f"{T_PATTERNS}: {','.join(p.id for p in patterns)}",
                f"{T_MODEL}: {result.model}", f"{T_PROPOSER}: {result.proposer}",
                f"{T_USAGE}: input_tokens={usage.input_tokens} output_tokens={usage.output_tokens} "
                f"requests={usage.requests}"]
    parts.append("\n".join(trailers))
    return "\n\n".join(parts) + "\n"


def propose(
    repo: InstructionRepo,
    agent: str,
    proposer: Proposer,
    *,
    dry_run: bool = False,
    patterns: list[Pattern] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Plan:
    """Propose an improvement of ``agent`` from its open feedback patterns.

    Raises :class:`NothingToPropose` when no open pattern calls for a change, and
    :class:`ProposalRefused` when the draft would fail the validator. Writes nothing on
    ``dry_run``; otherwise creates the branch and returns the plan with its commit.

    Two processes proposing for the same agent take turns (a lock under the git directory):
    the second sees the first one's evidence as pending instead of proposing it again."""
    if dry_run:
        return _propose(repo, agent, proposer, dry_run=True, patterns=patterns, now=now)
    with file_lock(repo.git.state_dir / "locks" / f"propose-{agent}.lock"):
        return _propose(repo, agent, proposer, dry_run=False, patterns=patterns, now=now)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock held for the block (released when the process dies, too)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("a")
    except OSError as exc:
        raise GitImproveError(f"cannot create the lock {path}: {exc.strerror}",
                              hint="check that you may write to the repository's git directory") from None
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _propose(
    repo: InstructionRepo,
    agent: str,
    proposer: Proposer,
    *,
    dry_run: bool,
    patterns: list[Pattern] | None,
    now: Callable[[], datetime],
) -> Plan:
    base = repo.main_tip()
    at = repo.agent_at(agent, base)
    policy = repo.policy_at(base)
    if patterns is None:
        states = evidence_states(repo)
        patterns = repo.analyze(agent, evidence_state=lambda fid: states.get(fid, "open"))
    left_out = triage_left_out(patterns)
    open_problems = [p for p in patterns if p.fixable and p.state == "open"]
    if not open_problems:
        waiting = [p for p in patterns if p.fixable and p.state != "open"]
        reason = (f"{len(waiting)} pattern(s) are already cited by open or approved proposals"
                  if waiting else "no recurring problem in its feedback")
        if left_out and not waiting:
            reason += f" ({len(left_out)} pattern(s) about the product or praise left out)"
        raise NothingToPropose(f"nothing to propose for {agent}: {reason}",
                               hint="record more feedback, or review the open proposals "
                                    "(`gitimprove proposals`)")
    settings = policy.proposer
    shown = open_problems[: settings.max_patterns]
    praised = [p for p in patterns if not p.negative][:3]
    pending, rejected = prior_rules(repo, agent)
    records = repo.feedback_store().records(agent=agent, with_io=False)
    request = ProposalRequest(agent=agent, file=at.file, protected=protected_ids(at.file, policy),
                              variable_syntax=variable_syntax(at.format),
                              limits=policy.limits, patterns=shown + praised,
                              max_quotes=settings.max_quotes,
                              pending=pending, rejected=rejected,
                              support=support_of(shown, records), min_users=settings.min_users,
                              min_runs=settings.min_runs,
                              wording_min_users=settings.wording_min_users)

    def check(draft: Draft) -> list[str]:
        return draft_problems(at, repo, draft)[1]

    try:
        result = proposer.propose(request, check)
    except NothingNew as exc:
        raise NothingToPropose(f"nothing to propose for {agent}: {exc.message}",
                               hint=exc.hint) from None
    new_text, problems = draft_problems(at, repo, result.draft)
    if problems or new_text is None:
        raise ProposalRefused(agent, problems or ["the draft does not apply"])
    if new_text == at.raw.decode("utf-8"):
        raise NothingToPropose(f"nothing to propose for {agent}: the draft changes nothing")
    left_out = [*result.left_out, *left_out]
    cited_patterns = _cited(result.draft, shown)
    evidence = _evidence(result.draft, cited_patterns)
    when = now()
    pid = _proposal_id(repo, agent, base, result.draft, when)
    plan = Plan(agent=agent, id=pid, branch=f"{BRANCH_PREFIX}{agent}/{pid}", base_commit=base,
                base_blob=at.blob, path=at.path, old_text=at.raw.decode("utf-8"), new_text=new_text,
                message=compose_message(agent, pid, at, result, cited_patterns, evidence, left_out),
                result=result, patterns=cited_patterns, evidence=evidence, left_out=left_out)
    plan.notes += [f"skipped {lo.line()}" for lo in left_out if lo.rejected]
    others = sum(1 for lo in left_out if not lo.rejected)
    if others:
        plan.notes.append(f"{others} pattern(s) left out; the review says why")
    if dry_run:
        return plan
    git = repo.git
    blob = git.write_blob(new_text.encode("utf-8"))
    base_tree = git.tree_of(base)
    tree = replace_path(git, base_tree, at.path, blob)
    committer = git.user_identity() or FALLBACK_COMMITTER
    plan.commit = git.commit_tree(tree, [base], plan.message, author=model_identity(result),
                                  committer=committer)
    git.update_ref(plan.branch, plan.commit, None, f"gitimprove propose: {agent} {pid}")
    if repo.main_tip() != base:
        plan.notes.append(f"main moved while the proposer was thinking; the proposal is based on "
                          f"{base.short}, the version it read")
    return plan


_RULE_OP = re.compile(r"^\d+\. (add rule to|reword rule \d+ of) '([^']*)': (.+)$", re.M)


def _rules_in(message: str, proposal: str, reason: str | None = None) -> list[PriorRule]:
    """The rules a proposal's commit message says it adds or rewords (its numbered operations)."""
    return [PriorRule(text=m.group(3).strip(), section=m.group(2), proposal=proposal, reason=reason,
                      op="add_rule" if m.group(1).startswith("add") else "update_rule")
            for m in _RULE_OP.finditer(message)]


def prior_rules(repo: InstructionRepo, agent: str) -> tuple[list[PriorRule], list[PriorRule]]:
    """Rules that open proposals for this agent add or reword, and those of rejected proposals
    with the reviewer's reason, so that none is proposed again.

    Read from the proposals' commit messages (their numbered operations): one ``for-each-ref``
    for the open ones, one for the rejection records and one ``log`` for the commits they
    reject, whatever their number."""
    pending: list[PriorRule] = []
    out = repo.git.run("for-each-ref", "--format=%(contents)%00", f"{BRANCH_PREFIX}{agent}/")
    for message in out.split("\x00"):
        pid = next(iter(parse_trailers(message).get(T_PROPOSAL, [])), "an open proposal")
        pending += _rules_in(message, pid)
    records = repo.git.run("for-each-ref", "--format=%(parent)%00%(contents)%01",
                           f"{REJECTED_PREFIX}{agent}/")
    reasons: dict[str, tuple[str, str | None]] = {}
    for record in records.split("\x01"):
        parent, _, message = record.strip("\n").partition("\x00")
        trailers = parse_trailers(message)
        if parent.split():
            pid = next(iter(trailers.get(T_PROPOSAL, [])), parent.split()[0][:10])
            reasons[parent.split()[0]] = (pid, next(iter(trailers.get(T_REJECTED, [])), None))
    rejected: list[PriorRule] = []
    if reasons:
        log = repo.git.run("log", "--no-walk=unsorted", "--format=%H%x00%B%x01", *reasons)
        for entry in log.split("\x01"):
            commit, _, message = entry.strip("\n").partition("\x00")
            if commit in reasons:
                pid, reason = reasons[commit]
                rejected += _rules_in(message, pid, reason)
    return pending, rejected


def triage_left_out(patterns: list[Pattern]) -> list[LeftOut]:
    """Open negative patterns no instruction can fix (about the product), for the review."""
    return [LeftOut(f"'{p.label}' ({p.count} items)",
                    f"about the {p.topic or 'product'}, not the answers; no instruction fixes it")
            for p in patterns if p.negative and not p.fixable and p.state == "open"]


def _cited(draft: Draft, patterns: list[Pattern]) -> list[Pattern]:
    """Patterns the draft's operations cite by id; by their feedback ids when no operation
    names a pattern; all shown patterns when neither."""
    cited = {e for op in draft.operations for e in op.evidence}
    chosen = [p for p in patterns if p.id in cited]
    if not chosen:
        chosen = [p for p in patterns if cited & set(p.feedback_ids)]
    return chosen or patterns


def _evidence(draft: Draft, patterns: list[Pattern]) -> list[str]:
    ids: dict[str, None] = {}
    for p in patterns:
        ids.update(dict.fromkeys(p.open_ids or p.feedback_ids))
    for op in draft.operations:
        ids.update(dict.fromkeys(e for e in op.evidence if not e.startswith("pat-")))
    return list(ids)

