"""The careful editor's checks, as pure functions over rule texts and the sample file."""

from __future__ import annotations

from typing import Any

import pytest

from gitimprove.instructions.agentfile import AgentFile, parse_agent
from gitimprove.proposals.operations import Draft
from gitimprove.proposals.rules import (
    Known,
    PriorRule,
    contradiction,
    duplicates,
    facts,
    file_statements,
    restates,
    review_draft,
    same_wording,
    sentences,
    vague,
)
from tests.conftest import SAMPLE

WRITER = parse_agent((SAMPLE / "agents/product-writer.yaml").read_text(),
                     "agents/product-writer.yaml", expected_name="product-writer")


@pytest.mark.parametrize(("new", "old"), [
    ("Make it shorter and more concise.", "Keep it under 120 words."),       # same theme, vague
    ("keep it under 120 words", "Keep it under 120 words."),                 # case, punctuation
    ("Organise it with clear headings and sections.",
     "Organise the briefing with headings and short paragraphs."),           # shared words
    ("Cite a source (publisher, year and link) for each key claim.", "Always cite sources with links."),
    # a theme of the new rule's other than its first (next steps, then the call to action)
    ("End with a call to action that tells the reader what to do next.",
     "A conclusion with a call to action"),
    # a short rule whose one theme word is half of what it says (a cagent example's rule)
    ("Cite a source (publisher, year and link) for each key claim.", "Always include sources"),
    ("Never repeat the product's name more than twice.",
     "Do not repeat the product name more than twice."),                     # negation both sides
    ("Put lists of three or more features or options in bullet points.",
     "Prefer bullets, short sentences, compact tables."),                    # both ask for bullets
])
def test_duplicates(new: str, old: str) -> None:
    assert duplicates(new, old)


@pytest.mark.parametrize(("new", "old"), [
    ("For each feature you mention, say what it does for the customer.",
     "Use only the facts given in the product data sheet and the request."),
    ("Use British English spelling.", "Write in a warm, confident voice that suits {{audience}}."),
    ("End with a call to action.", "End with a sentence that sums up who the product is for."),
    ("Always mention the price.", "Never mention the price."),
    ("Put the options in bullet points.", "Never use bullet points."),      # opposite: not the same
    ("End every reply with the next step, when it will happen, and the ticket or reference "
     "number.", "A conclusion with a call to action"),
    # the same theme, and nothing of what the new rule asks
    ("When the user reports a problem, acknowledge it in one sentence before the answer.",
     "Be polite and professional."),
    # an item of a list of topics asks nothing: its one word names no rule of the theme
    ("Use plain language: explain each technical term or acronym in a few words the first "
     "time it appears.", "Technical requirements"),
    ("Cover every part of the question, with one concrete detail or example for each.",
     "Configuration details"),
])
def test_not_duplicates(new: str, old: str) -> None:
    assert not duplicates(new, old)


@pytest.mark.parametrize(("new", "old", "why"), [
    ("Keep it under 80 words.", "Keep it under 120 words.", "80 words where the other says 120"),
    ("Put the three key features in bullet points under the first paragraph.",
     "Start with a short headline sentence, then one or two paragraphs of body copy.",
     "bullet points where the other fixes the form as paragraphs"),
    ("Always mention the price.", "Never mention the price.", "the opposite"),
    ("End with a call to action.", "End with a sentence that sums up who the product is for.",
     "only once how an answer should end"),
    ("Begin with a two-line summary.", "Start with a short headline sentence.",
     "only once how an answer should start"),
    # crewAI's stock-analysis example asks for "a full super detailed report"
    ("Keep the recommendation to one page with a summary table.",
     "It should be a full super detailed report, providing a clear investment stance.",
     "a short answer where the other asks for a detailed one"),
    ("Give a thorough, step-by-step explanation.", "Keep responses concise and relevant.",
     "a detailed answer where the other asks for a short one"),
])
def test_contradictions(new: str, old: str, why: str) -> None:
    found = contradiction(new, old)
    assert found is not None and why in found


