"""Benchmark: `propose` wall time (heuristic, explicit patterns: no model, no analysis) on the
sample repo and on a big repo (10,000 commits on main, 1,000 open proposal branches; goal:
within 1.5x of the sample repo; the two are timed in turn, 11 times each, so that what else
the machine does weighs on both alike), and the prompt size for 1,000 and 100,000 feedback records on
one agent (goal: ratio under 1.5, because patterns are bounded by the policy's max_patterns and
max_quotes). The big repo is generated with ``git fast-import`` and cached under /tmp by its
parameters (shared with bench_review). Run: ``python -m benchmarks.bench_propose``.
"""

from __future__ import annotations

import itertools
import random
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .bench_review import AGENT, big_repo, sample_repo

GOAL = 1.5
START = datetime(2030, 1, 1, tzinfo=UTC)
_TICKS = itertools.count()
THEMES = [
    "too long", "too much jargon", "made up a fact", "wrong tone", "ignored the audience",
    "repeated the product name", "no care instructions", "American spelling", "too salesy",
    "missing dimensions", "weak ending", "no headline", "too formal", "too casual",
    "listed competitors", "vague about materials", "walls of text", "bad formatting",
]


def _pattern(n: int, label: str) -> Any:
    from gitimprove.patterns.model import Pattern, pattern_id

    return Pattern(id=pattern_id("recurring_failure", label), kind="recurring_failure", label=label,
                   key=label, count=3, share=0.1, score=3.0, feedback_ids=[f"fb-{n}-{i}" for i in range(3)],
                   quotes=["Brevity please."], section="style",
                   # Words unique to each run, so no run's rule resembles an earlier one.
                   suggestion=" ".join(f"w{n}x{k}" for k in range(6)).capitalize() + ".")


class _OneRule:
    """A stand-in proposer that adds the pattern's suggestion as a rule: what is timed is
    propose's reading of git and writing of the branch, not a proposer's judgement."""

    name = "heuristic"
    model = "heuristic"

    def propose(self, request: Any, check: Any) -> Any:
        from gitimprove.proposals.operations import AddRule, Draft
        from gitimprove.proposals.proposers.base import ProposerResult

        p = request.patterns[0]
        draft = Draft(summary="Add a rule", rationale="Benchmark.", operations=[AddRule(
            section="style", text=p.suggestion, reason="benchmark", evidence=[p.id])])
        return ProposerResult(draft=draft, proposer=self.name, model=self.model)


def _time_propose(repo_paths: tuple[Path, Path], repeat: int) -> tuple[float, float]:
    """The median time of a proposal on each repository, their samples taken in turn so that
    what else the machine does weighs on both alike."""
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.proposals.build import propose

    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        for path, times in zip(repo_paths, samples, strict=True):
            pattern = _pattern(i, f"bench theme {i}")
            when = START + timedelta(seconds=next(_TICKS))  # proposal ids hash the time
            t0 = time.perf_counter()
            with InstructionRepo(path) as repo:  # a new repo object: no warm cache
                propose(repo, AGENT, _OneRule(), patterns=[pattern], now=lambda w=when: w)
            times.append(time.perf_counter() - t0)
    return statistics.median(samples[0]), statistics.median(samples[1])


def _time_evidence_states(repo_paths: tuple[Path, Path], repeat: int) -> tuple[float, float]:
    """What propose adds when it asks analysis for patterns: which evidence is already cited
    (samples in turn, as above)."""
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.proposals.build import evidence_states

    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for path, times in zip(repo_paths, samples, strict=True):
            t0 = time.perf_counter()
            with InstructionRepo(path) as repo:
                evidence_states(repo)
            times.append(time.perf_counter() - t0)
    return statistics.median(samples[0]), statistics.median(samples[1])


def _patterns_from_records(records: int) -> list[Any]:
    """Group synthetic feedback records into patterns the way analysis reports them: one per
    theme, every feedback id kept, a few verbatim quotes."""
    from gitimprove.patterns.model import Pattern, pattern_id

    rng = random.Random(records)
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for n in range(records):
        theme = THEMES[min(int(rng.paretovariate(1.2)) - 1, len(THEMES) - 1)]
        groups[theme].append((f"fb-{n:06d}", f"{theme}: user {n % 977} says it again, run {n}"))
    out = []
    for theme, items in groups.items():
        out.append(Pattern(id=pattern_id("recurring_failure", theme), kind="recurring_failure",
                           label=theme, key=theme, count=len(items), share=len(items) / records,
                           score=float(len(items)), feedback_ids=[i for i, _ in items],
                           quotes=[q for _, q in items[:5]], section="style"))
    return sorted(out, key=lambda p: -p.count)


def prompt_chars(records: int, repo_path: Path) -> tuple[int, str]:
    """Characters of what a proposer is shown for ``records`` feedback records on one agent."""
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.proposals.proposers.base import ProposalRequest
    from gitimprove.validate import protected_ids

    with InstructionRepo(repo_path) as repo:
        at = repo.agent_at(AGENT, repo.main_tip())
        policy = repo.policy_at(at.commit)
    patterns = _patterns_from_records(records)[: policy.proposer.max_patterns]
    request = ProposalRequest(agent=AGENT, file=at.file, protected=protected_ids(at.file, policy),
                              limits=policy.limits, patterns=patterns,
                              max_quotes=policy.proposer.max_quotes)
    try:
        from gitimprove.proposals.proposers import anthropic as anthropic_proposer

        size: Callable[..., int] = anthropic_proposer.prompt_size
        return size(request, policy.proposer), "anthropic.prompt_size"
    except (ImportError, AttributeError):
        block = "\n".join(f"{p.label} ({p.count}) " + " | ".join(p.quotes[: request.max_quotes])
                          for p in request.patterns)
        return len(request.labelled_file()) + len(block), "labelled_file + pattern block"


def run(repeat: int = 11) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    small = sample_repo()
    big = big_repo()
    try:
        small_s, big_s = _time_propose((small, big), repeat)
        rows.append({"bench": "propose (explicit patterns and draft)", "sample_s": small_s,
                     "big_s": big_s, "ratio": big_s / small_s, "goal": GOAL})
        small_e, big_e = _time_evidence_states((small, big), repeat)
        rows.append({"bench": "evidence_states (pending/addressed lookup)", "sample_s": small_e,
                     "big_s": big_e, "ratio": big_e / small_e, "goal": None})
        c1k, how = prompt_chars(1_000, small)
        c100k, _ = prompt_chars(100_000, small)
        rows.append({"bench": f"prompt chars ({how})", "records_1k": c1k, "records_100k": c100k,
                     "ratio": c100k / c1k, "goal": GOAL})
    finally:
        shutil.rmtree(small.parent, ignore_errors=True)
        shutil.rmtree(big.parent, ignore_errors=True)
    for row in rows:
        goal = row["goal"]
        verdict = "" if goal is None else ("  ok" if row["ratio"] <= goal else "  OVER GOAL")
        if "sample_s" in row:
            print(f"{row['bench']:<48} sample {row['sample_s'] * 1000:8.1f} ms  "
                  f"big {row['big_s'] * 1000:8.1f} ms  ratio {row['ratio']:.2f}{verdict}")
        else:
            print(f"{row['bench']:<48} 1k records {row['records_1k']:>7} chars  "
                  f"100k records {row['records_100k']:>7} chars  ratio {row['ratio']:.2f}{verdict}")
    return rows


if __name__ == "__main__":
    run()
