"""An ADK f-string prompt in `show` and `review`: a replacement field (`{date_today}`, code
Python fills) and the same name written as text (`{{date_today}}` in the file, a state
variable ADK fills) are shown as the file spells them, so they never look alike; no proposal
edits a field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitimprove.instructions.init import init
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.proposals.build import NothingToPropose, ProposalRefused, propose
from gitimprove.proposals.operations import AddRule, Draft, SetText
from gitimprove.proposals.proposers.base import DraftCheck, ProposalRequest, ProposerResult
from gitimprove.review.view import review_data, review_text
from tests.conftest import git
from tests.formats.test_adk_python import DATED

AGENT = "db_ds_multiagent"
# the date as a field, and the same name as text: ADK looks it up in the session state
BOTH = DATED.replace("        Todays date: {date_today}\n",
                     "        Todays date: {date_today}\n        Cite the state's {{date_today}}.\n")


class Scripted:
    """A stand-in for a model that answers with ``operations``."""

    name = "scripted"
    model = "scripted-fstring"

    def __init__(self, *operations: Any) -> None:
        self.operations = list(operations)

    def propose(self, request: ProposalRequest, check: DraftCheck) -> ProposerResult:
        ops = [op.model_copy(update={"evidence": [request.patterns[0].id]}) for op in self.operations]
        return ProposerResult(draft=Draft(summary="Say the date", rationale="Users ask for it.",
                                          operations=ops), proposer=self.name, model=self.model)


@pytest.fixture
def repo(tmp_path: Path) -> InstructionRepo:
    root = tmp_path / "ds"
    (root / "ds").mkdir(parents=True)
    (root / "ds/agent.py").write_text(BOTH)
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a data science agent")
    init(root)
    found = InstructionRepo(root)
    for i in range(6):
        found.record_feedback(agent=AGENT, run_id=f"run-{i}", rating="negative",
                              reason="Too verbose, needs to be more concise")
    return found


def test_show_spells_a_field_and_its_name_as_text_apart(repo: InstructionRepo) -> None:
    found = repo.agent_at(AGENT, repo.main_tip())
    section = next(s for s in found.file.sections if s.id == "global-instruction")
    assert "Todays date: {date_today}" in (section.text or "")  # the field, as the file writes it
    assert "Cite the state's {{date_today}}." in (section.text or "")  # the text, likewise
    assert found.file.variables == ["date_today"]  # the text is ADK's state variable
    # the rendered prompt is the text as Python builds it (the field left as written)
    assert "Todays date: {date_today}\n        Cite the state's {date_today}.\n" in found.rendered()
    repo.close()


def test_review_spells_a_new_brace_of_text_doubled(repo: InstructionRepo) -> None:
    patterns = repo.analyze(AGENT)
    rule = AddRule(section="global-instruction", text='Answer as JSON, {"date": {date_today}}.',
                   reason="users asked")
    plan = propose(repo, AGENT, Scripted(rule), patterns=patterns)
    shown = review_text(review_data(repo, plan.id))
    # the rule's braces are text: Python builds them as the rule gives them (and ADK fills
    # the state variable it names, as it does the one the file names already)
    assert '+ Answer as JSON, {{"date": {{date_today}}}}.' in shown
    added = repo.agent_at(AGENT, plan.commit).raw.decode()
    assert '- Answer as JSON, {{"date": {{date_today}}}}.\n' in added
    assert "Todays date: {date_today}\n" in added  # the field untouched
    repo.close()


@pytest.mark.parametrize("text", [
    "You are a Data Science and Data Analytics Multi Agent System.\n"
    "Todays date: {date_today.isoformat()}\nCite the state's {{date_today}}.",  # the field changed
    "You are a Data Science and Data Analytics Multi Agent System.\n"
    "Todays date: {{date_today}}\nCite the state's {{date_today}}.",  # the field made text
])
def test_no_proposal_edits_a_field(repo: InstructionRepo, text: str) -> None:
    patterns = repo.analyze(AGENT)
    before = git(repo.git.work_tree, "for-each-ref")
    with pytest.raises(ProposalRefused, match="replacement field"):
        propose(repo, AGENT, Scripted(SetText(section="global-instruction", text=text,
                                              reason="users asked")), patterns=patterns)
    assert git(repo.git.work_tree, "for-each-ref") == before
    repo.close()


def test_the_name_written_as_text_stays_text(repo: InstructionRepo) -> None:
    # new words that write the text's name as a field would (`{date_today}` alone) are text
    # all the same: a brace alone is text, so nothing changes
    patterns = repo.analyze(AGENT)
    text = ("You are a Data Science and Data Analytics Multi Agent System.\n"
            "Todays date: {date_today}\nCite the state's {date_today}.")
    with pytest.raises(NothingToPropose, match="changes nothing"):
        propose(repo, AGENT, Scripted(SetText(section="global-instruction", text=text,
                                              reason="users asked")), patterns=patterns)
    repo.close()
