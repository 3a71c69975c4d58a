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

import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from gitimprove.feedback.errors import InvalidFeedbackError
from gitimprove.text import is_slug

Rating = Literal["positive", "negative"]
SignalValue = bool | int | float

# -- limits (documented in docs/feedback.md) ---------------------------------------------------
MAX_TEXT_CHARS = 10_000        # reason, correction: a few pages is plenty for a comment
MAX_RUN_TEXT_CHARS = 200_000   # input, output: a whole agent run, but not a data dump
MAX_ID_CHARS = 200             # id, run_id, user_id
MAX_SIGNALS = 32
MAX_METADATA_BYTES = 16_384    # metadata as compact JSON
MAX_TOOL_CALLS = 1_000         # tool calls in one record (one run)
MAX_TOOL_ARGUMENT_CHARS = 4_000  # a call's arguments as stored (the policy's limit is lower)
MAX_TOOL_DURATION_MS = 7 * 24 * 3600 * 1000

FIELDS = ("id", "agent", "version", "run_id", "rating", "reason", "correction", "signals",
          "user_id", "input", "output", "metadata", "created_at", "tool_calls")
TEXT_FIELDS = ("reason", "correction")
TROUBLE_SIGNALS = ("regenerated", "edited_output", "task_completed")

_POSITIVE = {"positive", "up", "thumbs_up", "thumbsup", "+1", "1", "👍"}
_NEGATIVE = {"negative", "down", "thumbs_down", "thumbsdown", "-1", "👎"}
RATING_HELP = "use positive or negative (also up/down, thumbs_up/thumbs_down, +1/-1)"

_ID_RE = re.compile(r"\A[^\s\x00-\x1f\x7f]{1,200}\Z")
_VERSION_RE = re.compile(r"\A[0-9A-Za-z._-]{1,100}\Z")
_SIGNAL_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")
TOOL_NAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")

ToolStatus = Literal["ok", "error"]
_TOOL_OK = {"ok", "success", "succeeded", "successful", "completed", "done"}
_TOOL_ERROR = {"error", "failed", "failure", "exception", "timeout", "timed_out"}
STATUS_HELP = "use ok or error (also success/completed, failed/exception/timeout)"
ARGUMENTS_CUT = "…[cut]"


def _shown(value: object) -> object:
    """A value for an error message: long text cut at 40 characters (repr() escapes the rest)."""
    return value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "..."


def normalize_rating(value: object) -> Rating | None:
    """``positive``/``negative`` from any accepted spelling; None for None or ``""``.

    Raises ValueError for anything else (``meh``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a rating: {RATING_HELP}")
    if isinstance(value, int | float) and value in (1, -1):
        return "positive" if value == 1 else "negative"
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key == "":
            return None
        if key.startswith("_") and key[1:].isdigit():  # "-1" became "_1"
            key = "-" + key[1:]
        if key in _POSITIVE:
            return "positive"
        if key in _NEGATIVE:
            return "negative"
    raise ValueError(f"{_shown(value)!r} is not a rating: {RATING_HELP}")


def _check_text(name: str, value: object, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise ValueError(f"is too long: {len(text):,} characters (the limit is {limit:,}; "
                         "see docs/feedback.md)")
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid UTF-8 (it contains undecodable bytes)") from None
    return text


def parse_timestamp(value: object) -> datetime:
    """An aware UTC datetime from a datetime, an ISO 8601 string or epoch seconds."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, bool):
        raise ValueError("must be an ISO 8601 date-time like 2026-09-15T07:55:22Z")
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        try:
            stamp = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value} seconds is not a time gitimprove can store") from None
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 date-time like "
                             "2026-09-15T07:55:22Z") from None
    else:
        raise ValueError("must be an ISO 8601 date-time like 2026-09-15T07:55:22Z")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return stamp.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{stamp.isoformat()} is out of range once converted to UTC") from None


def format_timestamp(stamp: datetime) -> str:
    """Fixed-width UTC text that sorts like the time it names: ``2026-09-15T07:55:22.000000Z``."""
    if stamp.tzinfo is not UTC:
        stamp = stamp.astimezone(UTC)
    return stamp.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def new_id() -> str:
    """A fresh random feedback id: ``fb-`` and 80 random bits in hex."""
    return "fb-" + os.urandom(10).hex()


