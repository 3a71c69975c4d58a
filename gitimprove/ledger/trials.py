"""A trial as git records it: who started it, for which proposal, on what share of traffic.

A running trial is the ref ``refs/gitimprove/trials/<agent>``: at most one per agent, created
by compare-and-swap so that two people starting trials at once cannot both win. It points at a
*start record*, a commit authored by the person who started it, whose parent is the proposal
commit that was approved for trial and whose trailers say exactly what is served. Stopping
writes a *stop record* (parent: the start record) under
``refs/gitimprove/trials-ended/<agent>/<trial-id>`` and deletes the running ref in the same
transaction. Both live under ``refs/gitimprove/``, which ``gitimprove push`` and the documented
fetch carry, so a teammate's clone serves and audits the same trial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gitimprove import ledger
from gitimprove.errors import GitImproveError
from gitimprove.git import Commit, Identity, Oid, Repository
from gitimprove.refnames import TRIALS_ENDED_PREFIX as ENDED_PREFIX
from gitimprove.refnames import TRIALS_RUNNING_PREFIX as RUNNING_PREFIX

# Trailer names are the ledger's (gitimprove.ledger owns every record's names).
T_TRIAL = ledger.TRIAL
T_PROPOSAL = ledger.PROPOSAL
T_AGENT = ledger.AGENT
T_SHARE = ledger.TRIAL_SHARE
T_UNIT = ledger.TRIAL_UNIT
T_CANDIDATE = ledger.TRIAL_CANDIDATE
T_LIVE = ledger.TRIAL_LIVE
T_BRANCH = ledger.TRIAL_BRANCH
T_STARTED_BY = ledger.TRIAL_STARTED_BY
T_STOPPED = ledger.TRIAL_STOPPED
T_STOPPED_BY = ledger.TRIAL_STOPPED_BY

UNITS = ("user", "run")
_ID = re.compile(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")
_SLUG = re.compile(r"\A[a-z0-9][a-z0-9_-]{0,99}\Z")
_HEX = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
_BRANCH = re.compile(r"\Arefs/heads/improve/[a-z0-9][a-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def running_ref(agent: str) -> str:
    return f"{RUNNING_PREFIX}{agent}"


def ended_ref(agent: str, trial_id: str) -> str:
    return f"{ENDED_PREFIX}{agent}/{trial_id}"


def _one_line(text: str) -> str:
    """Free text (a reason, a name) as one trailer-safe line."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


@dataclass(frozen=True)
class TrialStart:
    """The start record: what is served to whom, read back from the commit's trailers."""

    trial_id: str
    agent: str
    proposal: str
    proposal_commit: Oid
    branch: str
    share: float
    unit: str
    candidate: Oid  # blob of the agent file users in the trial see (main + proposal)
    live: Oid  # blob of the agent file on main when the trial started
    started_by: str
    started_at: datetime
    record: Oid | None = None

    def message(self) -> str:
        pct = f"{self.share * 100:g}%"
        return (f"Start trial of {self.agent} proposal {self.proposal}: {pct} of {self.unit}s\n\n"
                f"Serves the proposal's instructions to {pct} of {self.unit}s and main's to the "
                f"rest, until the trial is stopped, approved or rejected.\n\n"
                f"{T_TRIAL}: {self.trial_id}\n{T_PROPOSAL}: {self.proposal}\n{T_AGENT}: {self.agent}\n"
                f"{T_BRANCH}: {self.branch}\n{T_SHARE}: {self.share:.6g}\n{T_UNIT}: {self.unit}\n"
                f"{T_CANDIDATE}: {self.candidate}\n{T_LIVE}: {self.live}\n"
                f"{T_STARTED_BY}: {_one_line(self.started_by)}\n")

    @classmethod
    def from_commit(cls, commit: Commit) -> TrialStart:
        """Parse a start record; :class:`ValueError` if any value is missing or malformed
        (a hand-made or damaged ref is then served as no trial at all)."""
        t = ledger.trailer_map(commit.message)

        def one(key: str, pattern: re.Pattern[str] | None = None) -> str:
            values = t.get(key) or []
            if len(values) != 1 or (pattern is not None and not pattern.match(values[0])):
                raise ValueError(f"trial record {commit.oid}: bad or missing {key}")
            return values[0]

        share = float(one(T_SHARE))
        if not 0 < share < 1:
            raise ValueError(f"trial record {commit.oid}: share {share} out of range")
        unit = one(T_UNIT)
        if unit not in UNITS or len(commit.parents) != 1:
            raise ValueError(f"trial record {commit.oid}: bad unit or parents")
        return cls(trial_id=one(T_TRIAL, _ID), agent=one(T_AGENT, _SLUG),
                   proposal=one(T_PROPOSAL, _ID), proposal_commit=commit.parents[0],
                   branch=one(T_BRANCH, _BRANCH), share=share, unit=unit,
                   candidate=Oid(one(T_CANDIDATE, _HEX)), live=Oid(one(T_LIVE, _HEX)),
                   started_by=one(T_STARTED_BY), record=commit.oid,
                   started_at=datetime.fromtimestamp(commit.author_time, UTC))


