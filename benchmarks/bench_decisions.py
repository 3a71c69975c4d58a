"""Benchmark: decisions (tool calls) on the hot path and in analysis, each beside a baseline.

- ``record_feedback`` with five tool calls vs the same record without them (goal: at most
  1.5x), median of many calls on one repository;
- ``analyze`` on 100,000 runs of the sample ``trip-planner`` agent, every run with its tool
  calls logged (about 60% of them rated, the rest run logs), vs ``analyze`` on the same feedback
  without any decisions. Goal: the analysis goal, under 10 s.

Run: ``python -m benchmarks.bench_decisions`` (or ``python -m benchmarks decisions``).
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .bench_feedback import SAMPLE, _env, sample_repo
from .common import Row

AGENT = "trip-planner"
RUNS = 100_000
GOAL_RATIO = 1.5
GOAL_ANALYZE_S = 10.0
CALLS = [{"name": "read_documents", "status": "ok", "duration_ms": 120},
         {"name": "web_search", "status": "ok", "duration_ms": 830},
         {"name": "web_search", "status": "ok", "duration_ms": 640},
         {"name": "currency_convert", "status": "error", "duration_ms": 5000},
         {"name": "web_search", "status": "ok", "duration_ms": 700}]
_REASONS = ["It searched the web instead of using the hotel booking I gave it",
            "kept searching instead of reading my bookings", "made up an exchange rate",
            "wrong time zone for the meeting", "too long", "missed the train connection",
            "not what I asked", "the currency conversion was wrong"]
_PRAISE = ["Perfect, exactly my itinerary", "quick and correct", "great plan, thanks", None]


def bench_record(tmp: Path, count: int = 400) -> dict[str, Any]:
    repo = sample_repo(tmp)
    version = repo.load(AGENT).version
    fields = {"agent": AGENT, "run_id": "run-1", "version": version, "rating": "negative",
              "reason": "It searched instead of reading my booking"}
    repo.record_feedback(**fields)
    repo.record_feedback(**fields, tool_calls=CALLS)  # warm both paths
    without, with_calls = [], []
    for _ in range(count):  # interleaved, so that both see the same machine
        start = time.perf_counter()
        repo.record_feedback(**fields)
        without.append(time.perf_counter() - start)
        start = time.perf_counter()
        repo.record_feedback(**fields, tool_calls=CALLS)
        with_calls.append(time.perf_counter() - start)
    repo.close()
    base, ours = statistics.median(without), statistics.median(with_calls)
    return {"without_s": base, "with_s": ours, "ratio": ours / base}


def _records(n: int, *, decisions: bool, seed: int = 18) -> list[Any]:
    from gitimprove.feedback.models import make_record

    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = t0 + timedelta(seconds=i * 41)
        searched = rng.random() < 0.45
        calls: list[dict[str, Any]] = [CALLS[0]]
        if searched:
            calls += [CALLS[1]] * (3 if rng.random() < 0.3 else 1)
        if rng.random() < 0.2:
            calls.append(CALLS[3] if rng.random() < 0.45 else {**CALLS[3], "status": "ok"})
        rated = rng.random() < 0.6
        base: dict[str, Any] = {"agent": AGENT, "run_id": f"run-{i:07d}", "created_at": at}
        if rated:
            negative = rng.random() < (0.6 if searched else 0.2)
            reason = rng.choice(_REASONS) if negative else rng.choice(_PRAISE)
            out.append(make_record({**base, "id": f"fb-{i:07d}",
                                    "rating": "negative" if negative else "positive",
                                    "reason": reason,
                                    "tool_calls": calls if decisions else None}))
        elif decisions:
            out.append(make_record({**base, "id": f"log-{i:07d}", "tool_calls": calls}))
    return out


def bench_analyze(tmp: Path, runs: int = RUNS) -> dict[str, Any]:
    from gitimprove.feedback.store import SQLiteStore
    from gitimprove.instructions.init import init
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.patterns.grouping import embedder

    embedder()  # loaded once per process: neither side below pays it
    out: dict[str, Any] = {}
    for label, decisions in (("with", True), ("without", False)):
        target = tmp / f"analyze-{label}"
        init(target, template=SAMPLE)
        store = SQLiteStore(target / ".gitimprove" / "feedback.db")
        records = _records(runs, decisions=decisions)
        store.add(records)
        store.close()
        repo = InstructionRepo(target)
        repo.load(AGENT)
        start, cpu = time.perf_counter(), time.process_time()
        patterns = repo.analyze(AGENT)
        out[f"{label}_s"] = time.perf_counter() - start
        out[f"{label}_cpu_s"] = time.process_time() - cpu
        out[f"{label}_records"] = len(records)
        out[f"{label}_tool_patterns"] = sum(1 for p in patterns if p.kind == "tool_use")
        repo.close()
    return out


def run(runs: int = RUNS) -> list[Row]:
    """Print the figures and return them as rows for ``python -m benchmarks``."""
    _env()
    tmp = Path(tempfile.mkdtemp(prefix="gitimprove-bench-decisions-"))
    rows: list[Row] = []
    try:
        rec = bench_record(tmp)
        ok = "ok" if rec["ratio"] <= GOAL_RATIO else "OVER GOAL"
        print(f"record_feedback with 5 tool calls            {rec['with_s'] * 1e6:8.0f} us   "
              f"without {rec['without_s'] * 1e6:6.0f} us   ratio {rec['ratio']:.2f}x "
              f"(goal <= {GOAL_RATIO}x) {ok}")
        rows += [Row("decisions", "record_feedback with 5 tool calls", rec["with_s"], "s",
                     note=f"without {rec['without_s'] * 1e6:.0f} us"),
                 Row("decisions", "with 5 tool calls / without", rec["ratio"], "x", GOAL_RATIO)]
        ana = bench_analyze(tmp, runs)
        ok = "ok" if ana["with_s"] < GOAL_ANALYZE_S else "OVER GOAL"
        print(f"analyze, {runs:,} runs with decisions        {ana['with_s']:8.2f} s   "
              f"(CPU {ana['with_cpu_s']:.2f} s)   "
              f"({ana['with_records']:,} records, {ana['with_tool_patterns']} tool patterns)   "
              f"same feedback without decisions {ana['without_s']:.2f} s "
              f"({ana['without_records']:,} records)   goal < {GOAL_ANALYZE_S:g} s: {ok}")
        rows += [Row("decisions", f"analyze {runs:,} runs with decisions", ana["with_s"], "s",
                     GOAL_ANALYZE_S, note=f"CPU {ana['with_cpu_s']:.2f} s; {ana['with_records']:,} records; "
                                          f"without decisions "
                                          f"{ana['without_s']:.2f} s"),
                 Row("decisions", "analyze with / without decisions",
                     ana["with_s"] / ana["without_s"], "x")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    run()
