"""The common case of checking a record as it comes in, by hand, at a fraction of pydantic's cost.

:func:`quick_values` returns exactly what :func:`~gitimprove.feedback.validation.validate_record`
returns for a record made of the plain types the schema expects (text, a dict of signals, a
list of tool-call dicts, ...), and None for anything else: anything it does not accept as it
stands, valid or not, goes to the pydantic schema, which checks it again and words the error.
So it never raises and never words an error, and every ``error:`` line still comes from one
place. It uses the same plain checks as the schema (:mod:`.fields`); tests/feedback/
test_quickcheck.py holds both to the same answer on valid and invalid records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gitimprove.feedback.fields import (
    _ID_RE,
    _NEGATIVE,
    _POSITIVE,
    _SIGNAL_RE,
    _USER_RE,
    _VERSION_RE,
    FIELDS,
    MAX_METADATA_BYTES,
    MAX_RUN_TEXT_CHARS,
    MAX_SIGNALS,
    MAX_TEXT_CHARS,
    MAX_TOOL_ARGUMENT_CHARS,
    MAX_TOOL_CALLS,
    MAX_TOOL_DURATION_MS,
    TOOL_NAME_RE,
    _check_text,
    compact_arguments,
    is_finite,
    normalize_rating,
    normalize_status,
    parse_timestamp,
)
from gitimprove.text import SLUG_RE

_FIELDS = frozenset(FIELDS)
_CALL_FIELDS = frozenset(("name", "status", "duration_ms", "arguments"))
# every spelling normalize_rating accepts as it stands (others, like " Up", go through it)
_RATINGS = {**dict.fromkeys(_POSITIVE, "positive"), **dict.fromkeys(_NEGATIVE, "negative")}
_id_match = _ID_RE.match
_user_match = _USER_RE.match
_signal_match = _SIGNAL_RE.match
_slug_match = SLUG_RE.match
_version_match = _VERSION_RE.match


# NOTE: agent names and versions repeat from record to record (a few of each per file or per
# process); each one given is checked once and remembered, as given, with its checked value.
_AGENTS: dict[str, str] = {}
_VERSIONS: dict[str, str] = {}


def _remember(known: dict[str, str], given: str, checked: str) -> None:
    if type(given) is str:  # not a subclass: its == and hash could be anything
        if len(known) >= 1024:
            known.clear()
        known[given] = checked


class _Refer(Exception):
    """This record is for the schema to judge."""


def quick_values(data: dict[str, Any], *, own_id: bool = False) -> dict[str, Any] | None:
    """The checked values of one record, by field name, as ``validate_record`` gives them; None
    when the schema must judge (an unusual type, or anything it would refuse). ``own_id``: the
    id is one gitimprove made (:func:`~.fields.new_id`), not checked again."""
    try:
        return _values(data, own_id)
    except (_Refer, ValueError, TypeError, OverflowError):
        return None


def _identifier(value: object, match: Callable[[str], object] = _id_match) -> str:
    if not isinstance(value, str):
        raise _Refer
    value = value.strip()
    if not match(value):
        raise _Refer
    return value


def _values(data: dict[str, Any], own_id: bool = False) -> dict[str, Any]:
    # NOTE: written for speed (this runs for every record written): fields that are absent
    # cost one lookup, and the checks shared with the schema are called only on values.
    if not _FIELDS.issuperset(data):
        raise _Refer
    get = data.get
    given = get("agent")
    agent = _AGENTS.get(given) if type(given) is str else None
    if agent is None:
        if not isinstance(given, str):
            raise _Refer
        agent = given.strip()
        if not _slug_match(agent) or len(agent) > 64:  # text.is_slug
            raise _Refer
        _remember(_AGENTS, given, agent)
    record_id = data["id"] if own_id else _identifier(get("id"))
    version = _version(get("version"))
    rating = get("rating")
    if rating is not None:
        rating = _RATINGS.get(rating) if type(rating) is str else None
        if rating is None:
            rating = normalize_rating(data["rating"])
    signals = get("signals")
    signals = {} if signals is None else _signals(signals)
    created = get("created_at")
    if type(created) is not datetime or created.tzinfo is not UTC:
        if created is None:
            raise _Refer
        created = parse_timestamp(created)
        if type(created) is not datetime:
            raise _Refer
    reason = get("reason")
    if reason is not None:
        reason = _check_text("text", reason, MAX_TEXT_CHARS)  # ValueError: for the schema
    correction = get("correction")
    if correction is not None:
        correction = _check_text("text", correction, MAX_TEXT_CHARS)
    run_id = get("run_id")
    if run_id is not None:
        run_id = _identifier(run_id)
    calls = get("tool_calls")
    if calls is not None:
        calls = _tool_calls(calls)
        if run_id is None:
            raise _Refer
    elif rating is None and not reason and not correction and not signals:
        raise _Refer  # empty feedback
    user_id, text_in, text_out, metadata = get("user_id"), get("input"), get("output"), get("metadata")
    return {"id": record_id, "agent": agent, "version": version, "run_id": run_id,
            "rating": rating, "reason": reason, "correction": correction, "signals": signals,
            "user_id": None if user_id is None else _identifier(user_id, _user_match),
            "input": None if text_in is None else _check_text("text", text_in, MAX_RUN_TEXT_CHARS),
            "output": None if text_out is None else _check_text("text", text_out, MAX_RUN_TEXT_CHARS),
            "metadata": None if metadata is None else _metadata(metadata),
            "created_at": created, "tool_calls": calls}


def _version(given: object) -> str | None:
    if given is None:
        return None
    version = _VERSIONS.get(given) if type(given) is str else None
    if version is None:
        if not isinstance(given, str):
            raise _Refer
        version = given.strip()
        if not version:
            return None
        if not _version_match(version):
            raise _Refer
        if version[0] not in "vV":
            version = version.lower()
        _remember(_VERSIONS, given, version)
    return version


def _signals(value: object) -> dict[str, Any]:
    if type(value) is not dict or len(value) > MAX_SIGNALS:
        raise _Refer
    for name, val in value.items():
        kind = type(val)
        if type(name) is not str or not _signal_match(name) \
                or (kind is not bool and ((kind is not int and kind is not float)
                                          or not is_finite(val))):
            raise _Refer
    return dict(value)


def _metadata(value: object) -> dict[str, Any] | None:
    if type(value) is not dict or any(type(k) is not str for k in value):
        raise _Refer
    if len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode()) > MAX_METADATA_BYTES:
        raise _Refer
    return dict(value) or None


def _tool_calls(value: object) -> list[dict[str, Any]]:
    if type(value) is not list or len(value) > MAX_TOOL_CALLS:
        raise _Refer
    return [_call(call) for call in value]


def _call(call: object) -> dict[str, Any]:
    if type(call) is not dict or not _CALL_FIELDS.issuperset(call):
        raise _Refer
    name = call.get("name")
    if type(name) is not str:
        raise _Refer
    name = name.strip()
    if not TOOL_NAME_RE.match(name):
        raise _Refer
    status = call.get("status")
    status = "ok" if status is None else normalize_status(status)
    duration = call.get("duration_ms")
    if duration is not None:
        if (type(duration) is not int and type(duration) is not float) \
                or not is_finite(duration) or not 0 <= duration <= MAX_TOOL_DURATION_MS:
            raise _Refer
        duration = round(duration)
    arguments = call.get("arguments")
    if arguments is not None:
        arguments = compact_arguments(arguments, MAX_TOOL_ARGUMENT_CHARS) or None
    return {"name": name, "status": status, "duration_ms": duration, "arguments": arguments}
