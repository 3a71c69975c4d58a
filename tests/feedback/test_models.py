"""The record model: ratings, limits, signals, ids and the merged view of a run."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest

from gitimprove.feedback.errors import InvalidFeedbackError
from gitimprove.feedback.models import (
    MAX_TEXT_CHARS,
    content_hash,
    format_timestamp,
    make_record,
    merge_runs,
    new_id,
    normalize_rating,
)


@pytest.mark.parametrize("given, expected", [
    ("positive", "positive"), ("UP", "positive"), ("thumbs_up", "positive"),
    ("thumbs-up", "positive"), ("+1", "positive"), (1, "positive"), ("👍", "positive"),
    ("negative", "negative"), ("down", "negative"), ("Thumbs_Down", "negative"),
    ("-1", "negative"), (-1, "negative"), (" negative ", "negative"), (None, None), ("", None),
])
def test_rating_spellings(given: object, expected: str | None) -> None:
    assert normalize_rating(given) == expected


@pytest.mark.parametrize("bad", ["meh", "5", 0, 2, True, "positive!", ["up"]])
def test_bad_ratings_say_what_is_accepted(bad: object) -> None:
    with pytest.raises(InvalidFeedbackError, match=r"rating: .* is not a rating: use positive or negative"):
        make_record({"agent": "product-writer", "rating": bad})


def test_a_record_needs_something_to_say() -> None:
    with pytest.raises(InvalidFeedbackError, match="empty feedback: give at least a rating"):
        make_record({"agent": "product-writer", "run_id": "r1", "reason": "   ", "signals": {}})
    for field in ({"rating": "up"}, {"reason": "x"}, {"correction": "y"},
                  {"signals": {"regenerated": True}}):
        assert make_record({"agent": "product-writer", **field}).agent == "product-writer"


def test_ten_megabytes_of_reason_are_refused_with_the_limit() -> None:
    with pytest.raises(InvalidFeedbackError) as info:
        make_record({"agent": "product-writer", "reason": "x" * (10 * 1024 * 1024)})
    message = str(info.value)
    assert "reason: is too long: 10,485,760 characters" in message
    assert f"the limit is {MAX_TEXT_CHARS:,}" in message and "\n" not in message


def test_undecodable_text_and_nul_are_refused() -> None:
    broken = b"caf\xe9".decode("utf-8", "surrogateescape")
    with pytest.raises(InvalidFeedbackError, match="reason: is not valid UTF-8"):
        make_record({"agent": "product-writer", "reason": broken})
    with pytest.raises(InvalidFeedbackError, match="NUL"):
        make_record({"agent": "product-writer", "correction": "a\x00b"})


@pytest.mark.parametrize("signals, message", [
    ({"regenerated": "yes"}, "is not true/false or a number"),
    ({"bad name!": True}, "is not a signal name"),
    ({"x": float("nan")}, "finite"),
    ({f"s{i}": True for i in range(40)}, "the limit is 32"),
    (["regenerated"], "must be an object"),
])
def test_bad_signals(signals: object, message: str) -> None:
    with pytest.raises(InvalidFeedbackError, match=message):
        make_record({"agent": "product-writer", "signals": signals})


def test_unknown_fields_and_bad_agent_names() -> None:
    with pytest.raises(InvalidFeedbackError, match="unknown field 'colour' \\(fields: id, agent"):
        make_record({"agent": "product-writer", "rating": "up", "colour": "red"})
    with pytest.raises(InvalidFeedbackError, match="is not an agent name"):
        make_record({"agent": "Product Writer", "rating": "up"})


def test_timestamps() -> None:
    r = make_record({"agent": "a", "rating": "up", "created_at": "2026-09-15T09:55:22+02:00"})
    assert r.created_at == datetime(2026, 9, 15, 7, 55, 22, tzinfo=UTC)
    assert r.model_dump(mode="json")["created_at"] == "2026-09-15T07:55:22Z"
    naive = make_record({"agent": "a", "rating": "up", "created_at": "2026-09-15 07:55:22"})
    assert naive.created_at.tzinfo is UTC
    with pytest.raises(InvalidFeedbackError, match="created_at: 'yesterday' is not an ISO 8601"):
        make_record({"agent": "a", "rating": "up", "created_at": "yesterday"})


def test_ids_from_content_are_stable() -> None:
    line = {"agent": "product-writer", "run_id": "r1", "rating": "down", "reason": "too long"}
    a = make_record(line, id_from_content=True)
    b = make_record(dict(line), id_from_content=True)
    c = make_record({**line, "reason": "too short"}, id_from_content=True)
    assert a.id == b.id != c.id and a.id.startswith("fb-")
    assert make_record(line).id != make_record(line).id  # the API gives every call a new id
    assert make_record({**line, "id": "mine"}, id_from_content=True).id == "mine"


def test_records_of_one_run_merge() -> None:
    t = "2026-09-15T10:0{}:00Z"
    records = [
        make_record({"id": "b", "agent": "a", "run_id": "r1", "correction": "shorter",
                     "created_at": t.format(5), "version": "c" * 40}),
        make_record({"id": "a", "agent": "a", "run_id": "r1", "rating": "down", "reason": "long",
                     "signals": {"regenerated": True}, "created_at": t.format(1)}),
        make_record({"id": "c", "agent": "a", "run_id": "r2", "rating": "up", "created_at": t.format(2)}),
        make_record({"id": "d", "agent": "a", "rating": "up", "created_at": t.format(3)}),
        make_record({"id": "e", "agent": "a", "rating": "up", "created_at": t.format(4)}),
    ]
    runs = merge_runs(records)
    assert [r.feedback_ids for r in runs] == [["a", "b"], ["c"], ["d"], ["e"]]
    first = runs[0]
    assert first.rating == "negative" and first.reasons == ["long"]
    assert first.corrections == ["shorter"] and first.trouble == ["regenerated"]
    assert first.versions == ["c" * 40]
    assert first.to_json()["first_at"] == "2026-09-15T10:01:00Z"
    later = merge_runs([*records, make_record({"id": "f", "agent": "a", "run_id": "r1",
                                              "rating": "up", "created_at": t.format(9),
                                              "signals": {"task_completed": False}})])[0]
    assert later.rating == "positive"  # the latest rating of a run wins
    assert later.trouble == ["regenerated", "not_completed"]


@pytest.mark.parametrize("fields", [
    {"agent": "a", "rating": "up"},
    {"agent": "a", "reason": 'quotes " and \\ and \u00e9t\u00e9 \U0001f44e and a\ttab',
     "signals": {"regenerated": True, "edits": 3, "score": 0.5}, "user_id": "u-1",
     "run_id": "r", "version": "v2", "input": "in", "output": "out\n2",
     "metadata": {"z": [1, {"b": None, "a": "\u00fc"}], "a": 1.5}},
    {"agent": "a", "correction": "say hello", "created_at": "2026-09-15T09:55:22.123+02:00"},
    {"agent": "a", "run_id": "r", "tool_calls": [{"name": "web_search", "duration_ms": 3}]},
    {"agent": "a", "run_id": "r", "reason": "x", "tool_calls": [
        {"name": "web_search", "status": "error", "duration_ms": 7.6,
         "arguments": {"q": 'caf\u00e9 "quoted" \\ \n\u2028', "n": [1, 2]}},
        {"name": "read", "arguments": "plain"}, {"name": "x.y-z", "duration_ms": 0}, {"name": "n"}]},
    {"agent": "a", "run_id": "r", "tool_calls": []},
])
def test_digest_is_the_hash_of_the_canonical_content(fields: dict[str, object]) -> None:
    # the digest is written out by hand on the write path; stored digests must not change
    record = make_record(fields, keep_arguments=200)
    assert record.digest == content_hash(record.content())


@pytest.mark.parametrize("fields, digest", [
    ({"id": "fb-1", "agent": "a", "rating": "up", "created_at": "2026-09-15T09:55:22Z"},
     "6dc742247223d5c7b296e1d891af8b460a311f7b2254724442ebb8f20e1b3ae7"),
    ({"id": "fb-2", "agent": "a", "reason": 'quotes " and \\ and \u00e9t\u00e9 \U0001f44e and a\ttab\x01',
      "signals": {"regenerated": True, "edits": 3, "score": 0.5}, "user_id": "u-1",
      "run_id": "r", "version": "v2", "input": "in", "output": "out\n2",
      "metadata": {"z": [1, {"b": None, "a": "\u00fc"}], "a": 1.5},
      "created_at": "2026-09-15T09:55:22.123+02:00"},
     "251a3ea3047815ebfc4c8de0b204c504061522a8d75c806431ca985c1abf06fc"),
    ({"id": "fb-3", "agent": "a", "run_id": "r", "created_at": 1760000000.25,
      "tool_calls": [{"name": "web_search", "duration_ms": 3}]},
     "13924126d6b19fb649caf919c6149a54bcdbfa549f98af0853dbe704e15293aa"),
    ({"id": "fb-4", "agent": "a", "signals": {"z": 1e16, "a": False, "m": -0.0},
      "created_at": "0001-01-01T00:00:00Z"},
     "2916d5f0915c8f01453168b74f9b1c5be80680ce43ac9b65f201a18b3a2ea52e"),
])
def test_digests_stay_what_stored_records_hold(fields: dict[str, object], digest: str) -> None:
    # digests computed by earlier releases, pinned: a stored record must still dedupe
    assert make_record(fields).digest == digest


def test_the_clock_writes_its_time_as_format_timestamp_does() -> None:
    import time

    from gitimprove.feedback.fields import clock

    seen = set()
    for _ in range(2000):
        stamp, text = clock()
        assert stamp.tzinfo is UTC and text == format_timestamp(stamp)
        seen.add(text[:19])
        if len(seen) < 2:
            time.sleep(0.001)
    assert len(seen) >= 2  # across a change of second too
    record = make_record({"agent": "a", "rating": "up"})
    assert record.created_text == format_timestamp(record.created_at)
    assert record.digest == content_hash(record.content())


def test_compact_json_and_timestamps_written_out_match_the_standard_library() -> None:
    import json

    from gitimprove.feedback.models import flat_encoder

    for value in ({}, {"b": True, "a": 1}, {"x": 0.1, "\u00e9": -3, "q\"": 1e16}):
        for sort_keys in (False, True):
            for ensure_ascii in (False, True):
                plain = json.JSONEncoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii,
                                         separators=(",", ":"))
                fast = flat_encoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii)
                assert fast(value) == plain.encode(value)
    for stamp in (datetime(1, 1, 1, tzinfo=UTC), datetime(2026, 9, 15, 7, 5, 2, 30, tzinfo=UTC),
                  datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        assert format_timestamp(stamp) == stamp.replace(tzinfo=None).isoformat(
            timespec="microseconds") + "Z"


def test_the_schema_and_the_record_have_the_same_fields() -> None:
    # what is checked on the way in (pydantic) and what commands read (dataclasses) are two
    # declarations of one record: they must not drift apart
    import dataclasses

    from gitimprove.feedback.models import FeedbackRecord, ToolCall
    from gitimprove.feedback.validation import RecordIn, ToolCallIn

    assert list(RecordIn.model_fields) == [f.name for f in dataclasses.fields(FeedbackRecord)]
    assert list(ToolCallIn.model_fields) == [f.name for f in dataclasses.fields(ToolCall)]
    for name, info in RecordIn.model_fields.items():
        declared = next(f for f in dataclasses.fields(FeedbackRecord) if f.name == name)
        has_default = declared.default is not dataclasses.MISSING or \
            declared.default_factory is not dataclasses.MISSING
        assert info.is_required() is not has_default, name


def test_a_time_given_as_text_is_stored_as_parsing_and_formatting_it_would() -> None:
    from gitimprove.feedback.fields import parse_timestamp, timestamp_text

    for given in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00.5Z",
                  "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.123456+00:00",
                  "2026-01-01T00:00:00+0000", "2026-01-01T00:00:00+00", "2026-01-01T00:00:00-00:00",
                  "2026-01-01T00:00:00-05:00", "2026-01-01T23:30:00+01:00", "2026-01-01 00:00:00Z",
                  "2026-01-01T00:00:00.1234567Z", "2026-01-01T00:00:00,123456Z", "2026-01-01",
                  "20260101T000000Z", " 2026-01-01T00:00:00Z ", "2026-01-01T00:00Z", "2026-01-01T00",
                  "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2026-01-01T00:00:00",
                  "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "0000-01-01T00:00:00Z",
                  "2026-W01-1T00:00:00Z", "yesterday", ""):
        try:
            expected = format_timestamp(parse_timestamp(given))
        except ValueError as exc:
            with pytest.raises(ValueError) as info:
                timestamp_text(given)
            assert str(info.value) == str(exc)
        else:
            assert timestamp_text(given) == expected, given


def test_new_ids_sort_in_the_order_they_were_made() -> None:
    # a record is written at the end of the store's index of ids, not at a random place in it
    made = []
    for _ in range(5):
        made.append(new_id())
        time.sleep(0.002)
    assert made == sorted(made)
    assert all(re.fullmatch(r"fb-[0-9a-f]{28}", i) for i in made)
    assert len({new_id() for _ in range(10_000)}) == 10_000  # the same millisecond: still apart


def test_a_forked_child_and_a_seeded_random_module_make_other_ids() -> None:
    import os
    import random

    new_id()  # the generator exists before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ids must not repeat its parent's
        os.write(write, " ".join(new_id()[15:] for _ in range(3)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 1000).decode().split()
    mine = [new_id()[15:] for _ in range(3)]
    assert not set(child) & set(mine)
    random.seed(0)
    first = new_id()[15:]
    random.seed(0)
    assert new_id()[15:] != first


def test_signals_are_encoded_once_only_where_both_texts_agree() -> None:
    from gitimprove.feedback.base import record_row
    from gitimprove.feedback.models import _built, signals_texts

    for signals in ({}, {"regenerated": True}, {"a": 1, "b": 2.5}, {"zeta": 1, "alpha": False},
                    {"A": True, "a": 1e16}):
        stored, canonical = signals_texts(signals)
        assert stored == json.dumps(signals, separators=(",", ":"))
        assert canonical == json.dumps(signals, separators=(",", ":"), sort_keys=True)
        record = make_record({"agent": "a", "rating": "up", "signals": signals})
        row = record_row(record, "2026-01-01T00:00:00.000000Z")
        assert row[7] == stored and row[14] == content_hash(record.content())
    # a name only a record built without validation holds: escaped as stored, not as hashed
    plain = {k: v for k, v in make_record({"agent": "a", "rating": "up"}).__dict__.items()
             if k != "digest"}
    odd = _built({**plain, "signals": {"caf\u00e9": True}})
    assert "digest" not in odd.__dict__
    assert record_row(odd, "2026-01-01T00:00:00.000000Z")[14] == content_hash(odd.content())


def test_a_copy_has_its_own_digest_and_knows_its_fields() -> None:
    import dataclasses

    record = make_record({"id": "c1", "agent": "a", "rating": "down", "reason": "too long",
                          "created_at": "2026-01-01T00:00:00Z"})
    before = record.digest
    copied = record.model_copy(update={"version": "abc123"})
    assert copied == dataclasses.replace(record, version="abc123")
    assert copied.version == "abc123" and record.version is None
    assert copied.digest != before  # derived from the new fields, not carried over
    assert copied.digest == dataclasses.replace(record, version="abc123").digest
    assert record.model_copy() == record and record.model_copy() is not record
    with pytest.raises(TypeError, match="no field 'versoin'"):
        record.model_copy(update={"versoin": "x"})
