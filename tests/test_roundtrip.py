"""Round-trip editing: an unedited file is byte-identical, an edit changes only its own lines."""

from __future__ import annotations

import difflib

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.roundtrip import AgentDocument, EditError

from .conftest import SAMPLE

SOURCE = "agents/x.yaml"

COMMENTED = """\
# agents/x.yaml -- a header comment
# over two lines
name: x   # inline after a value
description: 'single — quoted: with a colon'
variables: ["who", where]   # a flow list
sections:
  # above the first section
  - id: role
    title: "Rôle — 中文 🎉"
    text: |
      Hello {{who}} in {{where}}.
      Second line, café.
  # above the second section
  - id: style
    title: Style
    rules:
      - First rule.   # inline on a rule
      - 'Second: quoted.'
      - "Third, double quoted."
  # above the third section

  - id: folded
    text: >
      Folded text
      over lines.
    rules: [one, two]
  - id: stripped
    text: |-
      No final newline.
    rules:
      - Last rule.
  # a closing comment
"""

FOUR_SPACES = """\
name: x
sections:
    -   id: role
        text: |
            Four spaces.
        rules:
            -   One.
            -   Two.
    -   id: more
        rules:
            -   Three.
"""

FOUR_SPACES_OFFSET = """\
name: x
sections:
    - id: role
      text: |
          Four spaces, dashes indented.
      rules:
          - One.
          - Two.
"""

NOT_INDENTED = """\
name: x
sections:
- id: role
  rules:
  - One.
  - Two.
# above more
- id: more
  text: Plain text.
"""

UNICODE = """\
name: x
description: "Émojis 🎉 and escapes \\u00e9"
sections:
  - id: role
    title: Ünïcödé
    rules:
      - 中文规则。
      - Em—dash and ‘curly’ quotes.
      - 🎉🎉🎉
"""

HAND_WRITTEN = {"commented": COMMENTED, "four-spaces": FOUR_SPACES,
                "four-spaces-offset": FOUR_SPACES_OFFSET, "not-indented": NOT_INDENTED,
                "unicode": UNICODE}


def changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """Lines added and removed, as difflib sees them."""
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
    added = [d[1:] for d in diff[2:] if d.startswith("+")]
    removed = [d[1:] for d in diff[2:] if d.startswith("-")]
    return added, removed


def doc(text: str = COMMENTED) -> AgentDocument:
    return AgentDocument(text, SOURCE, expected_name="x")


def sample_files() -> list[str]:
    return sorted(p.name for p in (SAMPLE / "agents").glob("*.yaml"))


def test_there_are_sample_files() -> None:
    assert len(sample_files()) >= 3


# -- byte identity ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sample_files())
def test_sample_files_round_trip(name: str) -> None:
    text = (SAMPLE / "agents" / name).read_text()
    d = AgentDocument(text, f"agents/{name}", expected_name=name[:-5])
    assert d.dumps() == text
    # an edit undone serialises the whole file again: the same bytes must come out
    section = next(s for s in d.agent.sections if s.rules)
    d.add_rule(section.id, "Temporary rule.")
    assert d.dumps() != text
    d.remove_rule(section.id, len(section.rules or []))
    assert d.dumps() == text


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_files_round_trip(name: str) -> None:
    text = HAND_WRITTEN[name]
    d = doc(text)
    assert d.dumps() == text
    section = next(s for s in d.agent.sections if s.rules)
    d.add_rule(section.id, "Temporary rule.")
    d.remove_rule(section.id, len(section.rules or []))
    assert d.dumps() == text


def test_escapes_and_folded_plain_scalars_survive_an_edit_elsewhere() -> None:
    # ruamel itself would write "é" for "\\u00e9" and join the folded plain scalar
    text = ('name: x\n'
            'description: "caf\\u00e9 \\t tab"\n'
            'variables: [who]\n'
            'sections:\n'
            '  - id: a\n'
            '    text: Hello {{who}}, this plain text\n'
            '      goes on over a second line.\n'
            '    rules:\n'
            "      - 'it''s quoted'\n")
    d = doc(text)
    d.add_rule("a", "New.")
    assert changes(text, d.dumps()) == (["      - New."], [])
    assert d.validated().description == "café \t tab"
    d.update_rule("a", 0, "Reworded.")
    assert changes(text, d.dumps()) == (["      - 'Reworded.'", "      - New."], ["      - 'it''s quoted'"])


