"""What the read-only commands and the hooks import: never the SDKs, GitPython or pydantic.

Timings are for ``python -m benchmarks startup``; this checks the imports that would make
them slow, in the installed command as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("anthropic", "git", "pydantic", "pydantic_core", "ruamel", "agno", "psycopg")
STDIN = "0" * 40 + " " + "0" * 40 + " refs/heads/x\n"


def imported(repo: Path, *argv: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitimprove", *argv],
                          cwd=repo, capture_output=True, text=True, input=STDIN, env=env)
    assert "internal error" not in proc.stderr, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:")}
    return {top for name in names if (top := name.split(".")[0]) in HEAVY}


@pytest.mark.parametrize("argv", [
    ["agents"], ["show", "product-writer", "--rendered"], ["history", "product-writer"],
    ["feedback", "list"], ["feedback", "stats"], ["proposals"],
    ["validate", "--base", "main", "--head", "main"], ["audit"],
    ["hook", "reference-transaction", "prepared"],
], ids=" ".join)
def test_read_only_commands_import_nothing_heavy(sample_history: Path, argv: list[str]) -> None:
    from gitimprove import InstructionRepo
    from gitimprove.feedback.importer import import_feedback

    with InstructionRepo(sample_history) as repo:  # records, so that list and stats read some
        import_feedback(repo.feedback_store(), repo._feedback_index(), "feedback.jsonl",
                        (sample_history / "feedback.jsonl").read_bytes())
    assert imported(sample_history, *argv) == set()


def test_a_command_ends_with_all_its_output_and_its_database_closed(sample_history: Path) -> None:
    """As a process, a command leaves without the interpreter's teardown: its output is all
    there, as when main() is called with arguments (the ordinary exit), and the feedback
    database was closed (SQLite removes its -wal and -shm files on the last close)."""
    from gitimprove import InstructionRepo
    from gitimprove.feedback.importer import import_feedback

    with InstructionRepo(sample_history) as repo:
        import_feedback(repo.feedback_store(), repo._feedback_index(), "feedback.jsonl",
                        (sample_history / "feedback.jsonl").read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ordinary = subprocess.run(
        [sys.executable, "-c", "from gitimprove.cli import main; main(['feedback', 'list'])"],
        cwd=sample_history, capture_output=True, text=True, env=env)
    fast = subprocess.run([sys.executable, "-m", "gitimprove", "feedback", "list"],
                          cwd=sample_history, capture_output=True, text=True, env=env)
    assert (fast.returncode, fast.stdout, fast.stderr) == \
        (ordinary.returncode, ordinary.stdout, ordinary.stderr)
    assert fast.returncode == 0 and len(fast.stdout.splitlines()) > 100
    assert not [p for p in sample_history.rglob("*") if p.name.endswith(("-wal", "-shm"))]
    refused = subprocess.run([sys.executable, "-m", "gitimprove", "show", "no-such-agent"],
                             cwd=sample_history, capture_output=True, text=True, env=env)
    assert refused.returncode == 1 and refused.stderr.startswith("error: ")


def test_records_use_the_dataclass_that_compiles_on_first_use() -> None:
    """A record declared with the standard decorator compiles its methods at import, in every
    command that imports its module (see gitimprove/dataclass.py)."""
    standard = re.compile(r"^from dataclasses import .*\bdataclass\b|@dataclasses\.dataclass", re.M)
    package = Path(__file__).resolve().parent.parent / "gitimprove"
    found = [str(path.relative_to(package)) for path in sorted(package.rglob("*.py"))
             if path.name != "dataclass.py" and standard.search(path.read_text())]
    assert found == [], "use `from gitimprove.dataclass import dataclass, field` in these"
