"""The heuristic on real feedback sets (where they are on this machine; see
benchmarks/data/sources.py): no rule that repeats or contradicts the file, nothing vague, no
lone user's words, and no rule whose evidence is mostly about the product."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from benchmarks import bench_proposal_quality as quality
from gitimprove.proposals.proposers.heuristic import HeuristicProposer

SETS = {"reviews": quality._reviews, "critiques": quality._critiques}
# Whether analysis tells product patterns apart (gitimprove.patterns.triage); without it every
# pattern counts as being about the answers, and app-store complaints about logins and limits
# would reach the proposer as answer problems.
TRIAGE = importlib.util.find_spec("gitimprove.patterns.triage") is not None


@pytest.mark.parametrize("name", sorted(SETS))
def test_proposals_on_real_feedback_are_careful(name: str, tmp_path: Path) -> None:
    feedback = SETS[name]()
    if feedback is None:
        pytest.skip(f"the {name} set is not converted on this machine")
    repo = quality._repo(feedback, tmp_path)
    m: dict[str, Any] = quality._measure(feedback, repo, "assistant", HeuristicProposer())
    assert (m["dup"], m["contra"], m["vague"], m["lone"]) == (0, 0, 0, 0), m
    if TRIAGE:
        assert m["mostly"] == 0, m
    if m["ops"]:
        assert m["summary"][0].isupper() and not any(c.isdigit() for c in m["summary"]), m
        assert min(m["users"]) >= 3, m
