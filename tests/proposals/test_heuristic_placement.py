"""Where the offline proposer puts a rule about the answers in a file it did not write: a
section about the answers, or a new one; never a section about something else. And its stock
citation rule never prescribes a form of its own where the file states one, nor sources to
find where the file gives the agent its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ran, git

CODING = """# Project guide

This repository holds a small web shop written in Python.

## Module responsibilities

- `shop/cart.py` keeps the cart and its totals.
- `shop/pay.py` talks to the payment provider.

## Testing

- Run `pytest -q` before every commit.
"""

RESEARCH = """# Research assistant

You research questions for analysts.

## Method

- Search before you answer.

## Style

- Be brief.

## References

Cite sources as numbered footnotes: [1] Author, *Title*, page.
"""

TOO_LONG = ["Way too long, keep answers under 100 words", "too long. keep answers under 100 words please",
            "answer is far too long; keep answers under 100 words", "This is too verbose. Keep answers short.",
            "too long!! keep answers under 100 words"]
NO_SOURCES = ["no sources at all", "where does this figure come from? no source",
              "cite something please, no citations", "No sources given", "no citation for the numbers"]


def adopted(tmp_path: Path, gitimprove: Callable[..., Ran], text: str, reasons: list[str]) -> Path:
    """A newcomer's repository: AGENTS.md committed, adopted in place by `init`, feedback imported."""
    repo = tmp_path / "shop"
    repo.mkdir(parents=True)
    (repo / "AGENTS.md").write_text(text)
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the agent")
    assert gitimprove(repo, "init", str(repo)).returncode == 0
    records = [{"id": f"fb-{i}", "agent": "agents", "run_id": f"run-{i}", "rating": "negative", "reason": r,
                "user_id": f"u-{i}", "created_at": f"2026-09-1{i}T10:00:00Z"} for i, r in enumerate(reasons)]
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert gitimprove(repo, "feedback", "import", str(feedback)).returncode == 0
    return repo


def operations(repo: Path, gitimprove: Callable[..., Ran]) -> list[dict[str, Any]]:
    ran = gitimprove(repo, "propose", "agents", "--proposer", "heuristic", "--dry-run", "--json")
    assert ran.returncode == 0, ran.stderr
    ops: list[dict[str, Any]] = json.loads(ran.stdout)["proposals"][0]["operations"]
    return ops


