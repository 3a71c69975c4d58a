"""Benchmark: `evaluate` on 10, 100 and 1,000 evidence runs: model calls, prompt sizes, time.

Each case is a fresh sample repository whose proposal cites N negative runs (with inputs),
beside N well-rated runs of the base version. The evaluation runs for real, through the
anthropic SDK, against the local fake Messages API of the test-suite (no network); the calls
are counted at the server. Goal: the calls grow with ``--sample``, not with the feedback: the
same sample costs the same calls at 10x and 100x the evidence (ratio 1.0), and the calls of
replaying every run (the baseline, computed here) are printed beside. Prompt sizes are the
largest replay and judge prompts the server received. A last case gives the agent long
instructions (about 3,000 tokens, past the 1,024 the API caches at least) and prints what the
prompt cache saved, beside the cost of the same requests without it, computed in the same run.
Run: ``python -m benchmarks evaluation``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .common import SAMPLE, git

AGENT = "product-writer"
PID = "20300101-bench0"
RULE = "Keep it under 50 words."
SIZES = (10, 100, 1_000)
SAMPLES = (5, 20)
START = datetime(2030, 1, 1, tzinfo=UTC)


def _repo(evidence: int, extra_rules: int = 0) -> Path:
    from gitimprove.feedback.models import make_record
    from gitimprove.instructions.init import init
    from gitimprove.instructions.repo import InstructionRepo

    target = Path(tempfile.mkdtemp(prefix="gitimprove-bench-eval-")) / "repo"
    init(target, template=SAMPLE)
    if extra_rules:  # longer instructions on main, before any feedback names their version
        agent_file = target / f"agents/{AGENT}.yaml"
        agent_file.write_text(agent_file.read_text().replace(
            "      - Use British English spelling.\n", "      - Use British English spelling.\n"
            + "".join(f"      - House rule {i} asks for the product line and the size range in "
                      "every product description.\n" for i in range(extra_rules))))
        git(target, "commit", "-qam", "Longer instructions")
    with InstructionRepo(target) as repo:
        version = repo.load(AGENT).version
        records = []
        for i in range(evidence):
            records.append(make_record({
                "id": f"fb-neg-{i:05d}", "agent": AGENT, "run_id": f"run-neg-{i:05d}",
                "version": version, "rating": "negative", "reason": f"too long, run {i}",
                "input": f"Describe product {i}: " + "spec " * 60, "output": "long " * 200,
                "created_at": START + timedelta(seconds=i)}))
            records.append(make_record({
                "id": f"fb-pos-{i:05d}", "agent": AGENT, "run_id": f"run-pos-{i:05d}",
                "version": version, "rating": "positive", "reason": "good",
                "input": f"Describe mug {i}", "output": "short",
                "created_at": START + timedelta(seconds=i, milliseconds=500)}))
        repo.feedback_store().add(records)
    path = f"agents/{AGENT}.yaml"
    text = (target / path).read_text().replace(
        "      - Use British English spelling.\n",
        f"      - Use British English spelling.\n      - {RULE}\n")
    blob = git(target, "hash-object", "-w", "--stdin", input=text.encode())
    index = target / ".git" / "bench-index"
    env = {"GIT_INDEX_FILE": str(index)}
    git(target, "read-tree", "main", env=env)
    git(target, "update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git(target, "write-tree", env=env)
    index.unlink()
    ids = ",".join(f"fb-neg-{i:05d}" for i in range(evidence))
    message = (f"{AGENT}: shorter\n\nUsers say it is too long.\n\nGitimprove-Proposal: {PID}\n"
               f"Gitimprove-Agent: {AGENT}\nGitimprove-Evidence: {ids}\n")
    commit = git(target, "commit-tree", tree, "-p", "main", input=message.encode(),
                 env={"GIT_AUTHOR_NAME": "bench-model", "GIT_AUTHOR_EMAIL": "model@gitimprove.invalid"})
    git(target, "update-ref", f"refs/heads/improve/{AGENT}/{PID}", commit)
    return target


def _evaluate(path: Path, sample: int) -> dict[str, Any]:
    from gitimprove.evaluate import evaluate
    from gitimprove.instructions.repo import InstructionRepo
    from tests.fakes.anthropic_server import (
        FakeAnthropicServer,
        evaluation_handler,
        is_judge,
        prefers,
    )

    with FakeAnthropicServer() as api, InstructionRepo(path) as repo:
        api.handler = evaluation_handler(
            lambda r: "SHORT" if RULE in r.system else "LONG " * 100, prefers("SHORT"))
        t0 = time.perf_counter()
        result = evaluate(repo, PID, sample=sample, seed=1, api_key=api.api_key,
                          base_url=api.base_url, env={})
        seconds = time.perf_counter() - t0
        replays = [len(r.prompt_text()) for r in api.requests if not is_judge(r)]
        judged = [len(r.prompt_text()) for r in api.requests if is_judge(r)]
    card = result.scorecard
    usage = card.usage
    return {"calls": len(api.requests), "input_tokens": usage.input_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens, "cost_usd": usage.cost_usd,
            "saved_usd": usage.saved_usd, "replay_chars": max(replays), "judge_chars": max(judged),
            "prompt_chars": sum(replays) + sum(judged), "seconds": seconds,
            "judged": card.to_fix.judged + card.to_keep.judged,
            "all_runs_calls": 3 * (card.to_fix.candidates + card.to_fix.unexamined
                                 + card.to_keep.available)}


def run() -> list[dict[str, Any]]:
    import os

    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    rows: list[dict[str, Any]] = []
    for n in SIZES:
        path = _repo(n)
        try:
            for sample in SAMPLES:
                row = {"evidence_runs": n, "sample": sample, **_evaluate(path, sample)}
                rows.append(row)
                print(f"evidence {n:>5}  --sample {sample:>3}  calls {row['calls']:>4} "
                      f"(replaying every run: {row['all_runs_calls']:>5})  largest replay prompt "
                      f"{row['replay_chars']:>6} chars  largest judge prompt "
                      f"{row['judge_chars']:>6} chars  all prompts {row['prompt_chars']:>8} chars  "
                      f"{row['seconds']:.2f} s", flush=True)
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)
    for sample in SAMPLES:
        calls = [r["calls"] for r in rows if r["sample"] == sample]
        ratio = calls[-1] / calls[1]
        print(f"--sample {sample}: calls at 1,000 evidence runs / at 100: {ratio:.2f} "
              f"(goal 1.0: {'ok' if ratio <= 1.0 else 'OVER GOAL'})")
    path = _repo(100, extra_rules=150)
    try:
        row = {"evidence_runs": 100, "sample": 20, "long_instructions": True,
               **_evaluate(path, 20)}
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    rows.append(row)
    cost, saved = row["cost_usd"], row["saved_usd"]
    without = cost + saved  # the same requests and tokens, every input token at full price
    print(f"prompt cache, long instructions, --sample 20: {row['calls']} calls, "
          f"{row['input_tokens']:,} input tokens ({row['cache_read_tokens']:,} read from the "
          f"cache, {row['cache_write_tokens']:,} written to it); cost ${cost:.4f} with the cache, "
          f"${without:.4f} without (baseline): {saved / without:.0%} saved")
    return rows


if __name__ == "__main__":
    run()
