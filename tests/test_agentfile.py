"""Agent files: strict parsing with ``file:line:col: field: message`` errors, and rendering."""

from __future__ import annotations

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.agentfile import (
    AgentFile,
    fill_variables,
    is_slug,
    parse_agent,
    render,
)

SOURCE = "agents/support.yaml"

GOOD = """\
# agents/support.yaml
name: support
description: Answers questions about {{product}}.
variables: [product, audience]
sections:
  - id: role
    title: Role
    text: |
      You help {{audience}}.
  - id: tone
    title: Tone
    rules:
      - Be brief.
      - Be kind.
  - id: safety
    protected: true
    rules:
      - Never share personal data.
"""


def problems(text: str | bytes, expected_name: str | None = "support") -> list[str]:
    with pytest.raises(InvalidFileError) as info:
        parse_agent(text, SOURCE, expected_name=expected_name)
    for problem in info.value.problems:  # every message names the file and a line
        assert problem.startswith(f"{SOURCE}:"), problem
        assert problem.split(":")[1].isdigit(), problem
    return info.value.problems


def one_section(extra: str, head: str = "name: support\n") -> str:
    return head + "sections:\n  - id: role\n" + extra


# -- a valid file -----------------------------------------------------------------------------


def test_good_file_parses() -> None:
    agent = parse_agent(GOOD, SOURCE, expected_name="support")
    assert agent.name == "support"
    assert agent.variables == ["product", "audience"]
    assert agent.section_ids == ["role", "tone", "safety"]
    assert agent.section("tone") is not None and agent.section("tone").rules == ["Be brief.", "Be kind."]  # type: ignore[union-attr]
    assert agent.section("nope") is None
    assert agent.sections[2].protected is True
    assert agent.sections[0].protected is False
    assert agent.used_variables() == {"product", "audience"}


def test_file_may_be_bytes() -> None:
    assert parse_agent(GOOD.encode(), SOURCE).name == "support"


def test_no_expected_name_skips_the_file_name_check() -> None:
    assert parse_agent(GOOD, "elsewhere.yaml").name == "support"


# -- what YAML itself may not carry ---------------------------------------------------------


def test_python_object_tag() -> None:
    text = one_section("    text: !!python/object:os.system\n      cmd: rm\n")
    assert problems(text) == [
        f"{SOURCE}:4:11: tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"]


def test_custom_tag() -> None:
    assert problems(one_section("    rules:\n      - !foo bar\n")) == [
        f"{SOURCE}:5:9: tag '!foo' is not allowed"]


def test_duplicate_key() -> None:
    text = "name: support\nname: support\nsections:\n  - id: a\n    text: t\n"
    assert problems(text) == [f"{SOURCE}:2:1: name: duplicate key 'name'"]


def test_duplicate_key_in_section() -> None:
    assert problems(one_section("    text: a\n    text: b\n")) == [
        f"{SOURCE}:5:5: sections[0].text: duplicate key 'text'"]


def test_anchor_and_alias() -> None:
    text = one_section("    text: &t hello\n  - id: b\n    text: *t\n")
    assert problems(text) == [
        f"{SOURCE}:4:11: anchor '&t' is not allowed: one edit must change one place",
        f"{SOURCE}:6:11: alias '*t' is not allowed: write the value out",
    ]


def test_anchored_protected_section_aliased_elsewhere() -> None:
    # the trick: an edit to the alias's target would silently change the protected section too
    text = ("name: support\n"
            "sections:\n"
            "  - &safety\n"
            "    id: safety\n"
            "    protected: true\n"
            "    rules: [Never share personal data.]\n"
            "  - *safety\n")
    assert problems(text) == [
        f"{SOURCE}:3:5: anchor '&safety' is not allowed: one edit must change one place",
        f"{SOURCE}:7:5: alias '*safety' is not allowed: write the value out",
    ]


def test_yaml_syntax_error() -> None:
    text = one_section("    rules: [unclosed\n")
    assert problems(text) == [
        f"{SOURCE}:5:1: YAML syntax error: while parsing a flow sequence "
        "did not find expected ',' or ']'"]


def test_invalid_utf8() -> None:
    raw = one_section("    text: caf").encode() + b"\xe9\n"
    assert problems(raw) == [f"{SOURCE}:4:14: file is not valid UTF-8 (byte 50)"]


def test_multiple_documents() -> None:
    text = one_section("    text: t\n") + "---\nname: other\n"
    assert problems(text) == [f"{SOURCE}:5:1: more than one YAML document in the file"]


def test_not_a_mapping() -> None:
    assert problems("- a\n- b\n") == [
        f"{SOURCE}:1:1: an agent file must be a mapping with `name`, `description`, "
        "`variables` and `sections`"]
    assert problems("") == problems("- a\n")


