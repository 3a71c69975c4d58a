"""Trials: what serving a running trial costs ``load()``, and how well arms are assigned.

- warm ``load(agent, unit=...)`` with a trial running, against warm ``load(agent)`` of the
  same agent with no trial, on two copies of one repository in the same run, their samples
  taken in turn so that what else the machine does weighs on both alike (goal: at most 1.2x);
- assignment: with 100,000 unit ids, the share served the candidate against the share asked
  (goal: within 0.5 percentage points), and that every unit gets the same arm again.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from .common import ROOT, SAMPLE, Row, git, median_time

GOAL_TRIAL_VS_PLAIN = 1.2
GOAL_SHARE_POINTS = 0.5
AGENT = "product-writer"


def _repo(parent: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from gitimprove.instructions.init import init

    repo = parent / "repo"
    init(repo, template=SAMPLE)
    path = f"agents/{AGENT}.yaml"
    text = (repo / path).read_text().replace(
        "      - Use British English spelling.\n",
        "      - Use British English spelling.\n      - Name the material first.\n")
    blob = git(repo, "hash-object", "-w", "--stdin", input=text.encode())
    env = {"GIT_INDEX_FILE": str(parent / "index")}
    git(repo, "read-tree", "main", env=env)
    git(repo, "update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git(repo, "write-tree", env=env)
    base = git(repo, "rev-parse", "main")
    base_blob = git(repo, "rev-parse", f"main:{path}")
    # a whole proposal record, as propose writes it: trial start refuses a forged one
    message = (f"{AGENT}: proposal bench\n\nbench\n\nGitimprove-Proposal: 20261126-bench0\n"
               f"Gitimprove-Agent: {AGENT}\nGitimprove-Base-Version: {base_blob}\n"
               f"Gitimprove-Base-Commit: {base}\nGitimprove-Evidence: fb-1\n"
               "Gitimprove-Model: claude-bench\nGitimprove-Proposer: bench\n")
    commit = git(repo, "commit-tree", tree, "-p", base, input=message.encode(),
                 env={"GIT_AUTHOR_NAME": "claude-bench", "GIT_AUTHOR_EMAIL": "m@gitimprove.invalid"})
    git(repo, "update-ref", f"refs/heads/improve/{AGENT}/20261126-bench0", commit)
    return repo


def run() -> list[Row]:
    from gitimprove.instructions.repo import InstructionRepo, trial_bucket
    from gitimprove.trials.manage import start_trial

    parent = Path(tempfile.mkdtemp(prefix="gitimprove-bench-trials-"))
    try:
        repo_path = _repo(parent / "trial")
        plain_path = _repo(parent / "plain")
        with InstructionRepo(plain_path) as plain, InstructionRepo(repo_path) as repo:
            start = start_trial(repo, "20261126-bench0", share="10%")
            plain.load(AGENT)
            repo.load(AGENT, unit="warm")
            units = [f"user-{i}" for i in range(1000)]
            plain_units, trial_units = iter(units * 1000), iter(units * 1000)
            plain_times: list[float] = []
            trial_times: list[float] = []
            for _ in range(25):  # in turn: one sample of each
                plain_times.append(median_time(lambda: plain.load(AGENT, unit=next(plain_units)),
                                               repeat=1, number=2000))
                trial_times.append(median_time(lambda: repo.load(AGENT, unit=next(trial_units)),
                                               repeat=1, number=2000))
            t_plain, t_trial = statistics.median(plain_times), statistics.median(trial_times)
            ids = [f"unit-{i:06d}" for i in range(100_000)]
            first = [trial_bucket(start.trial_id, u) < start.share for u in ids]
            served = sum(first) / len(ids)
            again = [trial_bucket(start.trial_id, u) < start.share for u in ids]
            moved = sum(a != b for a, b in zip(first, again, strict=True))
            sample = ids[:2000]
            load_arms = [repo.load(AGENT, unit=u).trial for u in sample]
            load_agrees = sum((arm is not None and arm.arm == "candidate") == f
                              for arm, f in zip(load_arms, first[:2000], strict=True))
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    return [
        Row("trials", "warm load(), no trial", t_plain, "s"),
        Row("trials", "warm load(unit=...), trial running", t_trial, "s"),
        Row("trials", "trial / no trial", t_trial / t_plain, "x", GOAL_TRIAL_VS_PLAIN),
        Row("trials", "share served, 100k units, asked 10%", abs(served - 0.10) * 100, "pts",
            GOAL_SHARE_POINTS, note=f"served {served:.3%}"),
        Row("trials", "units that changed arm on a second draw", moved, "units", 0),
        Row("trials", "load() arms that disagree with the draw (2k)", 2000 - load_agrees, "units", 0),
    ]
