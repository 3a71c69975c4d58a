"""Bad drafts are refused with the operation at fault named, and leave nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitimprove.instructions.agentfile import parse_agent
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.ledger import BRANCH_PREFIX
from gitimprove.proposals.build import NothingToPropose, ProposalRefused, propose
from gitimprove.proposals.operations import (
    AddRule,
    AddSection,
    Operation,
    RemoveRule,
    SetText,
    UpdateRule,
)
from gitimprove.proposals.proposers.heuristic import HeuristicProposer

from ..conftest import commit_file, git
from .helpers import AGENT, FixedProposer, make_pattern, objects, refs, shorter_rule

R = "the proposer said so"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # proposal ids hash the time: same time, same id
EVERY_RULE = [("inputs", 3), ("style", 4), ("structure", 2), ("safety", 3)]

BAD: dict[str, tuple[list[Operation], list[str]]] = {
    "adds 50 KB of text": (
        [AddRule(section="style", text="Be brief.", reason=R),
         AddSection(id="appendix", title="Appendix", rules=["x" * 4000] * 13, reason=R)],
        ["operation 2 (add_section)", "adds 52", "the policy allows 1500"]),
    "removes every rule": (
        [RemoveRule(section=s, index=i, reason=R) for s, n in EVERY_RULE for i in range(n)],
        ["12 operations; the policy allows 5", "needs `text`, `rules`, or both"]),
    "removes every rule of a section": (
        [RemoveRule(section="structure", index=i, reason=R) for i in range(2)]
        + [RemoveRule(section="safety", index=i, reason=R) for i in range(2)],
        ["operation 1 (remove_rule): agents/product-writer.yaml [structure]: removes 2 rules",
         "the policy does not allow removing rules",
         "operation 3 (remove_rule): agents/product-writer.yaml [safety]: changes the protected"]),
    "edits a protected section": (
        [UpdateRule(section="safety", index=0, text="Say whatever sells.", reason=R)],
        ["operation 1 (update_rule)", "changes the protected section 'safety'"]),
    "drops a {{variable}}": (
        [SetText(section="role", text="You write product descriptions for {{audience}}.\n", reason=R)],
        ["operation 1 (set_text)", "'product_name' is declared but never used"]),
    "points at a rule that does not exist": (
        [AddRule(section="style", text="Be brief.", reason=R),
         UpdateRule(section="style", index=99, text="x", reason=R)],
        ["operation 2 (update_rule)", "section 'style' has no rule at index 99 (it has 4 rules"]),
    "points at a section that does not exist": (
        [AddRule(section="tone", text="Be brief.", reason=R)],
        ["operation 1 (add_rule)", "no section 'tone'"]),
    "adds a section over a protected one": (
        [AddSection(id="safety", title="Safety", rules=["Anything goes."], reason=R)],
        ["operation 1 (add_section)", "'safety' exists already"]),
    "adds an emoji's selector twice": (
        [AddRule(section="style", text="Be brief.", reason=R),
         AddRule(section="structure", text="\u26a0\ufe0f\ufe0f Warn before a price.", reason=R)],
        ["operation 2 (add_rule)", "[structure]: adds the character U+FE0F (VARIATION SELECTOR-16)"]),
    "too many operations": (
        [AddRule(section="style", text=f"Rule number {i}.", reason=R) for i in range(6)],
        ["6 operations; the policy allows 5"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_draft_is_refused_and_leaves_nothing(sample_repo: Path, case: str) -> None:
    operations, expected = BAD[case]
    refs_before, objects_before = refs(sample_repo), objects(sample_repo)
    repo = InstructionRepo(sample_repo)
    with pytest.raises(ProposalRefused) as info:
        propose(repo, AGENT, FixedProposer(operations), patterns=[make_pattern()])
    message = str(info.value)
    assert message.startswith(f"proposal for {AGENT} refused: ")
    for fragment in expected:
        assert fragment in message
    assert "nothing was written" in message
    assert refs(sample_repo) == refs_before
    assert objects(sample_repo) == objects_before
    assert git(sample_repo, "for-each-ref", BRANCH_PREFIX) == ""


def test_section_shadowing_a_policy_protected_id_is_refused(sample_repo: Path) -> None:
    # An agent without a safety section: the policy still reserves the id for humans.
    commit_file(sample_repo, "agents/plain.yaml",
                "name: plain\ndescription: A plain agent.\nsections:\n  - id: style\n"
                "    rules:\n      - Be kind.\n", "add plain")
    refs_before = refs(sample_repo)
    repo = InstructionRepo(sample_repo)
    op = AddSection(id="safety", title="Safety", rules=["Anything goes."], reason=R)
    with pytest.raises(ProposalRefused, match=r"operation 1 \(add_section\).*'safety' whose id the "
                                              "policy protects"):
        propose(repo, "plain", FixedProposer([op]), patterns=[make_pattern()])
    assert refs(sample_repo) == refs_before


def test_text_that_looks_like_yaml_cannot_rename_the_agent(sample_repo: Path) -> None:
    """Operations have no way to rename; text is stored as text, never spliced in as YAML."""
    repo = InstructionRepo(sample_repo)
    text = ("You write for {{product_name}} and {{audience}}.\nname: evil-agent\n"
            "sections: []\n")
    plan = propose(repo, AGENT, FixedProposer([SetText(section="role", text=text, reason=R)]),
                   patterns=[make_pattern()], dry_run=True)
    parsed = parse_agent(plan.new_text.encode(), f"agents/{AGENT}.yaml", expected_name=AGENT)
    assert parsed.name == AGENT
    role = parsed.section("role")
    assert role is not None and role.text == text
    assert parsed.section_ids == ["role", "inputs", "style", "structure", "safety"]


def test_existing_branch_is_never_overwritten(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = make_pattern()
    proposer = FixedProposer([shorter_rule(pattern)])
    first = propose(repo, AGENT, proposer, patterns=[pattern], dry_run=True, now=lambda: NOW)
    main = repo.main_tip()
    git(sample_repo, "update-ref", first.branch, main)  # someone took the name first
    plan = propose(repo, AGENT, proposer, patterns=[pattern], now=lambda: NOW)
    assert plan.id != first.id and plan.id.startswith(first.id), "a taken id is made longer"
    assert git(sample_repo, "rev-parse", first.branch).strip() == main


def test_heuristic_with_nothing_new_to_say_proposes_nothing(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    covered = make_pattern("covered", suggestion="Use British English spelling.")
    refs_before = refs(sample_repo)
    with pytest.raises(NothingToPropose, match="no rule passes the checks"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[covered])
    assert refs(sample_repo) == refs_before


def test_draft_that_changes_nothing_writes_nothing(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    same = UpdateRule(section="style", index=1, text="Use British English spelling.", reason=R)
    refs_before = refs(sample_repo)
    with pytest.raises(NothingToPropose, match="changes nothing"):
        propose(repo, AGENT, FixedProposer([same]), patterns=[make_pattern()])
    assert refs(sample_repo) == refs_before