@dataclass(frozen=True)
class TrialStop:
    """The stop record: why and by whom a trial ended."""

    start: TrialStart
    reason: str
    stopped_by: str
    stopped_at: datetime
    record: Oid | None = None

    def message(self) -> str:
        return (f"Stop trial of {self.start.agent} proposal {self.start.proposal}\n\n"
                f"{_one_line(self.reason)}\n\n"
                f"{T_TRIAL}: {self.start.trial_id}\n{T_PROPOSAL}: {self.start.proposal}\n"
                f"{T_AGENT}: {self.start.agent}\n{T_STOPPED}: {_one_line(self.reason)}\n"
                f"{T_STOPPED_BY}: {_one_line(self.stopped_by)}\n")

    @classmethod
    def from_commits(cls, stop: Commit, start: Commit) -> TrialStop:
        t = ledger.trailer_map(stop.message)
        return cls(start=TrialStart.from_commit(start), reason=(t.get(T_STOPPED) or [""])[0],
                   stopped_by=(t.get(T_STOPPED_BY) or [""])[0], record=stop.oid,
                   stopped_at=datetime.fromtimestamp(stop.author_time, UTC))


def stop_updates(git: Repository, agent: str, proposal: str, reason: str, person: Identity
                 ) -> list[tuple[str, Oid | None, Oid | None]]:
    """Ref updates that end ``proposal``'s running trial, for the caller's own transaction
    (approving or rejecting a proposal ends its trial in the same atomic ref update). Empty
    when the agent's running trial is not this proposal's."""
    tip = git.read_ref(running_ref(agent))
    if tip is None:
        return []
    try:
        start = TrialStart.from_commit(git.read_commit(tip))
    except ValueError:
        return []
    if start.proposal != proposal:
        return []
    stop = TrialStop(start, reason, str(person), datetime.now(UTC).replace(microsecond=0))
    record = git.commit_tree(git.tree_of(tip), [tip], stop.message(), author=person,
                             committer=person)
    return [(running_ref(agent), None, tip), (ended_ref(agent, start.trial_id), record, None)]


def read_running(git: Repository, agent: str | None = None) -> list[TrialStart]:
    """Running trials (of ``agent``), by agent; damaged refs are left out."""
    prefix = RUNNING_PREFIX + agent if agent else RUNNING_PREFIX
    out = []
    for ref, tip in git.for_each_ref(prefix):
        if agent is not None and ref != RUNNING_PREFIX + agent:
            continue
        try:
            out.append(TrialStart.from_commit(git.read_commit(tip)))
        except (GitImproveError, ValueError):
            continue
    return sorted(out, key=lambda t: t.agent)


def read_ended(git: Repository) -> list[TrialStop]:
    """Every ended trial, oldest first (the audit trail's trial events)."""
    out = []
    for _, tip in git.for_each_ref(ENDED_PREFIX):
        try:
            stop = git.read_commit(tip)
            out.append(TrialStop.from_commits(stop, git.read_commit(stop.parents[0])))
        except (GitImproveError, ValueError, IndexError):
            continue
    return sorted(out, key=lambda s: s.stopped_at)
