"""The feedback record, its limits, and the merged view of one agent run.

A record says something about one run of one agent: an explicit ``rating``, a ``reason``, a
``correction`` (what the agent should have done) and/or implicit ``signals`` (``regenerated``,
``edited_output``, ``task_completed``, any named boolean or number). It carries the instruction
``version`` (the git blob id :meth:`InstructionRepo.load` returned) that produced the run.

A record can also carry the run's *decisions*: the tool calls the agent made, in order
(:class:`ToolCall`: name, status, duration, and arguments only where the policy keeps them). A
record with only ``tool_calls`` is a run log, not feedback: it gives the rates of tool use
their denominator (every run, not only the ones somebody commented on).

Text is bounded (see the ``MAX_*`` constants and docs/feedback.md): feedback is data from many
users and must not be able to fill a disk or a model's context by itself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

from gitimprove.dataclass import dataclass, field
from gitimprove.feedback.errors import InvalidFeedbackError
from gitimprove.feedback.fields import (
    ARGUMENTS_CUT,
    FIELDS,
    MAX_ID_CHARS,
    MAX_METADATA_BYTES,
    MAX_RUN_TEXT_CHARS,
    MAX_SIGNALS,
    MAX_TEXT_CHARS,
    MAX_TOOL_ARGUMENT_CHARS,
    MAX_TOOL_CALLS,
    MAX_TOOL_DURATION_MS,
    RATING_HELP,
    STATUS_HELP,
    TEXT_FIELDS,
    TOOL_NAME_RE,
    TROUBLE_SIGNALS,
    Rating,
    SignalValue,
    ToolStatus,
    clock,
    compact_arguments,
    format_timestamp,
    is_feedback,
    new_id,
    normalize_rating,
    normalize_status,
    parse_timestamp,
)
from gitimprove.feedback.quickcheck import quick_values

__all__ = ["ARGUMENTS_CUT", "FIELDS", "MAX_ID_CHARS", "MAX_METADATA_BYTES", "MAX_RUN_TEXT_CHARS",
           "MAX_SIGNALS", "MAX_TEXT_CHARS", "MAX_TOOL_ARGUMENT_CHARS", "MAX_TOOL_CALLS",
           "MAX_TOOL_DURATION_MS", "RATING_HELP", "STATUS_HELP", "TEXT_FIELDS", "TOOL_NAME_RE",
           "TROUBLE_SIGNALS", "FeedbackRecord", "Rating", "RunView", "SignalValue", "ToolCall",
           "ToolStatus", "calls_from_json", "calls_to_json", "compact_arguments", "content_hash",
           "format_timestamp", "make_record", "merge_runs", "new_id", "normalize_rating",
           "normalize_status", "owned_record", "parse_timestamp", "prepare_tool_calls", "record_from_row"]

# NOTE: records and tool calls are frozen dataclasses, not pydantic models: commands that read
# feedback (list, stats, history) build thousands of them and must not import pydantic at all.
# What comes in is checked by the pydantic schema in .validation, imported by make_record.


@dataclass(frozen=True)
class ToolCall:
    """One decision of the agent in a run: a tool it called and how that went.

    ``arguments`` is the compact JSON of what it was called with, kept only when the policy
    says so (``feedback.store_tool_arguments``) and cut at ``feedback.tool_argument_chars``."""

    name: str
    status: ToolStatus = "ok"
    duration_ms: int | None = None
    arguments: str | None = None

    def model_dump(self, *, exclude_none: bool = False) -> dict[str, Any]:
        data = {"name": self.name, "status": self.status, "duration_ms": self.duration_ms,
                "arguments": self.arguments}
        return {k: v for k, v in data.items() if v is not None} if exclude_none else data


def prepare_tool_calls(value: object, keep_arguments: int | None) -> object:
    """Tool calls as given, with the arguments kept (cut at ``keep_arguments`` characters) or
    dropped (None), before validation. Anything malformed is passed on to be refused there."""
    if type(value) is list and all(type(c) is dict and "arguments" not in c for c in value):
        return value  # the usual case (plain dicts without arguments): nothing to prepare
    if value is None or isinstance(value, str | bytes) or not isinstance(value, Iterable) \
            or isinstance(value, Mapping):
        return value
    calls = list(value)
    if len(calls) > MAX_TOOL_CALLS:
        return calls  # refused by the validator, before any argument is serialised
    out: list[object] = []
    for call in calls:
        if isinstance(call, ToolCall):
            call = call.model_dump()
        if isinstance(call, Mapping) and "arguments" in call:
            call = dict(call)
            args = call.pop("arguments")
            if keep_arguments is not None and args is not None:
                try:
                    call["arguments"] = compact_arguments(args, keep_arguments)
                except ValueError:
                    call["arguments"] = args  # refused by the validator, with its position
        out.append(call)
    return out


_T = TypeVar("_T")


class _computed_once(Generic[_T]):
    """functools.cached_property without its lock (which Python 3.11 takes on every first
    read): a value derived from a frozen record, computed on first use and kept in the
    record's ``__dict__``, where later reads find it without calling anything."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _computed_once[_T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...

    def __get__(self, obj: object, owner: type | None = None) -> _T | _computed_once[_T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


@dataclass(frozen=True, kw_only=True)
class FeedbackRecord:
    """One piece of feedback on one agent run (see docs/feedback.md for the format). Made by
    :func:`make_record` (validated) or read back from a store (:func:`record_from_row`)."""

    id: str
    agent: str
    version: str | None = None
    run_id: str | None = None
    rating: Rating | None = None
    reason: str | None = None
    correction: str | None = None
    signals: dict[str, SignalValue] = field(default_factory=dict)
    user_id: str | None = None
    input: str | None = None
    output: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime
    # None: the run's decisions were not logged here; []: logged, and no tool was called.
    tool_calls: list[ToolCall] | None = None

    @property
    def is_feedback(self) -> bool:
        """False for a run log: a record with only the run's tool calls."""
        return is_feedback(self.rating, self.reason, self.correction, self.signals)

    # -- derived ------------------------------------------------------------------------------

    def content(self) -> dict[str, Any]:
        """Every field but ``id``, as JSON values (what :attr:`digest` is computed from)."""
        # NOTE: by hand rather than model_dump(mode="json"): the same values (every field but
        # created_at already holds JSON types), at a fraction of the cost on the write path.
        data: dict[str, Any] = {"agent": self.agent, "version": self.version, "run_id": self.run_id,
                                "rating": self.rating, "reason": self.reason,
                                "correction": self.correction, "signals": self.signals,
                                "user_id": self.user_id, "input": self.input,
                                "output": self.output, "metadata": self.metadata,
                                "created_at": self.created_text}
        if self.tool_calls is not None:  # records from before decisions keep their digests
            data["tool_calls"] = [c.model_dump() for c in self.tool_calls]
        return data

    @_computed_once
    def created_text(self) -> str:
        """``created_at`` as stored (:func:`format_timestamp`)."""
        return format_timestamp(self.created_at)

    @_computed_once
    def digest(self) -> str:
        """A hash of the content: the same id with another digest is a conflicting record."""
        return self.digest_of(None)

    def digest_of(self, signals: str | None) -> str:
        """:attr:`digest`, given the signals' canonical text (:func:`signals_texts`) where the
        caller has it; kept as :attr:`digest`."""
        try:
            found = encoded_digest(
                _STR(self.agent), self.correction, self.created_text, self.input,
                self.metadata, self.output, "null" if self.rating is None else _STR(self.rating),
                self.reason, self.run_id, signals if signals is not None
                else _canonical_flat(self.signals) if self.signals else "{}",
                self.user_id, "null" if self.version is None else _STR(self.version),
                None if self.tool_calls is None else _calls_canonical(self.tool_calls))
        except (TypeError, ValueError):  # built without validation, holding a non-text value
            found = content_hash(self.content())
        self.__dict__["digest"] = found
        return found

    # -- the few pydantic-style methods callers use --------------------------------------------

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> FeedbackRecord:
        """A copy with ``update`` applied, unchecked (as pydantic's): derive, never take input.

        The fields are copied as they are, without ``__init__`` (``dataclasses.replace`` calls
        it with every field: 17 us a record, and attribution copies every record of an analysis
        that names no version); values derived from the old fields (:attr:`digest`) are not."""
        if update and not _FIELD_SET.issuperset(update):
            unknown = sorted(set(update) - _FIELD_SET)
            raise TypeError(f"FeedbackRecord has no field {unknown[0]!r}")
        values = self.__dict__.copy()  # the fields, and what was derived from them
        for derived in _DERIVED:
            values.pop(derived, None)
        if update:
            values.update(update)
        return _built(values)

    def model_dump(self, *, mode: str = "python", exclude: Iterable[str] = (),
                   exclude_none: bool = False) -> dict[str, Any]:
        """Every field; ``mode="json"``: the JSON form (``created_at`` as text, calls as objects)."""
        left_out = set(exclude)
        data: dict[str, Any] = {}
        for name in _RECORD_FIELDS:
            if name in left_out:
                continue
            value = getattr(self, name)
            if exclude_none and value is None:
                continue
            if name == "created_at" and mode == "json":
                value = format_timestamp(value).replace(".000000Z", "Z")
            elif name == "tool_calls" and value is not None:
                value = [c.model_dump() for c in value]
            elif name in ("signals", "metadata") and value is not None:
                value = dict(value)
            data[name] = value
        return data


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(FeedbackRecord))
_FIELD_SET = frozenset(_RECORD_FIELDS)
_DERIVED = tuple(name for name, value in vars(FeedbackRecord).items()
                 if isinstance(value, _computed_once))  # kept in a record's __dict__


