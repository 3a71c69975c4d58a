"""Proposals: model-authored branches built straight in git's object store.

``propose`` reads main once, asks a proposer for a draft, checks it with the same validator
that guards the merge, and only then writes a blob, a tree, a commit (parent: the main tip it
read; author: the model) and creates ``improve/<agent>/<id>`` with compare-and-swap. The
working tree, the index and HEAD are never touched; a refused draft leaves nothing behind.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import textwrap
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Literal

from gitimprove import ledger
from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.git import FALLBACK_COMMITTER, Identity, Oid, file_lock, replace_path
from gitimprove.instructions.formats import variable_syntax
from gitimprove.instructions.formats.prose import EditError
from gitimprove.instructions.repo import AgentAt, InstructionRepo
from gitimprove.patterns.model import EvidenceState, Pattern
from gitimprove.proposals.operations import (
    AddRule,
    AddSection,
    Draft,
    Operation,
    UpdateRule,
    apply,
    describe,
    operation_section,
)
from gitimprove.proposals.proposers.base import (
    LeftOut,
    NothingNew,
    ProposalRequest,
    Proposer,
    ProposerResult,
    left_out_lines,
)
from gitimprove.proposals.rules import (
    PriorRule,
    objection,
    proposed_again,
    rejected_match,
    written,
)
from gitimprove.proposals.support import support_of, voices_since
from gitimprove.text import percent
from gitimprove.validate import Violation, check_change, protected_ids


class NothingToPropose(GitImproveError):
    """No open pattern calls for a change (all addressed, pending, or none found);
    ``left_out``: each pattern the proposer passed over, and why."""

    def __init__(self, message: str, *, hint: str | None = None,
                 left_out: list[LeftOut] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.left_out = left_out or []


class ProposalRefused(GitImproveError):
    """The draft would fail the validator; nothing was written."""

    def __init__(self, agent: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"proposal for {agent} refused: " + "; ".join(problems),
                         hint="nothing was written; the proposer's answer broke the rules above")


def model_identity(result: ProposerResult) -> Identity:
    """Commits are authored by the model that wrote them."""
    return ledger.model_identity(result.model, result.proposer)


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

def scan(repo: InstructionRepo) -> ledger.Ledger:
    """The ledger of ``repo``'s main branch (every proposal and its state)."""
    return ledger.scan(repo.git, repo.main_ref)


def evidence_states(repo: InstructionRepo) -> dict[str, EvidenceState]:
    """Feedback cited by an open proposal is pending; by an approved (not rolled back) one,
    addressed (read from the ledger: two git calls whatever the number of proposals, fewer
    while main and the branches do not move)."""
    return {fid: state.value for fid, state in scan(repo).evidence_states().items()}


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
        taken = (repo.git.read_ref(f"{ledger.BRANCH_PREFIX}{agent}/{pid}") is not None
                 or repo.git.read_ref(ledger.RejectionRecord.ref(agent, pid)) is not None)
        if not taken:
            return pid
    raise GitImproveError(f"no free proposal id for {agent}", hint="this is a bug; please report it")


def _quote(text: str, width: int = 160) -> str:
    return ledger.one_line(text, width)


def added_rules(operations: Iterable[Operation]) -> list[str]:
    """The rules a list of operations adds or rewords (what no later proposal should repeat)."""
    rules: list[str] = []
    for op in operations:
        if isinstance(op, AddRule | UpdateRule):
            rules.append(op.text)
        elif isinstance(op, AddSection):
            rules += op.rules or []
    return list(dict.fromkeys(r.strip() for r in rules if r.strip()))


def proposal_record(agent: str, pid: str, at: AgentAt, result: ProposerResult,
                    patterns: list[Pattern], evidence: list[str]) -> ledger.ProposalRecord:
    """The ledger record of a proposal: its trailers and its machine-readable content."""
    usage = result.usage
    return ledger.ProposalRecord(
        id=pid, agent=agent, base_version=at.blob, base_commit=at.commit,
        evidence=tuple(evidence), patterns=tuple(p.id for p in patterns),
        model=result.model, proposer=result.proposer,
        usage=ledger.Usage(usage.input_tokens, usage.output_tokens, usage.requests),
        content=ledger.ProposalContent(
            tuple(op.model_dump(mode="json") for op in result.draft.operations),
            tuple(added_rules(result.draft.operations))))


def _wrap(line: str, indent: str) -> str:
    """One item of the message wrapped at 72 columns, as git's own messages are (an operation
    with its rule and reason made lines of 300 columns in `git log`); a word is never cut."""
    return textwrap.fill(line, 72, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)


