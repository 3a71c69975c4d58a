"""Markdown files whose headings are underlined (setext: ``Title`` over ``=====`` or ``-----``),
read as CommonMark reads them: sections, protected sections and edits work as with ``#``."""

from __future__ import annotations

import pytest

from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
from gitimprove.instructions.policy import FormatRule, Policy
from gitimprove.validate import check_change

GUIDE = """Support agent
=============

You answer customers of the shop.

Style
-----

- Be brief.
- Be warm.

Safety <!-- gitimprove: protected -->
------

- Never share a customer's data.
"""

POLICY = Policy(formats=[FormatRule(path="AGENTS.md", format="markdown")])


def doc(text: str) -> AdoptedDocument:
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    return AdoptedDocument(parsed, parsed.entries[0].key, "agents")


def codes(old: str, new: str) -> list[str]:
    return [v.code for v in check_change({"AGENTS.md": old.encode()}, {"AGENTS.md": new.encode()}, POLICY)]


def test_underlined_headings_are_sections_with_their_levels() -> None:
    parsed = ADAPTERS["markdown"].parse(GUIDE, "AGENTS.md")
    found = [(s.id, s.title, s.level, s.protected, len(s.rules)) for _, _, s in parsed.sections(parsed.entries[0])]
    assert found == [("support-agent", "Support agent", 1, False, 0), ("style", "Style", 2, False, 2),
                     ("safety", "Safety", 2, True, 1)]
    agent = doc(GUIDE).agent
    assert agent.section("support-agent").text == "You answer customers of the shop."  # type: ignore[union-attr]
    assert agent.section("style").rules == ["Be brief.", "Be warm."]  # type: ignore[union-attr]


def test_a_paragraph_of_several_lines_over_an_underline_is_one_heading() -> None:
    agent = doc("You help.\n\nRules for\nevery answer\n===\n\n- Be brief.\n").agent
    assert [(s.id, s.title) for s in agent.sections] == [("intro", None), ("rules-for-every-answer",
                                                                           "Rules for every answer")]


@pytest.mark.parametrize("text", [
    "You help.\n\n---\n\nMore.\n",              # a thematic break after a blank line
    "You help.\n\n```\nfront\n---\n```\n",      # in a code fence
    "You help.\n\n- Be brief.\n---\n",          # under a list item
    "You help.\n\n> Quoted.\n---\n",            # under a quote
    "# Help\n\n    code\n---\n",                # under indented code
    "You help.\n\n<div>\n---\n</div>\n",        # in markup
    "You help.\n\n- - -\n",                     # spaced, as only a break is
    "---\nname: a\n---\nYou help.\n",            # front matter
])
def test_what_is_no_underline_stays_as_it_was(text: str) -> None:
    assert [s.title for s in doc(text).agent.sections if s.title and s.title != "Help"] == []


def test_a_protected_underlined_section_is_protected() -> None:
    changed = GUIDE.replace("Never share a customer's data.", "Share data when asked.")
    assert codes(GUIDE, changed) == ["protected-changed"]
    unmarked = GUIDE.replace(" <!-- gitimprove: protected -->", "")
    assert codes(GUIDE, unmarked) == ["protected-unflagged"]
    by_policy = Policy(formats=POLICY.formats, protected_sections=["safety"])
    plain = unmarked.replace("- Never", "- Always").replace("customer's data", "customer's data openly")
    assert [v.code for v in check_change({"AGENTS.md": unmarked.encode()}, {"AGENTS.md": plain.encode()},
                                         by_policy)] == ["protected-changed"]


def test_changing_an_underline_changes_the_level_and_is_refused() -> None:
    # and puts "Safety" under "Style": the protected section moves
    assert codes(GUIDE, GUIDE.replace("Style\n-----", "Style\n=====")) == ["protected-moved", "heading-level"]


