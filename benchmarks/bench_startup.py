"""Benchmark: how long a command takes to start, against ``python -c pass`` in the same run.

Each command runs as a fresh process (the installed console script's interpreter, ``python -m
gitimprove``) on a repository made from the sample with its feedback imported, ``REPEAT``
times, with the bytecode cache as a user has it; the fastest wall time (and the median) is
printed beside that of ``python -c pass``. The goal is
0.12 s for read-only commands and the hooks (on the 2-core reference machine; on a busy machine
compare the "over python" column, which is what gitimprove adds).

It also runs each read-only command under ``python -X importtime`` and reports which of the
heavy libraries it imported: the Anthropic SDK and GitPython must never be among them, and
``ruamel.yaml`` (only needed to edit a file) should not be.
Run: ``python -m benchmarks startup``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import SAMPLE, Row

GOAL_S = 0.12
REPEAT = 15
FORBIDDEN = ("anthropic", "git", "ruamel.yaml", "agno", "psycopg")

READ_ONLY: list[tuple[str, list[str]]] = [
    ("agents", ["agents"]),
    ("show", ["show", "product-writer", "--rendered"]),
    ("history", ["history", "product-writer"]),
    ("feedback stats", ["feedback", "stats"]),
    ("proposals", ["proposals"]),
    ("validate (main)", ["validate", "--base", "main", "--head", "main"]),
    ("audit", ["audit"]),
    ("hook reference-transaction", ["hook", "reference-transaction", "prepared"]),
]


# NOTE: as a user runs it: with the bytecode cache (a PYTHONDONTWRITEBYTECODE environment would
# recompile every gitimprove module on every start and measure the compiler instead).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(argv: list[str], cwd: Path, stdin: str = "") -> tuple[float, float]:
    """The fastest and the median wall time of ``REPEAT`` runs (the fastest is the one least
    disturbed by other work on a shared machine)."""
    samples = []
    for _ in range(REPEAT + 1):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, check=False,
                       env=ENV)
        samples.append(time.perf_counter() - start)
    return min(samples[1:]), statistics.median(samples[1:])


def _imports(argv: list[str], cwd: Path) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitimprove", *argv],
                          cwd=cwd, capture_output=True, text=True, input="", env=ENV)
    found = set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        name = line.rsplit("|", 1)[-1].strip()
        for heavy in FORBIDDEN:
            if name == heavy or name.startswith(heavy + "."):
                found.add(heavy)
    return found


def _repo(folder: Path) -> Path:
    from gitimprove import InstructionRepo
    from gitimprove.feedback.importer import import_feedback
    from gitimprove.instructions.init import init

    target = folder / "repo"
    init(target, template=SAMPLE)
    repo = InstructionRepo(target)
    data = (target / "feedback.jsonl").read_bytes()
    import_feedback(repo.feedback_store(), repo._feedback_index(), "feedback.jsonl", data)
    repo.close()
    return target


def run() -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="gitimprove-bench-startup-"))
    rows: list[Row] = []
    try:
        repo = _repo(folder)
        import gitimprove

        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(gitimprove.__file__).parent)],
                       env=ENV, capture_output=True, check=False)
        base, base_median = _time([sys.executable, "-c", "pass"], repo)
        rows.append(Row("startup", "python -c pass (baseline)", base, "s",
                        note=f"median {base_median * 1e3:.0f} ms"))
        env_cmd = [sys.executable, "-m", "gitimprove"]
        for name, argv in READ_ONLY:
            stdin = "0" * 40 + " " + "0" * 40 + " refs/heads/x\n" if argv[0] == "hook" else ""
            took, median = _time([*env_cmd, *argv], repo, stdin)
            heavy = _imports(argv, repo)
            note = (f"+{(took - base) * 1e3:.0f} ms over python, median {median * 1e3:.0f} ms; "
                    "imports " + (", ".join(sorted(heavy)) if heavy else
                                  "none of " + "/".join(FORBIDDEN)))
            rows.append(Row("startup", name, took, "s", GOAL_S, note))
            if heavy & {"anthropic", "git"}:
                rows.append(Row("startup", f"{name}: imports {', '.join(sorted(heavy))}", 1.0,
                                "x", 0.0, "the Anthropic SDK and GitPython must not load"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    for row in run():
        print(f"{row.case:<30} {row.shown():>10}  {row.note}")
