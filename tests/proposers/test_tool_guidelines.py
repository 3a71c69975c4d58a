"""Tool-usage guidelines: both proposers add or tighten a guideline from a decision pattern."""

from __future__ import annotations

from typing import Any

import pytest

from gitimprove.instructions.agentfile import parse_agent, tool_guidelines
from gitimprove.instructions.roundtrip import AgentDocument
from gitimprove.patterns.model import Pattern, pattern_id
from gitimprove.proposals.operations import AddRule, AddSection, Draft, UpdateRule, apply
from gitimprove.proposals.proposers.base import ProposalRequest
from gitimprove.proposals.proposers.heuristic import HeuristicProposer
from gitimprove.proposals.support import Support, Wording
from gitimprove.validate import protected_ids
from tests.conftest import SAMPLE
from tests.fakes.anthropic_server import FakeAnthropicServer, tool_use

from .conftest import POLICY, proposer_for, validator

AGENT = "trip-planner"
PATH = f"agents/{AGENT}.yaml"
TEXT = (SAMPLE / PATH).read_text()
WITHOUT_TOOLS = TEXT.split("  # Tool-usage guidelines")[0] + TEXT[TEXT.index("  - id: safety"):]


def tool_pattern(tool: str, kind: str, suggestion: str, count: int = 20) -> Pattern:
    key = f"tool:{tool}:{kind}"
    ids = [f"tp-{kind[:3]}-{i:04d}" for i in range(count)]
    return Pattern(id=pattern_id("tool_use", key), kind="tool_use", label=f"{tool} {kind}",
                   key=key, count=count, share=0.2, score=float(count), feedback_ids=ids,
                   quotes=["It searched the web instead of using the hotel booking I gave it"],
                   section="tools", suggestion=suggestion, tool=tool, open_ids=ids,
                   runs=[f"trip-{i}" for i in range(count)], rates={"with_rate": 0.78})


USAGE = tool_pattern("web_search", "usage", "web_search: Use it only when the conversation and "
                     "its documents do not already answer the question; say which source you used.")
REPEATED = tool_pattern("web_search", "repeated", "web_search: Call it at most twice for one "
                        "request; refine the query instead of repeating it.", count=12)
ERRORS = tool_pattern("currency_convert", "errors", "currency_convert: When it fails, say so "
                      "plainly and answer from what you have.", count=15)


def request(patterns: list[Pattern], text: str = TEXT) -> ProposalRequest:
    agent = parse_agent(text, PATH, expected_name=AGENT)
    return ProposalRequest(agent=AGENT, file=agent, protected=protected_ids(agent, POLICY),
                           limits=POLICY.limits, patterns=patterns)


def check_for(text: str) -> Any:
    return validator(text=text, agent=AGENT)


def applied(text: str, draft: Draft) -> str:
    doc = AgentDocument(text, PATH, expected_name=AGENT)
    apply(doc, list(draft.operations))
    return doc.dumps()


def test_the_sample_agent_keeps_tool_guidelines_in_a_tools_section() -> None:
    agent = parse_agent(TEXT, PATH, expected_name=AGENT)
    assert tool_guidelines(agent) == {"read_documents": [0], "web_search": [1]}


def test_heuristic_tightens_the_tool_guideline_and_adds_a_missing_one() -> None:
    result = HeuristicProposer().propose(request([USAGE, REPEATED, ERRORS]), check_for(TEXT))
    ops = result.draft.operations
    tighten, add = ops
    assert isinstance(tighten, UpdateRule) and tighten.section == "tools" and tighten.index == 1
    assert tighten.text == ("web_search: Use it for opening hours, local transport and events. "
                            "Use it only when the conversation and its documents do not already "
                            "answer the question; say which source you used.")
    # the second web_search pattern is cited by the same edit, not a second clause
    assert USAGE.id in tighten.evidence and REPEATED.id in tighten.evidence
    assert isinstance(add, AddRule) and add.section == "tools"
    assert add.text.startswith("currency_convert: When it fails") and ERRORS.id in add.evidence
    new = parse_agent(applied(TEXT, result.draft), PATH, expected_name=AGENT)
    assert tool_guidelines(new) == {"read_documents": [0], "web_search": [1],
                                    "currency_convert": [2]}


