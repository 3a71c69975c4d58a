"""A rejection is a reviewer's answer to the evidence they saw, for the reason they gave: the
same evidence does not bring the rule back; new complaints after it do, and so does a reason
that objected only to where the rule stood or how it was worded. The proposal says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitimprove.instructions.repo import InstructionRepo
from gitimprove.proposals.build import NothingToPropose, evidence_states, propose
from gitimprove.proposals.operations import AddRule
from gitimprove.proposals.proposers.heuristic import HeuristicProposer
from gitimprove.proposals.rules import Known, PriorRule, objection, rejected_match, review_draft
from gitimprove.review.actions import reject

from .helpers import AGENT, FixedProposer, make_pattern, sources_pattern
from .test_idempotence import IDS, stated

REVIEWER = "Rita Reviewer <rita@example.com>"
RULE = "Cite a source (publisher, year and link) for each key claim."


def _complaints(repo: InstructionRepo, users: int, *, ids: list[str] | None = None,
                days: int = 0) -> list[str]:
    """Complaints about citations from ``users`` users, made ``days`` from now (new ones: a
    few minutes after, so after the rejection)."""
    when = datetime.now(UTC) + (timedelta(days=days) if days else timedelta(minutes=5))
    ids = ids or [f"fb-new-{n}" for n in range(users)]
    return [repo.record_feedback(agent=AGENT, id=i, user_id=f"u-{i}", run_id=f"run-{i}",
                                 rating="negative", reason="no sources", created_at=when).id
            for i in ids]


def _rejected_proposal(repo: InstructionRepo, reason: str) -> str:
    """The citations rule proposed from three users' complaints, then rejected."""
    _complaints(repo, 3, ids=IDS, days=-1)
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern(ids=IDS)])
    reject(repo, plan.id, reason=reason, by=REVIEWER)
    return plan.id


@pytest.mark.parametrize("reason", [
    "wrong section", "this belongs under structure", "put it in the tools section",
    "not in the style section", "misplaced"])
def test_a_reason_about_the_place(reason: str) -> None:
    assert objection(reason) == "place"


@pytest.mark.parametrize("reason", ["too vague: which warranty?", "reword it", "the wording"])
def test_a_reason_about_the_wording(reason: str) -> None:
    assert objection(reason) == "wording"


@pytest.mark.parametrize("reason", ["not what users meant", "no", "our legal team must word "
                                    "citations", "", None])
def test_any_other_reason_objects_to_the_rule(reason: str | None) -> None:
    assert objection(reason) == "rule"


def test_what_a_rejection_keeps_out_depends_on_its_reason() -> None:
    def prior(reason: str) -> PriorRule:
        return PriorRule(RULE, "style", "20261120-abcdef", reason)

    other_words = "Name the publisher and year of every source you rely on for a key claim."
    assert rejected_match(RULE, [prior("no")], "structure") is not None  # the rule itself
    assert rejected_match(RULE, [prior("wrong section")], "style") is not None
    assert rejected_match(RULE, [prior("wrong section")], "structure") is None
    assert rejected_match(RULE, [prior("reword it")], "style") is not None  # same words
    assert rejected_match(other_words, [prior("no")], "style") is not None
    assert rejected_match(other_words, [prior("reword it")], "style") is None