def compose_message(agent: str, pid: str, at: AgentAt, result: ProposerResult,
                    patterns: list[Pattern], evidence: list[str],
                    left_out: list[LeftOut] | None = None, again: list[str] | None = None) -> str:
    """The commit message is the review: summary, rationale, operations, evidence, what was
    left out, and then what the ledger owns (the content block and the trailers)."""
    draft = result.draft
    parts = [f"{agent}: {ledger.one_line(draft.summary.strip().splitlines()[0], 200)}",
             textwrap.fill(ledger.one_line(draft.rationale, 4000), 72)]
    ops = ["Operations:"]
    for n, op in enumerate(draft.operations, 1):
        ops.append(_wrap(f"{n}. {ledger.one_line(describe(op), 4000)}", "   "))
        ops.append(_wrap(f"   Reason: {_quote(op.reason, 300)}", "   "))
    parts.append("\n".join(ops))
    if patterns:
        lines = ["Feedback behind it (quoted from users; data, not instructions):"]
        for p in patterns:
            lines.append(_wrap(f"- {_quote(p.label, 200)} ({p.kind.replace('_', ' ')}, "
                               f"{p.count} items, {percent(p.share)} of feedback) [{p.id}]", "  "))
            lines += [_wrap(f'    > "{_quote(q)}"', "      ") for q in p.quotes[:3]]
        parts.append("\n".join(lines))
    if again:
        lines = ["Proposed again after a rejection:"]
        lines += [_wrap(f"- {_quote(line, 600)}", "  ") for line in again]
        parts.append("\n".join(lines))
    if left_out:
        lines = ["Left out, and why:"]
        lines += [_wrap(f"- {line}", "  ")
                  for line in left_out_lines(left_out, quote=lambda text: _quote(text, 300))]
        parts.append("\n".join(lines))
    parts.append(f"Based on {at.path} at {at.commit.short} (blob {at.blob.short}).")
    return proposal_record(agent, pid, at, result, patterns, evidence).message(parts)


def propose(
    repo: InstructionRepo,
    agent: str,
    proposer: Proposer,
    *,
    dry_run: bool = False,
    patterns: list[Pattern] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    shared: ledger.Ledger | None = None,
    agents_after: int = 0,
) -> Plan:
    """Propose an improvement of ``agent`` from its open feedback patterns.

    Raises :class:`NothingToPropose` when no open pattern calls for a change, and
    :class:`ProposalRefused` when the draft would fail the validator. Writes nothing on
    ``dry_run``; otherwise creates the branch and returns the plan with its commit.

    Two processes proposing for the same agent take turns (a lock under the git directory):
    the second sees the first one's evidence as pending instead of proposing it again.
    ``shared`` is the remote's ledger (its main may be ahead of this clone's): evidence it has
    addressed or has pending is not proposed again. ``agents_after``: how many agents the
    same command proposes for after this one (the proposer's requests are counted out)."""
    if dry_run:
        return _propose(repo, agent, proposer, dry_run=True, patterns=patterns, now=now,
                        shared=shared, agents_after=agents_after)
    with file_lock(repo.git.state_dir / "locks" / f"propose-{agent}.lock"):
        return _propose(repo, agent, proposer, dry_run=False, patterns=patterns, now=now,
                        shared=shared, agents_after=agents_after)


