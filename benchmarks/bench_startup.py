"""Benchmark: how long a command takes to start, against ``python -c pass`` in the same run.

Each command runs as a fresh process (the installed console script's interpreter, ``python -m
gitimprove``) on a repository made from the sample with its feedback imported, ``REPEAT``
times, in rounds that run every command (and ``python -c pass``) once, with the bytecode cache
as a user has it. The figure judged is the median CPU time (user + system, of the process and
the git commands it runs), printed beside that of ``python -c pass`` measured the same way in
the same rounds, with the median wall time in the note: CPU
time is what a command costs whatever else the machine is doing, wall time is what a user
waits on an idle machine. The goal is 0.12 s for read-only commands and the hooks (on the
2-core reference machine).

It also runs each read-only command under ``python -X importtime`` and reports which of the
heavy libraries it imported: the Anthropic SDK and GitPython must never be among them, and
``ruamel.yaml`` (only needed to edit a file) should not be.
Run: ``python -m benchmarks startup``.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import SAMPLE, Row

GOAL_S = 0.12
REPEAT = 21
FORBIDDEN = ("anthropic", "git", "ruamel.yaml", "agno", "psycopg", "pydantic")

READ_ONLY: list[tuple[str, list[str]]] = [
    ("agents", ["agents"]),
    ("show", ["show", "product-writer", "--rendered"]),
    ("history", ["history", "product-writer"]),
    ("feedback list", ["feedback", "list"]),
    ("feedback stats", ["feedback", "stats"]),
    ("proposals", ["proposals"]),
    ("validate (main)", ["validate", "--base", "main", "--head", "main"]),
    ("audit", ["audit"]),
    ("hook reference-transaction", ["hook", "reference-transaction", "prepared"]),
]


# NOTE: as a user runs it: with the bytecode cache (a PYTHONDONTWRITEBYTECODE environment would
# recompile every gitimprove module on every start and measure the compiler instead).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _once(argv: list[str], cwd: Path, stdin: str) -> tuple[float, float]:
    """The CPU time (user + system, children included) and the wall time of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, check=False,
                   env=ENV)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, took


def _time(commands: list[tuple[list[str], str]], cwd: Path) -> list[tuple[float, float]]:
    """The median CPU time and the median wall time of each command over ``REPEAT`` rounds,
    after one round that warms the caches. A round runs every command once, so a slow spell
    of the machine (other work, another virtual machine) weighs on all of them alike rather
    than on the one that happened to be running."""
    cpu: list[list[float]] = [[] for _ in commands]
    wall: list[list[float]] = [[] for _ in commands]
    for i in range(REPEAT + 1):
        for k, (argv, stdin) in enumerate(commands):
            took, waited = _once(argv, cwd, stdin)
            if i:
                cpu[k].append(took)
                wall[k].append(waited)
    return [(statistics.median(c), statistics.median(w)) for c, w in zip(cpu, wall, strict=True)]


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
        env_cmd = [sys.executable, "-m", "gitimprove"]
        hook_input = "0" * 40 + " " + "0" * 40 + " refs/heads/x\n"
        commands = [([sys.executable, "-c", "pass"], "")] + [
            ([*env_cmd, *argv], hook_input if argv[0] == "hook" else "") for _, argv in READ_ONLY]
        (base, base_wall), *timed = _time(commands, repo)
        rows.append(Row("startup", "python -c pass (baseline, CPU)", base, "s",
                        note=f"wall {base_wall * 1e3:.0f} ms"))
        for (name, argv), (took, wall) in zip(READ_ONLY, timed, strict=True):
            heavy = _imports(argv, repo)
            note = (f"CPU, +{(took - base) * 1e3:.0f} ms over python; wall {wall * 1e3:.0f} ms; "
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
