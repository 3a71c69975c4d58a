"""The audit trail: every proposal, review decision, rollback and human edit, read from git.

Nothing here is stored outside git. Proposals are ``refs/heads/improve/*`` branches and
``refs/gitimprove/rejected/*`` records; approvals, rollbacks and human edits are commits on
the first-parent history of main. A fresh clone that fetched those refs gives the same trail.
See docs/audit.md for the event kinds and the JSON shape.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Literal

from gitimprove import ledger
from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError
from gitimprove.git import Oid, diff_trees, merge_tree
from gitimprove.instructions.agentfile import AgentFile
from gitimprove.instructions.formats.catalog import adapter_for, agent_name, parse_file, rule_for
from gitimprove.instructions.policy import Policy
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.ledger import Proposal, ProposalState
from gitimprove.ledger.trials import TrialStart, ended, running
from gitimprove.review.actions import judge
from gitimprove.validate import Violation, check_adopted, check_agent, protected_ids

EventKind = Literal["initialised", "proposed", "evaluated", "approved", "rejected", "rolled_back",
                    "human_edit", "trial_start", "trial_stop"]

# Order of events recorded in the same second (a proposal comes before its approval).
_RANK = {"initialised": 0, "human_edit": 1, "proposed": 2, "evaluated": 3, "trial_start": 4,
         "trial_stop": 5, "approved": 6, "rejected": 6, "rolled_back": 7}


@dataclass
class Event:
    """One thing that happened to an agent's instructions. See docs/audit.md."""

    kind: EventKind
    time: datetime
    commit: str
    actor: str
    summary: str
    agent: str | None = None
    proposal: str | None = None
    state: str | None = None
    branch: str | None = None
    model: str | None = None
    proposer: str | None = None
    evidence: list[str] = field(default_factory=list)
    verdict: Literal["pass", "fail"] | None = None
    verdict_against: str | None = None
    violations: list[Violation] = field(default_factory=list)
    reason: str | None = None
    reverts: str | None = None
    restores: str | None = None
    version: str | None = None
    protected: bool | None = None
    protected_sections: list[str] = field(default_factory=list)
    edited_by: list[str] = field(default_factory=list)
    amended_by: str | None = None  # an approval merge someone else rewrote (git's committer)
    evaluation: str | None = None  # the evaluation record an approval's gate let through

    def lines(self, agent_width: int = 18) -> list[str]:
        """The event as `gitimprove audit` prints it (``agent_width``: the agent column's,
        the longest agent name among the events listed)."""
        what = self.proposal or (self.version[:10] if self.version else "")
        out = [f"{self.time:%Y-%m-%d %H:%M}  {self.kind:<11} {self.agent or '-':<{agent_width}} {what:<16} "
               f"{self.commit[:10]}  by {self.actor}", f"    {self.summary}"]
        if self.kind == "proposed":
            out.append(f"    {self.state}, model {self.model}, evidence {len(self.evidence)}"
                       + (f", validator {self.verdict}" if self.verdict else ""))
        if self.evaluation:
            out.append(f"    passed the evaluation gate with record {self.evaluation[:10]}")
        if self.edited_by:
            out.append(f"    edited by {', '.join(self.edited_by)}")
        if self.amended_by:
            out.append(f"    amended by {self.amended_by} after the approval (see its human_edit)")
        if self.reason and self.reason not in self.summary:
            out.append(f"    reason: {self.reason}")
        if self.restores:
            out.append(f"    restores {self.restores}")
        if self.kind == "human_edit" and self.proposal:
            out.append(f"    proposal {self.proposal} landed without an approval merge "
                       "(a fast-forward or a cherry-pick): nobody approved it")
        if self.kind == "human_edit" and self.protected:
            if self.protected_sections:
                out.append(f"    PROTECTED section(s) changed: {', '.join(self.protected_sections)}")
            else:  # an adopted file's protected key (model, tools, ...)
                keys = [v.message for v in self.violations if v.code == "protected-key"]
                out.append(f"    PROTECTED key changed: {'; '.join(keys)}")
        broken = [v.message for v in self.violations if v.code == "schema-invalid"]
        if broken:
            more = f" (and {len(broken) - 1} more problem(s))" if len(broken) > 1 else ""
            out.append(f"    BROKEN: the file does not parse: {broken[0]}{more}")
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data