def test_edit_of_a_file_ruamel_cannot_reproduce_still_gives_the_edited_data() -> None:
    text = "name: x\nsections:\n- id: a\n  rules:\n      - one\n- id: b\n  text: hi\n"
    d = doc(text)
    d.add_rule("a", "two")
    d.add_section("c", text="three")
    agent = d.validated()
    assert agent.section("a").rules == ["one", "two"]  # type: ignore[union-attr]
    assert agent.section_ids == ["a", "b", "c"]
    assert "- id: b\n  text: hi\n" in d.dumps()


def test_unedited_document_is_never_reserialised() -> None:
    # mixed indentation that no single ruamel setting reproduces
    text = "name: x\nsections:\n- id: a\n  rules:\n      - one\n"
    assert doc(text).dumps() == text


# -- edits change only their own lines ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_add_rule_adds_exactly_one_line(name: str) -> None:
    text = HAND_WRITTEN[name]
    d = doc(text)
    section = next(s for s in d.agent.sections if s.rules and len(s.rules) > 1)
    d.add_rule(section.id, "A brand new rule.")
    added, removed = changes(text, d.dumps())
    assert removed == []
    assert len(added) == 1 and added[0].strip().endswith("A brand new rule.")
    assert d.validated().section(section.id).rules[-1] == "A brand new rule."  # type: ignore[union-attr]


def test_add_rule_goes_after_the_last_rule_not_after_the_next_comment() -> None:
    d = doc()
    d.add_rule("style", "Fourth rule.")
    lines = d.dumps().splitlines()
    at = lines.index("      - Fourth rule.")
    assert lines[at - 1] == '      - "Third, double quoted."'
    assert lines[at + 1] == "  # above the third section"


def test_add_rule_at_a_position() -> None:
    d = doc()
    d.add_rule("style", "Now first.", position=0)
    added, removed = changes(COMMENTED, d.dumps())
    assert (added, removed) == (["      - Now first."], [])
    assert d.validated().section("style").rules == [  # type: ignore[union-attr]
        "Now first.", "First rule.", "Second: quoted.", "Third, double quoted."]


def test_add_rule_with_yaml_characters_is_quoted() -> None:
    d = doc()
    d.add_rule("style", "Say: 'no' # politely")
    added, removed = changes(COMMENTED, d.dumps())
    assert removed == [] and len(added) == 1
    assert d.validated().section("style").rules[-1] == "Say: 'no' # politely"  # type: ignore[union-attr]


def test_add_rule_to_a_flow_list_changes_that_line() -> None:
    d = doc()
    d.add_rule("folded", "three")
    assert changes(COMMENTED, d.dumps()) == (["    rules: [one, two, three]"], ["    rules: [one, two]"])


def test_add_first_rule_to_a_section_without_rules() -> None:
    d = doc()
    d.add_rule("role", "Be brief.")
    added, removed = changes(COMMENTED, d.dumps())
    assert (added, removed) == (["    rules:", "      - Be brief."], [])
    lines = d.dumps().splitlines()
    # the comment that introduces the next section stays right above it
    assert lines[lines.index("      - Be brief.") + 1] == "  # above the second section"


def test_add_rule_to_the_last_section_keeps_the_closing_comment_last() -> None:
    d = doc()
    d.add_rule("stripped", "Very last.")
    assert changes(COMMENTED, d.dumps()) == (["      - Very last."], [])
    assert d.dumps().endswith("      - Very last.\n  # a closing comment\n")


def test_update_rule_changes_one_line() -> None:
    d = doc()
    d.update_rule("style", 1, "Second, reworded.")
    assert changes(COMMENTED, d.dumps()) == (["      - 'Second, reworded.'"], ["      - 'Second: quoted.'"])


def test_update_rule_keeps_an_inline_comment() -> None:
    d = doc()
    d.update_rule("style", 0, "First, reworded.")
    added, removed = changes(COMMENTED, d.dumps())
    assert removed == ["      - First rule.   # inline on a rule"]
    assert len(added) == 1 and added[0].startswith("      - First, reworded.")
    assert added[0].endswith("# inline on a rule")