@pytest.mark.parametrize(("new", "old"), [
    # a limit on each bullet is not a limit on the answer
    ("Split the features into short bullet points, max 8 words each.", "Keep it under 120 words."),
    # paragraphs without a count do not exclude bullet points for a list
    ("Use bullet points for lists of options or findings.",
     "Organise the briefing with headings and short paragraphs."),
    ("Cite a source for each key claim.", "Prefer recent material."),
    # "short paragraphs" and "the order details" say nothing about the answer's length
    ("Use short paragraphs.", "Write a detailed report."),
    ("Keep it under 120 words.", "Answer from the help centre articles and the order details provided."),
    ("Never give a detailed answer unless asked.", "Keep responses concise."),
    ("Write a detailed report.", "Stay on the question; note related issues in one line at most."),
    # a routing rule's threshold is about the input, not a length for the answer
    ("Keep answers under 80 words.", "If the text is long (more than 100 words), summarize it first, then answer."),
    ("Give a thorough, detailed answer.", "If the text is long (more than 100 words), summarize it first."),
    ("Answer in at most 3 sentences.", "When a question has more than 5 parts, answer each under its own heading."),
    # real files: a rule forbids only what it names ("praise"), not the words around it
    ("Do not praise the question or the user; start with the answer.",
     "Answer user questions to the best of your knowledge"),
    # "start with" the agent's way of working, not the answer's first line
    ("Start with a summary of the answer in two or three sentences.",
     "Start with minimal tool access and expand as needed."),
    ("Start with a summary of the answer in two or three sentences.",
     "Always start by understanding what the user wants to build, then break it down."),
    # "must not listen" is no "not a list"
    ("Put lists of three or more options in bullet points.",
     "Methods must not listen to their own method name."),
])
def test_no_contradiction(new: str, old: str) -> None:
    assert contradiction(new, old) is None


@pytest.mark.parametrize(("rule", "limits", "brief"), [
    ("If the text is long (more than 100 words), summarize it first, then answer.", (), False),
    ("Summarize the text first if it is longer than 100 words.", (), False),
    ("For documents over 2 pages, keep the summary under 150 words.", (("words", 150, 150),), True),
    ("If your answer is longer than 200 words, start with a two-line summary.", (), False),
    # a condition that states nothing about the input leaves the limit a limit
    ("If possible keep it under 100 words.", (("words", 100, 100),), True),
    ("Keep answers under 100 words if the question is simple.", (("words", 100, 100),), True),
])
def test_a_condition_on_the_input_is_no_limit_on_the_answer(rule: str, limits: tuple[Any, ...],
                                                            brief: bool) -> None:
    f = facts(rule)
    assert (f.quantities, f.brief) == (limits, brief)


@pytest.mark.parametrize(("rule", "limits"), [
    ("description: 1-1024 characters", ()),
    ("The name field must be 1-64 characters.", ()),
    ("Commit messages: a subject under 72 characters.", ()),
    ("Title: 5 words at most.", ()),
    # the answer's own length, labelled or not
    ("Length: 120 words max.", (("words", 120, 120),)),
    ("Answers: at most 100 words.", (("words", 100, 100),)),
    ("Use a title of at most 8 words and an answer under 100 words.", (("words", 100, 100),)),
])
def test_only_a_limit_on_the_answer_is_a_length_rule(rule: str, limits: tuple[Any, ...]) -> None:
    f = facts(rule)
    assert (f.quantities, f.brief) == (limits, bool(limits))


def test_a_routing_rule_is_not_a_length_rule_to_duplicate() -> None:
    routing = "If the text is long (more than 100 words), summarize it first, then answer."
    assert not duplicates("Keep answers under 80 words.", routing)
    assert not duplicates("Keep it short.", routing)
    assert duplicates("Summarize long texts first.", routing)


def test_vague_rules_are_relative_and_empty() -> None:
    assert vague("Make it shorter and more concise.")
    assert vague("Be clearer.")
    assert not vague("Keep it under 80 words.")
    assert not vague("Cite a source (publisher, year and link) for each key claim.")


def test_same_wording_needs_shared_words_not_only_a_theme() -> None:
    assert same_wording("pls focus on customer benefits over technical features",
                        "Focus on benefits, not features.")
    assert not same_wording("Tl;dr first please", "Start with a 2-3 sentence summary.")


