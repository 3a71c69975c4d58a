"""The feedback store interface every backend implements, and the SQL they share.

Backends: :mod:`.store` (SQLite, and :func:`~gitimprove.feedback.store.open_store`) and
:mod:`.postgres`. Every write is one transaction; adding an id already stored adds nothing.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from gitimprove.feedback import migrations
from gitimprove.feedback.fields import clock
from gitimprove.feedback.models import (
    FeedbackRecord,
    calls_to_json,
    format_timestamp,
    record_from_row,
    signals_texts,
)

DEFAULT_URL = "sqlite:///.gitimprove/feedback.db"
DEFAULT_TIMEOUT = 10.0
ENV_URL = "GITIMPROVE_FEEDBACK_URL"
SQLITE_APPLICATION_ID = 0x67694D70  # "giMp": marks a SQLite file as ours

_SELECT = ", ".join(migrations.RECORD_COLUMNS)
_INSERT_COLUMNS = ", ".join(migrations.COLUMNS)
_INSERT_SQL = {mark: f"INSERT INTO feedback ({_INSERT_COLUMNS}) VALUES "
                     f"({', '.join([mark] * len(migrations.COLUMNS))}) ON CONFLICT (id) DO NOTHING"
               for mark in ("?", "%s")}


# NOTE: built once: json.dumps() with options builds an encoder per call (per record).
_METADATA_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def record_row(record: FeedbackRecord, recorded_at: str) -> tuple[Any, ...]:
    """A record as the row tuple of :data:`migrations.COLUMNS`."""
    stored, canonical = signals_texts(record.signals)  # the signals encoded once, mostly
    return (
        record.id, record.agent, record.version, record.run_id, record.rating, record.reason,
        record.correction, stored, record.user_id, record.input, record.output,
        _METADATA_JSON(record.metadata) if record.metadata is not None else None,
        record.created_text, recorded_at,
        record.__dict__.get("digest") or record.digest_of(canonical),
        None if record.tool_calls is None else calls_to_json(record.tool_calls),
    )


class FeedbackStore(ABC):
    """Storage of feedback records. Every backend passes the same test-suite."""

    url: str

    def add(self, records: Sequence[FeedbackRecord], *, recorded_at: str | None = None) -> int:
        """Store records in one transaction; ids already stored are skipped. Returns how many
        were new. ``recorded_at``: when the store received them, as :func:`clock` writes it
        (default: now)."""
        if not records:
            return 0
        # NOTE: rows are made before the write lock is taken: other writers wait less.
        now = recorded_at or _now()
        return self._write([record_row(r, now) for r in records], only_new=False) or 0

    def add_rows(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """:meth:`add` of rows :func:`record_row` made (or checked values written the same
        way, see :mod:`.bulk`)."""
        return self._write(rows, only_new=False) or 0 if rows else 0

    def add_new_rows(self, rows: Sequence[tuple[Any, ...]]) -> bool:
        """:meth:`add_rows` when every id is new: False, and nothing written, when any of them
        is already stored (what an import checks first otherwise, at one lookup per id)."""
        return not rows or self._write(rows, only_new=True) is not None

    @abstractmethod
    def _write(self, rows: Sequence[tuple[Any, ...]], *, only_new: bool) -> int | None:
        """Insert ``rows`` in one transaction, skipping ids already stored; how many were
        new. ``only_new``: roll back and return None when any id was already stored."""

    @abstractmethod
    def digests(self, ids: Iterable[str]) -> dict[str, str]:
        """``{id: digest}`` of those ids that are stored."""

    # The queries below are the same SQL on every backend; a backend supplies `_read` and its
    # parameter mark, and how to make text order byte order.
    MARK = "?"
    BYTE_ORDER = ""

    def _insert_sql(self) -> str:
        """The one INSERT both backends run: a stored id is skipped, never overwritten."""
        return _INSERT_SQL[self.MARK]

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any], doing: str = "read") -> list[tuple[Any, ...]]:
        """Run one query and return its rows; driver errors become FeedbackStoreError."""

    def records(
        self,
        *,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        versions: Sequence[str] | None = None,
        run_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        with_io: bool | int = True,
        logs_of_rated_runs_only: bool = False,
    ) -> list[FeedbackRecord]:
        """Records matching every filter given, ordered by ``created_at`` then id.

        ``with_io=False`` leaves out ``input``/``output``; a number keeps that many characters
        of each (analysis reads what a run was about from their beginning).
        ``logs_of_rated_runs_only``: a run log (a record with only tool calls) is returned only
        when a feedback record among those matched names the same run; analysis has no use for
        the others, and they are most of the records when an agent logs every run."""
        where, params = _where(agent, since, until, versions, run_id, self.MARK)
        if logs_of_rated_runs_only:
            # The subquery repeats the filters, so that "names the same run" means among the
            # records matched, exactly as if the logs were dropped after reading.
            sub_where = where + (" AND " if where else " WHERE ") + _IS_FEEDBACK
            where += (" AND " if where else " WHERE ") + (
                f"({_IS_FEEDBACK} OR run_id IN (SELECT run_id FROM feedback{sub_where} "
                "AND run_id IS NOT NULL))")
            params = params + params
        order = "DESC" if newest_first else "ASC"
        sql = (f"SELECT {_select_sql(with_io)} FROM feedback{where} "
               f"ORDER BY created_at{self.BYTE_ORDER} {order}, id{self.BYTE_ORDER} {order}")
        if limit is not None:
            sql += f" LIMIT {self.MARK}"
            params.append(int(limit))
        return _rows_to_records(self._read(sql, params))

    def count(self, agent: str | None = None) -> int:
        where, params = _where(agent, None, None, None, None, self.MARK)
        return int(self._read(f"SELECT COUNT(*) FROM feedback{where}", params)[0][0])

    def agents(self) -> list[str]:
        """Agents with stored feedback, sorted."""
        return sorted(r[0] for r in self._read("SELECT DISTINCT agent FROM feedback", ()))

    @abstractmethod
    def schema_version(self) -> int: ...

    def by_ids(self, ids: Iterable[str], *, with_io: bool = True) -> list[FeedbackRecord]:
        """The stored records among ``ids`` (in no particular order), a few queries for any
        number. ``with_io=False`` leaves out ``input``/``output``."""
        wanted = list(dict.fromkeys(ids))
        found: list[FeedbackRecord] = []
        for chunk in _chunks(wanted, 500):
            marks = ", ".join([self.MARK] * len(chunk))
            found += _rows_to_records(self._read(
                f"SELECT {_select_sql(with_io)} FROM feedback WHERE id IN ({marks})", list(chunk)))
        return found

    def get(self, feedback_id: str) -> FeedbackRecord | None:
        """One record by id, or None."""
        found = _rows_to_records(self._read(
            f"SELECT {_SELECT} FROM feedback WHERE id = {self.MARK}", (feedback_id,)))
        return found[0] if found else None

    @abstractmethod
    def close(self) -> None:
        """Release the connection (the store reopens it if used again)."""

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _now() -> str:
    return clock()[1]


def _where(
    agent: str | None, since: datetime | None, until: datetime | None,
    versions: Sequence[str] | None, run_id: str | None, mark: str,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if agent is not None:
        clauses.append(f"agent = {mark}")
        params.append(agent)
    if since is not None:
        clauses.append(f"created_at >= {mark}")
        params.append(format_timestamp(since))
    if until is not None:
        clauses.append(f"created_at < {mark}")
        params.append(format_timestamp(until))
    if versions is not None:
        if not versions:
            clauses.append("1 = 0")
        else:
            clauses.append(f"version IN ({', '.join([mark] * len(versions))})")
            params.extend(versions)
    if run_id is not None:
        clauses.append(f"run_id = {mark}")
        params.append(run_id)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


# SQL for FeedbackRecord.is_feedback: anything said about the run, not only its tool calls.
_IS_FEEDBACK = ("(rating IS NOT NULL OR COALESCE(reason, '') <> '' OR COALESCE(correction, '') <> '' "
                "OR COALESCE(signals, '') NOT IN ('', '{}'))")


def _select_sql(with_io: bool | int) -> str:
    if with_io is True:
        return _SELECT
    if with_io is False:
        return _SELECT.replace("input, output", "NULL AS input, NULL AS output")
    head = max(1, int(with_io))
    return _SELECT.replace("input, output", f"substr(input, 1, {head}) AS input, "
                                            f"substr(output, 1, {head}) AS output")


def _rows_to_records(rows: Iterable[Sequence[Any]]) -> list[FeedbackRecord]:
    names = migrations.RECORD_COLUMNS
    return [record_from_row(dict(zip(names, row, strict=True))) for row in rows]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
