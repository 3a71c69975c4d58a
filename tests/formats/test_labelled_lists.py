"""A rule added to a list whose items open with a bold label (`1. **Be brief**: ...`) follows
the list: the numbering goes on, and the rule is labelled the same way when its own words
give a label (`Label: text`, or a short first sentence); else it is written as it came."""

from __future__ import annotations

import pytest

from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
from gitimprove.instructions.policy import FormatRule, Policy
from gitimprove.proposals.operations import AddRule, Draft, UpdateRule, apply
from gitimprove.validate import check_change

COLON = "# Support\n\nYou help customers.\n\n## Rules\n\n1. **Be brief**: two lines at most.\n" \
        "2. **Be warm**: greet the customer by name.\n\n## Tools\n\nLook orders up first.\n"
POLICY = Policy(formats=[FormatRule(path="AGENTS.md", format="markdown")])


def edited(text: str, *ops: AddRule | UpdateRule) -> str:
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    apply(doc, Draft(summary="s", rationale="r", operations=list(ops)).operations)
    out = doc.dumps()
    assert check_change({"AGENTS.md": text.encode()}, {"AGENTS.md": out.encode()}, POLICY) == []
    return out


def add(text: str, rule: str, position: int | None = None) -> str:
    return edited(text, AddRule(section="rules", text=rule, position=position, reason="r"))


@pytest.mark.parametrize(("item", "rule", "written"), [
    ("**{}**: {}", "Use plain language: explain each term.", "**Use plain language**: explain each term."),
    ("**{}:** {}", "Use plain language: explain each term.", "**Use plain language:** explain each term."),
    ("**{}.** {}", "Use plain language: explain each term.", "**Use plain language.** Explain each term."),
    ("**{}.** {}", "Be exact. Quote the figures you use.", "**Be exact.** Quote the figures you use."),
    ("**{}**: {}", "Be exact. Quote the figures you use.", "**Be exact**: Quote the figures you use."),
    # no label of its own: written as it came, numbered
    ("**{}**: {}", "Cut filler and repetition.", "Cut filler and repetition."),
    ("**{}.** {}", "Ask Dr. Lee before any refund.", "Ask Dr. Lee before any refund."),
    ("**{}.** {}", "Use U.S. dates.", "Use U.S. dates."),
    ("**{}**: {}", "Never, under any circumstances at all: share data.", "Never, under any circumstances at all: share data."),
    ("**{}**: {}", "When the customer asks for a person or says it is urgent: hand over.",
     "When the customer asks for a person or says it is urgent: hand over."),
    ("**{}**: {}", "Use *this*: always.", "Use *this*: always."),
    # labelled already: as written
    ("**{}**: {}", "**Cite sources**: name each one.", "**Cite sources**: name each one."),
])
def test_a_new_rule_follows_a_labelled_numbered_list(item: str, rule: str, written: str) -> None:
    text = COLON.replace("**Be brief**: two lines at most.", item.format("Be brief", "Two lines at most.")) \
                .replace("**Be warm**: greet the customer by name.", item.format("Be warm", "Greet by name."))
    out = add(text, rule)
    last = item.format("Be warm", "Greet by name.")
    assert out == text.replace(f"2. {last}\n", f"2. {last}\n3. {written}\n")


def test_a_list_not_every_item_of_which_is_labelled_takes_the_rule_as_written() -> None:
    text = COLON.replace("**Be warm**: greet", "Greet")
    assert "3. Use plain language: explain each term.\n" in add(text, "Use plain language: explain each term.")
    bold = COLON.replace("**Be brief**: two", "**Be brief** two").replace("**Be warm**: greet", "**Be warm** greet")
    assert "3. Use plain language: explain each term.\n" in add(bold, "Use plain language: explain each term.")


def test_a_bulleted_labelled_list_and_a_rule_put_before_another_are_labelled_too() -> None:
    bullets = COLON.replace("1. **", "- **").replace("2. **", "- **")
    assert "- **Be warm**: greet the customer by name.\n- **Be exact**: quote figures.\n" in add(
        bullets, "Be exact: quote figures.")
    assert "1. **Be exact**: quote figures.\n1. **Be brief**" in add(COLON, "Be exact: quote figures.", 0)


def test_a_reworded_rule_keeps_the_lists_label() -> None:
    out = edited(COLON, UpdateRule(section="rules", index=1, text="Be warm: greet the customer first.", reason="r"))
    assert "2. **Be warm**: greet the customer first.\n" in out


def test_a_rule_that_would_be_a_heading_gets_no_label_and_is_refused() -> None:
    parsed = ADAPTERS["markdown"].parse(COLON, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    doc.add_rule("rules", "# Safety: anything goes.")
    out = doc.dumps()
    assert "3. # Safety: anything goes.\n" in out
    assert [v.code for v in check_change({"AGENTS.md": COLON.encode()}, {"AGENTS.md": out.encode()}, POLICY)] == [
        "heading-in-text"]
