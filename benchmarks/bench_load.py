"""Benchmark: ``InstructionRepo.load()``, the call every agent run makes.

Measured in one run, on the sample repository and on a generated big one (10,000 commits,
200 agents, a few agents edited about a thousand times, approvals as --no-ff merges):

- baseline: ``open(path).read()`` + ``yaml.safe_load`` of the same agent file from disk;
- warm ``load()``: the median of many calls on one ``InstructionRepo``;
- cold ``load()``: a new ``InstructionRepo`` and its first ``load()``, with the on-disk version
  cache present (a new process of an agent that ran before), and "first ever" with the cache
  deleted (the very first run after a clone).

Goals: warm load <= the baseline; big/small <= 1.5 for warm and cold. The big repository is
built with ``git fast-import`` and kept under ``$GITIMPROVE_BENCH_DIR`` (default:
``<tmp>/gitimprove-bench``), keyed by its parameters and the sample files.
Run: ``python -m benchmarks load``.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from .common import SAMPLE, Row, cache_root, git, hermetic_git_env, median_time

AGENT = "product-writer"
PATH = f"agents/{AGENT}.yaml"
BIG = {"commits": 10_000, "agents": 200, "hot": 5, "seed": 7}
GOAL_WARM_VS_BASELINE = 1.0
GOAL_BIG_VS_SMALL = 1.5
_GENERATOR_VERSION = 1


def _edited(text: str, revision: int) -> str:
    """A new version of an agent file: one rule that names the revision (same size each time)."""
    return text.replace("    rules:\n", f"    rules:\n      - Revision {revision:05d} of this rule.\n", 1)


def _renamed(text: str, old: str, new: str) -> str:
    return text.replace(f"name: {old}", f"name: {new}", 1)


def _fast_import_stream(commits: int, agents: int, hot: int, seed: int) -> bytes:
    """main's history: the sample files and generated agents, then edits, other work and merges.

    Every 20th step is an approval: a side commit edits a hot agent and main merges it with
    --no-ff (two commits). Otherwise a hot agent (45%), another agent (25%) or a file that is
    no agent (30%) changes."""
    rng = random.Random(seed)
    sample = {p.stem: p.read_text() for p in sorted((SAMPLE / "agents").glob("*.yaml"))}
    bases = list(sample.items())
    files: dict[str, str] = {f"agents/{name}.yaml": text for name, text in sample.items()}
    for i in range(agents - len(sample)):
        base_name, base_text = bases[i % len(bases)]
        files[f"agents/agent-{i:03d}.yaml"] = _renamed(base_text, base_name, f"agent-{i:03d}")
    names = sorted(files)
    hot_paths = [PATH, *[p for p in names if p != PATH][: hot - 1]]
    cold_paths = [p for p in names if p not in hot_paths]
    out: list[bytes] = []
    when = 1_700_000_000
    mark = 0
    revision = 0

    def data(payload: str) -> None:
        raw = payload.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    def commit(ref: str, message: str, parents: list[int], changes: dict[str, str]) -> int:
        nonlocal when, mark
        when += 60
        mark += 1
        out.append(f"commit {ref}\nmark :{mark}\nauthor Bench <bench@example.com> {when} +0000\n"
                   f"committer Bench <bench@example.com> {when} +0000\n".encode())
        data(message + "\n")
        if parents:
            out.append(f"from :{parents[0]}\n".encode())
        for parent in parents[1:]:
            out.append(f"merge :{parent}\n".encode())
        for path, text in changes.items():
            out.append(f"M 100644 inline {path}\n".encode())
            data(text)
        return mark

    def edit(path: str) -> dict[str, str]:
        nonlocal revision
        revision += 1
        return {path: _edited(files[path], revision)}

    policy = (SAMPLE / "gitimprove.yaml").read_text()
    tip = commit("refs/heads/main", "Initial instructions", [],
                 {"gitimprove.yaml": policy, "README.md": "# Instructions\n", **files})
    made = 1
    step = 0
    while made < commits:
        step += 1
        if step % 20 == 0 and made + 2 <= commits:
            path = rng.choice(hot_paths)
            side = commit("refs/heads/bench-side", f"{path}: proposal {step}", [tip], edit(path))
            tip = commit("refs/heads/main", f"Approve proposal {step}", [tip, side], {})
            made += 2
            continue
        roll = rng.random()
        if roll < 0.45:
            path = rng.choice(hot_paths)
            tip = commit("refs/heads/main", f"Edit {path}", [tip], edit(path))
        elif roll < 0.70:
            path = rng.choice(cold_paths)
            tip = commit("refs/heads/main", f"Edit {path}", [tip], edit(path))
        else:
            tip = commit("refs/heads/main", f"Notes {step}", [tip],
                         {f"notes/{step % 50:02d}.md": f"Meeting notes, step {step}.\n"})
        made += 1
    return b"".join(out)


def big_repo(commits: int, agents: int, hot: int, seed: int) -> Path:
    """The generated repository, built once and kept (keyed by parameters and sample files)."""
    digest = hashlib.sha256()
    for p in sorted(SAMPLE.rglob("*.yaml")):
        digest.update(p.read_bytes())
    key = f"load-{commits}c-{agents}a-{hot}h-{seed}s-v{_GENERATOR_VERSION}-{digest.hexdigest()[:8]}"
    path = cache_root() / key
    if (path / ".git" / "bench-complete").exists():
        return path
    building = Path(tempfile.mkdtemp(prefix=f"{key}.building-", dir=cache_root()))
    git(building, "init", "-q", "-b", "main")
    git(building, "fast-import", "--quiet", input=_fast_import_stream(commits, agents, hot, seed))
    git(building, "update-ref", "-d", "refs/heads/bench-side")
    git(building, "checkout", "-q", "main", "--", ".")
    git(building, "gc", "-q")  # as a repository that has lived a while: packed refs, commit-graph
    (building / ".git" / "bench-complete").write_text("ok\n")
    shutil.rmtree(path, ignore_errors=True)
    os.replace(building, path)
    return path


def small_repo(parent: Path) -> Path:
    from gitimprove.instructions.init import init

    return init(parent / "small", template=SAMPLE).path


def _version_cache(repo: Path) -> Path:
    return repo / ".git" / "gitimprove-state" / "versions"


def cold_load(repos: list[Path], *, keep_cache: bool, repeat: int, agent: str = AGENT) -> list[float]:
    """Median time of a new InstructionRepo's first load in each repository (closing it is not
    timed). Samples alternate between the repositories, so that both see the same noise."""
    from gitimprove.instructions.repo import InstructionRepo

    samples: list[list[float]] = [[] for _ in repos]
    for i in range(repeat + 1):
        for repo, found in zip(repos, samples, strict=True):
            if not keep_cache:
                shutil.rmtree(_version_cache(repo), ignore_errors=True)
            start = time.perf_counter()
            ir = InstructionRepo(repo)
            ir.load(agent)
            elapsed = time.perf_counter() - start
            ir.close()
            if i:  # the first round warms up (the git version check runs once per process)
                found.append(elapsed)
    return [statistics.median(found) if found else 0.0 for found in samples]


def _warm(repos: list[Path]) -> list[tuple[float, float, int]]:
    """Per repository: the baseline (read + yaml.safe_load of the file), warm load(), and the
    number of versions. Samples alternate between the repositories, as in :func:`cold_load`."""
    from gitimprove.instructions.repo import InstructionRepo

    def baseline(file: Path) -> object:
        with open(file, encoding="utf-8") as fh:
            return yaml.safe_load(fh.read())

    opened = [InstructionRepo(repo) for repo in repos]
    try:
        base: list[list[float]] = [[] for _ in repos]
        warm: list[list[float]] = [[] for _ in repos]
        for _ in range(30):
            for repo, ir, b, w in zip(repos, opened, base, warm, strict=True):
                b.append(median_time(lambda repo=repo: baseline(repo / PATH), repeat=1, number=20))
                w.append(median_time(lambda ir=ir: ir.load(AGENT), repeat=1, number=500))
        return [(statistics.median(b), statistics.median(w), len(ir.history(AGENT)))
                for ir, b, w in zip(opened, base, warm, strict=True)]
    finally:
        for ir in opened:
            ir.close()


def run() -> list[Row]:
    hermetic_git_env()
    started = time.perf_counter()
    big = big_repo(**BIG)
    built = time.perf_counter() - started
    tmp = Path(tempfile.mkdtemp(prefix="gitimprove-bench-load-"))
    try:
        small = small_repo(tmp)
        s: dict[str, float] = {}
        b: dict[str, float] = {}
        (s["baseline"], s["warm"], _), (b["baseline"], b["warm"], versions) = _warm([small, big])
        s["cold"], b["cold"] = cold_load([small, big], keep_cache=True, repeat=30)
        s["first"], b["first"] = cold_load([small, big], keep_cache=False, repeat=5)
        cold_load([big], keep_cache=True, repeat=0)  # leave the big repository's cache in place
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    big_note = (f"{BIG['commits']} commits, {BIG['agents']} agents, {versions} versions "
                f"of {AGENT}; repo ready in {built:.1f} s")
    rows = [
        Row("load", "small: baseline read+yaml.safe_load", s["baseline"], "s"),
        Row("load", "small: warm load()", s["warm"], "s"),
        Row("load", "small: cold load(), cache on disk", s["cold"], "s"),
        Row("load", "small: cold load(), first ever", s["first"], "s"),
        Row("load", "big: baseline read+yaml.safe_load", b["baseline"], "s", note=big_note),
        Row("load", "big: warm load()", b["warm"], "s"),
        Row("load", "big: cold load(), cache on disk", b["cold"], "s"),
        Row("load", "big: cold load(), first ever", b["first"], "s"),
        Row("load", "small: warm load / baseline", s["warm"] / s["baseline"], "x", GOAL_WARM_VS_BASELINE),
        Row("load", "big: warm load / baseline", b["warm"] / b["baseline"], "x", GOAL_WARM_VS_BASELINE),
        Row("load", "big/small: warm load()", b["warm"] / s["warm"], "x", GOAL_BIG_VS_SMALL),
        Row("load", "big/small: cold load(), cache on disk", b["cold"] / s["cold"], "x", GOAL_BIG_VS_SMALL),
        Row("load", "big/small: cold load(), first ever", b["first"] / s["first"], "x",
            note="walks 10,000 commits once; then kept on disk"),
    ]
    return rows


if __name__ == "__main__":
    from .common import print_table

    print_table(run())
