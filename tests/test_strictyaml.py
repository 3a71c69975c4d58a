"""The strict YAML reader: what it refuses, and the positions it remembers."""

from __future__ import annotations

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions import strictyaml


def problems(text: str | bytes, source: str = "f.yaml") -> list[str]:
    with pytest.raises(InvalidFileError) as info:
        strictyaml.load(text, source)
    return info.value.problems


def test_plain_values_and_positions() -> None:
    doc = strictyaml.load(
        "name: x\n"
        "count: 42\n"
        "quoted: '42'\n"
        "flag: yes\n"
        "items:\n"
        "  - a\n"
        "  - b: c\n",
        "f.yaml",
    )
    assert doc.value == {"name": "x", "count": 42, "quoted": "42", "flag": True,
                         "items": ["a", {"b": "c"}]}
    assert doc.positions[("count",)] == (2, 8)
    assert doc.key_positions[("count",)] == (2, 1)
    assert doc.positions[("items", 0)] == (6, 5)
    assert doc.positions[("items", 1, "b")] == (7, 8)
    assert doc.key_positions[("items", 1, "b")] == (7, 5)
    # where(): the key's position wins, an unknown path falls back to its closest parent
    assert doc.where(("items", 1, "b")) == "f.yaml:7:5"
    assert doc.where(("items", 1, "nope")) == "f.yaml:7:5"
    assert doc.where(("items", 0)) == "f.yaml:6:5"
    assert doc.problem(("items", 1, "b"), "bad") == "f.yaml:7:5: items[1].b: bad"


def test_format_path() -> None:
    assert strictyaml.format_path(("sections", 2, "id")) == "sections[2].id"
    assert strictyaml.format_path(("name",)) == "name"
    assert strictyaml.format_path(()) == ""


def test_byte_order_mark_is_ignored() -> None:
    assert strictyaml.load("\ufeffname: x\n", "f.yaml").value == {"name": "x"}
    assert strictyaml.load("\ufeffname: x\n".encode(), "f.yaml").value == {"name": "x"}


def test_python_tag_is_refused() -> None:
    assert problems("a: 1\nb: !!python/object:os.system\n  c: 1\n") == [
        "f.yaml:2:4: tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"]


def test_local_tag_is_refused() -> None:
    assert problems("a:\n  - !foo bar\n") == ["f.yaml:2:5: tag '!foo' is not allowed"]


def test_explicit_standard_tag_is_refused() -> None:
    # even !!str: a file has no reason to carry tags, and refusing all keeps the rule simple
    assert problems("a: !!str 42\n") == ["f.yaml:1:4: tag 'tag:yaml.org,2002:str' is not allowed"]


def test_duplicate_key() -> None:
    assert problems("a: 1\nb:\n  c: 1\n  c: 2\n") == ["f.yaml:4:3: b.c: duplicate key 'c'"]


def test_anchor_and_alias() -> None:
    assert problems("a: &x 1\nb: *x\n") == [
        "f.yaml:1:4: anchor '&x' is not allowed: one edit must change one place",
        "f.yaml:2:4: alias '*x' is not allowed: write the value out",
    ]


def test_merge_key_with_alias_is_refused() -> None:
    assert problems("base: &b {x: 1}\nother:\n  <<: *b\n") == [
        "f.yaml:1:7: anchor '&b' is not allowed: one edit must change one place",
        "f.yaml:3:7: alias '*b' is not allowed: write the value out",
    ]


def test_non_string_key() -> None:
    assert problems("1: a\n") == ["f.yaml:1:1: mapping keys must be strings, got 1"]


def test_more_than_one_document() -> None:
    assert problems("a: 1\n---\nb: 2\n") == ["f.yaml:2:1: more than one YAML document in the file"]


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(InvalidFileError) as info:
        strictyaml.load("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    assert info.value.problems == [
        "f.yaml:3:2: YAML syntax error: while parsing a flow sequence "
        "did not find expected ',' or ']'"]
    assert info.value.hint == "fix the YAML syntax at that line"


def test_bad_indentation_is_a_syntax_error() -> None:
    (problem,) = problems("a:\n  b: 1\n c: 2\n")
    assert problem.startswith("f.yaml:3:2: YAML syntax error:")


def test_invalid_utf8() -> None:
    assert problems(b"a: 1\nb: caf\xe9\n") == ["f.yaml:2:7: file is not valid UTF-8 (byte 11)"]
    # the column counts characters, not bytes
    assert problems("a: 1\nb: é".encode() + b"\xff\n") == [
        "f.yaml:2:5: file is not valid UTF-8 (byte 10)"]


def test_control_character() -> None:
    assert problems("a: 1\nb: é\x07\n") == [
        "f.yaml:2:5: character #x0007 is not allowed in YAML (control characters are not allowed)"]


def test_merge_and_value_indicators_are_plain_text() -> None:
    # YAML 1.1 resolves `<<` and `=` to special tags; here they are just strings
    assert strictyaml.load("a: =\n<<: x\n", "f.yaml").value == {"a": "=", "<<": "x"}


def test_every_problem_is_reported_at_once() -> None:
    found = problems("a: !foo 1\na: 2\n")
    assert found == ["f.yaml:1:4: tag '!foo' is not allowed", "f.yaml:2:1: a: duplicate key 'a'"]