def audit(repo: InstructionRepo, agent: str | None = None,
          since: datetime | None = None) -> list[Event]:
    """Every event, oldest first; only ``agent``'s, and only from ``since`` on, when given."""
    # NOTE: main's events are listed oldest first, and the sort below is stable: events in
    # the same second keep the order of main's history instead of their commit ids' order.
    book = ledger.scan(repo.git, repo.main_ref)
    events = (_proposal_events(repo, book) + _evaluation_events(book) + _main_events(repo, book)
              + _trial_events(book))
    if agent is not None:
        events = [e for e in events if e.agent == agent]
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        events = [e for e in events if e.time >= since]
    events.sort(key=lambda e: (e.time, _RANK[e.kind]))
    return events


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class Judged:
    """What the validator says about one agent's change: for a proposal, its verdict against
    the target; for a human edit, whether it touched what the policy protects."""

    verdict: Literal["pass", "fail"] | None = None
    verdict_against: str | None = None
    protected: bool | None = None
    protected_sections: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """The :class:`Event` fields it sets."""
        return {"verdict": self.verdict, "verdict_against": self.verdict_against,
                "protected": self.protected, "protected_sections": self.protected_sections,
                "violations": self.violations}


def _verdict(repo: InstructionRepo, info: Proposal, target: Oid | None) -> Judged:
    if target is None:
        return Judged()
    verdict = judge(repo, info, target)
    return Judged("pass" if verdict.passed else "fail", str(target),
                  violations=verdict.violations)


# -- proposals and rejections ---------------------------------------------------------------

def _proposal_events(repo: InstructionRepo, book: ledger.Ledger) -> list[Event]:
    events: list[Event] = []
    tip = book.main
    for info in book.proposals.values():
        # The verdict judged against what the proposal would be (or was) merged into: main for
        # an open one, the first parent of its approval, its own base for a rejected one.
        if info.state == ProposalState.OPEN:
            target: Oid | None = tip
        elif info.approval is not None:
            target = info.approval.first_parent
        else:
            target = repo.git.rev_parse(info.base_commit)
        events.append(Event(
            kind="proposed", time=_when(info.time), commit=str(info.commit.oid), actor=info.author,
            summary=info.summary, agent=info.agent, proposal=info.id, state=info.state.value,
            branch=info.branch if info.state == ProposalState.OPEN else None,
            model=info.record.model or info.commit.author, proposer=info.record.proposer or None,
            evidence=info.evidence, edited_by=_editors(info),
            **_verdict(repo, info, target).fields()))
        if info.rejection is not None:
            events.append(_rejection(info, info.rejection))
    return events


def _trial_events(book: ledger.Ledger) -> list[Event]:
    """Starts of trials (running or ended) and their stops, from the trial records."""
    events: list[Event] = []

    def started(t: TrialStart) -> Event:
        return Event(kind="trial_start", time=t.started_at, commit=str(t.record),
                     actor=t.started_by, agent=t.agent, proposal=t.proposal,
                     summary=f"trial {t.trial_id}: {t.share:.0%} of {t.unit}s get the proposal",
                     version=str(t.candidate))

    for t in running(book):
        events.append(started(t))
    for stop in ended(book):
        events.append(started(stop.start))
        events.append(Event(kind="trial_stop", time=stop.stopped_at, commit=str(stop.record),
                            actor=stop.stopped_by, agent=stop.start.agent,
                            proposal=stop.start.proposal, reason=stop.reason,
                            summary=f"trial {stop.start.trial_id} stopped: {stop.reason}"))
    return events


def _editors(info: Proposal) -> list[str]:
    return list(dict.fromkeys(e.author for e in info.edits))


def _rejection(info: Proposal, rejection: ledger.Rejection) -> Event:
    return Event(kind="rejected", time=_when(rejection.time), commit=str(rejection.record),
                 actor=rejection.by, summary=rejection.summary, agent=info.agent,
                 proposal=info.id, state="rejected", model=info.record.model or None,
                 evidence=info.evidence, reason=rejection.reason or None)


