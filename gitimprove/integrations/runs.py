"""Which instruction version produced which agent run: a small SQLite table of bindings.

An integration binds ``(agent, run_id) -> version`` at the moment it hands the instructions to
the framework, so feedback recorded later (in another process, after a merge or a rollback) is
attributed to the version that produced the run, not to whatever is current by then.

The bindings live in their own file (``.gitimprove/runs.db`` by default), not in the feedback
store: a binding is not feedback (a record needs a rating, reason, correction or signal), one
is written for every run whether or not anybody ever comments on it, and old ones are pruned.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitimprove.feedback.errors import FeedbackStoreError
from gitimprove.feedback.models import format_timestamp

DEFAULT_PATH = ".gitimprove/runs.db"
DEFAULT_RETENTION_DAYS = 90
DEFAULT_TIMEOUT = 10.0
MEMORY_SIZE = 10_000  # bindings kept in memory: this process's recent runs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gitimprove_runs (
    agent TEXT NOT NULL,
    run_id TEXT NOT NULL,
    version TEXT NOT NULL,
    bound_at TEXT NOT NULL,
    PRIMARY KEY (agent, run_id)
) WITHOUT ROWID
"""


class RunMap:
    """``(agent, run_id) -> version`` in an SQLite file, with this process's recent bindings
    in memory so that a lookup right after a run needs no query.

    Opened lazily on the first call; several processes may bind at once (WAL mode, busy
    timeout). Bindings older than ``retention_days`` are deleted when a process first opens
    the file. A run bound twice (a retried run, a reused ``run_id``) keeps the last version."""

    def __init__(self, path: str | os.PathLike[str], *,
                 retention_days: float = DEFAULT_RETENTION_DAYS,
                 timeout: float = DEFAULT_TIMEOUT,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.timeout = timeout
        self._now = now
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._recent: OrderedDict[tuple[str, str], str] = OrderedDict()

    def __repr__(self) -> str:
        return f"RunMap({str(self.path)!r})"

    def _remember(self, key: tuple[str, str], version: str) -> None:
        self._recent[key] = version
        self._recent.move_to_end(key)
        while len(self._recent) > MEMORY_SIZE:
            self._recent.popitem(last=False)

    def _error(self, exc: Exception, doing: str) -> FeedbackStoreError:
        text = str(exc)
        hint = "check the folder's permissions, or pass runs_path"
        if "locked" in text or "busy" in text:
            hint = f"another process held the lock for more than {self.timeout:g}s; try again"
        return FeedbackStoreError(f"cannot {doing} the run map {self.path}: {text}", hint=hint)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # NOTE: a connection inherited through fork() must not be used by the child.
        self._conn = None
        try:
            if not self.path.parent.is_dir():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.path.parent.name == ".gitimprove":
                    (self.path.parent / ".gitignore").write_text("# local state: never commit it\n*\n")
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc, "open") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
            cutoff = self._now() - timedelta(days=self.retention_days)
            conn.execute("DELETE FROM gitimprove_runs WHERE bound_at < ?",
                         (format_timestamp(cutoff),))
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(exc, "open") from None
        self._conn, self._pid = conn, os.getpid()
        return conn

    def bind(self, agent: str, run_id: str, version: str) -> None:
        """Remember that ``version`` of ``agent`` produced ``run_id``.

        Kept in memory first: when the file cannot be written, this process still knows, and
        the :class:`FeedbackStoreError` says why other processes will not."""
        key = (agent, run_id)
        with self._lock:
            self._remember(key, version)
            try:
                self._connect().execute(
                    "INSERT OR REPLACE INTO gitimprove_runs (agent, run_id, version, bound_at) "
                    "VALUES (?, ?, ?, ?)", (agent, run_id, version, format_timestamp(self._now())))
            except sqlite3.Error as exc:
                raise self._error(exc, "write") from None

    def version(self, agent: str, run_id: str) -> str | None:
        """The version bound to ``run_id``, or None when no process recorded one."""
        key = (agent, run_id)
        with self._lock:
            hit = self._recent.get(key)
            if hit is not None:
                return hit
            if not self.path.exists():
                return None
            try:
                row = self._connect().execute(
                    "SELECT version FROM gitimprove_runs WHERE agent = ? AND run_id = ?",
                    key).fetchone()
            except sqlite3.Error as exc:
                raise self._error(exc, "read") from None
        return str(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> RunMap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