def test_remove_rule_removes_one_line() -> None:
    d = doc()
    d.remove_rule("style", 1)
    assert changes(COMMENTED, d.dumps()) == ([], ["      - 'Second: quoted.'"])
    assert d.validated().section("style").rules == ["First rule.", "Third, double quoted."]  # type: ignore[union-attr]


def test_remove_last_rule_keeps_the_comment_after_it() -> None:
    d = doc()
    d.remove_rule("style", 2)
    assert changes(COMMENTED, d.dumps()) == ([], ['      - "Third, double quoted."'])


def test_remove_rule_keeps_a_comment_above_the_next_rule() -> None:
    text = ("name: x\nsections:\n  - id: a\n    rules:\n      - one\n"
            "      # about two\n      - two\n")
    d = doc(text)
    d.remove_rule("a", 0)
    assert changes(text, d.dumps()) == ([], ["      - one"])


def test_remove_the_only_rule_removes_the_rules_key() -> None:
    d = doc()
    d.remove_rule("stripped", 0)
    assert changes(COMMENTED, d.dumps()) == ([], ["    rules:", "      - Last rule."])
    assert d.dumps().endswith("      No final newline.\n  # a closing comment\n")
    assert d.validated().section("stripped").rules is None  # type: ignore[union-attr]


def test_set_text_on_a_literal_block() -> None:
    d = doc()
    d.set_text("role", "Hi {{who}} in {{where}}.\nSecond line, changed.\n")
    added, removed = changes(COMMENTED, d.dumps())
    assert added == ["      Hi {{who}} in {{where}}.", "      Second line, changed."]
    assert removed == ["      Hello {{who}} in {{where}}.", "      Second line, café."]
    assert d.validated().section("role").text == "Hi {{who}} in {{where}}.\nSecond line, changed.\n"  # type: ignore[union-attr]


def test_set_text_on_a_folded_block_writes_a_literal_block() -> None:
    d = doc()
    d.set_text("folded", "Line one.\nLine two.")
    added, removed = changes(COMMENTED, d.dumps())
    assert added == ["    text: |", "      Line one.", "      Line two."]
    assert removed == ["    text: >", "      Folded text", "      over lines."]


def test_set_text_on_a_section_with_rules_only_puts_text_before_the_rules() -> None:
    d = doc()
    d.set_text("style", "Some text.")
    assert changes(COMMENTED, d.dumps()) == (["    text: Some text."], [])
    lines = d.dumps().splitlines()
    assert lines[lines.index("    text: Some text.") + 1] == "    rules:"


def test_add_section_at_the_end() -> None:
    d = doc()
    d.add_section("closing", title="Closing", rules=["Say goodbye."])
    added, removed = changes(COMMENTED, d.dumps())
    assert removed == []
    assert added == ["  - id: closing", "    title: Closing", "    rules:", "      - Say goodbye."]
    assert d.validated().section_ids[-1] == "closing"


def test_add_section_at_a_position_keeps_comments_with_their_section() -> None:
    d = doc()
    d.add_section("intro", text="Two\nlines.", position=1)
    added, removed = changes(COMMENTED, d.dumps())
    assert removed == []
    assert added == ["  - id: intro", "    text: |", "      Two", "      lines."]
    lines = d.dumps().splitlines()
    assert lines[lines.index("  - id: intro") - 1] == "      Second line, café."
    assert lines[lines.index("  - id: style") - 1] == "  # above the second section"
    assert d.validated().section_ids == ["role", "intro", "style", "folded", "stripped"]


def test_add_section_in_four_space_file_uses_its_indentation() -> None:
    d = doc(FOUR_SPACES)
    d.add_section("new", rules=["Four."])
    assert changes(FOUR_SPACES, d.dumps()) == (
        ["    -   id: new", "        rules:", "            -   Four."], [])


def test_several_edits_together() -> None:
    d = doc()
    d.add_rule("style", "Fourth.")
    d.update_rule("style", 0, "First.")
    d.remove_rule("style", 1)
    agent = d.validated()
    assert agent.section("style").rules == ["First.", "Third, double quoted.", "Fourth."]  # type: ignore[union-attr]
    added, removed = changes(COMMENTED, d.dumps())
    assert len(added) == 2 and len(removed) == 2