def test_a_rule_about_answers_never_goes_into_a_section_about_something_else(
        tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    repo = adopted(tmp_path, gitimprove, CODING, TOO_LONG)
    ops = operations(repo, gitimprove)
    assert [(op["op"], op.get("id"), op.get("title")) for op in ops] == [("add_section", "answers", "Answers")]
    assert not any(op.get("section") in ("module-responsibilities", "testing") for op in ops)


def test_a_section_about_the_answers_takes_it(tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    text = CODING.replace("## Testing", "## Answers to the team\n\n- Say which file you changed.\n\n## Testing")
    ops = operations(adopted(tmp_path, gitimprove, text, TOO_LONG), gitimprove)
    assert [(op["op"], op.get("section")) for op in ops] == [("add_rule", "answers-to-the-team")]


def test_the_citation_rule_keeps_to_the_files_own_citation_format(
        tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    repo = adopted(tmp_path, gitimprove, RESEARCH, NO_SOURCES)
    ops = operations(repo, gitimprove)
    added = [op["text"] for op in ops if op["op"] == "add_rule"]
    assert added and not any("publisher" in t or "link" in t for t in added), added
    assert "Cite a source for each key claim, in the citation format these instructions give." in added
    # without a format of its own, the file gets the stock rule, form and all
    plain = RESEARCH.replace("Cite sources as numbered footnotes: [1] Author, *Title*, page.", "Be thorough.")
    ops = operations(adopted(tmp_path / "plain", gitimprove, plain, NO_SOURCES), gitimprove)
    assert "Cite a source (publisher, year and link) for each key claim." in [op.get("text") for op in ops]


RAG = """# Book assistant

You answer questions about the book. Answer the question using the provided context. If you
don't know the answer, say so.

## Context

{{context}}
"""


def test_a_file_that_gives_its_sources_gets_the_rule_to_keep_to_them(
        tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    # critiques of a RAG agent's answers name the evidence it was given ("line 15 of the
    # evidence does not say so"): it is not to go and find a publisher and a link
    repo = adopted(tmp_path, gitimprove, RAG, NO_SOURCES)
    added = [r for op in operations(repo, gitimprove) for r in op.get("rules") or [op.get("text")]]
    assert added == ["Base each claim on the sources you are given and say which part supports "
                     "it; when they do not cover something, say so instead of answering from "
                     "memory."]
    # an agent told to search finds its own sources, and a writer's "following articles" are
    # its to write: each cites its sources
    for n, own in enumerate(("Search the web for the answer.",
                             "Write the following articles for the blog.")):
        text = RAG.replace("Answer the question using the provided context.", own)
        ops = operations(adopted(tmp_path / f"own-{n}", gitimprove, text, NO_SOURCES), gitimprove)
        assert [r for op in ops for r in op.get("rules") or [op.get("text")]] == [
            "Cite a source (publisher, year and link) for each key claim."], own


ROBOTIC = ["the emails sound like a robot wrote them", "sounds like a robot wrote it",
           "my emails sound like a robot", "it writes like a robot", "reads like a robot wrote it"]


def test_an_agent_nobody_reports_a_problem_to_gets_a_voice_not_an_acknowledgement(
        tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    # users of a writing assistant who say it "writes like a robot" report no problem to it:
    # "When the user reports a problem, acknowledge it" answers another complaint
    writer = "# Email assistant\n\nYou draft emails for the user.\n\n## Style\n\n- Be brief.\n"
    added = [op.get("text") for op in operations(adopted(tmp_path, gitimprove, writer, ROBOTIC),
                                                  gitimprove)]
    assert added == ["Write the way a person talks: warm and conversational, in plain words and "
                     "sentences of varied length."]
    support = writer.replace("You draft emails for the user.", "You answer customers' emails.")
    added = [op.get("text") for op in operations(
        adopted(tmp_path / "support", gitimprove, support, ROBOTIC), gitimprove)]
    assert added == ["When the user reports a problem, acknowledge it in one sentence before the answer."]


def test_the_offline_proposer_reads_every_open_pattern_not_the_models_share(
        tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    # proposer.max_patterns bounds a model's prompt: with the offline proposer, a pattern with
    # a stock remedy ranked below patterns it can do nothing with was never read
    stale = ["the station list shows Leeds twice", "Leeds station listed twice again",
             "station Leeds appears twice in the list", "two Leeds stations in the station list",
             "station list has Leeds two times", "Leeds is in the station list twice"]
    repo = adopted(tmp_path, gitimprove, CODING, stale + TOO_LONG[:3])
    policy = repo / "gitimprove.yaml"
    policy.write_text(policy.read_text().replace("  default: auto", "  default: auto\n  max_patterns: 1"))
    git(repo, "commit", "-q", "-am", "one pattern for a model")
    ran = gitimprove(repo, "analyze", "agents", "--json")
    labels = [p["label"] for p in json.loads(ran.stdout)["patterns"]]
    assert len(labels) == 2 and labels[1] == "too long / verbose", labels
    added = [r for op in operations(repo, gitimprove) for r in op.get("rules") or [op.get("text")]]
    assert added == ["Cut filler, repetition and background the reader did not ask for."]


def test_analysis_does_not_tie_a_length_pattern_to_a_section_by_the_word_keep(
        tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    # the length concept's hints held "keep": "`shop/cart.py` keeps the cart" made a pattern
    # of "too long" the concern of "Module responsibilities", and a model proposer is told so
    repo = adopted(tmp_path, gitimprove, CODING, TOO_LONG)
    ran = gitimprove(repo, "analyze", "agents", "--json")
    assert ran.returncode == 0, ran.stderr
    (length,) = [p for p in json.loads(ran.stdout)["patterns"] if p["key"] == "concept:length"]
    assert length["section"] is None


def test_a_rule_about_answers_never_goes_into_worked_examples(
        tmp_path: Path, gitimprove: Callable[..., Ran]) -> None:
    # "Example responses" names the answers, but what is under it is examples: a rule there
    # would read as one more line of an example
    text = CODING.replace("## Testing", "## Example responses\n\n- Q: where is my cart?\n"
                          "- A: in `shop/cart.py`.\n\n## Testing")
    ops = operations(adopted(tmp_path, gitimprove, text, TOO_LONG), gitimprove)
    assert [(op["op"], op.get("id")) for op in ops] == [("add_section", "answers")]


TEACHER = """# Learning companion

You help people learn new topics.

## Interaction Guidelines

- Be clear: use precise language.
- Be practical: give concrete examples.

## When Teaching:

1. **Assess**: what do they know already?
2. **Explain**: clear, structured explanations.
3. **Review**: check the understanding.
"""


@pytest.mark.parametrize("title", ["When Teaching:", "Build It In This Order", "Workflow"])
def test_a_section_of_one_case_s_steps_takes_no_rule_for_every_answer(title: str) -> None:
    # cagent's learning companion: analysis tied a pattern of wrong calculations to "When
    # Teaching:" by shared words, and the accuracy rule became its step 4
    from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
    from gitimprove.proposals.proposers.base import Limits, ProposalRequest
    from gitimprove.proposals.proposers.heuristic import HeuristicProposer

    from .helpers import make_pattern

    text = TEACHER.replace("When Teaching:", title)
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    agent = AdoptedDocument(parsed, parsed.entries[0].key, "agents").agent
    steps = agent.sections[-1].id
    pattern = make_pattern("factual errors or invented details", key="concept:accuracy",
                           section=steps, suggestion=None)
    request = ProposalRequest(agent="agents", file=agent, protected=[], limits=Limits(),
                              patterns=[pattern], min_users=0, min_runs=0)
    [op] = HeuristicProposer().propose(request, request.review).draft.operations
    assert (op.op, op.section) == ("add_rule", "interaction-guidelines"), op


@pytest.mark.parametrize("title", ["How you talk", "Speaking with users", "Conversation"])
def test_a_section_on_how_the_agent_talks_takes_a_rule_about_the_answers(title: str) -> None:
    # a companion chatbot's file: its rules on how it talks were passed over, and the rule
    # from its users' reviews went into a new section "Answers"
    from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
    from gitimprove.proposals.proposers.base import Limits, ProposalRequest
    from gitimprove.proposals.proposers.heuristic import HeuristicProposer

    from .helpers import make_pattern

    text = (f"# Companion\n\nYou are a supportive companion.\n\n## {title}\n\n"
            "- Ask one open question at a time.\n\n## Safety\n\n- Share the crisis line.\n")
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    agent = AdoptedDocument(parsed, parsed.entries[0].key, "agents").agent
    pattern = make_pattern("robotic, cold, lacks empathy", key="concept:tone", section=None,
                           suggestion=None)
    request = ProposalRequest(agent="agents", file=agent, protected=["safety"],
                              limits=Limits(), patterns=[pattern], min_users=0, min_runs=0)
    [op] = HeuristicProposer().propose(request, request.review).draft.operations
    assert (op.op, op.section) == ("add_rule", agent.sections[1].id), op


def _propose_offline(text: str, *patterns: Any) -> Any:
    """The offline proposer's draft for one Markdown file (AGENTS.md) and its patterns."""
    from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
    from gitimprove.proposals.proposers.base import Limits, ProposalRequest
    from gitimprove.proposals.proposers.heuristic import HeuristicProposer

    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    agent = AdoptedDocument(parsed, parsed.entries[0].key, "agents").agent
    request = ProposalRequest(agent="agents", file=agent, protected=[], limits=Limits(),
                              patterns=list(patterns), min_users=0, min_runs=0)
    return HeuristicProposer().propose(request, request.review).draft


@pytest.mark.parametrize(("titles", "chosen"), [
    (["Processing Capabilities", "Output Quality"], "output-quality"),
    (["Writing process", "Meeting Types"], "writing-process"),
    (["Processing Capabilities", "Meeting Types"], "answers"),  # a list of what it can do
])
def test_a_section_listing_what_the_agent_can_do_takes_no_rule(titles: list[str],
                                                               chosen: str) -> None:
    # a meeting summarizer's file: the rule on checking facts went under "Processing
    # Capabilities" ("**Transcripts**: Extract key information from long transcripts"), not
    # "Output Quality"
    from gitimprove.proposals.operations import AddRule

    from .helpers import make_pattern

    text = "# Summarizer\n\nYou summarize meetings.\n\n" + "".join(
        f"## {title}\n\n- A rule of {title.lower()}.\n\n" for title in titles)
    [op] = _propose_offline(text, make_pattern("factual errors or invented details",
                                               key="concept:accuracy", section=None,
                                               suggestion=None)).operations
    assert (op.section if isinstance(op, AddRule) else op.id) == chosen, op


def test_a_section_that_is_only_a_sample_takes_no_rule() -> None:
    # a meeting summarizer's "Standard Format", a fenced template of the summary, was the
    # pattern's section by its words ("Decision with context and rationale"); the rule went
    # after the template
    from .helpers import make_pattern

    text = ("# Summarizer\n\nYou summarize meetings.\n\n## Standard Format\n\n```\n"
            "# Meeting Summary: [Title]\n## Key Decisions\n1. [Decision with context]\n```\n\n"
            "## Output Quality\n\n- Concise but complete.\n")
    [op] = _propose_offline(text, make_pattern(
        "claims the source does not support", key="concept:grounding",
        section="standard-format", suggestion=None)).operations
    assert (op.op, op.section) == ("add_rule", "output-quality"), op


def test_for_a_file_that_gives_the_sources_citing_them_is_keeping_to_them() -> None:
    # a summarizer of transcripts: critiques saying "according to the source document ..."
    # (citations) and "the document does not mention ..." (grounding) got two rules that say
    # one thing, "Base each claim on the sources you are given" and "State only what the
    # material you were given says"
    from .helpers import make_pattern

    text = ("# Summarizer\n\nRead and analyze meeting notes or transcripts.\n\n"
            "## Output Quality\n\n- Concise but complete.\n")
    grounding = make_pattern("claims the source does not support", key="concept:grounding",
                             section=None, suggestion=None, ids=["a1", "a2", "a3"])
    citations = make_pattern("no sources or citations", key="concept:citations",
                             section=None, suggestion=None, ids=["b1", "b2", "b3"])
    for patterns in ([grounding, citations], [citations, grounding]):
        [op] = _propose_offline(text, *patterns).operations
        assert op.evidence[:1] == [patterns[0].id] and patterns[1].id in op.evidence, op


def test_a_rule_goes_where_the_answers_have_a_rule_on_its_theme_and_is_seen_beside_it() -> None:
    # a code reviewer's file: "Your Review Process" asks for accurate findings; the accuracy
    # rule went under "Output Format" instead, and said it again
    from gitimprove.proposals.proposers.base import NothingNew

    from .helpers import make_pattern

    text = ("# Reviewer\n\nYou review pull requests.\n\n## Output Format\n\n- Use Markdown.\n\n"
            "## Your Review Process\n\n- Read the whole diff first.\n"
            "- Verify facts before posting; never make up a finding.\n")
    with pytest.raises(NothingNew) as caught:
        _propose_offline(text, make_pattern("factual errors or invented details",
                                            key="concept:accuracy", section=None,
                                            suggestion=None))
    assert "rule 2 of 'your-review-process' is on this theme already" in caught.value.left_out[0].why


@pytest.mark.parametrize(("said", "gives"), [
    ("Read and analyze meeting notes or transcripts.", True),
    ("Summarize the meeting transcript in detail.", True),
    ("Read the minutes of the last meeting first.", True),
    ("Keep every answer short enough to read in two minutes.", False),  # a length, no source
    ("Answer the question using the provided context.", True),
    ("Search the web for recent sources.", False),
])
def test_what_a_file_gives_the_agent_to_answer_from(said: str, gives: bool) -> None:
    from gitimprove.proposals.proposers.heuristic import _GIVEN_SOURCES

    assert (_GIVEN_SOURCES.search(said) is not None) == gives
