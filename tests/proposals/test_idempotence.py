"""No duplicate work: feedback cited by an open proposal is pending, by an approved one
addressed; rejecting or rolling back opens it again."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitimprove.cli import cli
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.patterns.model import EvidenceState, Pattern
from gitimprove.proposals.build import NothingToPropose, evidence_states, propose
from gitimprove.proposals.proposers.heuristic import HeuristicProposer
from gitimprove.review.actions import approve, reject, rollback

from .helpers import AGENT, make_pattern, sources_pattern

IDS = ["fb-0003", "fb-0010", "fb-0042"]


def stated(pattern: Pattern, states: dict[str, EvidenceState]) -> Pattern:
    """The pattern as analysis reports it given ``states`` (the contract of
    ``InstructionRepo.analyze(evidence_state=...)``: all evidence cited -> that state)."""
    open_ids = [i for i in pattern.feedback_ids if states.get(i, "open") == "open"]
    if open_ids:
        return pattern.model_copy(update={"state": "open", "open_ids": open_ids})
    cited = {states[i] for i in pattern.feedback_ids}
    state: EvidenceState = "pending" if "pending" in cited else "addressed"
    return pattern.model_copy(update={"state": state, "open_ids": []})


def test_evidence_of_an_open_proposal_is_pending(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    assert evidence_states(repo) == {}
    pattern = sources_pattern(ids=IDS)
    propose(repo, AGENT, HeuristicProposer(), patterns=[pattern])
    states = evidence_states(repo)
    assert states == dict.fromkeys(IDS, "pending")

    again = stated(pattern, states)
    assert again.state == "pending"
    with pytest.raises(NothingToPropose, match=r"1 pattern\(s\) are already cited by open or approved"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[again])
    assert len(repo.git.for_each_ref("refs/heads/improve/")) == 1


def test_evidence_of_an_approved_proposal_is_addressed_until_rolled_back(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = sources_pattern(ids=IDS)
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[pattern])
    approve(repo, plan.id)
    states = evidence_states(repo)
    assert states == dict.fromkeys(IDS, "addressed")
    with pytest.raises(NothingToPropose):
        propose(repo, AGENT, HeuristicProposer(), patterns=[stated(pattern, states)])

    rollback(repo, plan.id, reason="made things worse")
    assert evidence_states(repo) == {}
    assert stated(pattern, evidence_states(repo)).state == "open"


def test_rejected_evidence_is_open_again(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = sources_pattern(ids=IDS)
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[pattern])
    reject(repo, plan.id, reason="not what users meant")
    assert evidence_states(repo) == {}
    # The rejected rule is not proposed again; the freed evidence can back another rule.
    with pytest.raises(NothingToPropose, match=r"rejected the same rule before .*not what users meant"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[stated(pattern, evidence_states(repo))])
    other = make_pattern("too much jargon", ids=IDS, key="concept:jargon")
    fresh = propose(repo, AGENT, HeuristicProposer(), patterns=[stated(other, evidence_states(repo))])
    assert fresh.evidence == IDS


def test_new_feedback_on_a_pending_pattern_cites_only_the_new_ids(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    propose(repo, AGENT, HeuristicProposer(), patterns=[make_pattern(ids=IDS, key="concept:jargon")])
    # The same feedback and one new item, grouped under another theme: only the new id is cited.
    grown = sources_pattern(ids=[*IDS, "fb-0300"])
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[stated(grown, evidence_states(repo))])
    assert plan.evidence == ["fb-0300"]


def test_nothing_to_propose_without_recurring_problems(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    praise = make_pattern("clear and warm", kind="successful_pattern")
    with pytest.raises(NothingToPropose, match="no recurring problem in its feedback"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[praise])
    with pytest.raises(NothingToPropose, match="no recurring problem"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[])


# -- through the CLI, once feedback analysis exists --------------------------------------------

def _analysis_ready() -> bool:
    return (hasattr(InstructionRepo, "analyze")
            and importlib.util.find_spec("gitimprove.patterns.analysis") is not None
            and importlib.util.find_spec("gitimprove.proposals.proposers.select") is not None)


needs_analysis = pytest.mark.skipif(
    not _analysis_ready(),
    reason="needs InstructionRepo.analyze (gitimprove.patterns.analysis) and gitimprove.proposals.proposers.select")


def _import_sample_feedback(repo_path: Path) -> None:
    repo = InstructionRepo(repo_path)
    sample = Path(__file__).resolve().parents[2] / "sample_repo" / "feedback.jsonl"
    for line in sample.read_text().splitlines():
        record = json.loads(line)
        repo.record_feedback(**record)
    repo.close()


def _propose_json(repo_path: Path, agent: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--repo", str(repo_path), "propose", agent,
                                      "--proposer", "heuristic", "--json"])
    assert result.exit_code == 0, result.output
    entry: dict[str, Any] = json.loads(result.output)["proposals"][0]
    return entry


@needs_analysis
@pytest.mark.parametrize("agent", ["research-assistant", "support-agent"])
def test_second_propose_with_no_new_feedback_proposes_nothing(sample_repo: Path, agent: str) -> None:
    # The open patterns of these agents fit in one proposal (policy: max_patterns, max_operations).
    _import_sample_feedback(sample_repo)
    assert _propose_json(sample_repo, agent)["status"] == "proposed"
    second = _propose_json(sample_repo, agent)
    assert second["status"] == "nothing"
    # what is left is cited already, or was left out for a reason the message gives
    assert ("already cited by open or approved proposals" in second["reason"]
            or "left out" in second["reason"]), second["reason"]
    repo = InstructionRepo(sample_repo)
    assert len(repo.git.for_each_ref(f"refs/heads/improve/{agent}/")) == 1


@needs_analysis
def test_repeated_propose_converges_and_cites_each_pattern_once(sample_repo: Path) -> None:
    # product-writer has more open patterns than one proposal may show: the next run takes the
    # rest, never a pattern or a feedback id already cited, then there is nothing left.
    _import_sample_feedback(sample_repo)
    runs = [_propose_json(sample_repo, AGENT) for _ in range(4)]
    made = [r for r in runs if r["status"] == "proposed"]
    assert 1 <= len(made) < 4 and runs[-1]["status"] == "nothing"
    patterns = [p for r in made for p in r["patterns"]]
    evidence = [i for r in made for i in r["evidence"]]
    assert len(patterns) == len(set(patterns))
    assert len(evidence) == len(set(evidence))


@needs_analysis
def test_no_rule_is_proposed_twice_across_open_proposals(sample_repo: Path) -> None:
    _import_sample_feedback(sample_repo)
    texts = [op["text"] for _ in range(4) for op in _propose_json(sample_repo, AGENT).get("operations", [])]
    assert len(texts) == len(set(texts)), texts