# NOTE: one encoder for every record: json.dumps() with options builds a new one per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_STR: Callable[[str], str] = json.encoder.encode_basestring




def flat_encoder(*, sort_keys: bool, ensure_ascii: bool) -> Callable[[Any], str]:
    """Compact JSON text of a flat object of JSON values (signals): what a
    ``json.JSONEncoder`` with these options gives, without the encoder object it builds on
    every call (most of the cost for a small object). No check for cycles: give it no
    containers."""
    # NOTE: json's own C encoder, called the way JSONEncoder.encode calls it; absent only on
    # an interpreter without the C accelerator, where the plain encoder does the same work.
    make = json.encoder.c_make_encoder  # type: ignore[attr-defined]
    strings = (json.encoder.encode_basestring_ascii if ensure_ascii
               else json.encoder.encode_basestring)
    plain = json.JSONEncoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=(",", ":"))
    if make is None:
        return plain.encode
    chunks = make(None, plain.default, strings, None, ":", ",", sort_keys, False, True)

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


_canonical_flat = flat_encoder(sort_keys=True, ensure_ascii=False)
# NOTE: built once: json.dumps() with options builds an encoder per call (per record).
_SIGNALS_JSON = flat_encoder(sort_keys=False, ensure_ascii=True)


def signals_texts(signals: Mapping[str, Any]) -> tuple[str, str]:
    """Signals as a row stores them (names in their order, ASCII) and as the digest reads them
    (names sorted): one encoding where the two are the same text, names already sorted and
    nothing escaped (most records have one signal, or none)."""
    if not signals:
        return "{}", "{}"
    stored = _SIGNALS_JSON(signals)
    if "\\" not in stored and (len(signals) == 1 or list(signals) == sorted(signals)):
        return stored, stored
    return stored, _canonical_flat(signals)


