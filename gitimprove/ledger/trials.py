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
from collections.abc import Mapping
from datetime import UTC, datetime

from gitimprove import ledger
from gitimprove.dataclass import dataclass
from gitimprove.git import Commit, Identity, Oid, Repository
from gitimprove.ledger import LoggedCommit

UNITS = ("user", "run")
_ID = re.compile(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")
_SLUG = re.compile(r"\A[a-z0-9][a-z0-9_-]{0,99}\Z")
_HEX = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
_BRANCH = re.compile(r"\Arefs/heads/improve/[a-z0-9][a-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def running_ref(agent: str) -> str:
    return f"{TrialStart.prefix()}{agent}"


def ended_ref(agent: str, trial_id: str) -> str:
    return f"{TrialStop.prefix()}{agent}/{trial_id}"


def _one_line(text: str) -> str:
    """Free text (a reason, a name) as one trailer-safe line."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


@ledger.register
@dataclass(frozen=True)
class TrialStart(ledger.RefRecord):
    """The start record: what is served to whom, read back from the commit's trailers."""

    kind = "trials"

    trial_id: str
    agent: str
    proposal: str
    proposal_commit: Oid
    branch: str
    share: float
    unit: str
    candidate: Oid  # the agent's version users in the trial see (main + proposal)
    live: Oid  # the agent's version on main when the trial started
    started_by: str
    started_at: datetime
    record: Oid | None = None
    # For an agent alone in its file, its version is the file's blob. For one that shares
    # its file with others, the version is a fingerprint of its part, and these are the
    # blobs of the file that holds each (None otherwise).
    candidate_file: Oid | None = None
    live_file: Oid | None = None

    @property
    def candidate_blob(self) -> Oid:
        """The blob of the file that holds the candidate."""
        return self.candidate_file or self.candidate

    @property
    def live_blob(self) -> Oid:
        """The blob of the file that held the live version."""
        return self.live_file or self.live

    def when(self) -> int:
        return int(self.started_at.timestamp())

    def message(self) -> str:
        pct = f"{self.share * 100:g}%"
        return "\n\n".join([
            f"Start trial of {self.agent} proposal {self.proposal}: {pct} of {self.unit}s",
            f"Serves the proposal's instructions to {pct} of {self.unit}s and main's to the "
            "rest, until the trial is stopped, approved or rejected.",
            ledger.trailer_block([
                (ledger.TRIAL, self.trial_id), (ledger.PROPOSAL, self.proposal),
                (ledger.AGENT, self.agent), (ledger.TRIAL_BRANCH, self.branch),
                (ledger.TRIAL_SHARE, f"{self.share:.6g}"), (ledger.TRIAL_UNIT, self.unit),
                (ledger.TRIAL_CANDIDATE, str(self.candidate)), (ledger.TRIAL_LIVE, str(self.live)),
                *([(ledger.TRIAL_CANDIDATE_FILE, str(self.candidate_file)),
                   (ledger.TRIAL_LIVE_FILE, str(self.live_file))]
                  if self.candidate_file is not None and self.live_file is not None else []),
                (ledger.TRIAL_STARTED_BY, _one_line(self.started_by))]),
        ]) + "\n"

    @classmethod
    def parse(cls, commit: LoggedCommit) -> TrialStart:
        """Parse a start record; :class:`ValueError` if any value is missing or malformed
        (a hand-made or damaged ref is then served as no trial at all)."""
        if commit.model_authored:  # a trial is a person's decision, like an approval
            raise ValueError(f"trial record {commit.oid}: authored by a model")
        t = ledger.trailer_map(commit.message)

        def one(key: str, pattern: re.Pattern[str] | None = None) -> str:
            values = t.get(key) or []
            if len(values) != 1 or (pattern is not None and not pattern.match(values[0])):
                raise ValueError(f"trial record {commit.oid}: bad or missing {key}")
            return values[0]

        share = float(one(ledger.TRIAL_SHARE))
        if not 0 < share < 1:
            raise ValueError(f"trial record {commit.oid}: share {share} out of range")
        unit = one(ledger.TRIAL_UNIT)
        if unit not in UNITS or len(commit.parents) != 1:
            raise ValueError(f"trial record {commit.oid}: bad unit or parents")
        files = [Oid(one(key, _HEX)) if key in t else None
                 for key in (ledger.TRIAL_CANDIDATE_FILE, ledger.TRIAL_LIVE_FILE)]
        if (files[0] is None) != (files[1] is None):
            raise ValueError(f"trial record {commit.oid}: one file blob without the other")
        return cls(trial_id=one(ledger.TRIAL, _ID), agent=one(ledger.AGENT, _SLUG),
                   proposal=one(ledger.PROPOSAL, _ID), proposal_commit=commit.parents[0],
                   branch=one(ledger.TRIAL_BRANCH, _BRANCH), share=share, unit=unit,
                   candidate=Oid(one(ledger.TRIAL_CANDIDATE, _HEX)),
                   live=Oid(one(ledger.TRIAL_LIVE, _HEX)),
                   started_by=one(ledger.TRIAL_STARTED_BY), record=commit.oid,
                   started_at=datetime.fromtimestamp(commit.time, UTC),
                   candidate_file=files[0], live_file=files[1])

    @classmethod
    def of(cls, commit: Commit) -> TrialStart:
        """:meth:`parse` of a commit read on its own (serving reads one ref, not the ledger)."""
        return cls.parse(LoggedCommit.of(commit))

    @classmethod
    def from_commit(cls, ref: str, commit: LoggedCommit,
                    commits: Mapping[Oid, LoggedCommit]) -> TrialStart | None:
        try:
            return cls.parse(commit)
        except ValueError:
            return None


@ledger.register
@dataclass(frozen=True)
class TrialStop(ledger.RefRecord):
    """The stop record: why and by whom a trial ended."""

    kind = "trials-ended"

    start: TrialStart
    reason: str
    stopped_by: str
    stopped_at: datetime
    record: Oid | None = None

    def when(self) -> int:
        return int(self.stopped_at.timestamp())

    def message(self) -> str:
        return "\n\n".join([
            f"Stop trial of {self.start.agent} proposal {self.start.proposal}",
            _one_line(self.reason),
            ledger.trailer_block([
                (ledger.TRIAL, self.start.trial_id), (ledger.PROPOSAL, self.start.proposal),
                (ledger.AGENT, self.start.agent), (ledger.TRIAL_STOPPED, _one_line(self.reason)),
                (ledger.TRIAL_STOPPED_BY, _one_line(self.stopped_by))]),
        ]) + "\n"

    @classmethod
    def parse(cls, stop: LoggedCommit, start: LoggedCommit) -> TrialStop:
        """Parse a stop record and the start record it ends (its parent); :class:`ValueError`
        when either is damaged."""
        t = ledger.trailer_map(stop.message)
        return cls(start=TrialStart.parse(start), reason=(t.get(ledger.TRIAL_STOPPED) or [""])[0],
                   stopped_by=(t.get(ledger.TRIAL_STOPPED_BY) or [""])[0], record=stop.oid,
                   stopped_at=datetime.fromtimestamp(stop.time, UTC))

    @classmethod
    def of(cls, stop: Commit, start: Commit) -> TrialStop:
        return cls.parse(LoggedCommit.of(stop), LoggedCommit.of(start))

    @classmethod
    def from_commit(cls, ref: str, commit: LoggedCommit,
                    commits: Mapping[Oid, LoggedCommit]) -> TrialStop | None:
        start = commits.get(commit.parents[0]) if commit.parents else None
        try:
            return cls.parse(commit, start) if start is not None else None
        except ValueError:
            return None


def stop_updates(git: Repository, agent: str, proposal: str, reason: str, person: Identity
                 ) -> list[tuple[str, Oid | None, Oid | None]]:
    """Ref updates that end ``proposal``'s running trial, for the caller's own transaction
    (approving or rejecting a proposal ends its trial in the same atomic ref update). Empty
    when the agent's running trial is not this proposal's."""
    tip = git.read_ref(running_ref(agent))
    if tip is None:
        return []
    try:
        start = TrialStart.of(git.read_commit(tip))
    except ValueError:
        return []
    if start.proposal != proposal:
        return []
    stop = TrialStop(start, reason, str(person), datetime.now(UTC).replace(microsecond=0))
    record = git.commit_tree(git.tree_of(tip), [tip], stop.message(), author=person,
                             committer=person)
    return [(running_ref(agent), None, tip), (ended_ref(agent, start.trial_id), record, None)]


def running(book: ledger.Ledger, agent: str | None = None) -> list[TrialStart]:
    """Running trials (of ``agent``) the scan found, by agent; damaged refs are left out."""
    return sorted((t for t in book.records_of(TrialStart)
                   if agent is None or t.agent == agent), key=lambda t: t.agent)


def ended(book: ledger.Ledger) -> list[TrialStop]:
    """Every ended trial the scan found, oldest first (the audit trail's trial events)."""
    return book.records_of(TrialStop)
