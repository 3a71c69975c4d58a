"""The feedback schema, version by version. Shared by the SQLite and PostgreSQL stores.

Each version is a list of steps: SQL text (the same in both dialects) or a Python function that
gets a :class:`Executor`. A store applies the missing steps in one transaction, under a lock
(``BEGIN IMMEDIATE`` / an advisory lock), and re-reads the version once it holds the lock, so
several processes opening a new database at once migrate it exactly once.

- v1: the first release: one ``feedback`` table, an index by agent.
- v2: ``digest`` (content hash: re-importing a changed record under an existing id is caught)
  and ``recorded_at`` (when the store received it), indexes for the agent/time and run queries.
- v3: ``tool_calls``: the run's decisions (a compact JSON list; NULL when none were logged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gitimprove.feedback.models import format_timestamp, record_from_row

CURRENT_VERSION = 3

COLUMNS = ("id", "agent", "version", "run_id", "rating", "reason", "correction", "signals",
           "user_id", "input", "output", "metadata", "created_at", "recorded_at", "digest",
           "tool_calls")
# What a record is read back from (the bookkeeping columns aside).
RECORD_COLUMNS = (*COLUMNS[:13], "tool_calls")


class Executor(Protocol):
    """What a Python migration step needs; ``sql`` uses ``?`` placeholders (translated)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


Step = str | Callable[[Executor], None]

V1_COLUMNS = COLUMNS[:13]


def _backfill_v2(db: Executor) -> None:
    rows = db.execute(f"SELECT {', '.join(V1_COLUMNS)} FROM feedback")
    updates = []
    for row in rows:
        data = dict(zip(V1_COLUMNS, row, strict=True))
        record = record_from_row(data)
        updates.append((record.digest, format_timestamp(record.created_at), record.id))
    if updates:
        db.executemany("UPDATE feedback SET digest = ?, recorded_at = ? WHERE id = ?", updates)


MIGRATIONS: dict[int, list[Step]] = {
    1: [
        """CREATE TABLE feedback (
            id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            version TEXT,
            run_id TEXT,
            rating TEXT,
            reason TEXT,
            correction TEXT,
            signals TEXT,
            user_id TEXT,
            input TEXT,
            output TEXT,
            metadata TEXT,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX feedback_agent ON feedback (agent)",
    ],
    2: [
        "ALTER TABLE feedback ADD COLUMN recorded_at TEXT",
        "ALTER TABLE feedback ADD COLUMN digest TEXT",
        _backfill_v2,
        "DROP INDEX feedback_agent",
        "CREATE INDEX feedback_agent_time ON feedback (agent, created_at)",
        "CREATE INDEX feedback_agent_run ON feedback (agent, run_id)",
    ],
    3: [
        "ALTER TABLE feedback ADD COLUMN tool_calls TEXT",
    ],
}


def steps(current: int, target: int = CURRENT_VERSION) -> list[tuple[int, Step]]:
    """The steps that take a database from ``current`` to ``target``, in order."""
    return [(v, step) for v in range(current + 1, target + 1) for step in MIGRATIONS[v]]
