"""Where feedback lives: one interface, an embedded SQLite database by default, PostgreSQL for
teams whose agents run on many hosts (:mod:`.postgres`).

Every write is one transaction: a batch is stored whole or not at all. Records are keyed by
their id, and adding an id that is already stored adds nothing, which makes imports and retries
idempotent. SQLite runs in WAL mode with a busy timeout, so several processes (agent workers)
can record at once without losing a record; a writer that cannot get the lock within the
timeout fails with a one-line error instead of hanging.

URLs: ``sqlite:///relative/path.db`` (relative to the repository's working directory, or its
git directory when bare), ``sqlite:////absolute/path.db``, a plain file path, or
``postgresql://user:pass@host:port/db``. ``?timeout=SECONDS`` sets how long a writer waits for
a lock (default 10).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gitimprove.feedback import migrations
from gitimprove.feedback.base import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from gitimprove.feedback.base import DEFAULT_URL as DEFAULT_URL
from gitimprove.feedback.base import ENV_URL as ENV_URL
from gitimprove.feedback.base import SQLITE_APPLICATION_ID as SQLITE_APPLICATION_ID
from gitimprove.feedback.base import FeedbackStore as FeedbackStore
from gitimprove.feedback.base import (
    _chunks,
)
from gitimprove.feedback.base import record_row as record_row
from gitimprove.feedback.errors import FeedbackStoreError

# This process's id, set again in a forked child: os.getpid() is a system call, and the store
# checks it on every write (a connection inherited through fork() must not be used).
_PID = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))

# -- SQLite -----------------------------------------------------------------------------------


class SQLiteStore(FeedbackStore):
    """An embedded SQLite database (WAL mode), safe for several processes writing at once."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT,
                 target_version: int = migrations.CURRENT_VERSION) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.timeout = timeout
        self._target = target_version
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._connect()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- connection ---------------------------------------------------------------------------

    def _error(self, exc: Exception, doing: str) -> FeedbackStoreError:
        return sqlite_error(exc, self.path, self.timeout, doing)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == _PID[0]:
            return self._conn
        # NOTE: a connection inherited through fork() must not be used by the child.
        self._conn = None
        _prepare_dir(self.path.parent)
        if self.path.is_dir():
            raise FeedbackStoreError(f"cannot open feedback database {self.path}: it is a directory",
                                     hint="point feedback.url at a file")
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # NOTE: NORMAL is durable across a crash of the process; only a power loss can drop
            # the last transactions. FULL would cost an fsync per record.
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(exc, "open") from None
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, _PID[0]
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = self._check_version(conn)
        if version >= self._target:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_version(conn)  # another process may have migrated meanwhile
            if version < self._target:
                executor = _SQLiteExecutor(conn)
                for _, step in migrations.steps(version, self._target):
                    if isinstance(step, str):
                        conn.execute(step)
                    else:
                        step(executor)
                conn.execute(f"PRAGMA application_id = {SQLITE_APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {self._target}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        app = int(conn.execute("PRAGMA application_id").fetchone()[0])
        if version == 0:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            if tables:
                raise FeedbackStoreError(
                    f"{self.path} is a SQLite database but not a gitimprove feedback database "
                    f"(tables: {', '.join(tables[:5])})",
                    hint="point feedback.url at a new file")
        elif app not in (0, SQLITE_APPLICATION_ID):
            raise FeedbackStoreError(f"{self.path} is not a gitimprove feedback database",
                                     hint="point feedback.url at a new file")
        if version > migrations.CURRENT_VERSION:
            raise FeedbackStoreError(
                f"feedback database {self.path} has schema v{version}, newer than this "
                f"gitimprove understands (v{migrations.CURRENT_VERSION})",
                hint="upgrade gitimprove on this host")
        return version

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == _PID[0]:
                conn.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- interface ----------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._lock:
            try:
                return int(self._connect().execute("PRAGMA user_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._error(exc, "read") from None

    def _write(self, rows: Sequence[tuple[Any, ...]], *, only_new: bool) -> int | None:
        sql = self._insert_sql()
        with self._lock:
            conn = self._connect()
            # NOTE: one cursor for the three statements (conn.execute makes one per statement):
            # on the path of every record written.
            cur = conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                try:
                    before = conn.total_changes
                    if len(rows) == 1:
                        cur.execute(sql, rows[0])
                    else:
                        cur.executemany(sql, rows)
                    added = conn.total_changes - before
                    if only_new and added != len(rows):
                        cur.execute("ROLLBACK")
                        return None
                    cur.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc, "write") from None
        return added

    def digests(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        with self._lock:
            conn = self._connect()
            try:
                for chunk in _chunks(wanted, 500):
                    marks = ", ".join("?" * len(chunk))
                    for fid, digest in conn.execute(
                            f"SELECT id, digest FROM feedback WHERE id IN ({marks})", chunk):
                        out[fid] = digest
            except sqlite3.Error as exc:
                raise self._error(exc, "read") from None
        return out

    def _read(self, sql: str, params: Sequence[Any], doing: str = "read") -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._connect().execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from None


class _SQLiteExecutor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(sql, params).fetchall())

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


def sqlite_error(exc: Exception, path: Path, timeout: float, doing: str) -> FeedbackStoreError:
    """One line that says what went wrong with the database file and what to do."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return FeedbackStoreError(
            f"feedback database {path} is locked by another process (waited {timeout:g}s to {doing})",
            hint="try again; raise the wait with ?timeout=SECONDS in the feedback URL")
    if "not a database" in low or "malformed" in low or "encrypted" in low:
        return FeedbackStoreError(f"cannot read feedback database {path}: the file is not a "
                                  "SQLite database or is damaged",
                                  hint="move it aside, or point feedback.url at another file")
    if "unable to open" in low:
        return FeedbackStoreError(f"cannot open feedback database {path}: unable to open the file",
                                  hint="check that the folder exists and is writable")
    if "readonly" in low or "read-only" in low:
        return FeedbackStoreError(f"cannot write feedback database {path}: it is read-only",
                                  hint="check the file's permissions")
    return FeedbackStoreError(f"feedback database {path}: {text}")


def local_dir(root: Path) -> Path:
    """The repository's own folder for what is never committed (``.gitimprove``: the
    feedback database, a report), made when missing, ignoring itself in git."""
    folder = root / ".gitimprove"
    _prepare_dir(folder)
    return folder


def _prepare_dir(folder: Path) -> None:
    """Create the database folder; a new ``.gitimprove`` folder ignores itself in git."""
    if folder.is_dir():
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if folder.name == ".gitimprove":
            (folder / ".gitignore").write_text("# feedback is personal data: never commit it\n*\n")
    except OSError as exc:
        raise FeedbackStoreError(f"cannot create {folder} for the feedback database: "
                                 f"{exc.strerror or exc}",
                                 hint="check permissions, or set feedback.url") from None


# -- opening by URL ---------------------------------------------------------------------------


def choose_url(explicit: str | None, configured: str | None) -> str:
    """The URL to use: an explicit one, else ``$GITIMPROVE_FEEDBACK_URL`` (a host's own
    setting), else ``feedback.url`` from gitimprove.yaml, else the default."""
    return explicit or os.environ.get(ENV_URL) or configured or DEFAULT_URL


def open_store(url: str | None, base: str | os.PathLike[str]) -> FeedbackStore:
    """Open (creating and migrating as needed) the store a URL names.

    Relative SQLite paths are taken from ``base`` (the repository's working directory)."""
    url = url or DEFAULT_URL
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qs(parts.query)
    timeout = DEFAULT_TIMEOUT
    if "timeout" in query:
        try:
            timeout = float(query["timeout"][-1])
        except ValueError:
            raise FeedbackStoreError(f"bad timeout in feedback URL {url!r}",
                                     hint="use ?timeout=SECONDS, e.g. ?timeout=5") from None
    if scheme in ("postgresql", "postgres"):
        from gitimprove.feedback.postgres import PostgresStore

        return PostgresStore(url, timeout=timeout)
    if scheme == "sqlite":
        if parts.netloc:
            raise FeedbackStoreError(f"bad SQLite URL {url!r}",
                                     hint="use sqlite:///relative/path.db or sqlite:////absolute/path.db")
        raw = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not raw:
            raise FeedbackStoreError(f"SQLite URL {url!r} names no file",
                                     hint="use sqlite:///.gitimprove/feedback.db")
        path = Path(raw)
    elif scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        path = Path(parts.path if scheme == "file" else url.split("?", 1)[0])
    else:
        raise FeedbackStoreError(f"unsupported feedback URL {url!r}",
                                 hint="use sqlite:///path.db or postgresql://user@host/db")
    if not path.is_absolute():
        path = Path(base) / path
    return SQLiteStore(path, timeout=timeout)