def _propose(
    repo: InstructionRepo,
    agent: str,
    proposer: Proposer,
    *,
    dry_run: bool,
    patterns: list[Pattern] | None,
    now: Callable[[], datetime],
    shared: ledger.Ledger | None,
    agents_after: int,
) -> Plan:
    base = repo.main_tip()
    at = repo.agent_at(agent, base)
    policy = repo.policy_at(base)
    book = scan(repo)
    analyzed = patterns is None
    if patterns is None:
        states = book.evidence_states(*([shared] if shared is not None else []))
        patterns = repo.analyze(agent, evidence_state=lambda fid: states[fid].value if fid in states else "open")
    left_out = triage_left_out(patterns)
    open_problems = [p for p in patterns if p.fixable and p.state == "open"]
    if analyzed and not patterns and repo.feedback_store().count(agent) == 0:
        from gitimprove.feedback.errors import add_feedback_hint

        raise NothingToPropose(f"nothing to propose for {agent}: no feedback on it yet",
                               hint=add_feedback_hint(agent))
    if not open_problems:
        waiting = [p for p in patterns if p.fixable and p.state != "open"]
        reason = (f"{len(waiting)} pattern(s) are already cited by open or approved proposals"
                  if waiting else "no recurring problem in its feedback")
        if left_out and not waiting:
            reason += f" ({len(left_out)} pattern(s) no instruction can fix left out)"
        raise NothingToPropose(f"nothing to propose for {agent}: {reason}",
                               hint="record more feedback, or review the open proposals "
                                    "(`gitimprove proposals`)")
    settings = policy.proposer
    # NOTE: max_patterns bounds a model's prompt; the offline proposer reads every open
    # pattern, so one with a stock remedy is not lost below eight it can do nothing with
    # (10,000 reviews of a companion app: its 13 complaints of refusals ranked 33rd)
    shown = (open_problems if getattr(proposer, "reads_every_pattern", False)
             else open_problems[: settings.max_patterns])
    praised = [p for p in patterns if not p.negative][:3]
    pending, rejected = prior_rules(repo, agent, book)
    records = repo.feedback_store().records(agent=agent, with_io=False)
    from gitimprove.patterns.analysis import themer_for  # (imported by the analysis above)

    # A rejection stands against the evidence the reviewer saw: enough users complaining
    # again after it let the rule come back (the proposal says so).
    voices = {id(r): voices_since(r, patterns, records) for r in rejected}
    returning = [r for r in rejected if voices[id(r)] >= settings.min_users]
    all_rejected, rejected = rejected, [r for r in rejected if r not in returning]
    request = ProposalRequest(agent=agent, file=at.file, protected=protected_ids(at.file, policy),
                              variable_syntax=variable_syntax(at.format),
                              limits=policy.limits, patterns=shown + praised,
                              max_quotes=settings.max_quotes,
                              pending=pending, rejected=rejected,
                              support=support_of(shown, records, themer_for(at.file)),
                              min_users=settings.min_users,
                              min_runs=settings.min_runs,
                              wording_min_users=settings.wording_min_users,
                              agents_after=agents_after)

    def check(draft: Draft) -> list[str]:
        return draft_problems(at, repo, draft)[1]

    try:
        result = proposer.propose(request, check)
    except NothingNew as exc:
        raise NothingToPropose(f"nothing to propose for {agent}: {exc.message}",
                               hint=exc.hint, left_out=[*exc.left_out, *left_out]) from None
    new_text, problems = draft_problems(at, repo, result.draft)
    if problems or new_text is None:
        raise ProposalRefused(agent, problems or ["the draft does not apply"])
    if new_text == at.raw.decode("utf-8"):
        raise NothingToPropose(f"nothing to propose for {agent}: the draft changes nothing")
    left_out = [*result.left_out, *left_out]
    again = _again(result.draft, all_rejected,
                   {i: f"{voices[i]} users complained again since" for i in map(id, returning)})
    cited_patterns = _cited(result.draft, shown)
    evidence, dropped = _evidence(agent, result.draft, shown, cited_patterns)
    when = now()
    pid = _proposal_id(repo, agent, base, result.draft, when)
    plan = Plan(agent=agent, id=pid, branch=f"{ledger.BRANCH_PREFIX}{agent}/{pid}", base_commit=base,
                base_blob=at.blob, path=at.path, old_text=at.raw.decode("utf-8"), new_text=new_text,
                message=compose_message(agent, pid, at, result, cited_patterns, evidence, left_out,
                                        again),
                result=result, patterns=cited_patterns, evidence=evidence, left_out=left_out)
    plan.notes += [f"proposed again: {line}" for line in again]
    plan.notes += [f"skipped {lo.line()}" for lo in left_out if lo.rejected]
    others = sum(1 for lo in left_out if not lo.rejected)
    if others:
        plan.notes.append(f"{others} pattern(s) left out; the review says why")
    if dropped:
        plan.notes.append(f"{len(dropped)} feedback id(s) cannot be cited in git (spaces, commas or "
                          "non-ASCII characters) and stay open: " + ", ".join(map(repr, dropped[:3])))
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


def prior_rules(repo: InstructionRepo, agent: str, book: ledger.Ledger | None = None
                ) -> tuple[list[PriorRule], list[PriorRule]]:
    """Rules that open proposals for this agent add or reword, and those of rejected proposals
    with the reviewer's reason, so that none is proposed again (the oldest proposal's first).

    Read from the proposals' content blocks (the ledger's summaries: no proposal is built). A
    proposal written before content blocks existed is read from its files instead: the rules
    its commit has that its base did not (only those proposals are built)."""
    book = book or scan(repo)
    pending: list[PriorRule] = []
    rejected: list[PriorRule] = []
    undone = ledger.ProposalState.ROLLED_BACK
    mine = [s for s in sorted(book.summaries(), key=lambda s: (s.time, s.id)) if s.agent == agent
            and s.state in (ledger.ProposalState.OPEN, ledger.ProposalState.REJECTED, undone)]
    # built: a proposal written before content blocks, and a rolled-back one (its rollback)
    built = {p.id: p for p in book.select(s.key for s in mine
                                          if s.operations is None or s.state == undone)}
    for s in mine:
        if s.state == ledger.ProposalState.OPEN:
            pending += _prior(repo, s, built.get(s.id))
        else:  # rejected, or approved and then rolled back: kept out alike
            rejected += _prior(repo, s, built.get(s.id))
    return pending, rejected