def encoded_digest(agent: str, correction: str | None, created_text: str, input: str | None,
                   metadata: dict[str, Any] | None, output: str | None, rating: str,
                   reason: str | None, run_id: str | None, signals: str,
                   user_id: str | None, version: str, tool_calls: str | None = None) -> str:
    """The digest of a record, from its checked values (``tool_calls``: their canonical JSON
    text, :func:`_calls_canonical`, for a record that has them): the hash of the
    text ``content_hash(record.content())`` hashes (tests/feedback/test_models.py checks both
    agree, and pins digests of earlier releases). The agent, rating and version come as JSON
    text (``null`` for none: they repeat from record to record, and a bulk import encodes each
    one once), the signals as their canonical JSON text (:func:`signals_texts`). Raises
    TypeError for a non-text value."""
    # NOTE: the text written out directly (keys in sorted order): this runs once for every
    # record written or imported, and json.dumps of the whole dict costs twice as much (the
    # C encoder on a dict too: it sorts, and joins a chunk per key and per value).
    text = (f'{{"agent":{agent},'
            f'"correction":{"null" if correction is None else _STR(correction)},'
            f'"created_at":"{created_text}",'
            f'"input":{"null" if input is None else _STR(input)},'
            f'"metadata":{"null" if metadata is None else _CANONICAL.encode(metadata)},'
            f'"output":{"null" if output is None else _STR(output)},'
            f'"rating":{rating},'
            f'"reason":{"null" if reason is None else _STR(reason)},'
            f'"run_id":{"null" if run_id is None else _STR(run_id)},'
            f'"signals":{signals},'
            f'{"" if tool_calls is None else _CALLS_KEY + tool_calls + ","}'
            f'"user_id":{"null" if user_id is None else _STR(user_id)},'
            f'"version":{version}}}')
    return (_sha256_new or _load_sha256())(text.encode()).hexdigest()  # type: ignore[no-any-return]


