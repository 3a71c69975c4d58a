"""The validation schema of feedback records as they come in (pydantic): every field a user,
a file or an agent run gives is checked and normalised here before it becomes a
:class:`~gitimprove.feedback.models.FeedbackRecord`. Imported only when a record is made, so
that commands that only read records never import pydantic."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gitimprove.feedback.fields import (
    _ID_RE,
    _SIGNAL_RE,
    _USER_RE,
    _VERSION_RE,
    FIELDS_NOTE,
    MAX_ID_CHARS,
    MAX_METADATA_BYTES,
    MAX_RUN_TEXT_CHARS,
    MAX_SIGNALS,
    MAX_TEXT_CHARS,
    MAX_TOOL_ARGUMENT_CHARS,
    MAX_TOOL_CALLS,
    MAX_TOOL_DURATION_MS,
    TOOL_NAME_RE,
    Rating,
    SignalValue,
    ToolStatus,
    _check_text,
    _shown,
    compact_arguments,
    is_feedback,
    is_finite,
    normalize_rating,
    normalize_status,
    parse_timestamp,
    unknown_fields,
)
from gitimprove.text import is_slug

__all__ = ["RecordIn", "ToolCallIn", "ValidationError", "validate_record", "validation_message"]


class ToolCallIn(BaseModel):
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
        if isinstance(value, bool) or not isinstance(value, int | float) or not is_finite(value):
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


class RecordIn(BaseModel):
    """The fields of a record as given, checked and normalised (see docs/feedback.md)."""

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
    tool_calls: list[ToolCallIn] | None = None

    @field_validator("id", "run_id", "user_id", mode="before")
    @classmethod
    def _identifier(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {type(value).__name__}")
        value = value.strip()
        if info.field_name == "user_id":
            if not _USER_RE.match(value):
                raise ValueError(f"must be 1-{MAX_ID_CHARS} characters without control "
                                 "characters or line breaks")
        elif not _ID_RE.match(value):
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
                if not is_finite(val):
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
                             "see `gitimprove docs feedback`)")
        for n, call in enumerate(calls):
            if not isinstance(call, Mapping):
                raise ValueError(f"[{n}] must be an object with a name, not {type(call).__name__}")
        return calls

    @model_validator(mode="after")
    def _not_empty(self) -> RecordIn:
        if not is_feedback(self.rating, self.reason, self.correction, self.signals) \
                and self.tool_calls is None:
            raise ValueError("empty feedback: give at least a rating, a reason, a correction, "
                             "a signal or the run's tool calls")
        if self.tool_calls is not None and self.run_id is None:
            raise ValueError("tool_calls belong to a run: give the run_id too")
        return self


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one readable line: ``rating: 'meh' is not a rating: ...``."""
    parts = []
    extra: list[str] = []  # a record's unknown fields: said once, with the fields it may have
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden" and "tool_calls" in err["loc"]:
            msg = "unknown field (a tool call has name, status, duration_ms, arguments)"
        elif err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            extra.append(loc)
            continue
        elif err["type"] == "missing":
            msg = "missing"
        parts.append(f"{loc}: {msg}" if loc != "record" else msg)
    if extra:
        parts.append(f"{unknown_fields(extra)} {FIELDS_NOTE}")
    return "; ".join(parts)


def validate_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """The checked values of one record, by field name (tool calls as dicts); raises
    :class:`ValidationError`."""
    values = RecordIn.model_validate(data).__dict__
    if values["tool_calls"] is not None:
        values["tool_calls"] = [call.__dict__ for call in values["tool_calls"]]
    return values
