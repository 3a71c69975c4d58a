"""What the read-only commands and the hooks import: never the SDKs, GitPython or pydantic.

Timings are for ``python -m benchmarks startup``; this checks the imports that would make
them slow, in the installed command as a user runs it."""

from __future__ import annotations

import os
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