_sha256_new: Callable[[bytes], Any] | None = None


def _load_sha256() -> Callable[[bytes], Any]:
    global _sha256_new
    # NOTE: hashlib is imported on first use: loading OpenSSL is a cost every command that
    # only reads records (list, stats, history) would pay for nothing.
    import hashlib

    _sha256_new = hashlib.sha256
    return _sha256_new


def _sha256(text: str) -> str:
    return str((_sha256_new or _load_sha256())(text.encode()).hexdigest())


_CALLS_KEY = '"tool_calls":'


def _calls_canonical(calls: Sequence[ToolCall]) -> str:
    """Tool calls as :data:`_CANONICAL` writes ``[c.model_dump() for c in calls]`` (keys
    sorted); TypeError for a value of another type than checked calls hold."""
    parts = []
    for c in calls:
        duration, arguments = c.duration_ms, c.arguments
        if (duration is not None and type(duration) is not int) \
                or (arguments is not None and type(arguments) is not str):
            raise TypeError("an unchecked tool call")
        parts.append(f'{{"arguments":{"null" if arguments is None else _STR(arguments)},'
                     f'"duration_ms":{"null" if duration is None else int.__repr__(duration)},'
                     f'"name":{_STR(c.name)},"status":{_STR(c.status)}}}')
    return f'[{",".join(parts)}]'


def content_hash(content: Mapping[str, Any]) -> str:
    return _sha256(_CANONICAL.encode(content))


def make_record(fields: Mapping[str, Any], *, id_from_content: bool = False,
                now: datetime | None = None, keep_arguments: int | None = None) -> FeedbackRecord:
    """Validate ``fields`` into a record, filling ``id`` and ``created_at`` when absent.

    ``id_from_content``: an absent id becomes a hash of the given content, so that importing the
    same line twice yields the same id (and so adds nothing the second time).
    ``keep_arguments``: tool-call arguments are kept, cut at that many characters; by default
    they are dropped (see :func:`prepare_tool_calls`)."""
    return owned_record(dict(fields), id_from_content=id_from_content, now=now,
                        keep_arguments=keep_arguments)


