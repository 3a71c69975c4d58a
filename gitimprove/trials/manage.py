"""Starting, stopping and reading trials; the comparison of candidate against live.

Starting a trial is a human decision like an approval: the proposal is validated first with the
target's policy, the policy must allow trials and the share, and who started it is recorded in
git. Serving happens in :meth:`InstructionRepo.load` (``unit=``), which reads the running ref on
every call, so a start or stop is seen by the very next load.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitCommandError, GitImproveError, RefRaceError
from gitimprove.feedback.stats import Summary, compute_stats
from gitimprove.git import Identity, Oid
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.ledger import Proposal
from gitimprove.ledger.trials import (
    UNITS,
    TrialStart,
    TrialStop,
    ended,
    running,
    running_ref,
    stop_updates,
)
from gitimprove.metrics import METRICS, Comparison, Rate, compare, rates_of
from gitimprove.proposals.build import scan
from gitimprove.review.actions import (
    ValidationFailed,
    by_prefix,
    check_merge,
    find_proposal,
    identity_for,
    refuse_untrusted,
)


class TrialError(GitImproveError):
    """A trial that cannot be started, stopped or read as asked."""


def parse_share(text: str | float) -> float:
    """``10%``, ``10`` or ``0.1`` as a fraction strictly between 0 and 1."""
    raw = str(text).strip()
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise TrialError(f"share {raw!r} is not a number",
                         hint="write it as a percentage, like --share 10%") from None
    if raw.endswith("%") or value > 1:
        value /= 100
    if not 0 < value < 1:
        raise TrialError(f"share {raw} must be more than 0% and less than 100%",
                         hint="a trial serves the proposal to part of the traffic; to serve it "
                              "to everyone, approve it")
    return value


def read_trial(repo: InstructionRepo, agent: str) -> TrialStart | None:
    """The running trial of ``agent``, or None (also when the ref is damaged)."""
    tip = repo.git.read_ref(running_ref(agent))
    if tip is None:
        return None
    try:
        return TrialStart.of(repo.git.read_commit(tip))
    except (GitCommandError, ValueError):
        return None


def pause_reason(repo: InstructionRepo, start: TrialStart, live_blob: Oid | None = None) -> str | None:
    """Why a running trial serves main's instructions to everyone for now, or None.

    What users see must be what was approved for trial: a new commit on the proposal branch,
    or a change of the agent on main, pauses the trial until a human starts it again."""
    tip = repo.git.read_ref(start.branch)
    if tip is None:
        return "the proposal branch is gone (approved, rejected or deleted)"
    if tip != start.proposal_commit:
        return "the proposal branch has new commits; start the trial again to serve them"
    if live_blob is None:
        try:  # the agent's version on main: its file's blob (an adopted file of one agent too)
            live_blob = repo.agent_at(start.agent, repo.main_tip()).blob
        except GitImproveError:
            live_blob = None  # gone from main, or its file does not load
    if live_blob != start.live:
        return f"{start.agent} changed on {repo.branch}; start the trial again to serve the merge"
    return None


def _trial_id(info: Proposal, now: float) -> str:
    digest = hashlib.sha256(f"{info.head}\0{now!r}".encode()).hexdigest()[:6]
    return f"{datetime.fromtimestamp(now, UTC):%Y%m%d}-{digest}"


def start_trial(repo: InstructionRepo, spec: str, *, share: str | float, unit: str | None = None,
                by: str | None = None) -> TrialStart:
    """Validate the proposal, then record a trial serving it to ``share`` of ``unit``s.

    A trial already running for the same proposal is replaced (a restart after a pause); one
    for another proposal of the agent is refused. The running ref is created or moved by
    compare-and-swap, so of two people starting trials at once exactly one wins."""
    fraction = parse_share(share)
    info = find_proposal(repo, spec, include_closed=True)
    if info.state != "open" or info.ref is None:
        raise TrialError(f"proposal {info.id} is {info.state.replace('_', ' ')}, not open",
                         hint="only an open proposal can be tried")
    tip = repo.main_tip()
    refuse_untrusted(repo, info, tip)  # a forged record is refused here as by `approve`
    policy = repo.policy_at(tip)
    settings = policy.trials
    if not settings.allowed:
        raise TrialError("the policy does not allow trials (trials.allowed: false in gitimprove.yaml)",
                         hint="evaluate or approve the proposal instead")
    if fraction > settings.max_share + 1e-12:
        raise TrialError(f"share {fraction:.0%} is above the policy's maximum of "
                         f"{settings.max_share:.0%} (trials.max_share in gitimprove.yaml)",
                         hint=f"use --share {settings.max_share * 100:g}% or less")
    unit = unit or settings.unit
    if unit not in UNITS:
        raise TrialError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    check = check_merge(repo, tip, info.head)
    if check.tree is None or check.violations:
        if any(v.code == "conflict" for v in check.violations):
            raise TrialError(f"proposal {info.id} no longer merges cleanly into {repo.branch}",
                             hint="reject it and propose again from the current main")
        raise ValidationFailed(f"trial of {info.id}", check.violations)
    at = repo.agent_at(info.agent, tip)
    path = at.path
    candidate = repo.git.read_blob(f"{check.tree}:{path}")
    live = repo.git.read_blob(f"{tip}:{path}")
    if candidate is None or live is None:
        raise TrialError(f"proposal {info.id} does not leave {path} on {repo.branch}",
                         hint="a trial serves an existing agent's changed instructions")
    versions = (candidate[0], live[0])
    files: tuple[Oid | None, Oid | None] = (None, None)
    place = repo.catalog(commit=tip).agents.get(info.agent) if at.adopted else None
    if place is not None and at.blob != at.file_blob:
        # one agent among several in its file (a crewAI agents.yaml): its versions are
        # fingerprints of its part, and the record names the files' blobs too
        version = repo.agent_version(place, candidate[0])
        if version is None:
            raise TrialError(f"proposal {info.id} does not leave {info.agent} in {path} on "
                             f"{repo.branch}", hint="a trial serves an existing agent's changed "
                             "instructions")
        versions, files = (version, at.blob), (candidate[0], live[0])
    if versions[0] == versions[1]:
        raise TrialError(f"proposal {info.id} does not change {info.agent}'s instructions "
                         f"on {repo.branch}: there is nothing to try")
    person = identity_for(repo, by)
    now = time.time()
    start = TrialStart(trial_id=_trial_id(info, now), agent=info.agent, proposal=info.id,
                       proposal_commit=info.head, branch=info.ref, share=fraction, unit=unit,
                       candidate=versions[0], live=versions[1], started_by=str(person),
                       started_at=datetime.fromtimestamp(int(now), UTC),
                       candidate_file=files[0], live_file=files[1])
    record = repo.git.commit_tree(repo.git.tree_of(info.head), [info.head], start.message(),
                                  author=person, committer=person)
    ref = running_ref(info.agent)
    current_tip = repo.git.read_ref(ref)
    updates: list[tuple[str, Oid | None, Oid | None]] = [(ref, record, current_tip)]
    if current_tip is not None:
        current = read_trial(repo, info.agent)
        if current is not None and current.proposal != info.id:
            raise TrialError(
                f"a trial of {info.agent} is running already: proposal {current.proposal} "
                f"(trial {current.trial_id}, started by {current.started_by})",
                hint=f"one trial per agent; stop it first: gitimprove trial stop {current.proposal}")
        if current is not None and pause_reason(repo, current) is None and \
                current.share == fraction and current.unit == unit:
            raise TrialError(f"the trial of {info.id} is running already (trial {current.trial_id})",
                             hint="see `gitimprove trial status`")
        if current is not None:  # a restart: the old trial's stop record in the same update
            updates += [u for u in stop_updates(repo.git, info.agent, current.proposal,
                                                "restarted", person) if u[0] != ref]
    try:
        repo.git.update_refs(updates, f"gitimprove trial start: {info.id}")
    except RefRaceError:
        raise TrialError(f"someone else started or stopped a trial of {info.agent} meanwhile; "
                         "nothing was changed", hint="see `gitimprove trial status`") from None
    return TrialStart(**{**start.__dict__, "record": record})


def stop_trial(repo: InstructionRepo, spec: str, *, reason: str = "stopped",
               by: str | None = None) -> TrialStop:
    """Stop the trial of a proposal (id) or of an agent (name): a stop record is kept and the
    running ref removed in one transaction."""
    start = _find_running(repo, spec)
    if start is None:
        book = scan(repo)
        # a trial its proposal's approval (or rejection, or a stop) ended: say when and why
        last = next((t for t in reversed(ended(book)) if spec in (
            t.start.agent, t.start.proposal, t.start.trial_id)), None)
        if last is not None:
            raise TrialError(
                f"the trial of {last.start.proposal} ended already: {last.reason} "
                f"({last.stopped_at:%Y-%m-%d %H:%M} UTC, by {last.stopped_by})",
                hint=f"its history: gitimprove audit --agent {last.start.agent}")
        names = ", ".join(f"{t.agent} ({t.proposal})" for t in running(book)) or "none"
        raise TrialError(f"no running trial for {spec!r}", hint=f"running trials: {names}")
    return _stop(repo, start, reason, identity_for(repo, by))


def _stop(repo: InstructionRepo, start: TrialStart, reason: str, person: Identity) -> TrialStop:
    updates = stop_updates(repo.git, start.agent, start.proposal, reason, person)
    if not updates:
        raise TrialError(f"the trial of {start.agent} changed meanwhile; nothing was changed",
                         hint="see `gitimprove trial status`")
    try:
        repo.git.update_refs(updates, f"gitimprove trial stop: {start.proposal}")
    except RefRaceError:
        raise TrialError(f"the trial of {start.agent} changed meanwhile; nothing was changed",
                         hint="see `gitimprove trial status`") from None
    record = updates[1][1]
    assert record is not None
    return TrialStop.of(repo.git.read_commit(record), repo.git.read_commit(updates[0][2] or record))


def _find_running(repo: InstructionRepo, spec: str) -> TrialStart | None:
    """The running trial ``spec`` names: an agent, a proposal or trial id, or a unique prefix
    of one (``5dd30d``, as every command that takes a proposal reads it)."""
    trials = running_trials(repo)
    for start in trials:
        if spec in (start.agent, start.proposal, start.trial_id, f"{start.agent}/{start.proposal}"):
            return start
    started = [t for t in trials if by_prefix(spec, [t.proposal, t.trial_id])]
    return started[0] if len(started) == 1 else None


def running_trials(repo: InstructionRepo) -> list[TrialStart]:
    """Every running trial, by agent (from the ledger's scan)."""
    return running(scan(repo))


def ended_trials(repo: InstructionRepo) -> list[TrialStop]:
    """Every ended trial, oldest first (from the ledger's scan)."""
    return ended(scan(repo))


# -- comparing ----------------------------------------------------------------------------------

TrialVerdict = Literal["worse", "better", "no clear change", "too little feedback"]


@dataclass
class TrialStatus:
    """A running trial, whether it is serving, and candidate against live since it started."""

    start: TrialStart
    paused: str | None
    candidate_runs: int
    live_runs: int
    candidate: dict[str, Rate]
    live: dict[str, Rate]
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def verdict(self) -> TrialVerdict:
        verdicts = {c.verdict for c in self.comparisons}
        for v in ("worse", "better", "no clear change"):
            if v in verdicts:
                return v
        return "too little feedback"

    def lines(self) -> list[str]:
        """Candidate against live, one metric a line (``trial status`` and ``review``)."""
        s = self.start
        state = f"paused: {self.paused}" if self.paused else "running"
        out = [f"{s.agent}: trial {s.trial_id} of proposal {s.proposal}, {s.share:.0%} of {s.unit}s",
               f"  started {s.started_at:%Y-%m-%d %H:%M} UTC by {s.started_by}; {state}",
               f"  {'':<16}{'candidate':>22}{'live':>22}  change",
               f"  {'runs':<16}{self.candidate_runs:>22}{self.live_runs:>22}"]
        for c in self.comparisons:
            name = c.metric.replace("_rate", "").replace("_output", "").replace("_", " ")
            change = "" if c.verdict == "too little feedback" else f"{c.difference * 100:+.0f} pts, "
            out.append(f"  {name:<16}{_cell(c.new):>22}{_cell(c.old):>22}  {change}{c.verdict}")
        if not self.comparisons:
            out.append("  no feedback on either arm yet")
        out.append(f"  verdict: {self.verdict}")
        if self.verdict == "worse":
            out.append(f"  stop the trial: gitimprove trial stop {s.proposal}")
        return out

    def to_json(self) -> dict[str, Any]:
        def rate(r: Rate) -> dict[str, Any]:
            ci = r.interval()
            return {"hits": r.hits, "n": r.n, "rate": r.value, "ci95": list(ci) if ci else None}

        s = self.start
        return {
            "trial": s.trial_id, "agent": s.agent, "proposal": s.proposal,
            "commit": str(s.proposal_commit), "share": s.share, "unit": s.unit,
            "candidate_version": str(s.candidate), "live_version": str(s.live),
            "started_by": s.started_by, "started_at": s.started_at.isoformat(),
            "state": "paused" if self.paused else "running", "paused": self.paused,
            "candidate": {"runs": self.candidate_runs,
                          "rates": {k: rate(v) for k, v in self.candidate.items()}},
            "live": {"runs": self.live_runs, "rates": {k: rate(v) for k, v in self.live.items()}},
            "verdict": self.verdict,
            "changes": [{"metric": c.metric, "difference": c.difference, "ci95": list(c.interval),
                         "p_worse": c.p_worse, "p_better": c.p_better, "verdict": c.verdict}
                        for c in self.comparisons],
        }


def _cell(rate: Rate) -> str:
    if rate.value is None:
        return "-"
    ci = rate.interval()
    return f"{rate.value:.0%} [{ci[0]:.0%}-{ci[1]:.0%}]" if ci else f"{rate.value:.0%}"


def trial_status(repo: InstructionRepo, agent: str | None = None) -> list[TrialStatus]:
    """Running trials (of ``agent``), each compared with live over the same period: feedback
    recorded since the trial started on the candidate's version against main's."""
    out = []
    if agent is not None:  # one ref (review asks for one agent's): no scan of every record
        found = read_trial(repo, agent)
        trials = [found] if found is not None else []
    else:
        trials = running_trials(repo)
    store = repo.feedback_store() if trials else None
    for start in trials:
        assert store is not None
        records = store.records(agent=start.agent, since=start.started_at,
                                versions=[str(start.candidate), str(start.live)], with_io=False)
        out.append(_status(repo, start, records))
    return out


def _status(repo: InstructionRepo, start: TrialStart, records: Iterable[Any]) -> TrialStatus:
    groups: dict[str, list[Any]] = {str(start.candidate): [], str(start.live): []}
    for rec in records:
        if rec.version in groups:
            groups[rec.version].append(rec)
    cand_runs, cand = rates_of(_row(groups[str(start.candidate)]))
    live_runs, live = rates_of(_row(groups[str(start.live)]))
    comparisons = [compare(name, live[name], cand[name], worse) for name, _, worse in METRICS
                   if live[name].n or cand[name].n]
    return TrialStatus(start, pause_reason(repo, start), cand_runs, live_runs, cand, live,
                       comparisons)


def _row(records: list[Any]) -> Summary | None:
    rows = compute_stats(records)
    return rows[0].summary if rows else None


def check_trials(repo: InstructionRepo) -> list[TrialStatus]:
    """Running trials whose candidate is significantly worse than live: stop them."""
    return [s for s in trial_status(repo) if s.verdict == "worse"]
