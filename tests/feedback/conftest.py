"""Fixtures of the feedback tests: stores of every backend, a PostgreSQL server the suite starts
itself, and the sample repository with its feedback imported."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitimprove.feedback.store import FeedbackStore, SQLiteStore
from gitimprove.instructions.repo import InstructionRepo

from . import pgserver

FIXTURES = Path(__file__).parent / "fixtures"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer | str]:
    """The running server, or the reason there is none (tests skip with it)."""
    try:
        server = pgserver.start()
    except pgserver.Unavailable as exc:
        yield str(exc)
        return
    try:
        yield server
    finally:
        server.stop()


def _pg_database(server: pgserver.PgServer) -> str:
    import psycopg

    name = f"fb_{next(_counter)}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return server.url_for(name)


StoreMaker = Callable[..., FeedbackStore]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path,
            pg_server: pgserver.PgServer | str) -> tuple[str, str]:
    """(kind, url) of a fresh, empty database of each backend."""
    if request.param == "postgres":
        if isinstance(pg_server, str):
            pytest.skip(f"PostgreSQL unavailable: {pg_server}")
        return "postgres", _pg_database(pg_server)
    return "sqlite", str(tmp_path / "fb" / "feedback.db")


@pytest.fixture
def make_store(backend: tuple[str, str]) -> Iterator[StoreMaker]:
    """Open a store on the test's database (as often as needed: each call is a new handle)."""
    kind, url = backend
    opened: list[FeedbackStore] = []

    def make(**kwargs: Any) -> FeedbackStore:
        store: FeedbackStore
        if kind == "postgres":
            from gitimprove.feedback.postgres import PostgresStore

            store = PostgresStore(url, **kwargs)
        else:
            store = SQLiteStore(url, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreMaker) -> FeedbackStore:
    return make_store()


@pytest.fixture
def repo(sample_repo: Path) -> Iterator[InstructionRepo]:
    r = InstructionRepo(sample_repo)
    yield r
    for s in r.__dict__.get("_feedback_stores", {}).values():
        s.close()
    r.close()


@pytest.fixture
def repo_with_feedback(repo: InstructionRepo, sample_repo: Path) -> InstructionRepo:
    """The sample repository with sample_repo/feedback.jsonl imported."""
    from gitimprove.feedback.importer import import_feedback

    data = (sample_repo / "feedback.jsonl").read_bytes()
    report = import_feedback(repo.feedback_store(), repo._feedback_index(), "feedback.jsonl", data)
    assert report.added == report.records > 300
    return repo