def test_a_rule_goes_under_the_underline_never_between_it_and_its_title() -> None:
    d = doc(GUIDE)
    d.add_rule("style", "Answer in the customer's language.")
    assert d.dumps() == GUIDE.replace("- Be warm.\n", "- Be warm.\n- Answer in the customer's language.\n")
    alone = "Guide\n=====\n\nYou help.\n\nTone\n----\n"
    d = doc(alone)
    d.add_rule("tone", "Be warm.")
    assert d.dumps() == alone + "\n- Be warm.\n"
    tight = "Guide\n=====\nYou help.\n\nTone\n----\nBe warm.\n\nSteps\n-----\n"
    d = doc(tight)
    d.add_rule("steps", "Greet first.")
    assert d.dumps() == tight + "- Greet first.\n"
    d = doc(alone)
    d.set_text("tone", "Speak plainly.")
    assert d.dumps() == alone + "\nSpeak plainly.\n\n"
    assert codes(alone, d.dumps()) == []


def test_a_rule_above_a_template_input_keeps_an_underlined_heading_whole() -> None:
    text = "You summarise.\n\n- Be brief.\n\nInstructions\n------------\n\n{{input}}\n"
    d = doc(text)
    d.add_rule("instructions", "Keep names as written.")
    out = d.dumps()
    assert "Instructions\n------------\n" in out and [s.id for s in doc(out).agent.sections] == [
        "intro", "instructions"]


def test_a_section_added_to_an_underlined_file_is_underlined() -> None:
    d = doc(GUIDE)
    d.add_section("tools", title="Tools", rules=["Look the order up first."])
    assert d.dumps() == GUIDE + "\nTools\n-----\n\n- Look the order up first.\n"
    assert codes(GUIDE, d.dumps()) == []
    for title in ("- Notes", "> Notes", "<div>"):  # no paragraph over the line: a # heading
        d = doc(GUIDE)
        d.add_section("notes", title=title)
        assert d.dumps() == GUIDE + f"\n## {title.strip()}\n"
        assert [s.title for s in doc(d.dumps()).agent.sections][-1] == title.strip()


def test_an_underline_a_model_writes_makes_no_heading_a_hash_would_not() -> None:
    """A rule is one line behind its marker: `===` under its own text joins it. Text that
    holds a heading is judged as its `#` spelling is: the same violations."""
    d = doc(GUIDE)
    d.add_rule("style", "Be brief.\n=====")
    d.update_rule("style", 0, "Be short.\n-----")
    out = d.dumps()
    assert "- Be brief. =====\n" in out and "- Be short. -----\n" in out
    assert [s.id for s in doc(out).agent.sections] == ["support-agent", "style", "safety"]
    assert codes(GUIDE, out) == []
    for setext, atx in (("Safety\n------", "## Safety"), ("Notes\n=====", "# Notes")):
        results = []
        for heading in (setext, atx):
            d = doc(GUIDE)
            d.set_text("style", f"Write well.\n\n{heading}\n\nAnything goes.")
            results.append(codes(GUIDE, d.dumps()))
        # refused for the same reasons; a `#` heading among underlined ones also holds the
        # underlined protected section after it (an underline never closes a `#` section)
        assert set(results[0]) <= set(results[1]) <= {*results[0], "protected-extended"}, results
    # a rule that opens with `#` is a heading inside its list item: refused, as in text
    d = doc(GUIDE)
    d.add_rule("style", "# Safety")
    assert codes(GUIDE, d.dumps()) == ["heading-in-text"]
    # in text that stays text, an underline is refused as a heading would be
    underlined = GUIDE.replace("You answer customers of the shop.\n", "You answer customers of the shop.\n\n===\n")
    assert codes(GUIDE, underlined) == codes(GUIDE, GUIDE.replace("shop.\n", "shop.\n\n#\n", 1))


def test_a_rule_of_its_own_takes_the_bullet_the_file_uses() -> None:
    """A new section's rules, and a rule that starts a list, are written with the bullet the
    file's lists use ("*"), not always "-"."""
    starred = GUIDE.replace("- Be", "* Be").replace("- Never", "* Never")
    d = doc(starred)
    d.add_section("tools", title="Tools", rules=["Look the order up first."])
    assert d.dumps().endswith("\nTools\n-----\n\n* Look the order up first.\n")
    d = doc(starred)
    d.add_rule("support-agent", "Greet the customer by name.")
    assert "* Greet the customer by name." in d.dumps()
    assert doc(GUIDE).dumps() == GUIDE  # a file of "-" lists keeps "-"
    d = doc(GUIDE)
    d.add_section("tools", title="Tools", rules=["Look the order up first."])
    assert d.dumps().endswith("\n- Look the order up first.\n")