# -- the schema -----------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "got"), [
    ("42", "int 42"),
    ("yes", "bool True"),
    ("null", "nothing (null)"),
    ("3.5", "float 3.5"),
])
def test_rule_must_be_a_string(rule: str, got: str) -> None:
    text = one_section(f"    rules:\n      - Fine.\n      - {rule}\n")
    assert problems(text) == [
        f"{SOURCE}:6:9: sections[0].rules[1]: Input should be a valid string, got {got}"]


def test_quoted_rule_is_a_string() -> None:
    agent = parse_agent(one_section("    rules:\n      - '42'\n      - \"yes\"\n"), SOURCE)
    assert agent.sections[0].rules == ["42", "yes"]


def test_protected_must_be_a_boolean() -> None:
    assert problems(one_section("    text: t\n    protected: 'yes'\n")) == [
        f"{SOURCE}:5:5: sections[0].protected: Input should be a valid boolean, got str 'yes'"]


def test_unknown_top_level_field() -> None:
    text = "name: support\ncolour: red\nsections:\n  - id: a\n    text: t\n"
    assert problems(text) == [f"{SOURCE}:2:1: colour: unknown field 'colour'"]


def test_unknown_section_field() -> None:
    assert problems(one_section("    text: t\n    colour: red\n")) == [
        f"{SOURCE}:5:5: sections[0].colour: unknown field 'colour'"]


def test_missing_sections() -> None:
    assert problems("name: support\ndescription: d\n") == [
        f"{SOURCE}:1:1: sections: required field 'sections' is missing"]


def test_missing_section_id() -> None:
    text = "name: support\nsections:\n  - id: a\n    text: t\n  - title: B\n    text: t\n"
    assert problems(text) == [f"{SOURCE}:5:5: sections[1].id: required field 'id' is missing"]


def test_empty_sections() -> None:
    assert problems("name: support\nsections: []\n") == [
        f"{SOURCE}:2:1: sections: an agent needs at least one section"]


# -- rules beyond the schema ------------------------------------------------------------------


def test_empty_section_id() -> None:
    text = "name: support\nsections:\n  - id: ''\n    text: t\n"
    assert problems(text) == [f"{SOURCE}:3:5: sections[0].id: section id is empty"]


def test_section_id_not_a_slug() -> None:
    text = "name: support\nsections:\n  - id: Tone Of Voice\n    text: t\n"
    assert problems(text) == [
        f"{SOURCE}:3:5: sections[0].id: section id 'Tone Of Voice' is not a plain slug"]


def test_duplicate_section_id_matches_the_documented_example() -> None:
    text = ("name: support\n"          # 1
            "sections:\n"              # 2
            "  - id: role\n"           # 3
            "    text: |\n"            # 4
            "      You help.\n"        # 5
            "  - id: tone\n"           # 6
            "    rules:\n"             # 7
            "      - Be brief.\n"      # 8
            "      - Be kind.\n"       # 9
            "      - Be clear.\n"      # 10
            "      - Be exact.\n"      # 11
            "      - Be calm.\n"       # 12
            "  # the same id again\n"  # 13
            "  - id: tone\n"           # 14
            "    rules: [x]\n")
    assert problems(text) == [f"{SOURCE}:14:5: sections[2].id: duplicate section id 'tone'"]


@pytest.mark.parametrize("name", ["a/b", "..", "-x", "has space", "Support", ".hidden", "a..b",
                                  "a--b", "", "x" * 65])
def test_name_must_be_a_plain_slug(name: str) -> None:
    text = f"name: '{name}'\nsections:\n  - id: a\n    text: t\n"
    assert problems(text, expected_name=None) == [
        f"{SOURCE}:1:1: name: agent name {name!r} is not a plain slug (lowercase letters, digits, "
        "'-', '_' or '.'; no '/', '..', spaces or leading '-')"]


@pytest.mark.parametrize("name", ["support", "a", "product-writer", "v2.agent", "snake_case", "x" * 64])
def test_plain_slugs(name: str) -> None:
    assert is_slug(name)


def test_name_differs_from_file_name() -> None:
    text = "description: d\nname: helpdesk\nsections:\n  - id: a\n    text: t\n"
    assert problems(text) == [
        f"{SOURCE}:2:1: name: name 'helpdesk' differs from the file name 'support'.yaml: "
        "rename one to match the other"]


def test_section_with_neither_text_nor_rules() -> None:
    text = "name: support\nsections:\n  - id: a\n    text: t\n  - id: b\n    title: B\n"
    assert problems(text) == [f"{SOURCE}:5:5: sections[1]: section 'b' needs `text`, `rules`, or both"]


