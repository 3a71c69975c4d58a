"""The hand-written check of incoming records gives what the pydantic schema gives, or defers.

For every record, valid or not: when the schema refuses it, the quick check defers (None), so
the error is worded by the schema; when the schema accepts it, the quick check gives the very
same values (same types too: ``True`` is not ``1``) or defers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from gitimprove.feedback.errors import InvalidFeedbackError
from gitimprove.feedback.models import make_record
from gitimprove.feedback.quickcheck import quick_values
from gitimprove.feedback.validation import ValidationError, validate_record, validation_message


class _Text(str):
    """A str subclass, as a blob id (Oid) is."""


_POOLS: dict[str, list[Any]] = {
    "id": ["fb-1", " fb-2 ", _Text("fb-3"), 17, True, "", "has space", "x" * 201, "\x7fid", "ok\u00e9", 1.5, None],
    "agent": ["support-agent", " support-agent ", _Text("support-agent"), "Support", "a..b", "-x", "x" * 65, 3, None,
              "caf\u00e9"],
    "version": ["v3", "V3", _Text("ABCDEF0123 "), "ABCDEF0123", "abcdef0123", " ", "", "bad version", "v" * 101, 3,
                None],
    "run_id": ["run-1", " run-2", "", "a b", 42, False, None],
    "user_id": ["u1", "", "u\tx", 7, None],
    "rating": ["positive", "negative", _Text("up"), "up", " Down ", "+1", "-1", 1, -1, 0, 2, True, "", "meh",
               1.0, None, ["up"]],
    "reason": ["It asked for my order number again", _Text(" sub "), "  ", "", "x" * 10_001, "a\x00b",
               b"caf\xe9".decode("utf-8", "surrogateescape"), "caf\u00e9 \u2603", 5, None],
    "correction": ["Look it up", "\n", None, 3.5],
    "input": ["hello", "x" * 200_001, None],
    "output": ["bye", "", None],
    "signals": [{"regenerated": True}, {"edited_output": 2}, {"score": 0.5}, {"x": float("nan")},
                {"x": float("inf")}, {"bad name!": True}, {"ok": "yes"}, {3: True}, {},
                {f"s{i}": True for i in range(33)}, ["regenerated"], "regenerated", None,
                {"big": 10 ** 400}, {"n": None}, {"a.b-c": False}],
    "metadata": [{"channel": "web"}, {"nested": {"a": [1, 2]}}, {}, {1: "x"}, ["x"],
                 {"x": "y" * 20_000}, {"f": float("nan")}, {"o": object()}, None],
    "created_at": ["2026-01-01T00:00:00Z", "2026-09-15T09:55:22+02:00", "2026-01-01T00:00:00",
                   " 2026-01-01 ", 1_760_000_000, 1.5e9, float("nan"), 10 ** 20, 10 ** 400, True,
                   "yesterday", _Text("2026-01-01T00:00:00Z"),
                   datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, tzinfo=UTC),
                   datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=-5))), ["x"], None],
    "tool_calls": [[{"name": "web_search", "status": "ok", "duration_ms": 830}],
                   [{"name": "fetch", "status": "failed"}], [], [{"name": "bad name"}],
                   [{"name": "x", "duration_ms": "12"}], [{"name": "x", "duration_ms": 1.6}],
                   [{"name": "x", "duration_ms": -1}], [{"name": "x", "duration_ms": True}],
                   [{"name": "x", "duration_ms": 10 ** 400}],
                   [{"name": "x", "status": "meh"}], [{"name": "x", "colour": "red"}],
                   [{"name": "x", "arguments": {"q": "socks"}}], [{"name": "x", "arguments": ""}],
                   [{"name": "x", "arguments": "y" * 5000}], ["web_search"], {"name": "x"},
                   ({"name": "x"},), "web_search", None],
    "colour": ["red"],
}


def _typed(value: Any) -> Any:
    """A value with every type spelled out, so that True and 1, or 1 and 1.0, differ."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), str(value.tzinfo))
    return (type(value).__name__, value)


def _judge(data: dict[str, Any]) -> tuple[str, Any]:
    """("ok", values) or ("refused", message) from the schema; the quick check is held to it.

    As make_record calls them: the schema gets only the fields that have a value, the quick
    check every field (None is a field not given)."""
    given = {k: v for k, v in data.items() if v is not None}
    quick = quick_values(dict(data))
    assert _typed(quick) == _typed(quick_values(given))
    try:
        values = validate_record(given)
    except ValidationError as exc:
        assert quick is None, f"the quick check accepted what the schema refuses: {data!r}"
        return "refused", validation_message(exc)
    if quick is not None:
        assert _typed(quick) == _typed(values), data
        assert list(quick) == list(values)  # the same fields, in the same order
    return ("quick" if quick is not None else "ok"), values


def _records(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    base = {"id": "fb-1", "agent": "support-agent", "created_at": "2026-01-01T00:00:00Z",
            "rating": "negative"}
    out = []
    for _ in range(count):
        record = dict(base)
        for name in rng.sample(sorted(_POOLS), rng.randint(1, 5)):
            value = rng.choice(_POOLS[name])
            if value is None and name in ("id", "agent", "created_at", "rating") and rng.random() < 0.5:
                record.pop(name, None)
            else:
                record[name] = value
        out.append(record)
    return out


def test_typical_records_take_the_quick_path_with_the_schemas_values() -> None:
    typical = [
        {"id": "fb-1", "agent": "support-agent", "created_at": "2026-01-01T00:00:00+00:00",
         "rating": "negative", "reason": "It asked for my order number again",
         "signals": {"regenerated": True}, "run_id": "run-1"},
        {"id": "fb-2", "agent": "support-agent", "created_at": datetime(2026, 1, 1, tzinfo=UTC),
         "correction": "Look the order up by email", "version": "ABCDEF0123",
         "user_id": "u-9", "input": "where is my order", "output": "give me the number",
         "metadata": {"channel": "web", "n": [1, 2]}},
        {"id": "run-x", "agent": "support-agent", "created_at": 1_760_000_000, "run_id": "r1",
         "tool_calls": [{"name": "web_search", "status": "success", "duration_ms": 830.4},
                        {"name": "fetch", "status": "error", "arguments": {"url": "x"}}]},
        {"id": "fb-3", "agent": "support-agent", "created_at": "2026-01-01T00:00:00Z",
         "rating": "up", "signals": {"edited_output": 2, "score": 0.25, "done": False}},
    ]
    for data in typical:
        kind, _ = _judge(data)
        assert kind == "quick", data


@pytest.mark.parametrize("seed", range(4))
def test_quick_check_and_schema_agree_on_mixed_records(seed: int) -> None:
    kinds = {"quick": 0, "ok": 0, "refused": 0}
    for data in _records(1500, seed):
        kind, _ = _judge(data)
        kinds[kind] += 1
    # the corpus exercises all three outcomes, not only one
    assert kinds["refused"] > 100 and kinds["quick"] > 100, kinds


def test_errors_are_worded_by_the_schema_whichever_path_ran() -> None:
    checked = 0
    for data in _records(600, 99):
        fields = {k: v for k, v in data.items() if v is not None}  # as make_record passes them
        if "id" not in fields or "created_at" not in fields:
            continue  # make_record fills these in
        kind, result = _judge(fields)
        if kind == "refused":
            with pytest.raises(InvalidFeedbackError) as info:
                make_record(fields)
            assert str(info.value) == result
            checked += 1
        else:
            record = make_record(fields)
            assert record.id == result["id"] and record.created_at == result["created_at"]
    assert checked > 50
