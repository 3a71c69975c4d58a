"""The run map on its own: last binding wins, old bindings are pruned, other processes see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitimprove.integrations.runs import RunMap

T0 = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)


def test_a_binding_is_read_back_by_another_instance_and_the_last_one_wins(tmp_path: Path) -> None:
    path = tmp_path / ".gitimprove" / "runs.db"
    with RunMap(path, now=lambda: T0) as runs:
        runs.bind("product-writer", "run-1", "a" * 40)
        runs.bind("product-writer", "run-1", "b" * 40)  # a retried run
        runs.bind("support-agent", "run-1", "c" * 40)
    with RunMap(path, now=lambda: T0) as fresh:
        assert fresh.version("product-writer", "run-1") == "b" * 40
        assert fresh.version("support-agent", "run-1") == "c" * 40
        assert fresh.version("product-writer", "run-2") is None
    assert (path.parent / ".gitignore").read_text().splitlines()[-1] == "*"


def test_bindings_older_than_the_retention_are_pruned_on_open(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunMap(path, now=lambda: T0) as runs:
        runs.bind("product-writer", "old", "a" * 40)
    later = T0 + timedelta(days=30)
    with RunMap(path, now=lambda: later, retention_days=90) as runs:
        runs.bind("product-writer", "new", "c" * 40)
    with RunMap(path, now=lambda: T0 + timedelta(days=100), retention_days=90) as runs:
        runs.version("product-writer", "new")  # opens the file, which prunes
        assert runs.version("product-writer", "old") is None
        assert runs.version("product-writer", "new") == "c" * 40


def test_looking_up_before_any_run_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".gitimprove" / "runs.db"
    with RunMap(path) as runs:
        assert runs.version("product-writer", "run-1") is None
    assert not path.parent.exists()