def test_heuristic_adds_a_tools_section_before_the_protected_one() -> None:
    result = HeuristicProposer().propose(request([USAGE, ERRORS], WITHOUT_TOOLS),
                                         check_for(WITHOUT_TOOLS))
    section, rule = result.draft.operations
    assert isinstance(section, AddSection) and section.id == "tools"
    assert section.title == "Tools" and section.rules is not None
    assert [r.split(":")[0] for r in section.rules] == ["web_search"]
    assert isinstance(rule, AddRule) and rule.text.startswith("currency_convert: ")
    new = parse_agent(applied(WITHOUT_TOOLS, result.draft), PATH, expected_name=AGENT)
    assert [s.id for s in new.sections] == ["role", "style", "tools", "safety"]
    assert tool_guidelines(new) == {"web_search": [0], "currency_convert": [1]}


def test_a_stock_guideline_is_proposed_where_support_is_known_and_a_lone_correction_is_not() -> None:
    # propose knows each pattern's support: the stock guideline of an 'errors' pattern is not
    # one user's words, but a complaint's guideline made of one user's correction still is
    lone = "After an edit error, read the file again before the next edit."
    complaints = tool_pattern("edit_file", "complaints", f"edit_file: {lone}", count=6)
    complaints = complaints.model_copy(update={"quotes": [lone]})
    agent = parse_agent(TEXT, PATH, expected_name=AGENT)
    req = ProposalRequest(agent=AGENT, file=agent, protected=protected_ids(agent, POLICY),
                          limits=POLICY.limits, patterns=[ERRORS, complaints],
                          support={ERRORS.id: Support(items=15, users=15, runs=15,
                                                      wordings=(Wording(lone, 1),)),
                                   complaints.id: Support(items=6, users=6, runs=6,
                                                          wordings=(Wording(lone, 1),))})
    result = HeuristicProposer().propose(req, check_for(TEXT))
    assert [op.text for op in result.draft.operations if isinstance(op, AddRule)] == [
        "currency_convert: When it fails, say so plainly and answer from what you have."]
    assert [lo.why.split(" (")[0] for lo in result.left_out] == ["copies one user's words"]


def test_heuristic_skips_what_the_guideline_already_says() -> None:
    said = TEXT.replace("Use it for opening hours, local transport and events.",
                        "Use it only when the conversation and its documents do not answer the "
                        "question; say which source you used.")
    result = HeuristicProposer().propose(request([USAGE, ERRORS], said), check_for(said))
    assert [type(op).__name__ for op in result.draft.operations] == ["AddRule"]


def test_a_protected_tools_section_is_left_alone() -> None:
    locked = TEXT.replace("    title: Tool use\n", "    title: Tool use\n    protected: true\n")
    from gitimprove.proposals.proposers.base import NothingNew

    with pytest.raises(NothingNew):
        HeuristicProposer().propose(request([USAGE], locked), check_for(locked))


def test_anthropic_is_told_about_tool_guidelines_and_its_tightening_is_valid(
        api: FakeAnthropicServer) -> None:
    answer = {"summary": "Tighten the web_search guideline",
              "rationale": "Runs that searched were rated down far more often.",
              "operations": [{"op": "update_rule", "section": "tools", "index": 1,
                              "text": "web_search: Use it only for events after the "
                                      "conversation's documents; say which source you used.",
                              "reason": "78% of runs that searched were rated down.",
                              "evidence": [USAGE.id]}]}
    api.script(tool_use(answer))
    result = proposer_for(api).propose(request([USAGE, ERRORS]), check_for(TEXT))
    assert result.draft == Draft.model_validate(answer)
    sent = api.requests[0]
    assert "Patterns of kind tool_use are about the agent's tool calls" in sent.system
    assert "section with id 'tools'" in sent.system
    prompt = "\n".join(sent.texts("user"))
    assert f'id="{USAGE.id}" kind="tool_use"' in prompt and 'tool="web_search"' in prompt
    assert "web_search: Use it for opening hours" in prompt  # the guideline it may tighten