def test_corrections_naming_different_figures_are_not_one_wording() -> None:
    # Human critiques of math answers (Shepherd, GSM8K): each fixes one answer; sharing
    # "correct answer" does not make them a wording three users agree on.
    assert not same_wording("The correct answer is $16-$8=$8.",
                            "The correct answer should be calculated as 45 * 3/5 = 27.")
    assert not same_wording("Thus, the correct answer would be 20*2 = 40 hours.",
                            "Therefore, the correct answer is $5.")
    # the same figure, or a limit with different numbers, is still compared by its words
    assert same_wording("The correct answer is 27, show the working",
                        "the correct answer is 27 with the working shown")
    assert same_wording("Keep it under 80 words, no fluff", "keep it under 100 words, no fluff")


def _draft(*ops: dict[str, Any]) -> Draft:
    return Draft.model_validate({"summary": "s", "rationale": "r", "operations": [
        {"reason": "because", **op} for op in ops]})


def test_review_finds_a_duplicate_and_says_to_tighten_instead() -> None:
    problems = review_draft(WRITER, _draft(
        {"op": "add_rule", "section": "style", "text": "Keep every description under 120 words."}),
        Known())
    assert problems == [
        "operation 1 (add_rule): 'Keep every description under 120 words.' repeats rule 3 of "
        "'style' ('Keep it under 120 words.'); if that rule is not enough, tighten it with "
        "update_rule instead"]
    # the model numbers rules as its labelled file and its operations' index do: from 0
    for_model = review_draft(WRITER, _draft(
        {"op": "add_rule", "section": "style", "text": "Keep every description under 120 words."}),
        Known(), for_model=True)
    assert "repeats rule 2 of 'style'" in for_model[0]


def test_review_finds_a_rule_on_the_theme_of_another_in_its_words() -> None:
    # a model's plain-language rule for a file whose general rules already say "Prefer plain
    # language" repeats it in part; one that shares a word only, or the same words under a
    # section about the code, does not
    def file(role: str) -> AgentFile:
        return parse_agent(
            "name: a\ndescription: d\nsections:\n"
            f"  - id: role\n    rules: ['{role}']\n"
            "  - id: style\n    rules: ['Keep answers under 120 words.']\n"
            "  - id: code-conventions\n    rules: ['Use plain language in commit messages.']\n",
            "agents/a.yaml", expected_name="a")

    plain = {"op": "add_rule", "section": "style",
             "text": "Use plain language: explain each technical term the first time it appears."}
    assert review_draft(file("Prefer plain language whenever possible."), _draft(plain), Known(),
                        for_model=True) == [
        "operation 1 (add_rule): 'Use plain language: explain each technical term the first "
        "time it appears.' is on the theme of rule 0 of 'role' ('Prefer plain language whenever "
        "possible.') in its words; if that rule is not enough, tighten it with update_rule "
        "instead of adding a second"]
    assert review_draft(file("Answer in English."), _draft(plain), Known()) == []
    assert restates(plain["text"], "Prefer plain language whenever possible.")
    assert not restates(plain["text"], "Keyboard navigation: a composite element holds many "
                        "interactive children, selected or activated, explained in detail later.")


def test_review_finds_a_contradiction_unless_the_draft_resolves_it() -> None:
    second_end = {"op": "add_rule", "section": "structure", "text": "End with a call to action."}
    problems = review_draft(WRITER, _draft(second_end), Known())
    assert len(problems) == 1 and "contradicts rule 2 of 'structure'" in problems[0]
    assert "only once how an answer should end" in problems[0]
    # Rewording the old ending in the same draft resolves it.
    merged = {"op": "update_rule", "section": "structure", "index": 1,
              "text": "End with who the product is for, then a call to action."}
    assert review_draft(WRITER, _draft(merged), Known()) == []
    bullets = {"op": "add_rule", "section": "structure",
               "text": "Put the three key features in bullet points under the first paragraph."}
    problems = review_draft(WRITER, _draft(bullets), Known())
    assert "contradicts the text of 'structure'" in problems[0]


