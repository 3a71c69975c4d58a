"""The heuristic proposer edits the sample agents as a careful person would: no duplicate, no
contradiction, support before a rule, rejections remembered, titles that tell the truth."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitimprove.cli import cli
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.proposals.build import NothingToPropose, evidence_states, propose
from gitimprove.proposals.operations import AddRule, UpdateRule
from gitimprove.proposals.proposers.base import ProposerError
from gitimprove.proposals.proposers.heuristic import HeuristicProposer, of_the_user
from gitimprove.proposals.rules import contradiction, duplicates, file_statements
from gitimprove.review.actions import reject
from tests.conftest import git

from .helpers import AGENT, make_pattern, sources_pattern

SAMPLE_FEEDBACK = Path(__file__).resolve().parents[2] / "sample_repo" / "feedback.jsonl"
AGENTS = ["product-writer", "research-assistant", "support-agent"]


def _import(repo_path: Path) -> None:
    repo = InstructionRepo(repo_path)
    for line in SAMPLE_FEEDBACK.read_text().splitlines():
        repo.record_feedback(**json.loads(line))
    repo.close()


def _cli(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--repo", str(repo), *args])
    return result.exit_code, result.output


def _propose_json(repo: Path, agent: str) -> dict[str, Any]:
    code, out = _cli(repo, "propose", agent, "--proposer", "heuristic", "--json")
    assert code == 0, out
    entry: dict[str, Any] = json.loads(out)["proposals"][0]
    return entry


@pytest.mark.parametrize("agent", AGENTS)
def test_no_added_rule_repeats_or_contradicts_the_file(sample_repo: Path, agent: str) -> None:
    _import(sample_repo)
    repo = InstructionRepo(sample_repo)
    file = repo.agent_at(agent, repo.main_tip()).file
    plan = propose(repo, agent, HeuristicProposer(), dry_run=True)
    ops = plan.result.draft.operations
    assert ops
    for op in ops:
        if isinstance(op, AddRule):
            for st in file_statements(file):
                assert not duplicates(op.text, st.text), (op.text, st.text)
                assert contradiction(op.text, st.text) is None, (op.text, st.text)
    # Every rule is one of the sample's themes, never boilerplate around a label.
    assert "Avoid what users keep reporting" not in plan.message


def test_product_writer_tightens_extends_and_leaves_out_the_contradiction(sample_repo: Path) -> None:
    _import(sample_repo)
    repo = InstructionRepo(sample_repo)
    plan = propose(repo, AGENT, HeuristicProposer(), dry_run=True)
    ops = plan.result.draft.operations
    updates = {(op.section, op.index): op.text for op in ops if isinstance(op, UpdateRule)}
    # "too long" complaints under "Keep it under 120 words": the rule is tightened, not repeated.
    assert updates[("style", 2)].startswith("Keep it under 120 words; treat it as a hard limit")
    # A second "End with ..." would contradict the first: the first is extended.
    assert updates[("structure", 1)] == ("End with a sentence that sums up who the product is for, "
                                         "then a call to action that tells the reader what to do next.")
    added = [op.text for op in ops if isinstance(op, AddRule)]
    assert "Make it shorter and more concise." not in added
    assert not any("bullet" in text.lower() for text in [*added, *updates.values()])
    # One user's wording is quoted as evidence, never copied as a rule.
    assert "Put the three key features in bullet points under the first paragraph." not in added
    # The review says what was left out and why.
    left = " ".join(plan.message.split("Left out, and why:")[1].split())  # wrapped at 72
    assert re.search(r"'use bullet points and short lists' \(\d+ items\)", left), left
    assert "would contradict the text of 'structure'" in left
    # The title names what changes; the rationale says what made it and ties each operation.
    summary = plan.message.splitlines()[0]
    assert summary == ("product-writer: Tighten the length rule; add rules on customer benefits "
                       "and clichés; extend the ending with a call to action")
    assert plan.result.draft.rationale.startswith("Proposed offline by the heuristic proposer")
    for n in range(1, len(ops) + 1):
        assert f"({n}) " in plan.result.draft.rationale
    assert "Address " not in summary


@pytest.mark.parametrize("agent", AGENTS)
def test_the_title_counts_what_the_proposal_holds(sample_repo: Path, agent: str) -> None:
    _import(sample_repo)
    repo = InstructionRepo(sample_repo)
    plan = propose(repo, agent, HeuristicProposer(), dry_run=True)
    ops = plan.result.draft.operations
    summary = plan.result.draft.summary.lower()
    adds = sum(isinstance(op, AddRule) for op in ops)
    assert ("add a rule on" in summary) == (adds == 1)
    assert ("add rules on" in summary) == (adds > 1)
    assert ("tighten" in summary) == any(isinstance(op, UpdateRule) and "hard limit" in op.text
                                         for op in ops)
    assert not any(ch.isdigit() for ch in summary)


def test_product_patterns_are_left_out_and_named(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    limits = make_pattern("hit the usage limit", key="terms:limit", triage="product",
                          topic="usage limits", ids=["fb-1", "fb-2", "fb-3", "fb-4"])
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[limits, sources_pattern()],
                   dry_run=True)
    assert plan.patterns == [plan.patterns[0]] and plan.patterns[0].key == "concept:citations"
    assert not set(limits.feedback_ids) & set(plan.evidence)
    assert ("- 'hit the usage limit' (4 items): about the usage limits, not the answers; no "
            "instruction fixes it") in " ".join(plan.message.split())
    # the rationale does not count what it left out: the list holds the product patterns too
    vague = make_pattern("meh", key="terms:meh", suggestion=None, quotes=["meh", "meh."])
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[limits, vague, sources_pattern()],
                   dry_run=True)
    assert "What was left out, and why, is listed below." in " ".join(plan.message.split())
    assert "Left out: 1 " not in plan.message and plan.message.count("\n- '") == 2
    with pytest.raises(NothingToPropose, match=r"1 pattern.s. no instruction can fix left out"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[limits])


def _record(repo: InstructionRepo, n: int, users: list[str], prefix: str = "s",
            **fields: Any) -> list[str]:
    ids = []
    for i in range(n):
        fid = f"fb-{prefix}{i:03d}"
        repo.record_feedback(id=fid, agent=AGENT, run_id=f"run-{prefix}{i:03d}", user_id=users[i % len(users)],
                             **fields)
        ids.append(fid)
    return ids


def test_one_loud_user_is_not_enough_for_a_rule(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    ids = _record(repo, 6, ["u-loud"], rating="negative", reason="no sources again")
    with pytest.raises(NothingToPropose, match="1 users in 6 runs; a rule needs at least 3 distinct "
                                               "users and 3 runs"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern(ids=ids)])


@pytest.mark.parametrize(("said", "rule"), [
    ("Use my bookings first.", "Use the user's bookings first."),
    ("Tell me the price before the details.", "Tell the user the price before the details."),
    ("My name is on the booking, use it.", "The user's name is on the booking, use it."),
    ("I want the price first.", "I want the price first."),   # its verb would change too
    ("Name the source of every figure.", "Name the source of every figure."),
])
def test_users_words_speak_of_the_user_in_a_rule(said: str, rule: str) -> None:
    # in the agent's instructions "my bookings" would be the agent's own
    assert of_the_user(said) == rule


def test_users_words_become_the_rule_only_when_enough_of_them_share_them(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    ids = _record(repo, 4, ["u-1", "u-2", "u-3", "u-4"],
                  correction="Name the source and year after every figure.")
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern(ids=ids)], dry_run=True)
    assert [getattr(op, "text", None) for op in plan.result.draft.operations] == [
        "Name the source and year after every figure."]
    assert "From the wording 4 users share." in plan.result.draft.operations[0].reason
    # the title names what the users' rule says, not the theme it was filed under
    assert plan.result.draft.summary == "Add a rule on 'name the source and year…'"

    # Four users, but no wording is shared by three of them: the theme's remedy, not their words.
    split = [*_record(repo, 2, ["u-1", "u-2"], prefix="t", correction="Link every study you mention, pls."),
             *_record(repo, 2, ["u-3", "u-4"], prefix="v", correction="Say where the numbers come from.")]
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[sources_pattern(ids=split)], dry_run=True)
    assert [getattr(op, "text", None) for op in plan.result.draft.operations] == [
        "Cite a source (publisher, year and link) for each key claim."]


def test_a_rejected_operation_never_comes_back(sample_repo: Path) -> None:
    _import(sample_repo)
    first = _propose_json(sample_repo, AGENT)
    texts = [op["text"] for op in first["operations"]]
    code, out = _cli(sample_repo, "reject", first["id"], "--reason", "too vague")
    assert code == 0, out
    seen = []
    for _ in range(3):
        entry = _propose_json(sample_repo, AGENT)
        seen += [op["text"] for op in entry.get("operations", [])]
        if entry["status"] == "nothing":
            assert "rejected the same rule before" in entry["reason"]
            assert "too vague" in entry["reason"]
            break
    assert not set(seen) & set(texts)
    assert not any(duplicates(new, old) for new in seen for old in texts)
    # propose says what it skipped because it was rejected before
    repo = InstructionRepo(sample_repo)
    assert repo.git.for_each_ref(f"refs/gitimprove/rejected/{AGENT}/")


def test_propose_says_what_it_skipped_because_it_was_rejected(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    pattern = sources_pattern()
    plan = propose(repo, AGENT, HeuristicProposer(), patterns=[pattern])
    reject(repo, plan.id, reason="our legal team must word citations")
    states = evidence_states(repo)
    assert states == {}
    other = make_pattern("too much jargon", key="concept:jargon", ids=["fb-7", "fb-8", "fb-9"])
    again = propose(repo, AGENT, HeuristicProposer(), patterns=[pattern, other])
    assert [getattr(op, "text", "") for op in again.result.draft.operations] == [
        "Use plain language: explain each technical term or acronym in a few words the first time "
        "it appears."]
    assert again.notes == [
        f"skipped 'no sources or citations' (3 items): 'Cite a source (publisher, year and link) "
        f"for each key claim.' was rejected before in {plan.id} (\"our legal team must word "
        "citations\")"]
    assert "was rejected before in" in again.message.split("Left out, and why:")[1]


def test_the_accuracy_remedy_covers_wrong_sums_as_well_as_invented_facts(sample_repo: Path) -> None:
    # critiques of a tutor's answers: what is wrong is a calculation, not a fact from the input
    repo = InstructionRepo(sample_repo)
    ids = []
    for i, reason in enumerate(["The calculation 2*5+3*4 = 36 is wrong, it is 22.",
                                "The final answer is incorrect: 68-4-4 is 60, not 56.",
                                "Wrong arithmetic in the last step, 15 - 1 - 4 - 2 = 8."]):
        repo.record_feedback(id=f"fb-sum{i}", agent="research-assistant", run_id=f"run-sum{i}",
                             user_id=f"u-{i}", rating="negative", reason=reason)
        ids.append(f"fb-sum{i}")
    pattern = make_pattern("factual errors or invented details", ids=ids, key="concept:accuracy",
                           section=None, suggestion=None, quotes=["The calculation is wrong"])
    plan = propose(repo, "research-assistant", HeuristicProposer(), patterns=[pattern], dry_run=True)
    [op] = plan.result.draft.operations
    assert isinstance(op, AddRule) and "calculation" in op.text and "fact" in op.text


def test_a_pattern_named_by_its_words_takes_the_remedy_of_its_theme(sample_repo: Path) -> None:
    # "question, wrong answers": named by its words, since fewer than half its reviews match
    # the accuracy theme first; most of those that match any theme match that one
    repo = InstructionRepo(sample_repo)
    ids = _record(repo, 3, ["u-1", "u-2", "u-3"], rating="negative",
                  reason="it gives the wrong answer to my question")
    words = {"key": "terms:answer+question+wrong", "ids": ids, "section": None, "suggestion": None}
    plan = propose(repo, "research-assistant", HeuristicProposer(), dry_run=True,
                   patterns=[make_pattern("question, wrong answers", theme="accuracy", **words)])
    [op] = plan.result.draft.operations
    assert isinstance(op, AddRule) and op.text.startswith("Check every fact, figure and calculation")
    with pytest.raises(NothingToPropose, match="no stock remedy"):
        propose(repo, "research-assistant", HeuristicProposer(), dry_run=True,
                patterns=[make_pattern("question, wrong answers", **words)])


def test_a_rule_from_a_theme_some_items_speak_of_rests_on_those_items(sample_repo: Path) -> None:
    # A chatbot's reviews: a pattern of 8, 3 of whose reviews speak of its theme; the rule from
    # the theme cited all 8 (a game that will not start, "this app should be banned")
    repo = InstructionRepo(sample_repo)
    said = _record(repo, 4, ["u-1", "u-2", "u-3", "u-4"], rating="negative",
                   reason="it gives the wrong answer to my question")
    rest = _record(repo, 4, ["u-5", "u-6", "u-7", "u-8"], prefix="r", rating="negative",
                   reason="the game kicks me off every time I play")
    words = {"key": "terms:answer+question+wrong", "ids": said + rest, "section": None,
             "suggestion": None, "theme": "accuracy",
             "quotes": ["the game kicks me off every time I play",
                        "it gives the wrong answer to my question"]}
    pattern = make_pattern("question, wrong answers", **words).model_copy(
        update={"theme_ids": said})
    plan = propose(repo, AGENT, HeuristicProposer(), dry_run=True,
                   patterns=[pattern])
    [op] = plan.result.draft.operations
    assert isinstance(op, AddRule) and op.text.startswith("Check every fact, figure and calculation")
    assert op.evidence == [pattern.id, *said]
    assert op.reason.startswith("Adds a rule for 'question, wrong answers': 4 of its 8 items, "
                                "read as 'factual errors or invented details', from 4 users in "
                                '4 runs, e.g. "it gives the wrong answer to my question". ')
    # two of its users speak of the theme: not enough for a rule, whoever else is in it
    fewer = pattern.model_copy(update={"theme_ids": said[:2]})
    with pytest.raises(NothingToPropose, match=r"2 of its items read as its theme \('factual "
                       r"errors or invented details'\), from 2 users in 2 runs; a rule from the "
                       "theme needs at least 3"):
        propose(repo, AGENT, HeuristicProposer(), dry_run=True, patterns=[fewer])


def test_a_pattern_about_several_themes_gets_a_rule_for_each(sample_repo: Path) -> None:
    # A chatbot's reviews: one pattern of 11, 4 saying it answers from a script, 4 that it
    # does not understand them, 3 a game that will not start; no theme was read in it and the
    # offline proposer proposed nothing
    repo = InstructionRepo(sample_repo)
    canned = _record(repo, 4, ["u-1", "u-2", "u-3", "u-4"], rating="negative",
                     reason="canned replies whatever I write")
    lost = _record(repo, 4, ["u-5", "u-6", "u-7", "u-8"], prefix="m", rating="negative",
                   reason="it does not understand what I say")
    rest = _record(repo, 3, ["u-9", "u-10", "u-11"], prefix="r", rating="negative",
                   reason="the game kicks me off every time I play")
    pattern = make_pattern("feel, help, talk", key="terms:feel+help+talk",
                           ids=canned + lost + rest, section=None, suggestion=None,
                           quotes=["the game kicks me off every time I play"])
    plan = propose(repo, AGENT, HeuristicProposer(), dry_run=True, patterns=[pattern])
    ops = plan.result.draft.operations
    assert [op.text.split(",")[0] for op in ops if isinstance(op, AddRule)] == [
        "Reply to what the user just said", "Answer the question asked in the first sentence"]
    assert [op.evidence for op in ops] == [[pattern.id, *canned], [pattern.id, *lost]]
    assert ops[0].reason.startswith(
        "Adds a rule for 'feel, help, talk': 4 of its 11 items, read as 'canned, generic "
        'replies\', from 4 users in 4 runs, e.g. "canned replies whatever I write". ')
    # a theme one user speaks of is left out, saying so; the others stand
    once = _record(repo, 3, ["u-12"] * 3, prefix="o", rating="negative",
                   reason="it does not understand what I say")
    few = make_pattern("feel, help, talk", key="terms:feel+help+talk",
                       ids=canned + once + rest, section=None, suggestion=None)
    plan = propose(repo, AGENT, HeuristicProposer(), dry_run=True, patterns=[few])
    assert len(plan.result.draft.operations) == 1
    assert any("3 of its items read as its theme ('off-topic or not answering the question'), "
               "from 1 user in 3 runs" in left.why for left in plan.result.left_out), plan.result.left_out


def test_the_themes_some_of_a_pattern_s_items_speak_of() -> None:
    from datetime import UTC, datetime

    from gitimprove.feedback.models import make_record
    from gitimprove.patterns.analysis import Themer
    from gitimprove.proposals.support import themes_of

    texts = (["canned replies whatever I write"] * 4 + ["it does not understand what I say"] * 3
             + ["the app crashes with an error"] * 3 + ["the penguin is cute"] * 10)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    records = {f"f{n}": make_record({"id": f"f{n}", "agent": "a", "rating": "down",
                                     "reason": t, "created_at": at})
               for n, t in enumerate(texts)}
    pattern = make_pattern("feel, help, talk", key="terms:feel+help+talk", ids=list(records),
                           section=None, suggestion=None)
    assert themes_of(pattern, records, Themer()) == {"canned": ["f0", "f1", "f2", "f3"],
                                                    "relevance": ["f4", "f5", "f6"]}
    # a pattern about one theme has it already; praise and the product have none
    for update in ({"theme": "canned"}, {"key": "concept:canned"}, {"triage": "product"},
                   {"kind": "successful_pattern"}):
        assert themes_of(pattern.model_copy(update=update), records, Themer()) == {}
    # a theme must be said by a tenth of the items: 3 of 40 is not enough
    more = {**records, **{f"g{n}": make_record({"id": f"g{n}", "agent": "a", "rating": "down",
                                                "reason": "the penguin is cute",
                                                "created_at": at}) for n in range(20)}}
    bigger = pattern.model_copy(update={"feedback_ids": list(more), "count": len(more)})
    assert list(themes_of(bigger, more, Themer())) == ["canned"]


def test_a_length_complaint_under_a_rule_asking_for_brevity_adds_no_rule(sample_repo: Path) -> None:
    # A Copilot-style file says "Keep responses concise ..." with no number: a stock "cut filler"
    # rule would say it again in other words (the brief's "be concise" under "keep answers brief").
    from ..conftest import git

    path = sample_repo / "agents/product-writer.yaml"
    path.write_text(path.read_text().replace("Keep it under 120 words.",
                                             "Keep responses concise and relevant to the request."))
    git(sample_repo, "commit", "-qam", "length as a plain request for brevity")
    repo = InstructionRepo(sample_repo)
    ids = _record(repo, 4, ["u-1", "u-2", "u-3", "u-4"], rating="negative",
                  reason="way too long, it rambles")
    with pytest.raises(NothingToPropose, match=r"already said by rule 3 of 'style' \('Keep responses "
                                               r"concise and relevant to the request.'\); users still "
                                               r"raise it"):
        propose(repo, AGENT, HeuristicProposer(), patterns=[make_pattern(key="concept:length", ids=ids)])
    # with a limit several users name, the rule takes their number instead
    more = _record(repo, 3, ["u-5", "u-6", "u-7"], prefix="n", rating="negative",
                   reason="too long, keep it under 60 words")
    plan = propose(repo, AGENT, HeuristicProposer(), dry_run=True,
                   patterns=[make_pattern(key="concept:length", ids=[*ids, *more])])
    assert [op.text for op in plan.result.draft.operations if isinstance(op, UpdateRule)] == [
        "Keep responses concise and relevant to the request: at most 60 words."]


@pytest.mark.parametrize(("concept", "label", "words"), [
    ("truncated", "cut off or unfinished answers", "Finish every answer"),
    ("memory", "forgets what the user said", "earlier in the conversation"),
    ("refusal", "refuses or lectures", "without moral commentary"),
    ("instructions", "ignores instructions", "in these instructions and in the user's"),
    ("outdated", "outdated knowledge", "your knowledge may be out of date"),
    ("repetition", "repetitive answers", "Say each point once"),
    ("reasoning", "flawed reasoning or logic", "each step follows from the ones before"),
    ("grounding", "claims the source does not support", "leave out any claim, name, number"),
    ("canned", "canned, generic replies", "naming its specifics, in your own words"),
])
def test_common_complaints_about_an_assistant_have_a_remedy(sample_repo: Path, concept: str,
                                                           label: str, words: str) -> None:
    # the complaints app reviews make of assistants most: each named theme gets its rule
    repo = InstructionRepo(sample_repo)
    ids = []
    for i in range(3):
        repo.record_feedback(id=f"fb-{concept}{i}", agent="research-assistant",
                             run_id=f"run-{concept}{i}", user_id=f"u-{i}", rating="negative",
                             reason=f"{label}, again ({i})")
        ids.append(f"fb-{concept}{i}")
    pattern = make_pattern(label, ids=ids, key=f"concept:{concept}", section=None,
                           suggestion=None, quotes=[label])
    plan = propose(repo, "research-assistant", HeuristicProposer(), patterns=[pattern], dry_run=True)
    [op] = plan.result.draft.operations
    assert isinstance(op, AddRule) and words in op.text


def test_a_routing_rule_on_the_input_s_length_is_not_the_length_rule_to_tighten(sample_repo: Path) -> None:
    """"If the request is long (more than 100 words), ..." is about the input: "too long"
    complaints do not make it a hard limit, nor take their number into its threshold."""
    path = sample_repo / "agents/product-writer.yaml"
    routing = "If the request is long (more than 100 words), list its questions first."
    path.write_text(path.read_text().replace("Keep it under 120 words.", routing))
    git(sample_repo, "commit", "-q", "-am", "a routing rule instead of the length limit")
    _import(sample_repo)
    repo = InstructionRepo(sample_repo)
    plan = propose(repo, AGENT, HeuristicProposer(), dry_run=True)
    ops = plan.result.draft.operations
    assert not [op for op in ops if isinstance(op, UpdateRule) and op.section == "style" and op.index == 2]
    # the complaints get a length rule of their own
    assert any(isinstance(op, AddRule) and "too long" in op.reason for op in ops)


def test_a_limit_on_a_field_is_not_the_length_rule_to_tighten(sample_repo: Path) -> None:
    """"description: 1-1024 characters" (a skill's front matter, as an AGENTS.md documents it)
    limits a field, not the answer: "too long" complaints get a length rule of their own."""
    path = sample_repo / "agents/product-writer.yaml"
    field = "description: 1-1024 characters, what the skill does."
    path.write_text(path.read_text().replace("Keep it under 120 words.", f"'{field}'"))
    git(sample_repo, "commit", "-q", "-am", "a field's limit instead of the length limit")
    _import(sample_repo)
    plan = propose(InstructionRepo(sample_repo), AGENT, HeuristicProposer(), dry_run=True)
    ops = plan.result.draft.operations
    assert not [op for op in ops if isinstance(op, UpdateRule) and op.section == "style" and op.index == 2]
    assert not [lo for lo in plan.result.left_out if field in lo.why]
    assert any(isinstance(op, AddRule) and "too long" in op.reason for op in ops)


def _adopted_with(tmp_path: Path, agent: str, text: str,
                  reasons: list[str]) -> tuple[Path, InstructionRepo]:
    """A repository with ``agents/<agent>.md`` committed and adopted by ``init``, and one
    thumbs-down per reason, each from its own user and run."""
    repo_path = tmp_path / agent
    (repo_path / "agents").mkdir(parents=True)
    (repo_path / "agents" / f"{agent}.md").write_text(text)
    git(repo_path, "init", "-q", "-b", "main")
    git(repo_path, "add", "-A")
    git(repo_path, "-c", "user.name=Sam", "-c", "user.email=sam@example.com", "commit", "-qm", "x")
    adopted = CliRunner().invoke(cli, ["init", str(repo_path)])
    assert adopted.exit_code == 0 and f"adopted agents/{agent}.md" in adopted.output, adopted.output
    repo = InstructionRepo(repo_path)
    for n, reason in enumerate(reasons):
        repo.record_feedback(agent=agent, rating="down", reason=reason, run_id=f"r{n}",
                             user_id=f"u{n}")
    return repo_path, repo


ASSISTANT_MD = """\
You are a helpful assistant.

Instructions:
- Engage warmly yet honestly with the user.
- Be direct; avoid ungrounded or sycophantic flattery.
- Ask a general, single-sentence follow-up question when natural.
- Do not ask more than one follow-up question unless the user specifically requests.
"""  # the shape of a public chat assistant's instructions (a Markdown list of rules)

COMPLAINTS = [
    "it always ends with a question, so annoying", "stop asking me follow up questions",
    "why does every answer end with 'would you like me to...'",
    "too many follow-up questions at the end", "every reply ends with another question for me",
    "so much flattery, 'great question!' every time", "the sycophancy is unbearable",
    "stop telling me my question is great, it is sycophantic", "too much glazing, just be direct",
    "'What a fantastic idea!' no it isn't, stop flattering me",
]


def test_a_theme_the_file_has_a_rule_on_gets_no_second_rule(tmp_path: Path) -> None:
    # A system prompt written as a paragraph and a list, no heading: one section, adopted.
    # Complaints of flattery under "Be direct; avoid ... sycophantic flattery", and of
    # follow-up questions under a rule that asks for them: a second rule would repeat the
    # first or contradict it. Both themes are named (flattery was a no-reason complaint:
    # "great question!" read as praise) and left to a person, with the rule they are about.
    repo_path, repo = _adopted_with(tmp_path, "assistant", ASSISTANT_MD, COMPLAINTS * 2)
    with pytest.raises(NothingToPropose) as caught:
        propose(repo, "assistant", HeuristicProposer(), dry_run=True)
    why = {lo.what.split("' (")[0].strip("'"): lo.why for lo in caught.value.left_out}
    assert why["flattery and sycophancy"].startswith("rule 2 of 'intro' is on this theme already")
    assert why["ends every answer with a question"].startswith(
        "rule 3 of 'intro' is on this theme already ('Ask a general")
    said = _cli(repo_path, "propose", "assistant")[1]   # each listed, not one as an example
    assert said.startswith("nothing to propose for assistant: 2 pattern(s) left out. Each, and why:")
    assert said.count("is on this theme already") == 2, said
    patterns = repo.analyze("assistant")
    assert {p.label for p in patterns} == {"ends every answer with a question",
                                           "flattery and sycophancy"}
    repo.close()


PLAIN_MD = """\
# Role

You help people choose a broadband plan.

- Prefer plain language whenever possible.
- Quote monthly prices with tax included.

# Style

- Keep answers under 120 words.
- Use the customer's name once.

# Code conventions

- Use plain language in commit messages.
"""

JARGON = [
    "way too much jargon, what is a CGNAT", "too technical, I don't know what latency means",
    "full of acronyms nobody explained", "the jargon made it impossible to follow",
    "it said FTTP and ONT without explaining them", "too much technical jargon for me",
]


def test_a_rule_on_the_theme_in_another_section_stops_a_second_one(tmp_path: Path) -> None:
    # Jargon complaints, a file whose style rules say nothing of it and whose role section
    # says "Prefer plain language whenever possible.": the stock "Use plain language: explain
    # each technical term ..." would go under Style and say it again.
    repo_path, repo = _adopted_with(tmp_path, "plans", PLAIN_MD, JARGON * 2)
    with pytest.raises(NothingToPropose) as caught:
        propose(repo, "plans", HeuristicProposer(), dry_run=True)
    why = {lo.what.split("' (")[0].strip("'"): lo.why for lo in caught.value.left_out}
    assert why["too much jargon / too technical"].startswith(
        "rule 1 of 'role' is on this theme already ('Prefer plain"), why
    # The same words under a section about the code are no rule about the answers.
    (repo_path / "agents" / "plans.md").write_text(PLAIN_MD.replace(
        "- Prefer plain language whenever possible.\n", ""))
    git(repo_path, "-c", "user.name=Sam", "-c", "user.email=sam@example.com", "commit", "-qam", "y")
    plan = propose(repo, "plans", HeuristicProposer(), dry_run=True)
    [op] = plan.result.draft.operations
    assert isinstance(op, AddRule) and op.section == "style" and op.text.startswith("Use plain language")
    repo.close()


def test_support_without_user_ids_says_so() -> None:
    # "41 items from 41 users in 41 runs" was printed for records that name no user: each
    # run counts as one user, and the reviewer is told that, not shown users it does not have
    from gitimprove.feedback.models import make_record
    from gitimprove.proposals.support import support_of

    pattern = make_pattern("too long", ids=[f"r{n}" for n in range(4)])
    anonymous = [make_record({"id": f"r{n}", "agent": AGENT, "rating": "down", "reason": "long",
                              "run_id": f"run-{n}"}) for n in range(4)]
    named = [make_record({"id": f"r{n}", "agent": AGENT, "rating": "down", "reason": "long",
                          "run_id": f"run-{n}", "user_id": f"u{n % 2}"}) for n in range(4)]
    # (a proposal says once that each run counts as one user)
    assert support_of([pattern], anonymous)[pattern.id].who() == "in 4 runs"
    assert support_of([pattern], named)[pattern.id].who() == "from 2 users in 4 runs"


def test_a_proposal_from_feedback_without_user_ids_says_so_once(tmp_path: Path) -> None:
    # "(no user ids: each run counted as one user)" followed every count of the rationale
    # and of every operation's reason
    _, repo = _adopted_with(tmp_path, "plans", PLAIN_MD.replace(
        "- Prefer plain language whenever possible.\n", ""), [])
    for n, reason in enumerate(JARGON * 2):
        repo.record_feedback(agent="plans", rating="down", reason=reason, run_id=f"r{n}")
    plan = propose(repo, "plans", HeuristicProposer(), dry_run=True)
    rationale = plan.result.draft.rationale
    assert rationale.count("No record names its user, so each run counts as one user.") == 1
    assert "no user ids" not in plan.message
    assert re.search(r"\b(\d+) items in \1 runs[:,]", plan.message), plan.message
    repo.close()


def test_a_file_cut_short_in_a_code_fence_is_named_as_the_cause(tmp_path: Path) -> None:
    # An AGENTS.md whose last lines open a ``` fence and never close it (a file cut short):
    # whatever a proposal adds after it would read as code, and the validator refuses the
    # draft. The refusal's hint names the section and says to close the fence, not "a bug".
    repo_path = tmp_path / "research"
    repo_path.mkdir()
    (repo_path / "AGENTS.md").write_text(
        "# Research agent\n\nAnswer from the documents in `_in/` only.\n\n"
        "## Citations\n\nCite each claim in this format:\n\n```text\n[Source: <file>, <anchor>]\n")
    git(repo_path, "init", "-q", "-b", "main")
    git(repo_path, "add", "-A")
    git(repo_path, "-c", "user.name=Sam", "-c", "user.email=sam@example.com", "commit", "-qm", "x")
    assert CliRunner().invoke(cli, ["init", str(repo_path)]).exit_code == 0
    repo = InstructionRepo(repo_path)
    agent = repo.agent_names()[0]
    for n, text in enumerate(["no sources at all", "where does this figure come from?",
                              "no citations, which file is this from?", "cite your sources"] * 2):
        repo.record_feedback(agent=agent, rating="down", reason=text, run_id=f"r{n}",
                             user_id=f"u{n}")
    with pytest.raises(ProposerError) as caught:
        propose(repo, agent, HeuristicProposer(), dry_run=True)
    assert "does not pass the validator" in caught.value.message
    assert caught.value.hint == (f"section 'citations' of {agent} has a code fence '```' left "
                                 "open: what follows it reads as part of it; close it in the "
                                 "file, commit, then propose again")
    repo.close()


def test_patterns_left_out_for_one_reason_are_one_line() -> None:
    # twenty product patterns of 9,208 app reviews made twenty lines of "about the pricing,
    # not the answers": one reason, said once, with the patterns it covers
    from gitimprove.proposals.proposers.base import LeftOut, left_out_lines

    pricing = "about the pricing, not the answers; no instruction fixes it"
    left = [LeftOut(f"'p{n}' ({100 - n} items)", pricing) for n in range(6)]
    left.insert(2, LeftOut("'login' (40 items)", "about the login, not the answers"))
    assert left_out_lines(left, shown=4) == [
        f"{pricing} (6 patterns): 'p0' (100 items), 'p1' (99 items), 'p2' (98 items), "
        "'p3' (97 items) and 2 more",
        "'login' (40 items): about the login, not the answers"]
    # the review (kept in git) names every one
    assert left_out_lines(left)[0].endswith("'p4' (96 items), 'p5' (95 items)")


def test_a_theme_s_quotes_are_quoted_as_a_pattern_s_are() -> None:
    # a theme's items are quoted from the records themselves: an escape sequence or 9 KB
    # there never reaches the commit message as it was written
    from datetime import UTC, datetime

    from gitimprove.feedback.models import make_record
    from gitimprove.proposals.support import support_of

    at = datetime(2026, 1, 1, tzinfo=UTC)
    said = ["canned replies \x1b[31mwhatever\x1b[0m I write", "canned replies " + "x" * 9_000,
            "canned replies every time"]
    records = [make_record({"id": f"f{n}", "agent": "a", "run_id": f"r{n}", "rating": "down",
                            "reason": t, "created_at": at}) for n, t in enumerate(said)]
    pattern = make_pattern("feel, help, talk", key="terms:feel+help+talk",
                           ids=[r.id for r in records], section=None, suggestion=None)
    [canned] = support_of([pattern], records)[pattern.id].themes.values()
    assert canned.ids == ("f0", "f1", "f2") and len(canned.quotes) == 3
    assert all("\x1b" not in q and len(q) < 1000 for q in canned.quotes), canned.quotes


def test_a_theme_is_counted_in_runs_not_records() -> None:
    """A run redone three times is one item of three records: three records of one run
    saying "canned" are one item, not the three a theme needs."""
    from datetime import UTC, datetime

    from gitimprove.feedback.models import make_record
    from gitimprove.patterns.analysis import Themer
    from gitimprove.proposals.support import themes_of

    at = datetime(2026, 1, 1, tzinfo=UTC)
    said = [("r1", "canned replies whatever I write")] * 3 + [("r2", "canned replies again")]
    said += [(f"p{n}", "the penguin is cute") for n in range(6)]
    records = {f"f{n}": make_record({"id": f"f{n}", "agent": "a", "run_id": run,
                                     "rating": "down", "reason": text, "created_at": at})
               for n, (run, text) in enumerate(said)}
    pattern = make_pattern("feel, help, talk", key="terms:feel+help+talk", ids=list(records),
                           section=None, suggestion=None)
    assert themes_of(pattern, records, Themer()) == {}
    third = make_record({"id": "f10", "agent": "a", "run_id": "r3", "rating": "down",
                         "reason": "such canned replies", "created_at": at})
    records["f10"] = third
    pattern = pattern.model_copy(update={"feedback_ids": list(records)})
    assert themes_of(pattern, records, Themer()) == {"canned": ["f0", "f1", "f2", "f3", "f10"]}


TRANSLATOR_MD = """\
# Role

You translate customer-support replies written in English into Russian.

## Rules

- Keep the meaning of every sentence.
- Keep the tone polite and warm.
"""

TRANSLATION_CRITIQUES = [
    "Inappropriate terminology: eReader is transliterated instead of being translated",
    "Inappropriate terminology: the word rider is transliterated instead of translated",
    "Inappropriate terminology: warehouse is transliterated, not translated",
    "One input sentence is split into two output sentences",
    "One input sentence is split into three output sentences",
    "The input sentence is split into two sentences in the translation",
    "Translation is completely wrong and unrelated to the source sentence.",
    "The translation is unrelated to the source sentence at all",
    "This translation has nothing to do with the source text",
]


def test_a_translator_s_critics_get_no_rule_on_jargon_or_lists(tmp_path: Path) -> None:
    """Critiques of a translator read as the words of another agent's users: a wrong term
    ("inappropriate terminology") as jargon, a sentence split in two ("split * into") as a
    call for lists, a translation unrelated to its source as an answer off the question. Each
    of those made a stock rule; only keeping to the source fits what they say."""
    _, repo = _adopted_with(tmp_path, "translator", TRANSLATOR_MD, TRANSLATION_CRITIQUES * 2)
    plan = propose(repo, "translator", HeuristicProposer(), dry_run=True)
    rules = [op.text for op in plan.result.draft.operations if isinstance(op, AddRule)]
    assert rules == ["State only what the material you were given says; leave out any claim, "
                     "name, number or date it does not support."], rules
    repo.close()


def test_a_theme_is_read_at_proposal_time_as_analysis_reads_it() -> None:
    """What an agent's instructions speak of is its answers' subject, never the product, at
    proposal time as in analysis: a plans agent's complaints that speak of fees and prices
    count for their theme (without the agent's file, "monthly fee" read as pricing and
    dropped them)."""
    from datetime import UTC, datetime

    from gitimprove.feedback.models import make_record
    from gitimprove.instructions.agentfile import AgentFile
    from gitimprove.patterns.analysis import Themer, themer_for
    from gitimprove.proposals.support import themes_of

    at = datetime(2026, 1, 1, tzinfo=UTC)
    texts = (["the monthly fee and the subscription price are too long to read"] * 3
             + ["the penguin is cute"] * 6)
    records = {f"f{n}": make_record({"id": f"f{n}", "agent": "a", "run_id": f"r{n}",
                                     "rating": "down", "reason": t, "created_at": at})
               for n, t in enumerate(texts)}
    pattern = make_pattern("fee, penguin", key="terms:fee+penguin", ids=list(records),
                           section=None, suggestion=None)
    plans = AgentFile.model_validate({"name": "plans", "sections": [
        {"id": "role", "title": "Role", "text": "You compare broadband plans and their "
         "monthly prices, fees and subscriptions for customers."}]})
    assert themes_of(pattern, records, Themer()) == {}
    assert themes_of(pattern, records, themer_for(plans)) == {"length": ["f0", "f1", "f2"]}
