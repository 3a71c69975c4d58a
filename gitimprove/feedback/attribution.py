"""Which version a record is about: the one it names, else the one live on main when it was made.

A record that names no version (an import from another system, a teammate's old export) is
attributed to the version of its agent that was on the main branch at its ``created_at``, read
from main's first-parent history. The store keeps the record as it came; the attribution is
made when figures are computed, and flagged as *inferred* wherever it is shown (``--json``:
``version_inferred``). A record made before the agent's first version stays without one.

The same text can be live twice (a rollback restores v1's text): a record is given to the
stretch of history that was live when it was made, so a restored v1 starts with no runs of
its own instead of repeating the old v1's.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from gitimprove.dataclass import dataclass
from gitimprove.feedback.models import FeedbackRecord, RunView


class Version(Protocol):
    """A history entry of an agent on main (:class:`gitimprove.instructions.versions.Version`
    fits): the blob that was live, from when, and its display label."""

    @property
    def blob(self) -> str: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class Attributed:
    """A record with the history entry it counts for (index into the history, or None)."""

    record: FeedbackRecord
    entry: int | None
    version: str | None
    inferred: bool


class Timeline:
    """An agent's history on main (oldest first), asked "what was live at this time?"."""

    def __init__(self, history: Sequence[Version]) -> None:
        self.history = list(history)
        # NOTE: commit dates can go backwards (a clock, a rebase); a running maximum keeps the
        # search well defined, and an entry is live from when it *and* everything before it were.
        self._starts: list[int] = []
        top = -(2**62)
        for v in self.history:
            top = max(top, v.timestamp)
            self._starts.append(top)
        self._by_blob: dict[str, list[int]] = {}
        for i, v in enumerate(self.history):
            self._by_blob.setdefault(str(v.blob), []).append(i)

    def live_at(self, when: datetime) -> int | None:
        """The index of the entry live at ``when``, None before the first."""
        i = bisect_right(self._starts, when.timestamp()) - 1
        return i if i >= 0 else None

    def windows(self, blob: str) -> list[tuple[datetime, datetime | None]]:
        """When ``blob`` was live, as ``[since, until)`` spans (``until`` None: still live): the
        times at which a record that names no version counts for it."""
        spans: list[tuple[datetime, datetime | None]] = []
        for i in self._by_blob.get(blob, []):
            start = self._starts[i]
            end = self._starts[i + 1] if i + 1 < len(self._starts) else None
            if end is None or end > start:
                spans.append((datetime.fromtimestamp(start, UTC),
                              None if end is None else datetime.fromtimestamp(end, UTC)))
        return spans

    def entry_of(self, record: FeedbackRecord) -> tuple[int | None, bool]:
        """The entry a record counts for, and whether that was inferred from its time."""
        if record.version is None:
            return self.live_at(record.created_at), True
        entries = self._by_blob.get(record.version)
        if not entries:
            return None, False  # a version not on main (a branch, a typo): kept, not placed
        if len(entries) == 1:
            return entries[0], False
        live = self.live_at(record.created_at)
        # the stretch with this text that was live when the record was made, else the first
        placed = max((e for e in entries if live is not None and e <= live), default=entries[0])
        return placed, False

    def attribute(self, records: Iterable[FeedbackRecord]) -> list[Attributed]:
        out = []
        for rec in records:
            entry, inferred = self.entry_of(rec)
            if entry is None:
                out.append(Attributed(rec, None, rec.version, False))
            else:
                out.append(Attributed(rec, entry, str(self.history[entry].blob), inferred))
        return out


def with_versions(records: Iterable[FeedbackRecord], timelines: dict[str, Timeline]
                  ) -> tuple[list[FeedbackRecord], set[str]]:
    """Records with a missing version filled in from the timeline of their agent, and the ids
    of those filled in."""
    out: list[FeedbackRecord] = []
    inferred: set[str] = set()
    for rec in records:
        timeline = timelines.get(rec.agent)
        if rec.version is None and timeline is not None:
            entry = timeline.live_at(rec.created_at)
            if entry is not None:
                rec = rec.model_copy(update={"version": str(timeline.history[entry].blob)})
                inferred.add(rec.id)
        out.append(rec)
    return out, inferred


def before_first_version(records: Iterable[FeedbackRecord], timelines: dict[str, Timeline]
                         ) -> dict[str, int]:
    """By agent, how many of ``records`` name no version and were made before the agent's
    first version on main: no version was live then, so they count for none."""
    counts: dict[str, int] = {}
    for rec in records:
        timeline = timelines.get(rec.agent)
        if rec.version is None and timeline is not None and timeline.live_at(rec.created_at) is None:
            counts[rec.agent] = counts.get(rec.agent, 0) + 1
    return counts


@dataclass(frozen=True)
class VersionedRecords:
    """Records as `feedback list` shows them: versions filled in where missing, which were
    inferred, and the display label of each (agent, blob)."""

    records: list[FeedbackRecord]
    inferred: set[str]
    labels: dict[tuple[str, str], str]

    @classmethod
    def of(cls, records: Iterable[FeedbackRecord], timelines: dict[str, Timeline]
           ) -> VersionedRecords:
        filled, inferred = with_versions(records, timelines)
        labels = {(name, str(v.blob)): v.label for name, line in timelines.items()
                  for v in line.history}
        return cls(filled, inferred, labels)

    def only(self, versions: Sequence[str] | None) -> VersionedRecords:
        """Only the records of these versions (None: all)."""
        if versions is None:
            return self
        return VersionedRecords([r for r in self.records if r.version in versions],
                                self.inferred, self.labels)

    def label(self, agent: str, version: str | None, guessed: bool = False) -> str:
        """``v3`` (else the blob's first ten characters, else ``-``); ``~`` marks a guess."""
        text = self.labels.get((agent, version), version[:10]) if version else "-"
        return "~" + text if guessed else text

    def run_inferred(self, run: RunView) -> bool:
        """Whether any record of the run had its version inferred."""
        return any(i in self.inferred for i in run.feedback_ids)
