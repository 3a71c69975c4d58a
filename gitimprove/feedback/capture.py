"""Checks a record against a catalogue of agents: the agent must exist, the version should.

The catalogue (what feedback needs to know of the instructions: the agents on main and the
versions of each) is passed in; :class:`~gitimprove.instructions.repo.InstructionRepo`
provides one. Both answers are cached per tip of the main branch (one read of a ref file to
validate the cache), so recording feedback on the hot path of an agent run costs no git
subprocess."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from gitimprove.errors import GitImproveError, UnknownAgentError
from gitimprove.feedback.base import FeedbackStore
from gitimprove.feedback.errors import FeedbackWarning, InvalidFeedbackError
from gitimprove.feedback.models import (
    FeedbackRecord,
    SignalValue,
    ToolCall,
    content_hash,
    owned_record,
)
from gitimprove.text import did_you_mean


class Catalogue(Protocol):
    """The agents on the main branch and their versions, as feedback needs them."""

    @property
    def branch(self) -> str: ...

    def tip(self) -> str | None:
        """Changes whenever the agents or their versions may have changed (main's tip)."""

    def agent_names(self) -> list[str]: ...

    def versions(self, agent: str) -> list[tuple[int, str]]:
        """(number, blob id) of each version, oldest first."""

    def why_not_loading(self, agent: str) -> str | None:
        """Why the agent's file on main does not load (None when it does)."""

    def trial_versions(self, agent: str) -> set[str]:
        """Versions served by the agent's trials, running or ended (feedback on a candidate
        is expected; it is not on main until the proposal is approved)."""

    def tool_argument_chars(self) -> int | None:
        """How many characters of a tool call's arguments the policy keeps (None: none)."""


class AgentIndex:
    """The agents on main and the blob ids of each one's versions."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._lock = threading.Lock()
        self._tip: str | None = None
        self._names: frozenset[str] = frozenset()
        self._versions: dict[str, tuple[list[str], dict[int, str]]] = {}
        self._loads: dict[str, str | None] = {}  # agent -> why it does not load (None: it loads)

    def keep_arguments(self) -> int | None:
        """How many characters of a tool call's arguments the policy keeps (None: none)."""
        return self._catalogue.tool_argument_chars()

    def refresh(self) -> None:
        """Re-read the agents when main has moved (one ref-file read otherwise)."""
        self.refresh_at(self._catalogue.tip())

    def refresh_at(self, tip: str | None) -> None:
        """Re-read the agents unless ``tip`` (main's tip, just read) is the one they are of."""
        if tip is not None and tip == self._tip:
            return
        names = frozenset(self._catalogue.agent_names())
        with self._lock:
            self._tip, self._names, self._versions, self._loads = tip, names, {}, {}

    def names(self) -> list[str]:
        self.refresh()
        return sorted(self._names)

    def check_agent(self, agent: str, *, fresh: bool = True) -> None:
        """Raise :class:`UnknownAgentError` (with a "did you mean") unless ``agent`` is on main."""
        # (an agent not found may be one made just after main's tip was last read)
        if fresh or self._tip is None or agent not in self._names:
            self.refresh()
        if agent in self._names:
            if self._loads.get(agent, "") is not None:  # not yet known to load (the hot path: it does)
                self._check_loads(agent)
            return
        hint = did_you_mean(agent, sorted(self._names), what="agents", none="no agents on main yet")
        raise UnknownAgentError(f"no agent {agent!r} on {self._catalogue.branch}", hint=hint)

    def _check_loads(self, agent: str) -> None:
        """Feedback is for an agent that runs: one whose file does not load is refused."""
        if agent not in self._loads:
            why = self._catalogue.why_not_loading(agent)
            with self._lock:
                self._loads[agent] = why
        why = self._loads[agent]
        if why is not None:
            raise UnknownAgentError(f"agent {agent!r} cannot be loaded on {self._catalogue.branch}: {why}",
                                    hint="fix its file first; feedback is kept only for agents that run")

    def _history(self, agent: str) -> tuple[list[str], dict[int, str]]:
        hit = self._versions.get(agent)
        if hit is None:
            history = self._catalogue.versions(agent)
            blobs = list(dict.fromkeys(blob for _, blob in history))
            numbers = dict(history)
            hit = (blobs, numbers)
            with self._lock:
                self._versions[agent] = hit
        return hit

    def _find_version(self, agent: str, version: str) -> str | None:
        """The blob id ``version`` names among the agent's versions on main or its trials."""
        blobs, numbers = self._history(agent)
        if version[:1] in "vV" and version[1:].isdigit():
            return numbers.get(int(version[1:])) or None
        low = version.lower()
        if low in blobs:
            return low
        matches = [b for b in blobs if b.startswith(low)] if len(low) >= 4 else []
        if len(matches) == 1:
            return matches[0]
        if low in self._catalogue.trial_versions(agent):
            return low
        return None

    def version_order(self, agent: str) -> list[str]:
        """Blob ids of the agent's versions, oldest first."""
        self.refresh()
        return list(self._history(agent)[0])

    def resolve_version(self, agent: str, version: str | None, *, fresh: bool = True
                        ) -> tuple[str | None, str | None]:
        """The blob id to store for ``version`` (a blob id, a unique prefix, or ``v3``) and a
        warning when a blob id is not a version of ``agent`` on main (the value is then kept as
        given: it may come from a branch). A ``v3`` that does not exist is refused."""
        if version is None or not version.strip():
            return None, None
        version = version.strip()
        if fresh:
            self.refresh()
        found = self._find_version(agent, version)
        if found is None and not fresh:  # it may be of a tip read just before main moved
            tip = self._tip
            self.refresh()
            if self._tip != tip:
                found = self._find_version(agent, version)
        if found is not None:
            return found, None
        numbers = self._history(agent)[1]
        if version[:1] in "vV" and version[1:].isdigit():
            last = max(numbers, default=0)
            # NOTE: a number is only ever a display name for a blob on main; keeping "v9" as
            # given would invent a version nobody can find.
            raise InvalidFeedbackError(
                f"{agent} has no version {version} on {self._catalogue.branch} (v1..v{last})",
                hint=f"see `gitimprove history {agent}`; leave the version out to have it "
                     "inferred from the record's time")
        return version.lower(), (f"version {version[:12]} is not in the history of {agent} on "
                     f"{self._catalogue.branch}; the record was kept")


def build_record(
    index: AgentIndex,
    fields: Mapping[str, Any],
    *,
    id_from_content: bool = False,
    now: datetime | None = None,
    fresh: bool = True,
    keep_arguments: int | Literal["policy"] | None = "policy",
    owned: bool = False,
) -> tuple[FeedbackRecord, str | None]:
    """Check and validate one record: unknown agents are refused, unknown versions warned.

    ``fresh=False`` skips looking whether main moved (an import checks once for all lines).
    ``keep_arguments``: see :func:`make_record`; by default the policy decides.
    ``owned``: ``fields`` is a dict the caller hands over, to be changed (no copy is made)."""
    agent = fields.get("agent")
    if agent is not None and not isinstance(agent, str):
        raise GitImproveError(f"agent: must be text (the agent's name), got {type(agent).__name__}",
                              hint="every record names the agent it is about")
    if not isinstance(agent, str) or not agent.strip():
        raise GitImproveError("agent: missing", hint="every record names the agent it is about")
    agent = agent.strip()
    index.check_agent(agent, fresh=fresh)
    warning = None
    data = fields if owned and isinstance(fields, dict) else dict(fields)
    version = data.get("version")
    if isinstance(version, str):
        data["version"], warning = index.resolve_version(agent, version, fresh=False)
    if keep_arguments == "policy":
        calls = data.get("tool_calls")
        keep_arguments = index.keep_arguments() if calls is not None and _has_arguments(calls) \
            else None
    record = owned_record(data, id_from_content=id_from_content, now=now,
                          keep_arguments=keep_arguments)
    if record.tool_calls is not None and record.version is None and warning is None:
        # NOTE: no run id in the text: Python shows a warning once per text and place, and an
        # application recording every run would otherwise print one per run
        warning = (f"tool calls of {record.agent} recorded without a version: per-version "
                   "figures place them by their time (give the version the run used: a record's "
                   "`version`, or the version load() returned)")
    return record, warning


def _has_arguments(calls: object) -> bool:
    if not isinstance(calls, list | tuple):
        return False
    return any(c.get("arguments") is not None if type(c) is dict else
               (isinstance(c, Mapping) and c.get("arguments") is not None)
               or (isinstance(c, ToolCall) and c.arguments is not None) for c in calls)


def record_feedback(
    store: FeedbackStore,
    index: AgentIndex,
    *,
    agent: str,
    run_id: str | None = None,
    version: str | None = None,
    rating: str | int | None = None,
    reason: str | None = None,
    correction: str | None = None,
    signals: Mapping[str, SignalValue] | None = None,
    user_id: str | None = None,
    input: str | None = None,
    output: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    created_at: datetime | str | None = None,
    id: str | None = None,
    tool_calls: Sequence[Mapping[str, Any] | ToolCall] | None = None,
    fresh: bool = True,
) -> FeedbackRecord:
    """Validate and store one record (see :meth:`InstructionRepo.record_feedback`).

    ``fresh=False``: the caller has just brought ``index`` up to main's tip."""
    fields = {"id": id, "agent": agent, "version": version, "run_id": run_id, "rating": rating,
              "tool_calls": list(tool_calls) if isinstance(tool_calls, list | tuple) else tool_calls,
              "reason": reason, "correction": correction,
              # NOTE: anything but a mapping goes to validation as it is, to be refused there.
              "signals": dict(signals) if type(signals) is dict or (
                  signals is not None and isinstance(signals, Mapping)) else signals,
              "user_id": user_id, "input": input, "output": output,
              "metadata": dict(metadata) if type(metadata) is dict or (
                  metadata is not None and isinstance(metadata, Mapping)) else metadata,
              "created_at": created_at}
    record, warning = build_record(index, fields, fresh=fresh, owned=True)
    # a record made now was received now: its time is read once
    _store_once(store, record, given_id=id is not None,
                recorded_at=record.created_text if created_at is None else None)
    if warning:
        warnings.warn(warning, FeedbackWarning, stacklevel=3)
    return record


def _store_once(store: FeedbackStore, record: FeedbackRecord, *, given_id: bool,
                recorded_at: str | None = None) -> None:
    if given_id:
        stored = store.get(record.id)
        # Recording the same id again is a no-op; with other content it is refused (the time
        # of recording aside, which a repeat without created_at naturally changes).
        same = stored is not None and stored.model_dump(exclude={"created_at"}) == \
            record.model_dump(exclude={"created_at"})
        if stored is not None and not same and not stored.is_feedback and not record.is_feedback:
            raise InvalidFeedbackError(
                f"{record.agent} run {record.run_id} is already logged with other tool calls",
                hint="a run's decisions are logged once, when the run ends")
        if stored is not None and not same:
            raise InvalidFeedbackError(
                f"feedback id {record.id!r} is already stored with different content",
                hint="give this record its own id, or leave --id out to get a new one")
    store.add((record,), recorded_at=recorded_at)


def run_log_id(agent: str, run_id: str) -> str:
    """The id of a run's log: one per (agent, run), so logging a run twice adds nothing."""
    return "run-" + content_hash({"agent": agent, "run_id": run_id})[:20]


def record_run(
    store: FeedbackStore,
    index: AgentIndex,
    *,
    agent: str,
    run_id: str,
    tool_calls: Sequence[Mapping[str, Any] | ToolCall],
    version: str | None = None,
    created_at: datetime | str | None = None,
) -> FeedbackRecord:
    """Log one run's decisions without feedback (see :meth:`InstructionRepo.record_run`).

    A run without a version takes the one its stored feedback names; when none does, the log
    is kept with a :class:`FeedbackWarning` (per-version figures then place it by its time)."""
    if not isinstance(run_id, str) or not run_id.strip():
        raise InvalidFeedbackError("record_run needs the run_id of the run it logs")
    if version is None and isinstance(agent, str):
        known = [r.version for r in store.records(agent=agent.strip(), run_id=run_id.strip(),
                                                  with_io=False) if r.version]
        version = known[-1] if known else None
    fields = {"id": run_log_id(agent.strip() if isinstance(agent, str) else agent, run_id.strip()),
              "agent": agent, "version": version, "run_id": run_id,
              "tool_calls": list(tool_calls) if isinstance(tool_calls, list | tuple) else tool_calls,
              "created_at": created_at}
    record, warning = build_record(index, fields)
    _store_once(store, record, given_id=True)
    if warning:
        warnings.warn(warning, FeedbackWarning, stacklevel=3)
    return record