def normalize_status(value: object) -> ToolStatus:
    """``ok``/``error`` from an accepted spelling; ValueError for anything else."""
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key in _TOOL_OK:
            return "ok"
        if key in _TOOL_ERROR:
            return "error"
    raise ValueError(f"{_shown(value)!r} is not a status: {STATUS_HELP}")


def compact_arguments(value: object, limit: int) -> str:
    """A call's arguments as compact JSON text, cut at ``limit`` characters (with a marker)."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                              default=str)
        except (TypeError, ValueError, RecursionError):
            raise ValueError("arguments must be plain JSON (objects, lists, text, numbers)") from None
    if len(text) > limit:
        text = text[:max(0, limit - len(ARGUMENTS_CUT))] + ARGUMENTS_CUT
    return text.replace("\x00", "")


class ToolCall(BaseModel):
    """One decision of the agent in a run: a tool it called and how that went.

    ``arguments`` is the compact JSON of what it was called with, kept only when the policy
    says so (``feedback.store_tool_arguments``) and cut at ``feedback.tool_argument_chars``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    status: ToolStatus = "ok"
    duration_ms: int | None = None
    arguments: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        if not isinstance(value, str) or not TOOL_NAME_RE.match(value.strip()):
            raise ValueError(f"{_shown(value)!r} is not a tool name (letters, digits, '_', '-', '.'; "
                             "at most 128, no spaces or control characters)")
        return value.strip()

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> object:
        return "ok" if value is None else normalize_status(value)

    @field_validator("duration_ms", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            text = value
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{text[:20]!r} is not a number of milliseconds") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("must be a number of milliseconds")
        if not 0 <= value <= MAX_TOOL_DURATION_MS:
            raise ValueError(f"{value:g} ms is out of range (0 to {MAX_TOOL_DURATION_MS:,})")
        return round(value)

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments(cls, value: object) -> object:
        if value is None:
            return None
        return compact_arguments(value, MAX_TOOL_ARGUMENT_CHARS) or None


def prepare_tool_calls(value: object, keep_arguments: int | None) -> object:
    """Tool calls as given, with the arguments kept (cut at ``keep_arguments`` characters) or
    dropped (None), before validation. Anything malformed is passed on to be refused there."""
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


class FeedbackRecord(BaseModel):
    """One piece of feedback on one agent run (see docs/feedback.md for the format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    agent: str
    version: str | None = None
    run_id: str | None = None
    rating: Rating | None = None
    reason: str | None = None
    correction: str | None = None
    # NOTE: a factory: a plain `{}` default is deep-copied by pydantic for every record.
    signals: dict[str, SignalValue] = Field(default_factory=dict)
    user_id: str | None = None
    input: str | None = None
    output: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime
    # None: the run's decisions were not logged here; []: logged, and no tool was called.
    tool_calls: list[ToolCall] | None = None

    @field_validator("id", "run_id", "user_id", mode="before")
    @classmethod
    def _identifier(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {type(value).__name__}")
        value = value.strip()
        if not _ID_RE.match(value):
            raise ValueError(f"must be 1-{MAX_ID_CHARS} characters without spaces or control "
                             "characters")
        return value

    @field_validator("agent", mode="before")
    @classmethod
    def _agent(cls, value: object) -> object:
        if not isinstance(value, str) or not is_slug(value.strip()):
            raise ValueError(f"{value!r} is not an agent name (lowercase letters, digits, '-', "
                             "'_', '.')")
        return value.strip()

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not _VERSION_RE.match(value.strip()):
            raise ValueError(f"{value!r} is not a version (a blob id, or v3)")
        return value.strip().lower() if value.strip()[:1] not in "vV" else value.strip()

    @field_validator("rating", mode="before")
    @classmethod
    def _rating(cls, value: object) -> object:
        return normalize_rating(value)

    @field_validator("reason", "correction", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return _check_text("text", value, MAX_TEXT_CHARS)

    @field_validator("input", "output", mode="before")
    @classmethod
    def _run_text(cls, value: object) -> object:
        return _check_text("text", value, MAX_RUN_TEXT_CHARS)

    @field_validator("signals", mode="before")
    @classmethod
    def _signals(cls, value: object) -> object:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError("must be an object of name: true/false or a number")
        if len(value) > MAX_SIGNALS:
            raise ValueError(f"has {len(value)} signals (the limit is {MAX_SIGNALS})")
        out: dict[str, SignalValue] = {}
        for name, val in value.items():
            if not isinstance(name, str) or not _SIGNAL_RE.match(name):
                raise ValueError(f"{name!r} is not a signal name (letters, digits, '_', at most 64)")
            if isinstance(val, bool):
                out[name] = val
            elif isinstance(val, int | float):
                if not math.isfinite(val):
                    raise ValueError(f"{name}: must be a finite number")
                out[name] = val
            else:
                raise ValueError(f"{name}: {val!r} is not true/false or a number")
        return out

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValueError("must be an object")
        try:
            size = len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
        except (TypeError, ValueError):
            raise ValueError("must be plain JSON (objects, lists, text, numbers)") from None
        if size > MAX_METADATA_BYTES:
            raise ValueError(f"is {size:,} bytes as JSON (the limit is {MAX_METADATA_BYTES:,})")
        return dict(value) or None

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, value: object) -> object:
        return parse_timestamp(value)

    @field_validator("tool_calls", mode="before")
    @classmethod
    def _tool_calls(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise ValueError('must be a list of calls like {"name": "web_search", "status": "ok"}')
        calls = list(value)
        if len(calls) > MAX_TOOL_CALLS:
            raise ValueError(f"has {len(calls):,} calls (the limit is {MAX_TOOL_CALLS:,} per run; "
                             "see docs/feedback.md)")
        for n, call in enumerate(calls):
            if not isinstance(call, Mapping | ToolCall):
                raise ValueError(f"[{n}] must be an object with a name, not {type(call).__name__}")
        return calls

    @model_validator(mode="after")
    def _not_empty(self) -> FeedbackRecord:
        if not self.is_feedback and self.tool_calls is None:
            raise ValueError("empty feedback: give at least a rating, a reason, a correction, "
                             "a signal or the run's tool calls")
        if self.tool_calls is not None and self.run_id is None:
            raise ValueError("tool_calls belong to a run: give the run_id too")
        return self

    @property
    def is_feedback(self) -> bool:
        """False for a run log: a record with only the run's tool calls."""
        return bool(self.rating is not None or self.reason or self.correction or self.signals)

    @field_serializer("created_at")
    def _dump_created(self, value: datetime) -> str:
        return format_timestamp(value).replace(".000000Z", "Z")

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

    @cached_property
    def created_text(self) -> str:
        """``created_at`` as stored (:func:`format_timestamp`)."""
        return format_timestamp(self.created_at)

    @cached_property
    def digest(self) -> str:
        """A hash of the content: the same id with another digest is a conflicting record."""
        if self.tool_calls is not None:
            return content_hash(self.content())
        # NOTE: the text content_hash(self.content()) hashes, written out directly (keys in
        # sorted order): this runs once for every record written, and json.dumps of the whole
        # dict is most of the cost. tests/feedback/test_models.py checks both agree.
        try:
            text = (f'{{"agent":{_STR(self.agent)},"correction":{_opt(self.correction)},'
                    f'"created_at":"{self.created_text}","input":{_opt(self.input)},'
                    f'"metadata":{"null" if self.metadata is None else _CANONICAL.encode(self.metadata)},'
                    f'"output":{_opt(self.output)},"rating":{_opt(self.rating)},'
                    f'"reason":{_opt(self.reason)},"run_id":{_opt(self.run_id)},'
                    f'"signals":{_CANONICAL.encode(self.signals) if self.signals else "{}"},'
                    f'"user_id":{_opt(self.user_id)},"version":{_opt(self.version)}}}')
        except TypeError:  # a record built without validation, holding a non-text value
            return content_hash(self.content())
        return hashlib.sha256(text.encode()).hexdigest()


# NOTE: one encoder for every record: json.dumps() with options builds a new one per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_STR: Callable[[str], str] = json.encoder.encode_basestring


def _opt(value: str | None) -> str:
    return "null" if value is None else _STR(value)


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(_CANONICAL.encode(content).encode()).hexdigest()


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one readable line: ``rating: 'meh' is not a rating: ...``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden" and "tool_calls" in err["loc"]:
            msg = "unknown field (a tool call has name, status, duration_ms, arguments)"
        elif err["type"] == "extra_forbidden":
            msg = f"unknown field (fields: {', '.join(FIELDS)})"
        elif err["type"] == "missing":
            msg = "missing"
        parts.append(f"{loc}: {msg}" if loc != "record" else msg)
    return "; ".join(parts)


def make_record(fields: Mapping[str, Any], *, id_from_content: bool = False,
                now: datetime | None = None, keep_arguments: int | None = None) -> FeedbackRecord:
    """Validate ``fields`` into a record, filling ``id`` and ``created_at`` when absent.

    ``id_from_content``: an absent id becomes a hash of the given content, so that importing the
    same line twice yields the same id (and so adds nothing the second time).
    ``keep_arguments``: tool-call arguments are kept, cut at that many characters; by default
    they are dropped (see :func:`prepare_tool_calls`)."""
    data = {k: v for k, v in fields.items() if v is not None}
    if "tool_calls" in data:
        data["tool_calls"] = prepare_tool_calls(data["tool_calls"], keep_arguments)
    missing_id = "id" not in data
    if missing_id and not id_from_content:
        data["id"] = new_id()
    if "created_at" not in data:
        data["created_at"] = now or datetime.now(UTC)
        given_time = False
    else:
        given_time = True
    if missing_id and id_from_content:
        data["id"] = "placeholder"
    try:
        record = FeedbackRecord.model_validate(data)
    except ValidationError as exc:
        raise InvalidFeedbackError(validation_message(exc)) from None
    if missing_id and id_from_content:
        content = record.content()
        if not given_time:
            content.pop("created_at")
        record = record.model_copy(update={"id": "fb-" + content_hash(content)[:20]})
    return record


def record_from_row(row: Mapping[str, Any]) -> FeedbackRecord:
    """A record read back from a store (trusted: already validated on the way in)."""
    signals = row.get("signals")
    metadata = row.get("metadata")
    calls = row.get("tool_calls")
    return FeedbackRecord.model_construct(
        id=row["id"], agent=row["agent"], version=row.get("version"), run_id=row.get("run_id"),
        rating=row.get("rating"), reason=row.get("reason"), correction=row.get("correction"),
        # NOTE: "{}" (no signals: most records) skips the JSON parser.
        signals=json.loads(signals) if isinstance(signals, str) and signals not in ("", "{}")
        else ({} if isinstance(signals, str) else (signals or {})),
        user_id=row.get("user_id"), input=row.get("input"), output=row.get("output"),
        metadata=json.loads(metadata) if isinstance(metadata, str) and metadata else (metadata or None),
        created_at=parse_timestamp(row["created_at"]),
        tool_calls=calls_from_json(calls) if isinstance(calls, str) and calls else None,
    )


def calls_to_json(calls: list[ToolCall] | None) -> str | None:
    """Stored form: a JSON list of ``[name, status, duration_ms]`` or with ``arguments`` too.

    Compact on purpose: an agent that logs every run writes this once per run."""
    if calls is None:
        return None
    rows = [[c.name, c.status, c.duration_ms] + ([c.arguments] if c.arguments is not None else [])
            for c in calls]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


_CALL_FIELDS = frozenset(ToolCall.model_fields)
_set = object.__setattr__


def _stored_call(row: list[Any]) -> ToolCall:
    """A stored (already validated) call, built without pydantic's per-field work:
    ``model_construct`` is most of the cost of reading 100,000 runs' decisions back."""
    call = ToolCall.__new__(ToolCall)
    _set(call, "__dict__", {"name": row[0], "status": row[1], "duration_ms": row[2],
                            "arguments": row[3] if len(row) > 3 else None})
    _set(call, "__pydantic_fields_set__", _CALL_FIELDS)
    _set(call, "__pydantic_extra__", None)
    _set(call, "__pydantic_private__", None)
    return call


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