def _evaluation_events(book: ledger.Ledger) -> list[Event]:
    """Every recorded evaluation (re-evaluations too), with its figures."""
    from gitimprove.evaluation.record import EvaluationRecord

    return [Event(kind="evaluated", time=_when(r.time), commit=str(r.commit), actor=r.evaluated_by,
                  summary=f"{r.scorecard.headline()}; judged by {r.scorecard.judge_model}"
                  + (" (stopped early)" if r.scorecard.stopped else ""),
                  agent=r.agent, proposal=r.proposal, model=r.scorecard.model)
            for r in book.records_of(EvaluationRecord)]


# -- main's first-parent history --------------------------------------------------------------

@dataclass
class _Change:
    commit: Oid
    parents: list[str]
    paths: list[tuple[str, Oid | None, Oid | None]] = field(default_factory=list)


def _changes(repo: InstructionRepo, policy: Policy, off_line: Sequence[Oid] = ()) -> list[_Change]:
    """Commits on main's first-parent history touching the agents folder, with their changes
    (each against its first parent), and those of ``off_line`` (main's earlier line that a
    merge brought back, see :class:`ledger.MainEvent`)."""
    # NOTE: adopted files live anywhere in the tree: with a `formats:` mapping every commit is read.
    where = ["--", f"{policy.agents_dir}/"] if not policy.formats else []
    changes = _read_changes(repo.git.run(
        "log", "--first-parent", "--diff-merges=first-parent", "--raw", "--no-abbrev",
        "--no-renames", "-z", "--format=%x01%H %P", repo.main_ref, *where))
    if off_line:
        changes += _read_changes(repo.git.run(
            "log", "--no-walk=unsorted", "--diff-merges=first-parent", "--raw", "--no-abbrev",
            "--no-renames", "-z", "--format=%x01%H %P", *off_line, *where))
    return changes


def _read_changes(out: str) -> list[_Change]:
    changes: list[_Change] = []
    for chunk in out.split("\x01")[1:]:
        # NOTE: with -z the header ends with NUL, then the raw lines are "meta NUL path NUL".
        head, _, raw = chunk.partition("\0")
        ids = head.split()
        change = _Change(Oid(ids[0]), ids[1:])
        fields = raw.strip("\n\0").split("\0")
        for i in range(0, len(fields) - 1, 2):
            meta, path = fields[i].strip("\n"), fields[i + 1]
            parts = meta.lstrip(":").split()
            if len(parts) < 5:
                continue
            a, b = parts[2], parts[3]
            change.paths.append((path, None if set(a) == {"0"} else Oid(a),
                                 None if set(b) == {"0"} else Oid(b)))
        changes.append(change)
    return changes


def _oid_of(got: tuple[Oid, str, bytes] | None) -> Oid | None:
    return got[0] if got is not None else None


def _agent_of(path: str, policy: Policy) -> str | None:
    return posixpath.basename(path)[:-5] if policy.is_native_path(path) else None


def _main_events(repo: InstructionRepo, book: ledger.Ledger) -> list[Event]:
    policy = repo.policy()
    events: list[Event] = []
    changes = {c.commit: c for c in _changes(
        repo, policy, [e.commit.oid for e in book.history if e.off_line])}
    amended = _amendments(repo, [e.approval for e in book.history if e.approval is not None])
    # a proposal on main without an approval merge (fast-forwarded, cherry-picked): its commit
    # is an edit nobody approved, named with its proposal
    landed = {(p.landed_as or p.commit).oid: p.id for p in book.proposals.values()
              if p.state == ProposalState.LANDED}
    for entry in book.history:
        c = entry.commit
        change = changes.get(c.oid)
        paths = change.paths if change is not None else []
        if entry.brings_back is not None and paths:
            # a merge that brought main's earlier line back: what that line changed has its
            # own events; the merge's own edit is what it holds that neither side had
            side = entry.brings_back
            paths = [(path, old, new) for path, old, new in paths
                     if new != _oid_of(repo.git.read_object(f"{side}:{path}"))]
        agents, _ = _agents_changed(repo, policy, paths)
        base: dict[str, Any] = {"time": _when(c.time), "commit": str(c.oid), "summary": c.summary}
        if entry.approval is not None:
            approval = entry.approval
            amendment = amended.get(approval.merge)
            for pid in approval.proposals:
                info = book.proposals[pid]
                events.append(Event(
                    kind="approved", actor=approval.by, agent=info.agent, proposal=info.id,
                    model=info.record.model or None, proposer=info.record.proposer or None,
                    evidence=info.evidence, edited_by=_editors(info),
                    version=_version(agents, info.agent),
                    verdict=None if approval.plain else "pass",
                    evaluation=ledger.evaluation_named(c),
                    amended_by=amendment.by if amendment else None, **base))
            if amendment is not None and amendment.paths:
                events += _edit_events(repo, policy, c.parents[0], amendment.paths,
                                       amendment.by, {**base, "time": _when(amendment.time)})
        elif entry.rollback is not None:
            record = entry.rollback.record
            events.append(Event(
                kind="rolled_back", actor=record.by or c.author_identity, agent=record.agent,
                proposal=record.rollback_of, reverts=str(record.reverts) if record.reverts else None,
                restores=record.restores,
                reason=c.summary.split(": ", 1)[1] if ": " in c.summary else None,
                version=_version(agents, record.agent), **base))
        elif change is None:
            continue
        elif not c.parents:
            events += [Event(kind="initialised", actor=c.author_identity, agent=a, version=new, **base)
                       for a, _, _, new in agents if new is not None]
        else:
            events += _edit_events(repo, policy, c.parents[0], paths, c.author_identity,
                                   {**base, "proposal": landed.get(c.oid)})
    return events