def _again(draft: Draft, rejected: list[PriorRule], returning: dict[int, str]) -> list[str]:
    """One line per rule of ``draft`` that a reviewer rejected before: when, by whom, their
    reason, and why it is back (``returning``: by ``id()`` of the rejected rule, new
    complaints; else the reason was about its place or its wording, not the rule)."""
    lines = []
    for op in draft.operations:
        section = operation_section(op)
        for text in written(op):
            prior = proposed_again(text, rejected)
            if prior is None:
                continue
            why = returning.get(id(prior), "")
            if not why and rejected_match(text, [prior], section) is None:
                why = {"place": f"the reason was about its place (it was in '{prior.section}', "
                                f"now '{section}')",
                       "wording": "the reason was about its wording, and this one is worded "
                                  "differently"}.get(objection(prior.reason), "")
            lines.append(f"{text!r} was {prior.rejected_before()}" + (f"; back: {why}" if why else ""))
    return lines


def pending_rules(repo: InstructionRepo, agent: str, book: ledger.Ledger | None = None) -> list[str]:
    """The texts of the rules open proposals for ``agent`` add or reword."""
    return list(dict.fromkeys(r.text for r in prior_rules(repo, agent, book)[0]))


def _prior(repo: InstructionRepo, s: ledger.Summary, built: ledger.Proposal | None
           ) -> list[PriorRule]:
    """The rules ``s`` adds or rewords: from its content block, else (``built``: the proposal,
    for one written before content blocks) from its files. A rolled-back proposal's rules
    carry its rollback (``built`` holds it): who, when and why, as a rejection's do."""
    undone = built.rollback if built is not None else None

    def prior(text: str, section: object, kind: str = "add_rule", cited: object = ()) -> PriorRule:
        own = tuple(c for c in cited if isinstance(c, str) and c in s.patterns) \
            if isinstance(cited, list) else ()
        if undone is not None:  # "Roll back AGENT proposal ID: the reason"
            why = ledger.one_line(undone.summary.partition(": ")[2]) or None
            return PriorRule(text, str(section), s.id, why, kind, by=undone.record.by,
                             when=undone.time, evidence=s.evidence, patterns=own or s.patterns,
                             rolled_back=True)
        if s.rejection is None:
            return PriorRule(text, str(section), s.id, None, kind)
        reason, by, when = s.rejection
        return PriorRule(text, str(section), s.id, reason, kind, by=by, when=when,
                         evidence=s.evidence, patterns=own or s.patterns)

    if s.operations is None:
        return [] if built is None else _prior_from_files(repo, built, prior)
    out: list[PriorRule] = []
    for op in s.operations:
        kind = op.get("op")
        if kind in ("add_rule", "update_rule") and isinstance(op.get("text"), str):
            out.append(prior(op["text"], op.get("section", ""), str(kind), op.get("evidence")))
        elif kind == "add_section":
            out += [prior(r, op.get("id", ""), cited=op.get("evidence"))
                    for r in op.get("rules") or [] if isinstance(r, str)]
    return out


def _prior_from_files(repo: InstructionRepo, p: ledger.Proposal,
                      prior: Callable[[str, object], PriorRule]) -> list[PriorRule]:
    try:
        new = repo.agent_at(p.agent, p.commit.oid).file
        old = repo.agent_at(p.agent, p.commit.parents[0]).file if p.commit.parents else None
    except GitImproveError:
        return []
    before = {r for s in (old.sections if old else []) for r in s.rules or []}
    return [prior(r, s.id) for s in new.sections for r in s.rules or [] if r not in before]


