"""A proposal is a branch built in git's object store, authored by the model."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitimprove.git import Oid
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.proposals.build import propose
from gitimprove.proposals.proposers.heuristic import HeuristicProposer

from ..conftest import commit_file, git
from .helpers import (
    AGENT,
    MODEL,
    FixedProposer,
    checkout_state,
    make_pattern,
    objects,
    refs,
    shorter_rule,
    sources_pattern,
    trailers,
)

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _fmt(repo: Path, fmt: str, rev: str) -> str:
    return git(repo, "log", "-1", f"--format={fmt}", rev).strip()


def test_heuristic_branch_is_authored_by_the_heuristic_and_committed_by_the_user(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    base = repo.main_tip()
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern()], now=lambda: NOW)

    assert plan.commit is not None
    assert plan.branch == f"refs/heads/improve/{AGENT}/{plan.id}"
    assert plan.id.startswith("20261123-")
    assert git(sample_repo, "rev-parse", plan.short_branch).strip() == plan.commit
    assert _fmt(sample_repo, "%an <%ae>", plan.commit) == \
        "gitimprove-heuristic <heuristic@gitimprove.invalid>"
    assert _fmt(sample_repo, "%cn <%ce>", plan.commit) == "Test Reviewer <reviewer@example.com>"
    assert _fmt(sample_repo, "%P", plan.commit) == base
    # main did not move: a proposal is only a branch
    assert repo.main_tip() == base


def test_model_proposer_names_the_model_as_author(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = make_pattern()
    plan = propose(repo, AGENT, FixedProposer([shorter_rule(pattern)]), patterns=[pattern])
    assert plan.commit is not None
    assert _fmt(sample_repo, "%an <%ae>", plan.commit) == f"{MODEL} <model@gitimprove.invalid>"


def test_committer_falls_back_to_gitimprove_identity(sample_repo: Path, hermetic_git: Path) -> None:
    (hermetic_git / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    repo = InstructionRepo(sample_repo)
    assert repo.git.user_identity() is None
    pattern = make_pattern()
    plan = propose(repo, AGENT, FixedProposer([shorter_rule(pattern)]), patterns=[pattern])
    assert plan.commit is not None
    assert _fmt(sample_repo, "%cn <%ce>", plan.commit) == "gitimprove <gitimprove@localhost>"
    assert _fmt(sample_repo, "%an", plan.commit) == MODEL


def test_message_is_the_review_and_trailers_parse_back_with_git(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    base = repo.main_tip()
    old_blob = repo.agent_at(AGENT, base).blob
    too_long = make_pattern()
    jargon = make_pattern("jargon", ids=["fb-0100", "fb-0101", "fb-0102", "fb-0103"], section="style",
                          suggestion="Use plain words a shopper knows.",
                          quotes=["what does 'hand-finished selvedge' even mean"])
    ops = [shorter_rule(too_long),
           shorter_rule(jargon).model_copy(update={
               "text": "Use plain words a shopper knows.", "reason": "Shoppers trip over jargon.",
               "evidence": [jargon.id, *jargon.feedback_ids]})]
    plan = propose(repo, AGENT, FixedProposer(ops), patterns=[too_long, jargon])
    assert plan.commit is not None
    message = git(sample_repo, "log", "-1", "--format=%B", plan.commit)

    assert message.splitlines()[0] == f"{AGENT}: Make descriptions shorter"
    # the review's items are wrapped at 72 columns, as git's messages are; read them unwrapped
    review = message.split("\n\n```gitimprove-content")[0]
    assert max(len(line) for line in review.splitlines()) <= 72, review
    flat = " ".join(review.split())
    assert "Users keep saying the descriptions are too long." in flat
    assert "1. add rule to 'style': Keep every description under 80 words." in flat
    assert "Reason: Five users said the descriptions run on." in flat
    assert "2. add rule to 'style': Use plain words a shopper knows." in flat
    assert "Reason: Shoppers trip over jargon." in flat
    assert f"- too long / verbose (recurring failure, 3 items, 25% of feedback) [{too_long.id}]" in flat
    assert f"- jargon (recurring failure, 4 items, 25% of feedback) [{jargon.id}]" in flat
    assert '> "Brevity please. This goes on and on."' in flat
    assert "> \"what does 'hand-finished selvedge' even mean\"" in flat

    got = trailers(sample_repo, plan.commit)
    assert got["Gitimprove-Proposal"] == [plan.id]
    assert got["Gitimprove-Agent"] == [AGENT]
    assert got["Gitimprove-Base-Version"] == [old_blob]
    assert got["Gitimprove-Base-Commit"] == [base]
    assert got["Gitimprove-Evidence"][0].split(",") == [
        "fb-0003", "fb-0010", "fb-0042", "fb-0100", "fb-0101", "fb-0102", "fb-0103"]
    assert got["Gitimprove-Model"] == [MODEL]
    assert got["Gitimprove-Proposer"] == ["fixed"]
    assert got["Gitimprove-Usage"] == ["input_tokens=1234 output_tokens=321 requests=1"]
    # the same trailers through git interpret-trailers
    parsed = _interpret(sample_repo, message)
    assert f"Gitimprove-Agent: {AGENT}" in parsed.splitlines()
    assert f"Gitimprove-Proposal: {plan.id}" in parsed.splitlines()


def _interpret(repo: Path, message: str) -> str:
    return subprocess.run(["git", "interpret-trailers", "--parse"], cwd=repo, input=message,
                          capture_output=True, text=True, check=True).stdout


def test_only_the_agent_file_changes_and_the_diff_is_only_added_lines(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = make_pattern()
    plan = propose(repo, AGENT, FixedProposer([shorter_rule(pattern)]), patterns=[pattern])
    assert plan.commit is not None
    changed = git(sample_repo, "diff", "--name-only", f"{plan.commit}^", plan.commit).split()
    assert changed == [f"agents/{AGENT}.yaml"]
    diff = git(sample_repo, "diff", "--unified=0", f"{plan.commit}^", plan.commit)
    body = [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert body == ["+      - Keep every description under 80 words."]
    new_text = git(sample_repo, "show", f"{plan.commit}:agents/{AGENT}.yaml")
    assert "# Tone and wording; the brand guide lives in the content team wiki." in new_text
    assert "Keep it under 120 words.  # soft guideline from the page template" in new_text
    assert new_text == plan.new_text


def test_never_touches_working_tree_index_or_head(sample_repo: Path) -> None:
    agent_file = sample_repo / "agents" / f"{AGENT}.yaml"
    agent_file.write_text(agent_file.read_text() + "# a half-finished human edit\n")
    commit_file(sample_repo, "notes.txt", "one\n", "notes")
    (sample_repo / "notes.txt").write_text("two\n")
    git(sample_repo, "add", "notes.txt")
    (sample_repo / "scratch.txt").write_text("untracked\n")
    before = checkout_state(sample_repo)
    assert " M agents/product-writer.yaml" in before[0] and "M  notes.txt" in before[0]
    assert "?? scratch.txt" in before[0]
    file_before = agent_file.read_bytes()

    repo = InstructionRepo(sample_repo)
    pattern = make_pattern()
    plan = propose(repo, AGENT, FixedProposer([shorter_rule(pattern)]), patterns=[pattern])

    assert plan.commit is not None
    assert checkout_state(sample_repo) == before
    assert agent_file.read_bytes() == file_before
    # built from main's objects, not from the dirty working tree
    assert "# a half-finished human edit" not in plan.new_text


def test_dry_run_writes_nothing(sample_repo: Path) -> None:
    refs_before, objects_before = refs(sample_repo), objects(sample_repo)
    repo = InstructionRepo(sample_repo)
    pattern = make_pattern()
    plan = propose(repo, AGENT, FixedProposer([shorter_rule(pattern)]), patterns=[pattern], dry_run=True)
    assert plan.commit is None
    assert "+      - Keep every description under 80 words." in plan.diff
    assert plan.message.startswith(f"{AGENT}: Make descriptions shorter")
    assert refs(sample_repo) == refs_before
    assert objects(sample_repo) == objects_before


def test_main_moved_while_the_proposer_was_thinking(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    base = repo.main_tip()

    def someone_commits() -> None:
        commit_file(sample_repo, "agents/support-agent.yaml",
                    (sample_repo / "agents/support-agent.yaml").read_text() + "# reviewed\n",
                    "a human edit while the model thinks")

    pattern = make_pattern()
    plan = propose(repo, AGENT, FixedProposer([shorter_rule(pattern)], before_return=someone_commits),
                   patterns=[pattern])
    moved = repo.main_tip()
    assert moved != base
    assert plan.commit is not None and plan.base_commit == base
    assert _fmt(sample_repo, "%P", plan.commit) == base
    assert trailers(sample_repo, plan.commit)["Gitimprove-Base-Commit"] == [base]
    assert len(plan.notes) == 1 and "main moved" in plan.notes[0] and Oid(base).short in plan.notes[0]
    assert git(sample_repo, "rev-parse", "main").strip() == moved  # propose never moves main


def test_no_note_when_main_stood_still(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = make_pattern()
    plan = propose(repo, AGENT, FixedProposer([shorter_rule(pattern)]), patterns=[pattern])
    assert plan.notes == []


@pytest.mark.parametrize("agent", ["product-writer", "research-assistant", "support-agent"])
def test_heuristic_adds_a_stock_remedy_and_never_a_lone_users_wording(sample_repo: Path,
                                                                       agent: str) -> None:
    repo = InstructionRepo(sample_repo)
    # No wording of its own is shared by enough users (there are no records at all): quoted as
    # evidence, never copied as a rule.
    lone = make_pattern("a lone wording", ids=["fb-1", "fb-2", "fb-3"],
                        suggestion="say where each figure comes from")
    new = sources_pattern(ids=["fb-4", "fb-5", "fb-6"])
    plan = propose(repo, agent, HeuristicProposer(), patterns=[lone, new], dry_run=True)
    ops = plan.result.draft.operations
    assert [op.op for op in ops] == ["add_rule"]
    assert getattr(ops[0], "text", None) == "Cite a source (publisher, year and link) for each key claim."
    assert plan.patterns == [new]
    assert plan.evidence == ["fb-4", "fb-5", "fb-6"]
    assert "'a lone wording' (3 items): no specific rule" in plan.message