def _edit_events(repo: InstructionRepo, policy: Policy, parent: Oid,
                 paths: Sequence[tuple[str, Oid | None, Oid | None]], actor: str,
                 base: dict[str, Any]) -> list[Event]:
    """A ``human_edit`` event for each agent whose version ``paths`` (path, old blob, new
    blob) change, judged by the policy of ``parent``."""
    agents, adopted = _agents_changed(repo, policy, paths)
    if not agents:
        return []
    parent_policy = repo.policy_at(parent)
    files = {(a, path): (old_file, new_file) for a, path, _, _, old_file, new_file in adopted}
    events = []
    for a, path, old, new in agents:
        if (a, path) in files:
            judged = _protected_adopted(repo, parent_policy, a, path, *files[(a, path)])
        else:
            judged = _protected(repo, parent_policy, a, path, old, new)
        events.append(Event(kind="human_edit", actor=actor, agent=a, version=new,
                            **judged.fields(), **base))
    return events


_Changed = tuple[str, str, Oid | None, Oid | None]


def _agents_changed(repo: InstructionRepo, policy: Policy,
                    paths: Sequence[tuple[str, Oid | None, Oid | None]]
                    ) -> tuple[list[_Changed], list[tuple[str, str, Oid | None, Oid | None,
                                                          Oid | None, Oid | None]]]:
    """The agents whose version ``paths`` change, as (agent, path, old version, new version),
    and those of adopted files with the file's old and new blob added."""
    agents: list[_Changed] = [(a, path, old, new) for path, old, new in paths
                              if (a := _agent_of(path, policy)) is not None]
    adopted = [(a, path, old_v, new_v, old, new) for path, old, new in paths
               if _agent_of(path, policy) is None
               for a, old_v, new_v in _adopted_changes(repo, policy, path, old, new)]
    agents += [(a, path, old_v, new_v) for a, path, old_v, new_v, _, _ in adopted]
    return agents, adopted


@dataclass(frozen=True)
class _Amendment:
    by: str  # git's committer of the rewritten merge, when not its approver ("" otherwise)
    time: int
    paths: list[tuple[str, Oid | None, Oid | None]]  # beyond the merge of its parents