def test_review_finds_rejected_pending_vague_and_twin_operations() -> None:
    known = Known(pending=[PriorRule("Avoid clichés and superlatives.", "style", "20261101-aaaaaa")],
                  rejected=[PriorRule("Mention the warranty period.", "style", "20261102-bbbbbb",
                                      reason="too vague")])
    problems = review_draft(WRITER, _draft(
        {"op": "add_rule", "section": "style", "text": "Always mention the warranty period."},
        {"op": "add_rule", "section": "style", "text": "Avoid clichés and superlatives, always."},
        {"op": "add_rule", "section": "style", "text": "Make it better."},
        {"op": "add_rule", "section": "inputs", "text": "Say what each feature does for the customer."},
        {"op": "add_rule", "section": "style", "text": "Say what each feature does for a customer."},
    ), known)
    assert problems[0].startswith("operation 1 (add_rule): 'Always mention the warranty period.' "
                                  "was proposed before in 20261102-bbbbbb and rejected "
                                  "(reason: too vague)")
    assert "already proposed by the open proposal 20261101-aaaaaa" in problems[1]
    assert "operation 3 (add_rule): 'Make it better.' is relative or vague" in problems[2]
    assert problems[3].startswith("operation 5 (add_rule)") and "repeats operation 4" in problems[3]
    assert len(problems) == 4


def test_sentences_of_hard_wrapped_prose_are_whole() -> None:
    # crewAI's stock-analysis task, a folded block wrapped mid-sentence
    text = ("Review and synthesize the analyses provided by the\nFinancial Analyst.\n"
            "Make sure to include a section that shows insider \ntrading activity, and upcoming"
            " events like earnings.\n\nChat style:\nAvoid praise.\nNo emojis\n\nLast words\n"
            "- a list item")
    assert sentences(text) == [
        "Review and synthesize the analyses provided by the Financial Analyst.",
        "Make sure to include a section that shows insider trading activity, and upcoming events"
        " like earnings.",
        "Chat style:", "Avoid praise.", "No emojis", "Last words", "- a list item"]


def test_a_proposals_operation_lines_count_rules_from_1() -> None:
    from gitimprove.proposals.operations import RemoveRule, UpdateRule, describe

    assert describe(UpdateRule(section="style", index=2, text="Be brief.", reason="r")) == \
        "reword rule 3 of 'style': Be brief."
    assert describe(RemoveRule(section="style", index=0, reason="r")) == "remove rule 1 of 'style'"


def test_a_short_line_that_shares_two_words_does_not_say_the_longer_rule() -> None:
    # An order-support prompt's checklist questions are not the rule users asked for.
    rule = "Use the order number the customer already gave, never ask for it again."
    assert not duplicates(rule, "What is the customer asking for?")
    assert not duplicates(rule, "Do they have an order number?")
    assert not duplicates(rule, "Customer provides order number")
    assert duplicates(rule, "Use the order number the customer already gave; do not ask again.")


@pytest.mark.parametrize(("text", "defined"), [
    # the ADK llm-auditor's verdicts: a term and what it means, no rule about accuracy
    ("Accurate: The information presented in the CLAIM is correct, complete, and consistent "
     "with the provided context and reliable sources.", True),
    ("Critical: A defect that blocks a release.", True),
    ("Tone: The reply should be warm and friendly.", False),   # it asks something
    ("**Length:** The answer must be under 100 words.", False),
    ("Accuracy: Check every figure.", False),
    ("Always include sources", False),
])
def test_a_definition_is_no_rule_to_repeat(text: str, defined: bool) -> None:
    from gitimprove.instructions.agentfile import AgentFile, Section
    from gitimprove.proposals.rules import defines, file_statements

    assert defines(text) is defined
    file = AgentFile(name="a", sections=[Section(id="verdicts", rules=[text])])
    assert [st.text for st in file_statements(file)] == ([] if defined else [text])


def test_a_line_that_introduces_what_follows_is_no_statement() -> None:
    from gitimprove.instructions.agentfile import AgentFile, Section

    file = AgentFile(name="a", description="d", sections=[
        Section(id="intro", text="You answer questions.\nUser question: {{$user_question}}\n"
                "When customers ask about products:\n```python\nresult = run(x)\n```"),
        Section(id="rules", rules=["Technical guidelines:", "Never guess a price."])])
    assert [st.text for st in file_statements(file)] == ["You answer questions.",
                                                       "Never guess a price."]


@pytest.mark.parametrize(("rule", "theme"), [
    # a program's error handling is no rule on factual errors: real files' rules
    ("**Error Handling & Reliability:** - Implement comprehensive error handling patterns", None),
    ("**Review error handling**: check for missing try/catch blocks", None),
    ("Check every fact and figure; a factual error is worse than no answer.", "accuracy"),
])
def test_a_rule_is_read_as_feedback_is(rule: str, theme: str | None) -> None:
    assert facts(rule).concept != "accuracy" if theme is None else facts(rule).concept == theme