def test_a_tool_use_heading_is_the_tools_section_too() -> None:
    """An adopted Markdown prompt's `## Tool use` heading has the id `tool-use`."""
    text = TEXT.replace("  - id: tools\n", "  - id: tool-use\n")
    agent = parse_agent(text, PATH, expected_name=AGENT)
    assert tool_guidelines(agent) == {"read_documents": [0], "web_search": [1]}
    result = HeuristicProposer().propose(request([USAGE], text), check_for(text))
    (op,) = result.draft.operations
    assert isinstance(op, UpdateRule) and (op.section, op.index) == ("tool-use", 1)


def _failure(ids: list[str], label: str = "booking, searched, web") -> Pattern:
    return Pattern(id=pattern_id("recurring_failure", f"terms:{label}"), kind="recurring_failure",
                   label=label, key=f"terms:{label}", count=len(ids), share=0.16,
                   score=float(len(ids)), feedback_ids=ids, open_ids=ids,
                   quotes=["kept searching instead of reading my bookings"])


def test_complaints_about_what_a_tool_did_join_its_guideline_in_the_users_words() -> None:
    # The demo's trip planner got two rules of one intent: the web_search guideline ("use it
    # only when what you already have does not cover the task") and, from the same complaints
    # read by their words, "Use the user's bookings first and only search for what they do
    # not cover". The pattern is cited by the guideline, whose generic clause takes the
    # wording its users share.
    from gitimprove.patterns.decisions import GUIDELINES

    usage = tool_pattern("web_search", "usage", f"web_search: {GUIDELINES['usage']}", count=30)
    complaints = tool_pattern("web_search", "complaints",
                              f"web_search: {GUIDELINES['complaints']}", count=21)
    words = "Use my bookings first and only search for what they do not cover"
    failure = _failure([*complaints.feedback_ids[:18], "other-1", "other-2", "other-3"])
    agent = parse_agent(TEXT, PATH, expected_name=AGENT)
    support = {p.id: Support(items=p.count, users=p.count, runs=p.count) for p in (usage, complaints)}
    support[failure.id] = Support(items=21, users=16, runs=21, wordings=(Wording(words, 5),))
    req = ProposalRequest(agent=AGENT, file=agent, protected=protected_ids(agent, POLICY),
                          limits=POLICY.limits, patterns=[failure, usage, complaints],
                          support=support)
    result = HeuristicProposer().propose(req, check_for(TEXT))
    (op,) = result.draft.operations
    assert isinstance(op, UpdateRule) and op.section == "tools" and op.index == 1
    assert op.text == ("web_search: Use it for opening hours, local transport and events. "
                       "Use the user's bookings first and only search for what they do not cover.")
    assert {usage.id, complaints.id, failure.id} <= set(op.evidence)

    # a pattern whose items are mostly other complaints of those runs is a rule of its own
    apart = _failure([*(f"x-{i}" for i in range(15)), *complaints.feedback_ids[:5]],
                     label="off-topic, question")
    support[apart.id] = Support(items=20, users=20, runs=20,
                                wordings=(Wording("Answer the question I asked first", 6),))
    req = ProposalRequest(agent=AGENT, file=agent, protected=protected_ids(agent, POLICY),
                          limits=POLICY.limits, patterns=[apart, usage, complaints],
                          support=support)
    ops = HeuristicProposer().propose(req, check_for(TEXT)).draft.operations
    texts = [op.text for op in ops if isinstance(op, AddRule | UpdateRule)]
    assert len(texts) == 2 and any(GUIDELINES["usage"] in t for t in texts), texts
    assert any(t.startswith("Answer the question") for t in texts), texts