def test_the_same_evidence_does_not_bring_a_rejected_rule_back(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    _rejected_proposal(repo, "not what users meant")
    ids = _complaints(repo, 2)  # two new voices: fewer than a rule needs (3)
    grown = sources_pattern(ids=[*IDS, *ids])
    with pytest.raises(NothingToPropose, match="rejected the same rule before"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[stated(grown, evidence_states(repo))])


def test_new_complaints_after_a_rejection_bring_the_rule_back_and_say_so(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pid = _rejected_proposal(repo, "not what users meant")
    grown = sources_pattern(ids=[*IDS, *_complaints(repo, 3)])
    again = propose(repo, AGENT, HeuristicProposer(), patterns=[stated(grown, evidence_states(repo))])
    assert [getattr(op, "text", "") for op in again.result.draft.operations] == [RULE]
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    line = (f"{RULE!r} was rejected before on {day} by {REVIEWER} (in {pid}): not what users "
            "meant; back: 3 users complained again since")
    assert again.notes[0] == f"proposed again: {line}"
    said = again.message.split("Proposed again after a rejection:\n", 1)[1]
    assert " ".join(said.split("\n\n")[0].split()) == f"- {line}"


def test_a_rule_rejected_for_its_place_comes_back_elsewhere_only(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    _rejected_proposal(repo, "belongs in the structure section")
    again = stated(sources_pattern(ids=IDS), evidence_states(repo))
    # the heuristic puts it where it was: still out
    with pytest.raises(NothingToPropose, match="rejected the same rule before"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[again])
    # a model that reads the reason and moves it: the careful editor lets it pass
    moved = AddRule(section="structure", text=RULE, reason="users ask for sources",
                    evidence=[again.id])
    fixed = FixedProposer([moved], summary="Ask for sources in the structure")
    plan2 = propose(repo, AGENT, fixed, patterns=[again])
    request = fixed.requests[0]
    assert review_draft(request.file, plan2.result.draft, request.known) == []
    assert plan2.notes[0].startswith(f"proposed again: {RULE!r} was rejected before on ")
    assert plan2.notes[0].endswith("back: the reason was about its place (it was in 'style', "
                                   "now 'structure')")


def test_no_rejection_no_note(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern(ids=IDS)])
    assert "Proposed again" not in plan.message and not any("again" in n for n in plan.notes)
    assert Known().rejected == []


def test_a_proposer_that_ignores_the_rejection_is_still_named_by_it(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pid = _rejected_proposal(repo, "not what users meant")
    again = stated(sources_pattern(ids=IDS), evidence_states(repo))
    same = AddRule(section="style", text=RULE, reason="users ask for sources", evidence=[again.id])
    plan = propose(repo, AGENT, FixedProposer([same]), patterns=[again])
    assert plan.notes[0].startswith(f"proposed again: {RULE!r} was rejected before on ")
    assert plan.notes[0].endswith(f"(in {pid}): not what users meant")  # no "back:" it lacks


def test_the_careful_editor_says_what_the_rejection_keeps_out(sample_repo: Path) -> None:
    from gitimprove.proposals.operations import Draft

    repo = InstructionRepo(sample_repo)
    file = repo.agent_at(AGENT, repo.main_tip()).file
    draft = Draft(summary="s", rationale="r", operations=[
        AddRule(section="style", text=RULE, reason="r")])
    said = {reason: review_draft(file, draft, Known(rejected=[
        PriorRule(RULE, "style", "20261120-abcdef", reason)]))[0].rsplit("; ", 1)[1]
        for reason in ("no", "wrong section", "reword it")}
    assert said == {"no": "do not propose it again",
                    "wrong section": "do not propose it in 'style' again",
                    "reword it": "do not propose it in these words again"}


def test_a_rolled_back_rule_is_kept_out_like_a_rejected_one(sample_repo: Path) -> None:
    # approved, then rolled back: propose offered the same rule again, and the review did not
    # say it had been undone
    from gitimprove.review.actions import approve, rollback

    repo = InstructionRepo(sample_repo)
    _complaints(repo, 3, ids=IDS, days=-1)
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern(ids=IDS)])
    approve(repo, plan.id, by=REVIEWER)
    rollback(repo, plan.id, reason="legal wants no links in the copy", by=REVIEWER)
    ids = _complaints(repo, 2)  # two new voices: fewer than a rule needs
    grown = sources_pattern(ids=[*IDS, *ids])
    with pytest.raises(NothingToPropose) as caught:
        propose(repo, AGENT, HeuristicProposer(), patterns=[stated(grown, evidence_states(repo))])
    (why,) = [lo.why for lo in caught.value.left_out]
    assert why == f"{RULE!r} was rolled back in {plan.id} (\"legal wants no links in the copy\")"
    # the summary says what happened too: not "rejected" for a rule that was approved
    assert "1 skipped because a reviewer rolled back the same rule before" in str(caught.value)
    # new complaints bring it back, and the proposal says it was rolled back, when and by whom
    again = propose(repo, AGENT, HeuristicProposer(), patterns=[stated(
        sources_pattern(ids=[*IDS, *ids, *_complaints(repo, 3, ids=["fb-x1", "fb-x2", "fb-x3"])]),
        evidence_states(repo))])
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    assert again.notes[0].startswith(f"proposed again: {RULE!r} was rolled back on {day} by "
                                     f"{REVIEWER} (in {plan.id}): legal wants no links"), again.notes


def test_a_rollback_reason_reaches_the_review_on_one_line_without_controls(sample_repo: Path) -> None:
    # the reason is a commit's subject, which a person may write by hand
    from gitimprove.review.actions import approve, rollback
    from gitimprove.text import CONTROL

    repo = InstructionRepo(sample_repo)
    _complaints(repo, 3, ids=IDS, days=-1)
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern(ids=IDS)])
    approve(repo, plan.id, by=REVIEWER)
    landed = rollback(repo, plan.id, reason="no links", by=REVIEWER)
    git = repo.git
    message = git.read_commit(landed.commit).message.replace("no links", "no \x1b[8mlinks\u202e")
    tree = git.tree_of(landed.commit)
    forged = git.run("commit-tree", str(tree), "-p", str(git.read_commit(landed.commit).parents[0]),
                     "-m", message).strip()
    git.run("update-ref", repo.main_ref, forged)
    with pytest.raises(NothingToPropose) as caught:
        propose(repo, AGENT, HeuristicProposer(), patterns=[stated(sources_pattern(ids=IDS),
                                                                    evidence_states(repo))])
    (why,) = [lo.why for lo in caught.value.left_out]
    assert "was rolled back in" in why and not CONTROL.search(why), repr(why)


@pytest.mark.parametrize("reads_every", [False, True])
def test_a_proposer_is_given_the_models_share_of_patterns_unless_it_reads_every_one(
        sample_repo: Path, reads_every: bool) -> None:
    # proposer.max_patterns (8 by default) bounds a model's prompt; a proposer that sends
    # none says so (the offline one does) and is given every open pattern
    repo = InstructionRepo(sample_repo)
    patterns = [make_pattern(f"theme {k}", ids=[f"fb-{n:04d}" for n in range(3 * k, 3 * k + 3)])
                for k in range(10)]
    fixed = FixedProposer([AddRule(section="style", text=RULE, reason="users ask for sources",
                                   evidence=[patterns[0].id])])
    if reads_every:
        fixed.reads_every_pattern = True  # type: ignore[attr-defined]
    propose(repo, AGENT, fixed, patterns=patterns, dry_run=True)
    given = [p.key for p in fixed.requests[0].patterns if p.negative]
    assert given == [p.key for p in patterns][:10 if reads_every else 8]