def _amendments(repo: InstructionRepo, approvals: Sequence[ledger.Approval]
                ) -> dict[Oid, _Amendment]:
    """Approval merges rewritten after they were made (``git commit --amend`` on main keeps
    the approver as author, and its ``Approved-by``): who rewrote each (git's committer, when
    it is not the author) and what its tree holds beyond the clean merge of its parents, which
    is what ``approve`` validated and wrote. One ``git log`` for all of them; a merge only for
    those whose committer or commit time is not their author's."""
    if not approvals:
        return {}
    out = repo.git.run("log", "--no-walk=unsorted", "-z",
                       "--format=%H%x1f%T%x1f%an <%ae>%x1f%at%x1f%cn <%ce>%x1f%ct",
                       *[str(a.merge) for a in approvals])
    by_merge = {a.merge: a for a in approvals}
    found: dict[Oid, _Amendment] = {}
    for record in out.split("\0"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) != 6:
            continue
        oid, tree, author, author_time, committer, commit_time = fields
        approval = by_merge.get(Oid(oid))
        if approval is None:
            continue
        # `approve` writes its merge as the approver, author and committer alike, at once;
        # a plain `git merge` is the merger's. `--amend --reset-author` makes both the amender.
        approver = author if approval.plain else approval.by
        if (committer, commit_time) == (author, author_time) and author == approver:
            continue
        clean, conflicts = merge_tree(repo.git, approval.first_parent, approval.head)
        paths = [] if conflicts or clean == tree else diff_trees(repo.git, clean, Oid(tree))
        if committer != approver or paths:
            found[Oid(oid)] = _Amendment(committer if committer != approver else "",
                                         int(commit_time or 0), paths)
    return found


def _version(agents: list[tuple[str, str, Oid | None, Oid | None]], agent: str | None) -> str | None:
    return next((new for a, _, _, new in agents if a == agent and new), None)


def _adopted_changes(repo: InstructionRepo, policy: Policy, path: str, old: Oid | None,
                     new: Oid | None) -> list[tuple[str, Oid | None, Oid | None]]:
    """The agents of an adopted file whose version a change of the file changed."""
    try:
        rule = rule_for(policy, path)
    except InvalidFileError:
        return []
    if rule is None:
        return []

    def versions(blob: Oid | None) -> dict[str, Oid]:
        if blob is None:
            return {}
        got = repo.git.read_blob(blob)
        if got is None:
            return {}
        try:
            parsed = parse_file(adapter_for(rule.format, rule.constants), got[1], path)
        except InvalidFileError:
            return {}
        single = len(parsed.entries) == 1
        return {agent_name(rule, path, e.key): blob if single else Oid(parsed.fingerprint(e))
                for e in parsed.entries}

    before, after = versions(old), versions(new)
    return [(a, before.get(a), after.get(a)) for a in dict.fromkeys([*before, *after])
            if before.get(a) != after.get(a)]


def _protected_adopted(repo: InstructionRepo, policy: Policy, agent: str, path: str,
                       old: Oid | None, new: Oid | None) -> Judged:
    """As :func:`_protected`, for an agent of an adopted file."""
    rule = rule_for(policy, path)
    if rule is None or old is None:
        return Judged(protected=False)
    old_raw = repo.git.read_blob(old)
    new_raw = repo.git.read_blob(new) if new is not None else None
    violations = [v for v in check_adopted(path, old_raw[1] if old_raw else None,
                                           new_raw[1] if new_raw else None, policy, rule)
                  if v.agent in (None, agent)]
    sections = sorted({v.section for v in violations if v.code.startswith("protected-") and v.section})
    touched = bool(sections) or any(v.code == "protected-key" for v in violations)
    return Judged(protected=touched, protected_sections=sections, violations=violations)


def _parse(repo: InstructionRepo, blob: Oid | None, path: str, agent: str) -> AgentFile | None:
    return None if blob is None else repo.agent_file(blob, path, agent)


def _protected(repo: InstructionRepo, policy: Policy, agent: str, path: str,
               old: Oid | None, new: Oid | None) -> Judged:
    """Whether a human edit touched a protected section, and every rule it would break."""
    try:
        before = _parse(repo, old, path, agent)
    except InvalidFileError:
        before = None
    try:
        after = _parse(repo, new, path, agent)
    except InvalidFileError as exc:
        return Judged(protected=None, violations=[
            Violation("schema-invalid", p, path=path, agent=agent) for p in exc.problems])
    if before is None:
        return Judged(protected=False)
    if after is None:
        sections = protected_ids(before, policy)
        return Judged(protected=bool(sections), protected_sections=sections, violations=[
            Violation("file-deleted", "deletes an agent file", path=path, agent=agent)])
    violations = check_agent(before, after, policy, path=path)
    sections = sorted({v.section for v in violations if v.code.startswith("protected-") and v.section})
    return Judged(protected=bool(sections), protected_sections=sections, violations=violations)
