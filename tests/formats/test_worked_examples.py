"""Worked examples inside a prompt: the lines after one that announces them ("Here are some
examples of the task:", "Examples:", "=== Example 1 ==="), the sections under a heading that
names them ("## Examples"), and the list under "..., for example:" are examples, not rules. Their
bullets stay text, no rule is added among them, and a new rule is never compared with them."""

from __future__ import annotations

import pytest

from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
from gitimprove.instructions.formats.prose import EditError, names_examples
from gitimprove.proposals.rules import example_sections, file_statements, own_text

EDITOR = """You are an editor. Revise the answer minimally.

- Keep the structure of the answer.
- Do not add new claims.

Here are some examples of the task:

=== Example 1 ===

Findings:

  * Claim 1: The sun is cube-shaped.
      * Verdict: Inaccurate
  * Overall verdict: Inaccurate

Your expected response:

The sun is sphere-shaped.
"""

GUIDE = """# Support agent

Ask when a request is unclear, for example:
- Which order do you mean?
- Do you want a refund or a replacement?

Rules:
- Answer in the customer's language.

## Examples

### Example 1
- Customer: where is my parcel?
- Agent: It left the depot this morning.

## Safety

- Never share a customer's data.
"""

CONFIG = """# Agents

Examples:

```yaml
mode: subagent
```

- Start with the fewest tools.
- Prefer allowlists over wildcards.
"""


def doc(text: str) -> AdoptedDocument:
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    return AdoptedDocument(parsed, parsed.entries[0].key, "agent")


def test_the_bullets_of_worked_examples_are_text_not_rules() -> None:
    d = doc(EDITOR)
    intro = d.agent.sections[0]
    assert intro.rules == ["Keep the structure of the answer.", "Do not add new claims."]
    assert "* Verdict: Inaccurate" in (intro.text or "")


def test_a_new_rule_joins_the_rules_not_an_example() -> None:
    d = doc(EDITOR)
    d.add_rule(d.agent.sections[0].id, "Keep the answer's length.")
    out = d.dumps()
    assert "- Do not add new claims.\n- Keep the answer's length.\n" in out
    assert out.replace("- Keep the answer's length.\n", "") == EDITOR


def test_examples_under_a_heading_and_a_for_example_list() -> None:
    d = doc(GUIDE)
    support = d.agent.section("support-agent")
    assert support is not None and support.rules == ["Answer in the customer's language."]
    assert "- Which order do you mean?" in (support.text or "")
    for sid in ("examples", "example-1"):
        section = d.agent.section(sid)
        assert section is not None and not section.rules
    safety = d.agent.section("safety")  # a heading of the examples' level ends them
    assert safety is not None and safety.rules == ["Never share a customer's data."]


def test_a_code_block_under_examples_is_the_example_and_the_rules_after_it_stay() -> None:
    d = doc(CONFIG)
    assert d.agent.sections[0].rules == ["Start with the fewest tools.",
                                         "Prefer allowlists over wildcards."]


def test_a_line_that_only_mentions_examples_announces_none() -> None:
    text = "# Writer\n\nGive examples.\nExample: 'Sure!'\n\n- Be brief.\n- Cite sources.\n"
    assert doc(text).agent.sections[0].rules == ["Be brief.", "Cite sources."]


def test_a_new_rule_is_compared_with_no_example() -> None:
    said = [st.text for st in file_statements(doc(EDITOR).agent)]
    assert "Keep the structure of the answer." in said
    assert "You are an editor." in said
    assert not [t for t in said if "sun" in t or "Verdict" in t]
    guide = [st.text for st in file_statements(doc(GUIDE).agent)]
    assert guide == ["Answer in the customer's language.", "Never share a customer's data."]
    assert not [t for t in guide if "parcel" in t or "Which order" in t or "depot" in t]
    assert "Never share a customer's data." in guide


def test_own_text_keeps_what_is_not_an_example() -> None:
    text = "Be concise.\nAsk, for example:\n- Which one?\nCite sources.\nExamples:\nQ: what?\n"
    assert own_text(text) == ("Be concise.\nAsk, for example:\nCite sources.\nExamples:", True)
    # code and tables say no rule
    assert own_text("Be brief.\n```python\nx = 1\n```\n| a | b |\n|---|---|\nCite.") == (
        "Be brief.\nCite.", False)
    assert own_text("Be concise.") == ("Be concise.", False)
    assert own_text("Anything", inside=True) == ("", True)


def test_which_headings_name_examples() -> None:
    for title in ("Examples", "Example 1: a refund", "Few-shot examples", "Sample output",
                  "Examples of good answers", "Bad example - a calendar grid:"):
        assert names_examples(title), title
    for title in ("Example-driven tests", "Exemplary service", "Style", None):
        assert not names_examples(title), title


def test_a_rule_goes_above_the_examples_a_section_ends_with() -> None:
    for text, lead in ((EDITOR.replace("- Keep the structure of the answer.\n- Do not add new "
                                       "claims.\n\n", ""), "Here are some examples"),
                       ("# Bot\n\nAsk when unclear, for example:\n- Which order?\n- Which date?\n",
                        "Ask when unclear")):
        d = doc(text)
        sid = d.agent.sections[0].id
        assert not d.agent.sections[0].rules
        d.add_rule(sid, "Keep the answer's length.")
        out = d.dumps()
        assert out.index("- Keep the answer's length.") < out.index(lead)
        assert doc(out).agent.sections[0].rules == ["Keep the answer's length."]


def test_no_rule_goes_into_a_section_of_examples() -> None:
    d = doc(GUIDE)
    assert example_sections(d.agent) == {"examples", "example-1"}
    with pytest.raises(EditError, match="holds worked examples"):
        d.add_rule("example-1", "Be brief.")


def test_a_proposer_is_shown_which_sections_are_examples() -> None:
    from gitimprove.instructions.policy import Limits
    from gitimprove.proposals.proposers.base import ProposalRequest

    shown = ProposalRequest(agent="agent", file=doc(GUIDE).agent, protected=set(),
                            limits=Limits(), patterns=[]).labelled_file()
    assert "id='examples' title='Examples' under='support-agent'  [worked examples: a" in shown
    assert "id='example-1' title='Example 1' under='examples'  [worked examples:" in shown
    assert "id='safety' title='Safety' under='support-agent'\n" in shown


def test_long_lines_of_one_character_are_read_at_once() -> None:
    # a line a hostile model or a broken file may hold: each pattern that announces
    # examples reads it in one pass (a lead's two runs of spaces, or a banner's two ends,
    # once tried every split of it: 100,000 characters took minutes)
    for line in ("Examples" + " " * 100_000 + "x", "== example " + "=" * 100_000 + "x",
                 "Ask, for example" + " " * 100_000 + ":x"):
        d = doc(f"# Bot\n\n{line}\n\n- Be brief.\n")
        assert d.agent.sections[0].rules == ["Be brief."]
        assert own_text(line) == (line, False)
