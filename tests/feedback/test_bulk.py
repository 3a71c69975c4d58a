"""The fast path of a bulk import gives the rows the general path gives, or defers.

For every line, valid or not: when the general path (JSON, then build_record) refuses it, the
fast path defers (None), so the refusal is worded by the general path; when the general path
accepts it, the fast path gives the very same row (digest, id, stored JSON, warning) or
defers."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from gitimprove.errors import GitImproveError
from gitimprove.feedback.base import record_row
from gitimprove.feedback.bulk import FastLines
from gitimprove.feedback.capture import build_record
from gitimprove.feedback.importer import import_feedback
from gitimprove.instructions.repo import InstructionRepo
from tests.feedback.test_quickcheck import _records

RECEIVED = "2026-11-01T00:00:00.000000Z"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# JSON-only awkward values: what a file can hold that a Python caller would not pass
_AWKWARD: dict[str, list[Any]] = {
    "id": ["fb\u00a0x", "\u2003fb", "fb\u180ex", "\u001cfb", "a" * 200, "a" * 201, "fb-\u00e9"],
    "agent": ["product-writer", "research-assistant", "support-agent ", "support--agent",
              "no-such-agent", "Support-Agent", ""],
    "rating": ["1", "+1", "-1", "\U0001f44d", "\U0001f44e", "thumbsup", "Up", "up ", 1, -1, 1.0],
    "reason": ["\u001cpadded\u001f", " \u00a0nbsp\u00a0 ", "tab\tinside", "nul\u0000", "x" * 10_000,
               " " + "x" * 10_000, "\u2028line"],
    "signals": [{"a": 2.0}, {"a": 10 ** 30}, {"a": -0.0}, {"a": 1e16}, {"a": True, "b": False},
                {"A_1.b-c": 1}, {"": True}, {"zeta": 1, "alpha": True}, {"b": 2.5, "B": False}],
    "created_at": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00.5Z",
                   "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00-05:00", "2026-01-01 00:00:00Z",
                   "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:59:60Z",
                   "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
                   "2026-01-01t00:00:00z", "2026-01-01", "20260101T000000Z", " 2026-01-01T00:00:00Z",
                   "2026-01-01T00:00:00+14:00", "2026-W01-1T00:00:00Z", 1_760_000_000,
                   # days a month may not have, other fractions, digits that are not ASCII
                   "2024-02-29T12:00:00Z", "2026-02-29T12:00:00Z", "2026-04-31T00:00:00Z",
                   "2026-01-31T23:59:59.000001+00:00", "2026-01-01T00:00:00.123Z",
                   "\uff12\uff10\uff12\uff16-01-01T00:00:00Z", "2026-01-01T00:00:00.1234567Z"],
    "version": ["v1", "v2", "v99", "V1", "deadbeef", "DEADBEEF", " v1 ", "", "  ", "a b"],
    "user_id": ["u 1", "u-1"],
}


def _lines(seed: int, count: int, versions: list[str]) -> list[bytes]:
    rng = random.Random(seed)
    pools = {name: values + (versions if name == "version" else []) for name, values in _AWKWARD.items()}
    out = []
    plain = [{"id": f"fb-{i}", "agent": "support-agent", "run_id": f"run-{i}",
              "created_at": f"2026-01-01T00:00:{i % 60:02d}Z", "rating": "down",
              "reason": f"it asked again ({i})"} for i in range(count // 2)]
    for data in _records(count // 2, seed) + plain:
        data.setdefault("agent", "support-agent")
        if rng.random() < 0.7:  # most lines name an agent that is on main
            data["agent"] = rng.choice(["support-agent", "product-writer"])
        for name in rng.sample(sorted(pools), rng.randint(0, 3)):
            data[name] = rng.choice(pools[name])
        if rng.random() < 0.3:
            data.pop("id", None)
        if rng.random() < 0.1:  # no agent: refused, or the import's --agent
            data.pop("agent", None)
        text = json.dumps(data, default=str, ensure_ascii=rng.random() < 0.5)
        if not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text):
            text = json.dumps(data, default=str)  # a lone surrogate, as \\udce9
        out.append(text.encode())
    # a key given twice (the last one counts), numbers JSON allows and Python's json reads
    head = b'{"id": "dup", "agent": "support-agent", "created_at": "2026-01-01T00:00:00Z", '
    out += [head + b'"rating": "meh", "rating": "up"}', head + b'"rating": "up", "rating": "meh"}',
            head + b'"reason": "a", "reason": null}', head + b'"signals": {"a": 1, "a": NaN}}',
            head + b'"signals": {"a": 1e400}}', head + b'"signals": {"a": 1E2, "b": -0}}',
            head + b'"reason": "caf\\u00e9 \\ud83d\\udc4e"}', head + b'"reason": "\\ud83d"}',
            head + b'"reason": "caf\xe9"}', head + b'"reason": "\xed\xa0\x80"}',  # not UTF-8
            head + b'"reason": "a"}\r', head + b'"reason": "a"}\r\r', b"  " + head + b'"reason": "a"} ',
            b"\xef\xbb\xbf" + head + b'"reason": "a"}', b"", b"  ", b"[1]", b"null"]
    return out


def _general(repo: InstructionRepo, line: bytes, version: str | None,
             agent: str | None = None) -> tuple[Any, ...] | str:
    """The row of the general path, or why it refuses the line."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        return f"bad JSON: {exc}"
    if not isinstance(data, dict):
        return "not an object"
    if version is not None and not data.get("version"):
        data["version"] = version
    if agent is not None and data.get("agent") in (None, ""):
        data["agent"] = agent
    given_id = data.get("id")
    try:
        record, warning = build_record(repo._feedback_index(), data, id_from_content=True, now=NOW,
                                       fresh=False, keep_arguments=None, owned=True)
    except GitImproveError as exc:
        return exc.message
    return record_row(record, RECEIVED), given_id is None, warning


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("version, agent", [(None, None), ("v1", None), (None, "product-writer")])
def test_fast_rows_are_the_general_paths_rows(repo: InstructionRepo, seed: int,
                                               version: str | None, agent: str | None) -> None:
    index = repo._feedback_index()
    index.refresh()
    blobs = index.version_order("support-agent")
    fast = FastLines(index, version, RECEIVED, agent)
    kinds = {"fast": 0, "general": 0, "refused": 0}
    for line in _lines(seed, 1500, [*blobs[:1], blobs[0][:8]]):
        general = _general(repo, line, version, agent)
        row = fast.row(line)
        if isinstance(general, str):
            assert row is None, f"the fast path took a line the general path refuses: {line!r}"
            kinds["refused"] += 1
        elif row is None:
            kinds["general"] += 1
        else:
            assert row == general, line
            kinds["fast"] += 1
    # the corpus exercises all three outcomes, not only one
    assert min(kinds.values()) > 50, kinds