# -- refusals -----------------------------------------------------------------------------------


def test_unknown_section() -> None:
    d = doc()
    with pytest.raises(EditError, match=r"no section 'nope' \(sections: role, style, folded, stripped\)"):
        d.add_rule("nope", "x")
    with pytest.raises(EditError, match="no section 'nope'"):
        d.set_text("nope", "x")
    assert not d.modified


@pytest.mark.parametrize("index", [3, 10, -1])
def test_bad_rule_index(index: int) -> None:
    d = doc()
    with pytest.raises(EditError, match=rf"section 'style' has 3 rules; there is no rule at index {index}"):
        d.update_rule("style", index, "x")
    with pytest.raises(EditError, match="has 3 rules"):
        d.remove_rule("style", index)
    assert d.dumps() == COMMENTED


def test_rules_of_a_section_without_rules() -> None:
    with pytest.raises(EditError, match="section 'role' has no rules"):
        doc().remove_rule("role", 0)


def test_add_existing_section() -> None:
    with pytest.raises(EditError, match="a section 'style' exists already"):
        doc().add_section("style", text="x")


def test_invalid_file_is_refused_before_editing() -> None:
    with pytest.raises(InvalidFileError) as info:
        AgentDocument("name: x\nsections:\n  - id: a\n    text: !foo t\n", SOURCE)
    assert info.value.problems == [f"{SOURCE}:4:11: tag '!foo' is not allowed"]


def test_validated_reparses_the_edited_text() -> None:
    d = doc()
    d.add_rule("style", "Mention {{brand}}.")
    with pytest.raises(InvalidFileError) as info:
        d.validated()
    line = d.dumps().splitlines().index("      - Mention {{brand}}.") + 1
    assert info.value.problems == [
        f"{SOURCE}:{line}:9: sections[1].rules[3]: uses {{{{brand}}}} but `variables` does not declare it"]


@pytest.mark.parametrize("name", [*sample_files(), *(f"hand:{n}" for n in sorted(HAND_WRITTEN))])
def test_every_single_rule_edit_on_every_file(name: str) -> None:
    """Each rule of each file added to, reworded and removed, one at a time: the data is what
    was asked for, and the text changes by exactly the lines of that rule."""
    if name.startswith("hand:"):
        text, source, expected = HAND_WRITTEN[name[5:]], SOURCE, "x"
    else:
        text, source, expected = (SAMPLE / "agents" / name).read_text(), f"agents/{name}", name[:-5]
    original = AgentDocument(text, source, expected_name=expected).agent
    for section in original.sections:
        rules = list(section.rules or [])
        flow = f"    rules: [{', '.join(rules)}]" in text
        if not rules or flow:
            continue
        for index in range(len(rules) + 1):
            d = AgentDocument(text, source, expected_name=expected)
            d.add_rule(section.id, "Inserted rule.", position=index)
            added, removed = changes(text, d.dumps())
            assert (len(added), removed) == (1, []), (section.id, index)
            assert d.validated().section(section.id).rules == [  # type: ignore[union-attr]
                *rules[:index], "Inserted rule.", *rules[index:]]
        for index in range(len(rules)):
            d = AgentDocument(text, source, expected_name=expected)
            d.update_rule(section.id, index, "Reworded rule.")
            added, removed = changes(text, d.dumps())
            assert (len(added), len(removed)) == (1, 1), (section.id, index)
            assert d.validated().section(section.id).rules == [  # type: ignore[union-attr]
                *rules[:index], "Reworded rule.", *rules[index + 1:]]
            if len(rules) > 1:
                d = AgentDocument(text, source, expected_name=expected)
                d.remove_rule(section.id, index)
                added, removed = changes(text, d.dumps())
                assert (added, len(removed)) == ([], 1), (section.id, index)
                assert d.validated().section(section.id).rules == [  # type: ignore[union-attr]
                    *rules[:index], *rules[index + 1:]]
        # nothing else in the file moved: the other sections are equal
        others = [s for s in original.sections if s.id != section.id]
        assert [s for s in d.validated().sections if s.id != section.id] == others
