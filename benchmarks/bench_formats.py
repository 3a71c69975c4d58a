"""Benchmark: ``load()`` of adopted agents (a crewAI agent in a file holding two, a Markdown
file, a Google ADK agent in an ``agent.py`` holding two, and an ADK agent whose prompt is a
constant of the package's ``prompt.py``), warm and cold, against reading and parsing the file
the way the framework does.

- baseline: ``open(path).read()`` + ``yaml.safe_load`` (crewAI), + splitting it into its
  Markdown sections (a framework sends Markdown as it is, so "read only" is shown beside it),
  or + ``ast.parse`` (ADK, whose framework imports the module: parsing is the least it does;
  for a prompt in ``prompt.py``, both modules);
- warm ``load()``: the median of many calls on one ``InstructionRepo``;
- cold ``load()``: a new ``InstructionRepo`` and its first ``load()``, with the on-disk version
  cache present, and "first ever" with it deleted.

The repository holds the files in place with 50 commits of history (each editing one of the
files). Goals, as for the native format: warm load <= the baseline.
Run: ``python -m benchmarks formats``.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
from pathlib import Path

import yaml

from .bench_load import cold_load
from .common import ROOT, Row, git, hermetic_git_env, median_time

FIXTURES = ROOT / "tests" / "formats" / "fixtures"
CREW = "src/crew/config/agents.yaml"
MARKDOWN = "CLAUDE.md"
ADK = "dice/agent.py"
PROMPT = "trip/sub_agents/booking/prompt.py"
CASES = [("crewAI", "researcher", CREW), ("Markdown", "claude", MARKDOWN), ("ADK agent.py", "dice_agent", ADK),
         ("ADK prompt.py", "booking_agent", PROMPT)]
GOAL_WARM_VS_BASELINE = 1.0


def _repo(parent: Path) -> Path:
    from gitimprove.instructions.init import init

    repo = parent / "adopted"
    (repo / "src/crew/config").mkdir(parents=True)
    git(parent, "init", "-q", "-b", "main", str(repo))
    shutil.copy(FIXTURES / "crew_agents.yaml", repo / CREW)
    shutil.copy(FIXTURES / "CLAUDE.md", repo / MARKDOWN)
    (repo / "dice").mkdir()
    shutil.copy(FIXTURES / "adk_agent.py", repo / ADK)
    shutil.copytree(FIXTURES / "adk_package" / "trip", repo / "trip")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the team's agents")
    for i in range(50):
        path = repo / (CREW if i % 2 else MARKDOWN)
        text = path.read_text()
        if i % 2:
            text = text.replace("    - Prefer primary sources.\n",
                                f"    - Prefer primary sources.\n    - Edit {i}.\n", 1)
        else:
            text += f"\n* Edit {i}."
        path.write_text(text)
        git(repo, "commit", "-q", "-am", f"edit {i}")
    result = init(repo)
    assert result.adopted, "the files were not adopted"
    return repo


def run() -> list[Row]:
    from gitimprove.instructions.formats.prose import parse
    from gitimprove.instructions.repo import InstructionRepo

    hermetic_git_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitimprove-bench-formats-"))
    rows: list[Row] = []
    try:
        repo = _repo(tmp)
        for label, agent, path in CASES:
            file = repo / path

            def baseline(file: Path = file, label: str = label, path: str = path) -> object:
                with open(file, encoding="utf-8") as fh:
                    text = fh.read()
                if label == "crewAI":
                    return yaml.safe_load(text)
                if path == PROMPT:
                    with open(file.with_name("agent.py"), encoding="utf-8") as fh:
                        return ast.parse(fh.read()), ast.parse(text)
                if path.endswith(".py"):
                    return ast.parse(text)
                return parse(text.split("\n"), "intro")

            def read_only(file: Path = file) -> object:
                with open(file, encoding="utf-8") as fh:
                    return fh.read()

            ir = InstructionRepo(repo)
            try:
                versions = len(ir.history(agent))
                base = median_time(baseline, repeat=30, number=20)
                bare = median_time(read_only, repeat=30, number=20)
                warm = median_time(lambda ir=ir, agent=agent: ir.load(agent), repeat=30, number=500)
            finally:
                ir.close()
            [cold] = cold_load([repo], keep_cache=True, repeat=20, agent=agent)
            [first] = cold_load([repo], keep_cache=False, repeat=5, agent=agent)
            rows += [
                Row("formats", f"{label}: baseline read+parse", base, "s",
                    note=f"{agent} in {path}, {versions} versions"),
                Row("formats", f"{label}: read only", bare, "s"),
                Row("formats", f"{label}: warm load()", warm, "s"),
                Row("formats", f"{label}: cold load(), cache on disk", cold, "s"),
                Row("formats", f"{label}: cold load(), first ever", first, "s"),
                Row("formats", f"{label}: warm load / baseline", warm / base, "x", GOAL_WARM_VS_BASELINE),
            ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    from .common import print_table

    print_table(run())