def test_imports_through_either_path_store_the_same(repo: InstructionRepo) -> None:
    """A file of lines the fast path takes, and the same records given so that it defers
    (run_id as a number: the general path's schema turns it into text): the same rows."""
    rows = [{"id": f"fb-{i}", "agent": "support-agent", "run_id": 1000 + i, "rating": "down",
             "reason": f"reason {i}", "signals": {"regenerated": i % 2 == 0},
             "created_at": f"2026-01-0{1 + i % 9}T10:00:00Z"} for i in range(50)]
    slow = "".join(json.dumps(r) + "\n" for r in rows).encode()
    quick = "".join(json.dumps({**r, "run_id": str(r["run_id"])}) + "\n" for r in rows).encode()
    store, index = repo.feedback_store(), repo._feedback_index()
    assert all(FastLines(index, None, RECEIVED).row(line) for line in quick.splitlines())
    assert not any(FastLines(index, None, RECEIVED).row(line) for line in slow.splitlines())
    first = import_feedback(store, index, "quick.jsonl", quick)
    assert first.added == 50
    stored = {r.id: r for r in store.records()}
    again = import_feedback(store, index, "slow.jsonl", slow)
    assert again.added == 0 and again.duplicates == 50 and not again.invalid  # same digests
    assert {r.id: r for r in store.records()} == stored