def triage_left_out(patterns: list[Pattern]) -> list[LeftOut]:
    """Open negative patterns no instruction can fix (about the product, or giving no
    reason), for the review."""
    return [LeftOut(f"'{p.label}' ({p.count} items)",
                    "the feedback gives no reason; nothing an instruction could change"
                    if p.triage == "unspecific" else
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


def _evidence(agent: str, draft: Draft, shown: list[Pattern], cited: list[Pattern]
              ) -> tuple[list[str], list[str]]:
    """The feedback ids a proposal cites: its patterns' open ids and the ids its operations
    name. Every id an operation names must belong to a pattern the proposer was shown (so to
    this agent's feedback); anything else is refused before anything is written. Returns the
    ids and those left out because they cannot be written into a trailer."""
    known = {i for p in shown for i in p.feedback_ids}
    pattern_ids = {p.id for p in shown}
    unknown = [e for op in draft.operations for e in op.evidence
               if e not in known and e not in pattern_ids]
    if unknown:
        raise ProposalRefused(agent, [
            f"the proposer cited evidence that is not in the patterns it was shown for {agent}: "
            + ", ".join(repr(ledger.one_line(e, 40)) for e in unknown[:5])
            + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")])
    ids: dict[str, None] = {}
    for p in cited:
        ids.update(dict.fromkeys(p.open_ids or p.feedback_ids))
    for op in draft.operations:
        ids.update(dict.fromkeys(e for e in op.evidence if e not in pattern_ids))
    return ([i for i in ids if ledger.is_evidence_id(i)],
            [i for i in ids if not ledger.is_evidence_id(i)])


@dataclass
class Outcome:
    """What proposing for one agent came to (``propose_each``): a plan (proposed or dry
    run), nothing to propose, or an error that did not stop the other agents."""

    agent: str
    status: Literal["proposed", "dry-run", "nothing", "error"]
    reason: str | None = None
    plan: Plan | None = None
    pushed_to: str | None = None
    hint: str | None = None  # what to do when there is nothing to propose
    left_out: list[LeftOut] = field(default_factory=list)  # ... and what was passed over, why

    def to_json(self) -> dict[str, object]:
        if self.plan is None:
            return {"agent": self.agent, "status": self.status, "reason": self.reason,
                    **({"hint": self.hint} if self.hint else {}),
                    **({"left_out": _left_out_json(self.left_out)} if self.left_out else {})}
        plan = self.plan
        usage = plan.result.usage
        data: dict[str, object] = {
            "agent": self.agent, "status": self.status, "id": plan.id,
            "branch": plan.short_branch, "commit": str(plan.commit) if plan.commit else None,
            "base_commit": str(plan.base_commit), "base_version": str(plan.base_blob),
            "proposer": plan.result.proposer, "model": plan.result.model,
            "operations": [op.model_dump(mode="json") for op in plan.result.draft.operations],
            "evidence": plan.evidence, "patterns": [p.id for p in plan.patterns],
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
            "diff": plan.diff, "message": plan.message, "notes": plan.notes,
            "left_out": _left_out_json(plan.left_out)}
        if self.pushed_to:
            data["pushed_to"] = self.pushed_to
        return data


def _left_out_json(left_out: list[LeftOut]) -> list[dict[str, object]]:
    return [{"what": lo.what, "why": lo.why, "rejected": lo.rejected} for lo in left_out]


def propose_each(repo: InstructionRepo, agents: list[str], proposer: Proposer, *,
                 dry_run: bool = False,
                 publish: Callable[[Plan], str] | None = None,
                 shared: ledger.Ledger | None = None) -> list[Outcome]:
    """Propose for each agent in turn. With one agent its error is raised; with several, an
    agent's error is recorded and the others still get their turn. ``publish`` (pushing the
    new branch) runs after each proposal is written and returns where it went; ``shared`` is
    the remote's ledger (see :func:`propose`)."""
    if not agents:
        raise GitImproveError("name an agent, or pass --all", hint="see `gitimprove agents`")
    outcomes: list[Outcome] = []
    # NOTE: an agent without feedback asks no model: the bound on the requests leaves it out
    store = repo.feedback_store()
    asking = [store.count(name) > 0 for name in agents]
    for n, name in enumerate(agents, 1):
        try:
            plan = propose(repo, name, proposer, dry_run=dry_run, shared=shared,
                           agents_after=sum(asking[n:]))
        except NothingToPropose as exc:
            outcomes.append(Outcome(name, "nothing", exc.message, hint=exc.hint,
                                    left_out=exc.left_out))
            continue
        except GitImproveError as exc:
            if len(agents) == 1:
                raise
            outcomes.append(Outcome(name, "error", str(exc)))
            continue
        outcome = Outcome(name, "dry-run" if dry_run else "proposed", plan=plan)
        if publish is not None and not dry_run and plan.commit:
            try:
                outcome.pushed_to = publish(plan)
            except GitImproveError as exc:
                if len(agents) == 1:
                    raise
                outcome = Outcome(name, "error", str(exc))
        outcomes.append(outcome)
    return outcomes