def owned_record(data: dict[str, Any], *, id_from_content: bool = False,
                 now: datetime | None = None, keep_arguments: int | None = None) -> FeedbackRecord:
    """:func:`make_record` of a dict the caller hands over (it is changed): one copy fewer
    on the path of every record written."""
    # NOTE: a field given as None is a field not given (the quick check reads it so; the
    # schema is given only the fields that have a value).
    if data.get("tool_calls") is not None:
        data["tool_calls"] = prepare_tool_calls(data["tool_calls"], keep_arguments)
    missing_id = data.get("id") is None
    if missing_id:
        data["id"] = "placeholder" if id_from_content else new_id()
    given_time = data.get("created_at") is not None
    created_text = None  # created_at as stored, when it is the time read here
    if not given_time:
        if now is None:
            data["created_at"], created_text = clock()
        else:
            data["created_at"] = now
    values = quick_values(data, own_id=missing_id)
    if values is None:  # unusual or invalid: the schema judges, and words the error
        from gitimprove.feedback.validation import ValidationError, validate_record

        try:
            values = validate_record({k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            raise InvalidFeedbackError(validation_message(exc)) from None
    if values["tool_calls"] is not None:
        values["tool_calls"] = [_checked_call(c) for c in values["tool_calls"]]
    record = _built(values)
    if created_text is not None and values["created_at"] is data["created_at"]:
        record.__dict__["created_text"] = created_text  # what the property would compute
    if missing_id and id_from_content:
        content = record.content()
        if not given_time:
            content.pop("created_at")
        record = record.model_copy(update={"id": "fb-" + content_hash(content)[:20]})
    return record


def validation_message(exc: Any) -> str:
    """A validation error as one readable line: ``rating: 'meh' is not a rating: ...``."""
    from gitimprove.feedback.validation import validation_message as message

    return message(exc)


_set = object.__setattr__


def _built(values: dict[str, Any]) -> FeedbackRecord:
    """A record from checked values (every field, by name), without the dataclass's
    per-field ``__init__``: this runs for every record written and read."""
    record = FeedbackRecord.__new__(FeedbackRecord)
    _set(record, "__dict__", values)
    return record


def record_from_row(row: Mapping[str, Any]) -> FeedbackRecord:
    """A record read back from a store (trusted: already validated on the way in)."""
    signals = row.get("signals")
    metadata = row.get("metadata")
    calls = row.get("tool_calls")
    return _built({
        "id": row["id"], "agent": row["agent"], "version": row.get("version"),
        "run_id": row.get("run_id"), "rating": row.get("rating"), "reason": row.get("reason"),
        "correction": row.get("correction"),
        # NOTE: "{}" (no signals: most records) skips the JSON parser.
        "signals": json.loads(signals) if isinstance(signals, str) and signals not in ("", "{}")
        else ({} if isinstance(signals, str) else (signals or {})),
        "user_id": row.get("user_id"), "input": row.get("input"), "output": row.get("output"),
        "metadata": json.loads(metadata) if isinstance(metadata, str) and metadata else (metadata or None),
        "created_at": parse_timestamp(row["created_at"]),
        "tool_calls": calls_from_json(calls) if isinstance(calls, str) and calls else None,
    })


# NOTE: built once: json.dumps() with options builds an encoder per call (per record).
_CALLS_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def calls_to_json(calls: list[ToolCall] | None) -> str | None:
    """Stored form: a JSON list of ``[name, status, duration_ms]`` or with ``arguments`` too.

    Compact on purpose: an agent that logs every run writes this once per run."""
    if calls is None:
        return None
    rows = [[c.name, c.status, c.duration_ms] + ([c.arguments] if c.arguments is not None else [])
            for c in calls]
    return _CALLS_JSON(rows)


def _call(name: str, status: str, duration_ms: int | None, arguments: str | None) -> ToolCall:
    """A call from checked or stored values, built without the per-field ``__init__``: this is
    most of the cost of reading 100,000 runs' decisions back, and of a record with calls."""
    call = ToolCall.__new__(ToolCall)
    _set(call, "__dict__", {"name": name, "status": status, "duration_ms": duration_ms,
                            "arguments": arguments})
    return call


def _stored_call(row: list[Any]) -> ToolCall:
    return _call(row[0], row[1], row[2], row[3] if len(row) > 3 else None)


def _checked_call(c: Mapping[str, Any]) -> ToolCall:
    return _call(c["name"], c["status"], c["duration_ms"], c["arguments"])


def calls_from_json(text: str) -> list[ToolCall]:
    return [_stored_call(row) for row in json.loads(text)]


# -- runs -------------------------------------------------------------------------------------


@dataclass
class RunView:
    """Every record about one run merged: a rating now and a correction later are one run."""

    agent: str
    run_id: str | None
    feedback_ids: list[str] = field(default_factory=list)
    rating: Rating | None = None
    reasons: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    signals: dict[str, SignalValue] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    first_at: datetime | None = None
    last_at: datetime | None = None
    tool_calls: list[ToolCall] | None = None  # the latest record that carries them wins

    def add(self, record: FeedbackRecord) -> None:
        if record.tool_calls is not None:
            self.tool_calls = record.tool_calls
        self.feedback_ids.append(record.id)
        if record.rating is not None:
            self.rating = record.rating  # the latest rating wins
        if record.reason:
            self.reasons.append(record.reason)
        if record.correction:
            self.corrections.append(record.correction)
        self.signals.update(record.signals)
        if record.version and record.version not in self.versions:
            self.versions.append(record.version)
        if record.user_id and record.user_id not in self.user_ids:
            self.user_ids.append(record.user_id)
        if self.first_at is None or record.created_at < self.first_at:
            self.first_at = record.created_at
        if self.last_at is None or record.created_at > self.last_at:
            self.last_at = record.created_at

    @property
    def trouble(self) -> list[str]:
        """Implicit signs that the run went badly: regenerated, edited, not completed."""
        out = []
        for name in ("regenerated", "edited_output"):
            value = self.signals.get(name)
            if value is not None and value is not False and value > 0:  # True, or a count
                out.append(name)
        completed = self.signals.get("task_completed")
        if completed is not None and completed == 0:  # False (or 0)
            out.append("not_completed")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent, "run_id": self.run_id, "feedback_ids": self.feedback_ids,
            "rating": self.rating, "reasons": self.reasons, "corrections": self.corrections,
            "signals": self.signals, "trouble": self.trouble, "versions": self.versions,
            "user_ids": self.user_ids,
            "first_at": self.first_at and format_timestamp(self.first_at).replace(".000000Z", "Z"),
            "last_at": self.last_at and format_timestamp(self.last_at).replace(".000000Z", "Z"),
            "tool_calls": None if self.tool_calls is None else
            [c.model_dump(exclude_none=True) for c in self.tool_calls],
        }

    @property
    def has_feedback(self) -> bool:
        """False for a run that was only logged (its tool calls, and nothing anybody said)."""
        return bool(self.rating is not None or self.reasons or self.corrections or self.signals)


def merge_runs(records: Iterable[FeedbackRecord]) -> list[RunView]:
    """Records grouped by (agent, run_id), oldest first; a record without a run id is its own run."""
    ordered = sorted(records, key=lambda r: (r.created_at, r.id))
    runs: dict[tuple[str, str], RunView] = {}
    for rec in ordered:
        key = (rec.agent, rec.run_id if rec.run_id is not None else "\0" + rec.id)
        view = runs.get(key)
        if view is None:
            view = runs[key] = RunView(rec.agent, rec.run_id)
        view.add(rec)
    return list(runs.values())