def test_empty_text_and_empty_rule() -> None:
    text = one_section("    text: ' '\n    rules:\n      - ''\n")
    assert problems(text) == [
        f"{SOURCE}:4:5: sections[0].text: text is empty",
        f"{SOURCE}:6:9: sections[0].rules[0]: rule is empty",
    ]


def test_undeclared_variable_in_text() -> None:
    text = one_section("    text: Hello {{customer}}.\n")
    assert problems(text) == [
        f"{SOURCE}:4:5: sections[0].text: uses {{{{customer}}}} but `variables` does not declare it"]


def test_undeclared_variable_in_rule_and_description() -> None:
    text = ("name: support\ndescription: For {{company}}.\nsections:\n  - id: a\n"
            "    rules:\n      - Greet {{ customer }}.\n")
    assert problems(text) == [
        f"{SOURCE}:6:9: sections[0].rules[0]: uses {{{{customer}}}} but `variables` does not declare it",
        f"{SOURCE}:2:1: description: uses {{{{company}}}} but `variables` does not declare it",
    ]


def test_declared_variable_never_used() -> None:
    text = "name: support\nvariables: [company, customer]\nsections:\n  - id: a\n    text: Hi {{customer}}\n"
    assert problems(text) == [
        f"{SOURCE}:2:13: variables[0]: variable 'company' is declared but never used as {{{{company}}}}"]


def test_variable_declared_twice_and_bad_variable_name() -> None:
    text = ("name: support\nvariables:\n  - who\n  - who\n  - 2bad\n"
            "sections:\n  - id: a\n    text: Hi {{who}}\n")
    assert problems(text) == [
        f"{SOURCE}:4:5: variables[1]: variable 'who' is declared twice",
        f"{SOURCE}:5:5: variables[2]: '2bad' is not a valid variable name",
    ]


def test_all_problems_are_listed_with_a_summary() -> None:
    text = "name: support\nsections:\n  - id: a\n  - id: a\n    text: t\n"
    with pytest.raises(InvalidFileError) as info:
        parse_agent(text, SOURCE)
    assert info.value.problems == [
        f"{SOURCE}:3:5: sections[0]: section 'a' needs `text`, `rules`, or both",
        f"{SOURCE}:4:5: sections[1].id: duplicate section id 'a'",
    ]
    assert info.value.message == info.value.problems[0] + " (and 1 more)"
    assert str(info.value) == "\n".join(info.value.problems)


# -- rendering ----------------------------------------------------------------------------------


def test_render_exact_output() -> None:
    agent = parse_agent(GOOD, SOURCE)
    assert render(agent) == (
        "Answers questions about {{product}}.\n"
        "\n"
        "## Role\n"
        "You help {{audience}}.\n"
        "\n"
        "## Tone\n"
        "- Be brief.\n"
        "- Be kind.\n"
        "\n"
        "- Never share personal data.\n"
    )


def test_render_text_and_rules_in_one_section() -> None:
    agent = parse_agent("name: a\nsections:\n  - id: s\n    title: '  S  '\n    rules: [' r ']\n"
                        "    text: |+\n      Body.\n\n\n", "a.yaml")
    assert render(agent) == "## S\nBody.\n\n- r\n"


def test_render_keeps_section_order_and_is_deterministic() -> None:
    forward = "name: a\nsections:\n" + "".join(f"  - id: s{i}\n    text: T{i}\n" for i in range(30))
    agent = parse_agent(forward, "a.yaml")
    out = render(agent)
    assert out == "\n\n".join(f"T{i}" for i in range(30)) + "\n"
    assert render(parse_agent(forward, "a.yaml")) == out  # same file, same bytes
    backward = "name: a\nsections:\n" + "".join(
        f"  - id: s{i}\n    text: T{i}\n" for i in reversed(range(30)))
    assert render(parse_agent(backward, "a.yaml")) == "\n\n".join(
        f"T{i}" for i in reversed(range(30))) + "\n"


def test_render_equal_models_give_equal_text() -> None:
    a = parse_agent(GOOD, SOURCE)
    b = AgentFile.model_validate(a.model_dump())
    assert render(a) == render(b)


def test_fill_variables() -> None:
    agent = parse_agent(GOOD, SOURCE)
    text = fill_variables(render(agent), {"product": "Lamps", "audience": "shoppers"}, agent.variables)
    assert "Answers questions about Lamps." in text
    assert "You help shoppers." in text
    assert "{{" not in text
    with pytest.raises(KeyError, match="audience"):
        fill_variables(render(agent), {"product": "Lamps"}, agent.variables)
