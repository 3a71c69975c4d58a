"""The store test-suite: every test runs against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitimprove.feedback import migrations
from gitimprove.feedback.errors import FeedbackStoreError
from gitimprove.feedback.models import FeedbackRecord, make_record
from gitimprove.feedback.store import FeedbackStore, record_row

from .conftest import FIXTURES, StoreMaker

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def rec(i: int, agent: str = "product-writer", **fields: object) -> FeedbackRecord:
    data: dict[str, object] = {"id": f"fb-{i:04d}", "agent": agent, "run_id": f"run-{i // 2}",
                               "rating": "negative" if i % 3 else "positive",
                               "reason": f"reason number {i}",
                               "created_at": T0 + timedelta(hours=i)}
    data.update(fields)
    return make_record(data)


def test_add_get_roundtrip(store: FeedbackStore) -> None:
    full = make_record({
        "id": "fb-full", "agent": "support-agent", "version": "a" * 40, "run_id": "r-1",
        "rating": "thumbs_down", "reason": "Kein Ticket — “none” at all 🙁", "correction": "Give one.",
        "signals": {"regenerated": True, "task_completed": False, "time_to_accept_s": 12.5},
        "user_id": "u-7", "input": "where is it?", "output": "Soon.",
        "metadata": {"channel": "chat", "tags": ["a", 1]}, "created_at": "2026-09-15T07:55:22Z"})
    assert store.add([full]) == 1
    got = store.get("fb-full")
    assert got == full
    assert got is not None and got.signals["task_completed"] is False
    assert store.get("fb-missing") is None


def test_add_is_idempotent_by_id(store: FeedbackStore) -> None:
    records = [rec(i) for i in range(10)]
    assert store.add(records) == 10
    assert store.add(records) == 0
    assert store.add([*records[:5], rec(10)]) == 1
    assert store.count() == 11


def test_new_rows_are_written_only_when_every_id_is_new(store: FeedbackStore) -> None:
    rows = [record_row(rec(i), "2026-09-01T00:00:00.000000Z") for i in range(5)]
    assert store.add_new_rows([]) is True
    assert store.add_new_rows(rows[:2]) is True
    assert store.add_new_rows(rows) is False  # two are stored already: nothing is written
    assert sorted(r.id for r in store.records()) == ["fb-0000", "fb-0001"]
    assert store.add_rows(rows) == 3
    assert store.add_new_rows([record_row(rec(9), "2026-09-01T00:00:00.000000Z")]) is True
    assert store.count() == 6


def test_a_batch_is_written_whole_or_not_at_all(store: FeedbackStore) -> None:
    store.add([rec(0)])
    broken = dataclasses.replace(rec(2), agent=None)  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(FeedbackStoreError):
        store.add([rec(1), broken, rec(3)])
    assert [r.id for r in store.records()] == ["fb-0000"]
    assert store.add([rec(1)]) == 1  # the store is usable after the failure


def test_records_filters_and_order(store: FeedbackStore) -> None:
    store.add([rec(i, agent="support-agent" if i % 2 else "product-writer",
                   version="b" * 40 if i >= 6 else None) for i in reversed(range(10))])
    assert [r.id for r in store.records()] == [f"fb-{i:04d}" for i in range(10)]
    assert [r.id for r in store.records(newest_first=True, limit=2)] == ["fb-0009", "fb-0008"]
    assert {r.agent for r in store.records(agent="support-agent")} == {"support-agent"}
    assert [r.id for r in store.records(since=T0 + timedelta(hours=8))] == ["fb-0008", "fb-0009"]
    assert [r.id for r in store.records(until=T0 + timedelta(hours=1))] == ["fb-0000"]
    assert [r.id for r in store.records(versions=["b" * 40], agent="product-writer")] == [
        "fb-0006", "fb-0008"]
    assert store.records(versions=[]) == []
    assert [r.id for r in store.records(run_id="run-2")] == ["fb-0004", "fb-0005"]
    assert store.count() == 10 and store.count("support-agent") == 5
    assert store.agents() == ["product-writer", "support-agent"]
    light = store.records(with_io=False, limit=1)[0]
    assert light.input is None and light.reason == "reason number 0"


def test_records_give_the_beginning_of_a_runs_input_and_output(store: FeedbackStore) -> None:
    store.add([rec(0, input="the question", output="Привет, " + "x" * 100), rec(1)])
    head, none = store.records(with_io=8)
    assert head.output == "Привет, " and head.input == "the ques"  # characters, not bytes
    assert none.input is None and none.output is None
    assert head.reason == "reason number 0"


def test_digests_catch_changed_content(store: FeedbackStore) -> None:
    a = rec(1)
    store.add([a])
    assert store.digests(["fb-0001", "fb-nope"]) == {"fb-0001": a.digest}
    assert rec(1, reason="another text").digest != a.digest


def test_many_ids_in_one_digest_query(store: FeedbackStore) -> None:
    records = [rec(i) for i in range(1200)]
    store.add(records)
    assert len(store.digests([r.id for r in records])) == 1200


def test_migrates_an_empty_database(store: FeedbackStore, make_store: StoreMaker) -> None:
    assert store.schema_version() == migrations.CURRENT_VERSION
    again = make_store()  # a second open of a current database changes nothing
    assert again.schema_version() == migrations.CURRENT_VERSION
    assert again.count() == 0


def _load_v1_fixture(backend: tuple[str, str]) -> None:
    kind, url = backend
    sql = (FIXTURES / "schema_v1.sql").read_text()
    if kind == "sqlite":
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(url)
        conn.executescript(sql)
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            for statement in sql.split(";"):
                body = "\n".join(line for line in statement.splitlines() if not line.startswith("--"))
                if body.strip():
                    pg.execute(body)
            pg.execute("CREATE TABLE gitimprove_schema (version INTEGER NOT NULL)")
            pg.execute("INSERT INTO gitimprove_schema VALUES (1)")


def test_migrates_from_the_previous_schema(backend: tuple[str, str], make_store: StoreMaker) -> None:
    _load_v1_fixture(backend)
    store = make_store()
    assert store.schema_version() == migrations.CURRENT_VERSION
    old = store.records()
    assert [r.id for r in old] == ["v1-0001", "v1-0002", "v1-0003"]
    assert old[1].signals == {"edited_output": True} and old[2].signals == {}
    assert old[2].metadata == {"channel": "chat"} and old[2].output == "It arrives tomorrow."
    # v2 filled the digests: the same record again is a duplicate, not a conflict
    assert store.digests(["v1-0001"]) == {"v1-0001": old[0].digest}
    assert store.add([old[0]]) == 0
    assert store.add([rec(1)]) == 1
    assert store.count() == 4
    assert all(r.tool_calls is None for r in store.records())  # v3: not logged, not "none"


def test_v1_store_opened_by_the_v1_code_then_upgraded(make_store: StoreMaker) -> None:
    """The same migrations, applied in two steps, end where one step ends."""
    v1 = make_store(target_version=1)
    assert v1.schema_version() == 1
    v1.close()
    store = make_store()
    assert store.schema_version() == migrations.CURRENT_VERSION
    assert store.add([rec(1)]) == 1


def test_v2_records_keep_their_digests_in_v3(backend: tuple[str, str],
                                             make_store: StoreMaker) -> None:
    """Adding tool_calls changed no digest: re-importing an old file is still a duplicate."""
    make_store(target_version=2).close()
    old = rec(1)
    row = record_row(old, "2026-09-01T12:00:00.000000Z")[:15]  # the v2 columns
    columns = ", ".join(migrations.COLUMNS[:15])
    kind, url = backend
    if kind == "sqlite":
        with sqlite3.connect(url) as conn:
            conn.execute(f"INSERT INTO feedback ({columns}) VALUES ({', '.join('?' * 15)})", row)
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(f"INSERT INTO feedback ({columns}) VALUES ({', '.join(['%s'] * 15)})", row)
    store = make_store()
    assert store.schema_version() == 3
    assert store.digests([old.id]) == {old.id: old.digest}
    assert store.add([old]) == 0


def test_tool_calls_roundtrip(store: FeedbackStore) -> None:
    calls = [{"name": "web_search", "status": "ok", "duration_ms": 830.4},
             {"name": "fetch_page", "status": "failed", "duration_ms": 12, "arguments": {"url": "x"}},
             {"name": "web_search"}]
    logged = make_record({"id": "run-1", "agent": "support-agent", "run_id": "r-1",
                          "tool_calls": calls, "created_at": T0}, keep_arguments=100)
    none_called = make_record({"id": "run-2", "agent": "support-agent", "run_id": "r-2",
                               "tool_calls": [], "created_at": T0})
    assert store.add([logged, none_called, rec(7)]) == 3
    back = {r.id: r for r in store.records()}
    assert back["run-1"] == logged and back["run-2"] == none_called
    assert [(c.name, c.status, c.duration_ms, c.arguments) for c in back["run-1"].tool_calls or []] \
        == [("web_search", "ok", 830, None), ("fetch_page", "error", 12, '{"url":"x"}'),
            ("web_search", "ok", None, None)]
    assert back["run-2"].tool_calls == [] and back["fb-0007"].tool_calls is None
    assert not back["run-1"].is_feedback and back["fb-0007"].is_feedback
    assert store.digests(["run-1"]) == {"run-1": logged.digest}


def test_logs_of_rated_runs_only_matches_is_feedback(store: FeedbackStore) -> None:
    """The SQL filter analysis reads with keeps exactly the run logs that a feedback record
    (matched by the same filters) names, and every feedback record, whatever made it one."""
    calls = [{"name": "web_search"}]

    def log(i: int, run: str | None, **fields: object) -> FeedbackRecord:
        return make_record({"id": f"log-{i}", "agent": "a", "run_id": run, "tool_calls": calls,
                            "created_at": T0 + timedelta(hours=i), **fields})

    records = [
        log(1, "rated"), make_record({"id": "fb-1", "agent": "a", "run_id": "rated",
                                      "rating": "negative", "created_at": T0 + timedelta(hours=2)}),
        log(3, "signalled"), make_record({"id": "fb-3", "agent": "a", "run_id": "signalled",
                                          "signals": {"regenerated": True},
                                          "created_at": T0 + timedelta(hours=4)}),
        log(5, "corrected", correction="use the booking"),  # a log that is also feedback
        log(6, "alone"), make_record({"id": "fb-7", "agent": "a", "rating": "negative",
                                      "created_at": T0 + timedelta(hours=7)}),
        log(8, "late"), make_record({"id": "fb-9", "agent": "a", "run_id": "late", "reason": "x",
                                     "created_at": T0 + timedelta(days=9)}),
        log(10, "rated", agent="b"),  # the same run id, another agent
        make_record({"id": "fb-11", "agent": "a", "run_id": "plain", "reason": "",
                     "correction": "", "created_at": T0 + timedelta(hours=11), "rating": "positive"}),
    ]
    store.add(records)
    everything = store.records(agent="a")
    kept = store.records(agent="a", logs_of_rated_runs_only=True)
    named = {r.run_id for r in everything if r.is_feedback}
    assert [r.id for r in kept] == [r.id for r in everything if r.is_feedback or r.run_id in named]
    assert {r.id for r in everything} - {r.id for r in kept} == {"log-6"}
    # With a time window, "names the same run" means among the records in the window.
    window = store.records(agent="a", until=T0 + timedelta(days=1), logs_of_rated_runs_only=True)
    assert "log-8" not in {r.id for r in window} and "log-1" in {r.id for r in window}
    assert [r.id for r in store.records(agent="b", logs_of_rated_runs_only=True)] == []


def test_refuses_a_newer_schema(backend: tuple[str, str], make_store: StoreMaker) -> None:
    store = make_store()
    store.close()
    kind, url = backend
    if kind == "sqlite":
        conn = sqlite3.connect(url)
        conn.execute("PRAGMA user_version = 99")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("UPDATE gitimprove_schema SET version = 99")
    with pytest.raises(FeedbackStoreError, match="schema v99, newer than this gitimprove"):
        make_store()


def test_locked_database_is_a_clear_error(backend: tuple[str, str], make_store: StoreMaker) -> None:
    store = make_store(timeout=0.3)
    kind, url = backend
    blocker: Any
    if kind == "sqlite":
        blocker = sqlite3.connect(url, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
    else:
        import psycopg

        blocker = psycopg.connect(url)
        blocker.execute("LOCK TABLE feedback IN ACCESS EXCLUSIVE MODE")
    started = time.monotonic()
    with pytest.raises(FeedbackStoreError, match="is locked by another") as info:
        store.add([rec(1)])
    assert "\n" not in info.value.message
    assert time.monotonic() - started < 10
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.count() == 0  # nothing half-written
    assert store.add([rec(1)]) == 1


WORKER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from gitimprove.feedback.models import make_record
    from gitimprove.feedback.store import open_store
    url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = open_store(url, ".")
    for i in range(count):
        store.add([make_record({"id": f"w{worker}-{i}", "agent": "support-agent",
                                "run_id": f"w{worker}", "rating": "negative",
                                "reason": f"worker {worker} item {i}"})])
    store.close()
""")


def test_concurrent_writers_lose_nothing(backend: tuple[str, str]) -> None:
    """Several processes record at once, each record in its own transaction; all arrive."""
    _, url = backend
    workers, each = 4, 60
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(w), str(each)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for w in range(workers)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    from gitimprove.feedback.store import open_store

    store = open_store(url, ".")
    ids = {r.id for r in store.records()}
    store.close()
    assert ids == {f"w{w}-{i}" for w in range(workers) for i in range(each)}


def test_threads_share_one_store(store: FeedbackStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                store.add([rec(n * 100 + i)])
                store.count()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 100
