"""An output template inside a prompt: headings under a line that announces a format ("Answer
in this format:") or under a heading that names one ("## Output format") are the shape of the
answer, not sections of the agent. They stay text of the section that introduces them, with
their bullets, so no rule is added into the template and its headings are not listed."""

from __future__ import annotations

import pytest

from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
from gitimprove.instructions.formats.prose import EditError
from gitimprove.instructions.policy import FormatRule, Policy
from gitimprove.validate import check_change

REVIEW = """name: Code review
model: openai/gpt-4o-mini
messages:
  - role: system
    content: |
      You are a careful code reviewer.

      - Be concise.
      - Point to the line.

      Answer in this format:

      ### Summary
      One sentence on what the change does.

      ### Risks
      - one bullet per risk
  - role: user
    content: '{{input}}'
"""

GUIDE = """# Support agent

You answer customers of the shop.

## Output format

- Use plain words.

### Greeting
One line.

### Answer
- the steps, one a bullet

## Safety <!-- gitimprove: protected -->

- Never share a customer's data.
"""


def doc(text: str, fmt: str, path: str) -> AdoptedDocument:
    parsed = ADAPTERS[fmt].parse(text, path)
    return AdoptedDocument(parsed, parsed.entries[0].key, "agent")


def inserted(before: str, after: str) -> list[str]:
    """The lines ``after`` has that ``before`` has not, when it only adds lines (else fails)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    i = 0
    while i < len(old) and old[i] == new[i]:
        i += 1
    tail = len(old) - i
    assert new[len(new) - tail:] == old[i:], "lines outside the edit changed"
    return new[i:len(new) - tail]


def test_a_github_models_template_is_text_of_the_system_message() -> None:
    d = doc(REVIEW, "github_models", "review.prompt.yml")
    assert d.agent.section_ids == ["system"]
    system = d.agent.sections[0]
    assert system.rules == ["Be concise.", "Point to the line."]
    assert "### Summary" in (system.text or "") and "- one bullet per risk" in (system.text or "")


def test_a_rule_goes_above_the_template_and_nothing_else_moves() -> None:
    d = doc(REVIEW, "github_models", "review.prompt.yml")
    d.add_rule("system", "Keep answers under 100 words.")
    out = d.dumps()
    assert inserted(REVIEW, out) == ["      - Keep answers under 100 words.\n"]
    assert out.index("under 100 words") < out.index("Answer in this format:")


def test_with_no_list_a_rule_goes_above_the_line_that_announces_the_template() -> None:
    text = REVIEW.replace("      - Be concise.\n      - Point to the line.\n\n", "")
    d = doc(text, "github_models", "review.prompt.yml")
    assert d.agent.sections[0].rules is None
    d.add_rule("system", "Keep answers under 100 words.")
    out = d.dumps()
    assert out == text.replace("reviewer.\n", "reviewer.\n\n      - Keep answers under 100 words.\n")


def test_a_template_that_opens_the_prompt_gets_the_rule_above_it() -> None:
    text = "Use this template:\n\n## Summary\n\n## Risks\n- one a line\n"
    d = doc(text, "markdown", "AGENTS.md")
    assert d.agent.section_ids == ["intro"]
    d.add_rule("intro", "Be brief.")
    assert d.dumps() == "- Be brief.\n\n" + text


def test_a_heading_that_names_the_format_keeps_its_subsections_as_text() -> None:
    d = doc(GUIDE, "markdown", "AGENTS.md")
    assert d.agent.section_ids == ["support-agent", "output-format", "safety"]
    fmt = d.agent.section("output-format")
    assert fmt is not None and fmt.rules == ["Use plain words."]
    assert fmt.text is not None and "### Greeting" in fmt.text and "- the steps, one a bullet" in fmt.text
    assert d.agent.section("safety").protected  # type: ignore[union-attr]
    d.add_rule("output-format", "Sign with the shop's name.")
    out = d.dumps()
    assert inserted(GUIDE, out) == ["- Sign with the shop's name.\n"]
    assert out.index("shop's name") < out.index("### Greeting")


@pytest.mark.parametrize("text", [
    # the section's own level: a sibling, not a template
    "## Steps\n\nUse this format:\n\n## Notes\n\n- Be brief.\n",
    # no word of a format: the document's own sections
    "This guide has the following sections:\n\n## Build\n\n- Run make.\n\n## Test\n\n- Run pytest.\n",
    # a protected heading is never a template's
    "Answer in this format:\n\n## Safety <!-- gitimprove: protected -->\n\n- Never share data.\n",
])
def test_what_opens_no_template(text: str) -> None:
    titled = [s.id for s in doc(text, "markdown", "AGENTS.md").agent.sections if s.title]
    assert len(titled) == text.count("\n## ") + text.startswith("## ")


def test_a_heading_above_the_templates_level_ends_it() -> None:
    text = "You review.\n\nAnswer in this format:\n\n### Summary\n- one line\n\n## Safety\n\n- Never merge.\n"
    agent = doc(text, "markdown", "AGENTS.md").agent
    assert agent.section_ids == ["intro", "safety"]
    assert agent.section("safety").rules == ["Never merge."]  # type: ignore[union-attr]


def test_an_underlined_heading_in_a_template_is_text_too() -> None:
    text = "You review.\n\nAnswer in this format:\n\n### Summary\n\nRisks\n-----\n- one a line\n"
    assert doc(text, "markdown", "AGENTS.md").agent.section_ids == ["intro", "risks"]
    deeper = "# Review\n\nAnswer in this format:\n\nSummary\n-------\n- one line\n"
    assert doc(deeper, "markdown", "AGENTS.md").agent.section_ids == ["review"]


def test_a_heading_added_into_a_template_is_refused() -> None:
    policy = Policy(formats=[FormatRule(path="review.prompt.yml", format="github_models")])
    changed = REVIEW.replace("      ### Risks\n", "      ### Notes\n      - anything\n\n      ### Risks\n")
    found = check_change({"review.prompt.yml": REVIEW.encode()}, {"review.prompt.yml": changed.encode()}, policy)
    assert [v.code for v in found] == ["heading-in-text"]


def test_a_section_added_after_a_template_is_a_section_or_refused() -> None:
    d = doc("You review.\n\nAnswer in this format:\n\n### Summary\n- one line\n", "markdown", "AGENTS.md")
    d.add_section("notes", title="Notes", rules=["Be brief."])
    assert doc(d.dumps(), "markdown", "AGENTS.md").agent.section_ids == ["intro", "notes"]
    # a template of `##` headings would take a `## Notes` after it as one more of its own
    same = "You review.\n\nAnswer in this format:\n\n## Summary\n- one line\n"
    d = doc(same, "markdown", "AGENTS.md")
    with pytest.raises(EditError, match="would read as part of the output template above it"):
        d.add_section("notes", title="Notes", rules=["Be brief."])
    assert d.dumps() == same
