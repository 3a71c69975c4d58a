"""The PostgreSQL store: the same interface as SQLite, for agents running on many hosts.

Needs the ``postgres`` extra (``pip install 'gitimprove[postgres]'``, which brings psycopg 3).
The schema and its migrations are the ones in :mod:`.migrations`; the version lives in the
``gitimprove_schema`` table, and migrations run under a transaction-scoped advisory lock so that
hosts starting at once migrate exactly once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gitimprove.feedback import migrations
from gitimprove.feedback.base import (
    DEFAULT_TIMEOUT,
    FeedbackStore,
    _chunks,
)
from gitimprove.feedback.errors import FeedbackStoreError

if TYPE_CHECKING:
    import psycopg

_LOCK_KEY = 0x67694D70  # advisory lock for migrations


def redact(url: str) -> str:
    """The URL without its password (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore(FeedbackStore):
    """Feedback in a PostgreSQL database named by a ``postgresql://`` URL."""

    MARK = "%s"
    BYTE_ORDER = ' COLLATE "C"'  # text order as byte order, the same as SQLite's

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 target_version: int = migrations.CURRENT_VERSION) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise FeedbackStoreError(
                "a postgresql:// feedback URL needs the PostgreSQL driver (psycopg)",
                hint="pip install 'gitimprove[postgres]'") from None
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "timeout"]
        self._dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
        self.url = redact(url)
        self.timeout = timeout
        self._target = target_version
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = 0
        self._connect()

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    def _error(self, exc: Exception, doing: str) -> FeedbackStoreError:
        import psycopg

        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return FeedbackStoreError(
                f"feedback database {self.url} is locked by another writer "
                f"(waited {self.timeout:g}s to {doing})",
                hint="try again; raise the wait with ?timeout=SECONDS in the feedback URL")
        if isinstance(exc, psycopg.OperationalError):
            return FeedbackStoreError(f"cannot {doing} feedback database {self.url}: {first}",
                                      hint="check that the server runs and the URL is right")
        return FeedbackStoreError(f"feedback database {self.url}: {first}")

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._conn is not None and self._pid == os.getpid() and not self._conn.closed:
            return self._conn
        self._conn = None
        try:
            conn = psycopg.connect(self._dsn, connect_timeout=max(1, int(self.timeout)),
                                   autocommit=False)
        except psycopg.Error as exc:
            raise self._error(exc, "open") from None
        try:
            conn.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")
            conn.commit()
            self._migrate(conn)
        except psycopg.Error as exc:
            conn.close()
            raise self._error(exc, "open") from None
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute("CREATE TABLE IF NOT EXISTS gitimprove_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM gitimprove_schema").fetchone()
            version = int(row[0]) if row else 0
            if version > migrations.CURRENT_VERSION:
                raise FeedbackStoreError(
                    f"feedback database {self.url} has schema v{version}, newer than this "
                    f"gitimprove understands (v{migrations.CURRENT_VERSION})",
                    hint="upgrade gitimprove on this host")
            if version >= self._target:
                return
            executor = _PgExecutor(conn)
            for _, step in migrations.steps(version, self._target):
                if isinstance(step, str):
                    conn.execute(step)
                else:
                    step(executor)
            if row:
                conn.execute("UPDATE gitimprove_schema SET version = %s", (self._target,))
            else:
                conn.execute("INSERT INTO gitimprove_schema (version) VALUES (%s)", (self._target,))

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                with contextlib.suppress(Exception):
                    conn.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _read(self, sql: str, params: Sequence[Any], doing: str = "read") -> list[tuple[Any, ...]]:
        import psycopg

        with self._lock:
            conn = self._connect()
            try:
                rows = conn.execute(sql, params).fetchall()
                conn.commit()
            except psycopg.Error as exc:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
                raise self._error(exc, doing) from None
        return rows

    # -- interface ----------------------------------------------------------------------------

    def schema_version(self) -> int:
        rows = self._read("SELECT version FROM gitimprove_schema", ())
        return int(rows[0][0]) if rows else 0

    def _write(self, rows: Sequence[tuple[Any, ...]], *, only_new: bool) -> int | None:
        import psycopg

        sql = self._insert_sql()
        with self._lock:
            conn = self._connect()
            try:
                with conn.transaction() as transaction, conn.cursor() as cur:
                    cur.executemany(sql, rows)
                    added = max(cur.rowcount, 0)
                    if only_new and added != len(rows):
                        raise psycopg.Rollback(transaction)
                    return added
            except psycopg.Error as exc:
                raise self._error(exc, "write") from None
        return None  # rolled back

    def digests(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        for chunk in _chunks(wanted, 1000):
            for fid, digest in self._read("SELECT id, digest FROM feedback WHERE id = ANY(%s)",
                                          (list(chunk),)):
                out[fid] = digest
        return out


class _PgExecutor:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(sql.replace("?", "%s"), params)
        return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)
