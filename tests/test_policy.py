"""The policy file: defaults, strict parsing with positions, and protected-section patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.init import DEFAULT_POLICY
from gitimprove.instructions.policy import POLICY_PATH, Policy, parse_policy

from .conftest import SAMPLE


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidFileError) as info:
        parse_policy(text)
    return info.value.problems


def test_empty_file_means_defaults() -> None:
    assert parse_policy("") == Policy()
    assert parse_policy("# only a comment\n") == Policy()
    policy = Policy()
    assert policy.main_branch == "main"
    assert policy.agents_dir == "agents"
    assert policy.protected_sections == ["safety"]
    assert policy.limits.allow_remove_rules is False


def test_shipped_policies_parse() -> None:
    sample = parse_policy((SAMPLE / POLICY_PATH).read_bytes())
    assert sample.protected_sections == ["safety", "support-agent/escalation"]
    assert sample.limits.max_added_chars == 1500
    assert sample.proposer.timeout_seconds == 60
    assert parse_policy(DEFAULT_POLICY).limits.max_operations == 5


def test_unknown_field_in_a_section() -> None:
    text = "version: 1\nlimits:\n  max_operations: 5\n  max_rules: 3\n"
    assert problems(text) == [f"{POLICY_PATH}:4:3: limits.max_rules: unknown field 'max_rules'"]


def test_unknown_top_level_field() -> None:
    assert problems("version: 1\nagent_dir: agents\n") == [
        f"{POLICY_PATH}:2:1: agent_dir: unknown field 'agent_dir'"]


def test_bad_value_names_its_line() -> None:
    assert problems("version: 1\nlimits:\n  max_operations: 0\n") == [
        f"{POLICY_PATH}:3:3: limits.max_operations: Input should be greater than or equal to 1"]
    assert problems("version: 2\n") == [f"{POLICY_PATH}:1:1: version: Input should be 1"]
    assert problems("limits:\n  allow_remove_rules: 'no'\n") == [
        f"{POLICY_PATH}:2:3: limits.allow_remove_rules: Input should be a valid boolean, got str 'no'"]


@pytest.mark.parametrize("value", ["../x", "/abs", "agents/../../x", ".", "''"])
def test_agents_dir_must_stay_inside_the_repository(value: str) -> None:
    assert problems(f"version: 1\nagents_dir: {value}\n") == [
        f"{POLICY_PATH}:2:1: agents_dir: agents_dir must be a folder inside the repository, "
        "like 'agents'"]


def test_agents_dir_is_normalised() -> None:
    assert parse_policy("agents_dir: prompts/agents/\n").agents_dir == "prompts/agents"
    assert parse_policy("agents_dir: ./prompts\n").agent_path("a") == "prompts/a.yaml"


def test_policy_file_is_strict_yaml() -> None:
    assert problems("version: 1\nversion: 1\n") == [f"{POLICY_PATH}:2:1: version: duplicate key 'version'"]
    assert problems("limits: !!python/object:os.system {}\n") == [
        f"{POLICY_PATH}:1:9: tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"]
    assert problems("- a\n") == [f"{POLICY_PATH}:1:1: the policy must be a mapping"]


def test_source_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidFileError) as info:
        parse_policy("limits: {colour: red}\n", "other/gitimprove.yaml")
    assert info.value.problems == ["other/gitimprove.yaml:1:10: limits.colour: unknown field 'colour'"]


@pytest.mark.parametrize(("pattern", "agent", "section", "expected"), [
    ("safety", "any-agent", "safety", True),
    ("safety", "any-agent", "safety-notes", False),
    ("support-agent/escalation", "support-agent", "escalation", True),
    ("support-agent/escalation", "product-writer", "escalation", False),
    ("*/legal-*", "product-writer", "legal-claims", True),
    ("support-*/tone", "support-agent", "tone", True),
    ("support-*/tone", "product-writer", "tone", False),
])
def test_is_protected(pattern: str, agent: str, section: str, expected: bool) -> None:
    policy = Policy(protected_sections=[pattern])
    assert policy.is_protected(agent, section) is expected


def test_nothing_protected() -> None:
    assert not Policy(protected_sections=[]).is_protected("a", "safety")


@pytest.mark.parametrize("name", ["bad..name", "-x", "has space", "ends.lock", "a:b"])
def test_main_branch_must_be_a_branch_name(name: str) -> None:
    with pytest.raises(InvalidFileError) as exc:
        parse_policy(f'version: 1\nmain_branch: "{name}"\n', "gitimprove.yaml")
    assert exc.value.problems == [f"gitimprove.yaml:2:1: main_branch: {name!r} is not a valid branch name"]


def test_main_branch_may_have_slashes() -> None:
    assert parse_policy("main_branch: release/2026\n", "gitimprove.yaml").main_branch == "release/2026"


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("proposer.deadline_seconds", ".inf", "a finite number"),
    ("proposer.timeout_seconds", "1" + "0" * 400, "a finite number"),
    ("analysis.model_deadline_seconds", ".nan", "a finite number"),
    ("evaluation.timeout_seconds", "90000", "less than or equal to 86400"),
    ("evaluation.deadline_seconds", "1000000", "less than or equal to 604800"),
])
def test_a_timeout_or_deadline_no_timer_can_keep_is_refused_where_it_is_written(
        setting: str, value: str, message: str) -> None:
    # `.inf` reached a timer thread (an OverflowError traceback) and a socket ("cannot reach
    # the Anthropic API after 5 attempts"); 1 with 400 zeros was a traceback while loading
    section, name = setting.split(".")
    with pytest.raises(InvalidFileError, match=f"{setting}: Input should be {message}"):
        parse_policy(f"{section}:\n  {name}: {value}\n")
