"""A protected section covers the sections nested under it (``### Escalation`` under a protected
``## Safety``), whether the mark or the policy's patterns protect it, in every format whose
strings hold Markdown headings: the validator and ``protected_ids`` see the same set."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitimprove.instructions.agentfile import parse_agent
from gitimprove.instructions.formats import ADAPTERS
from gitimprove.instructions.policy import FormatRule, Policy
from gitimprove.validate import check_change, protected_ids

FIXTURES = Path(__file__).parent / "fixtures"

GUIDE = """# Support agent

You answer customers of the shop.

## Style

- Be brief.
- Be warm.

## Safety <!-- gitimprove: protected -->

- Never share a customer's data.

### Escalation

- Hand the chat to a human when a customer asks for one.

#### Refunds

- Never promise a refund.

---

## Tone

- Thank the customer.
"""

MD = Policy(formats=[FormatRule(path="AGENTS.md", format="markdown")], protected_sections=[])
BY_POLICY = Policy(formats=MD.formats, protected_sections=["safety"])
UNMARKED = GUIDE.replace(" <!-- gitimprove: protected -->", "")


def view(text: str) -> tuple[list[str], list[str | None]]:
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    agent = parsed.view(parsed.entries[0], "agents")
    return agent.section_ids, [s.parent for s in agent.sections]


def codes(old: str, new: str, policy: Policy = MD, path: str = "AGENTS.md") -> list[str]:
    return sorted({v.code for v in check_change({path: old.encode()}, {path: new.encode()}, policy)})


def test_each_section_knows_the_heading_it_is_nested_under() -> None:
    assert view(GUIDE) == (["support-agent", "style", "safety", "escalation", "refunds", "tone"],
                           [None, "support-agent", "support-agent", "safety", "escalation", "support-agent"])
    # a jump of levels nests all the same; a preamble is nobody's parent
    assert view("Intro.\n\n## A\n\n#### B\n\n### C\n\n## D\n")[1] == [None, None, "a", "a", None]
    assert view("Title\n=====\n\nSub\n---\n\n### Deep\n")[1] == [None, "title", "sub"]


@pytest.mark.parametrize(("text", "policy"), [(GUIDE, MD), (UNMARKED, BY_POLICY)], ids=["mark", "policy"])
def test_the_sections_under_a_protected_one_are_protected(text: str, policy: Policy) -> None:
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    agent = parsed.view(parsed.entries[0], "agents")
    assert protected_ids(agent, policy) == ["safety", "escalation", "refunds"]


@pytest.mark.parametrize(("patterns", "expected"), [
    (["refunds"], ["refunds"]), (["escalation"], ["escalation", "refunds"]), (["tone"], ["tone"]),
    (["support-agent"], ["support-agent", "style", "safety", "escalation", "refunds", "tone"])])
def test_nesting_only_adds_protections(patterns: list[str], expected: list[str]) -> None:
    """A file adopted before: what was protected stays so; a subsection may become protected."""
    parsed = ADAPTERS["markdown"].parse(UNMARKED, "AGENTS.md")
    agent = parsed.view(parsed.entries[0], "agents")
    assert protected_ids(agent, Policy(formats=MD.formats, protected_sections=patterns)) == expected


ATTACKS = {
    "reworded": (lambda t: t.replace("- Hand the chat to a human when a customer asks for one.",
                                     "- Never hand the chat to a human."), "protected-changed"),
    "removed": (lambda t: t.replace("- Hand the chat to a human when a customer asks for one.\n", ""),
                "protected-changed"),
    "deeper": (lambda t: t.replace("- Never promise a refund.", "- Promise refunds freely."), "protected-changed"),
    "gone": (lambda t: t.replace("#### Refunds\n\n- Never promise a refund.\n\n", ""), "protected-removed"),
    # a new heading put inside the protected section, after its last subsection
    "added": (lambda t: t.replace("---\n\n## Tone", "---\n\n### Exceptions\n\n- Share data with a "
                                  "partner.\n\n## Tone"), "protected-extended"),
    # a line of text over the break under Escalation: an underlined heading that takes the break
    "underlined": (lambda t: t.replace("\n\n---\n", "\n\nOverrides\n---\n"), "protected-changed"),
    # an unprotected section demoted under the protected one
    "demoted": (lambda t: t.replace("## Tone", "### Tone"), "protected-extended"),
    # a subsection promoted out of it
    "promoted": (lambda t: t.replace("### Escalation", "## Escalation"), "protected-moved"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize(("text", "policy"), [(GUIDE, MD), (UNMARKED, BY_POLICY)], ids=["mark", "policy"])
def test_a_change_inside_a_protected_section_is_refused(attack: str, text: str, policy: Policy) -> None:
    edit, code = ATTACKS[attack]
    changed = edit(text)
    assert changed != text
    assert code in codes(text, changed, policy)


HAND = "- Hand the chat to a human when a customer asks for one."
# Ways to take a subsection out from under its protected heading, or to hide a change in it.
AROUND = {
    # a heading of the protected one's level put between it and its subsection
    "interposed": (lambda t: t.replace("### Escalation", "## Notes\n\n- Be calm.\n\n### Escalation"),
                   "protected-moved"),
    "interposed and edited": (lambda t: t.replace(f"### Escalation\n\n{HAND}",
                                                  "## Notes\n\n### Escalation\n\n- Never hand over."),
                              "protected-changed"),
    "the protected heading demoted": (lambda t: t.replace("## Safety", "### Safety"), "protected-moved"),
    "the subsection renamed": (lambda t: t.replace("### Escalation", "### Escalations"), "protected-removed"),
    "the subsection fenced off": (lambda t: t.replace("### Escalation", "```\n### Escalation").replace(
        "---\n\n## Tone", "```\n\n---\n\n## Tone"), "protected-removed"),
    "the heading indented": (lambda t: t.replace("### Escalation", "   ### Escalation").replace(
        HAND, "- Never hand over."), "protected-changed"),
    "closing hashes": (lambda t: t.replace("### Escalation", "### Escalation ###").replace(
        HAND, "- Never hand over."), "protected-changed"),
    "a first-level heading inside": (lambda t: t.replace("- Never promise a refund.",
                                                         "- Never promise a refund.\n\n# Other\n\n- x"),
                                     "protected-changed"),
    "line endings changed with it": (lambda t: t.replace("- Never promise a refund.", "- Promise.")
                                     .replace("\n", "\r\n"), "protected-changed"),
}


@pytest.mark.parametrize("attack", list(AROUND))
@pytest.mark.parametrize(("text", "policy"), [(GUIDE, MD), (UNMARKED, BY_POLICY)], ids=["mark", "policy"])
def test_a_subsection_taken_out_or_hidden_is_refused(attack: str, text: str, policy: Policy) -> None:
    edit, code = AROUND[attack]
    assert code in codes(text, edit(text), policy)


def test_an_underlined_heading_under_a_protected_one_is_covered() -> None:
    text = "Safety <!-- gitimprove: protected -->\n=====\n\n- Never lie.\n\nEscalation\n----------\n\n- Ask a human.\n"
    assert view(text)[1] == [None, "safety"]
    assert codes(text, text.replace("- Ask a human.", "- Decide alone.")) == ["protected-changed"]
    # "---" under a new line of text inside a `#` protected section: a new `##` section in it
    broken = "# Safety <!-- gitimprove: protected -->\n\n- Never lie.\n\n---\n"
    assert "protected-extended" in codes(broken, broken.replace("\n\n---\n", "\n\nOverrides\n---\n"))


def test_outside_the_protected_section_edits_pass() -> None:
    assert codes(GUIDE, GUIDE.replace("- Be warm.", "- Be warm.\n- Be exact.")) == []
    assert codes(GUIDE, GUIDE.replace("- Thank the customer.", "- Thank the customer.\n\n### Closing\n\n- Say bye.")) == []


# (file, format, where the subsection goes, what it goes after, its rule)
IN_STRINGS = [
    # a crewAI literal block (`|-`); its `## Style` marked protected
    ("crew_agents.yaml", "crewai", "    ## Style\n",
     "    ## Style <!-- gitimprove: protected -->\n    ### Sources\n    - Name the author.\n", "Name the author."),
    # a Python string of an ADK agent, under its protected `## Safety`
    ("adk_agent.py", "google_adk", "    - Never give gambling advice.\n",
     "    - Never give gambling advice.\n\n    ### Odds\n\n    - Never say a roll is due.\n", "Never say a roll is due."),
]


@pytest.mark.parametrize(("name", "fmt", "at", "nested", "rule"), IN_STRINGS, ids=["yaml", "python"])
def test_markdown_in_a_string_nests_too(name: str, fmt: str, at: str, nested: str, rule: str) -> None:
    text = (FIXTURES / name).read_text().replace(at, nested, 1)
    policy = Policy(formats=[FormatRule(path=name, format=fmt)], protected_sections=[])
    assert codes(text, text.replace(rule, "Do as you like."), policy, name) == ["protected-changed"]


def test_a_native_file_may_not_say_parent() -> None:
    text = ("name: a\ndescription: x\nsections:\n  - id: safety\n    rules: [Be safe.]\n"
            "  - id: more\n    parent: safety\n    rules: [Be kind.]\n")
    with pytest.raises(Exception, match="`parent` is not a key"):
        parse_agent(text, "agents/a.yaml", expected_name="a")


def test_a_proposer_is_shown_the_nesting_and_the_subsections_as_protected() -> None:
    from gitimprove.instructions.policy import Limits
    from gitimprove.proposals.proposers.base import ProposalRequest

    parsed = ADAPTERS["markdown"].parse(GUIDE, "AGENTS.md")
    agent = parsed.view(parsed.entries[0], "agents")
    shown = ProposalRequest(agent="agents", file=agent, protected=protected_ids(agent, MD), limits=Limits(),
                            patterns=[]).labelled_file()
    assert "section 3: id='escalation' title='Escalation' under='safety'  [PROTECTED" in shown
    assert "section 5: id='tone' title='Tone' under='support-agent'\n" in shown


@pytest.mark.parametrize(("text", "policy"), [(GUIDE, MD), (UNMARKED, BY_POLICY)], ids=["mark", "policy"])
def test_a_refusal_names_the_protected_section_a_subsection_is_under(text: str, policy: Policy) -> None:
    # the policy (or the mark) names 'safety'; "changes the protected section 'refunds'" alone
    # left the reader to find why 'refunds' is protected
    def messages(edit: str) -> list[str]:
        changed = ATTACKS[edit][0](text)
        return [v.message for v in check_change({"AGENTS.md": text.encode()},
                                                {"AGENTS.md": changed.encode()}, policy)]
    assert "changes the protected section 'refunds' (nested under the protected 'safety')" \
        in messages("deeper")
    assert "removes the protected section 'refunds' (nested under the protected 'safety')" \
        in messages("gone")
    # a section the policy names itself is not said to be nested
    named = Policy(formats=MD.formats, protected_sections=["safety", "refunds"])
    changed = ATTACKS["deeper"][0](UNMARKED)
    said = [v.message for v in check_change({"AGENTS.md": UNMARKED.encode()},
                                            {"AGENTS.md": changed.encode()}, named)]
    assert "changes the protected section 'refunds'" in said


# Among `#` headings, a line over `---` inside the protected section: GitHub shows it as a
# heading of Safety's level, but its author wrote it in Safety.
MIXED = GUIDE.replace("### Escalation\n", "Escalation rules\n---\n").replace("#### Refunds\n", "Refunds\n===\n")


def test_an_underlined_heading_among_hashed_ones_stays_in_the_section_it_is_written_in() -> None:
    assert view(MIXED) == (["support-agent", "style", "safety", "escalation-rules", "refunds", "tone"],
                           [None, "support-agent", "support-agent", "safety", "safety",
                            "support-agent"])
    # a file whose headings are all underlined nests them as CommonMark levels say
    assert view("Title\n=====\n\nA\n---\n\nB\n---\n")[1] == [None, "title", "title"]


@pytest.mark.parametrize(("text", "policy"), [(MIXED, MD), (MIXED.replace(" <!-- gitimprove: protected -->", ""),
                                                             BY_POLICY)], ids=["mark", "policy"])
def test_what_follows_an_underlined_line_in_a_protected_section_stays_protected(text: str, policy: Policy) -> None:
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    assert protected_ids(parsed.view(parsed.entries[0], "agents"), policy) == [
        "safety", "escalation-rules", "refunds"]
    changed = text.replace(HAND, "- Never hand the chat to a human.")
    assert codes(text, changed, policy) == ["protected-changed"]
    assert codes(text, text.replace("- Never promise a refund.", "- Promise refunds."), policy) == [
        "protected-changed"]
