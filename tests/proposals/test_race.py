"""Two processes proposing for the same agent at once: one proposal, not two."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import git


def test_concurrent_propose_makes_one_proposal(sample_repo: Path) -> None:
    gi = [sys.executable, "-m", "gitimprove"]
    subprocess.run([*gi, "feedback", "import", "feedback.jsonl"], cwd=sample_repo, check=True,
                   capture_output=True)
    procs = [subprocess.Popen([*gi, "propose", "support-agent", "--proposer", "heuristic", "--json"],
                              cwd=sample_repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out)["proposals"][0]["status"])
    assert sorted(results) == ["nothing", "nothing", "proposed"]
    branches = git(sample_repo, "for-each-ref", "--format=%(refname)", "refs/heads/improve/").split()
    assert len(branches) == 1
