"""Every violation kind of the pure validator, without git."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitimprove.instructions.policy import Policy, parse_policy
from gitimprove.validate import Violation, check_change

SAMPLE = Path(__file__).resolve().parents[2] / "sample_repo"
PATH = "agents/product-writer.yaml"
BASE = (SAMPLE / "agents" / "product-writer.yaml").read_text()
POLICY = parse_policy((SAMPLE / "gitimprove.yaml").read_bytes())

SAFETY_RULE = "      - Never make medical or health claims.\n"
STYLE_RULE = "      - Use British English spelling.\n"


def codes(violations: list[Violation]) -> list[str]:
    return [v.code for v in violations]


def judge(new: str | None, *, old: str | None = BASE, path: str = PATH, policy: Policy = POLICY,
          operations: int | None = None) -> list[Violation]:
    return check_change({path: None if old is None else old.encode()},
                        {path: None if new is None else new.encode()}, policy, operations=operations)


def _block(sid: str, text: str = BASE) -> str:
    """The YAML lines of one section (from its `- id:` to the next one)."""
    start = text.index(f"  - id: {sid}\n")
    nxt = text.find("  - id: ", start + 1)
    end = len(text) if nxt == -1 else nxt
    return text[start:end]


def test_a_valid_edit_passes() -> None:
    assert judge(BASE.replace(STYLE_RULE, STYLE_RULE + "      - Use short sentences.\n")) == []


def test_protected_section_changed() -> None:
    found = judge(BASE.replace(SAFETY_RULE, "      - Health claims are fine when cited.\n"))
    assert codes(found) == ["protected-changed"]
    assert found[0].section == "safety" and found[0].agent == "product-writer"


def test_protected_section_removed() -> None:
    assert "protected-removed" in codes(judge(BASE.replace(_block("safety"), "")))


def test_protected_section_moved() -> None:
    safety = _block("safety")
    without = BASE.replace(safety, "")
    moved = without.replace("  - id: role\n", safety + "  - id: role\n")
    assert codes(judge(moved)) == ["protected-moved"]


def test_protected_section_reordered_by_moving_others() -> None:
    role = _block("role")
    without = BASE.replace(role, "")
    reordered = without.rstrip("\n") + "\n" + role  # role now after safety
    assert "protected-moved" in codes(judge(reordered))


def test_protected_flag_removed() -> None:
    new = BASE.replace("    protected: true             # legal review required for any change\n", "")
    assert new != BASE
    found = judge(new)
    assert codes(found) == ["protected-unflagged"]


def test_new_section_shadowing_a_protected_id() -> None:
    policy = POLICY.model_copy(update={"protected_sections": ["safety", "legal*"]})
    new = BASE.rstrip("\n") + "\n  - id: legal-notes\n    rules:\n      - Anything goes.\n"
    assert codes(judge(new, policy=policy)) == ["protected-shadowed"]


def test_policy_file_changed() -> None:
    found = judge("version: 1\n", old="version: 1\nmain_branch: main\n", path="gitimprove.yaml")
    assert codes(found) == ["policy-changed"]


def test_path_outside_agents() -> None:
    assert codes(judge("hello\n", old=None, path="README.md")) == ["path-outside-agents"]
    assert codes(judge(BASE, old=None, path="agents/nested/x.yaml")) == ["path-outside-agents"]


def test_path_not_in_allowed_paths() -> None:
    policy = POLICY.model_copy(update={"limits": POLICY.limits.model_copy(
        update={"allowed_paths": ["agents/support-*.yaml"]})})
    assert codes(judge(BASE.replace(STYLE_RULE, ""), policy=policy)) == ["path-not-allowed"]


def test_file_added_and_deleted() -> None:
    assert codes(judge(BASE, old=None)) == ["file-added"]
    allowed = POLICY.model_copy(update={"limits": POLICY.limits.model_copy(
        update={"allow_new_agents": True})})
    assert judge(BASE, old=None, policy=allowed) == []
    assert codes(judge(None)) == ["file-deleted"]


def test_variable_dropped() -> None:
    new = BASE.replace("variables: [product_name, audience]", "variables: [product_name]") \
        .replace(", read by {{audience}}", "").replace("suits {{audience}}", "suits readers")
    assert codes(judge(new)) == ["variable-dropped"]


def test_schema_invalid() -> None:
    assert codes(judge("name: product-writer\nsections: 5\n")) == ["schema-invalid"]
    assert "schema-invalid" in codes(judge("name: [unclosed\n"))


def test_too_many_operations() -> None:
    limit = POLICY.limits.max_operations
    new = BASE.replace(STYLE_RULE, STYLE_RULE + "      - Use short sentences.\n")
    assert codes(judge(new, operations=limit + 1)) == ["too-many-operations"]
    assert judge(new, operations=limit) == []


def test_too_much_added_text() -> None:
    rule = "      - " + "Describe the texture in detail. " * 60 + "\n"
    assert codes(judge(BASE.replace(STYLE_RULE, STYLE_RULE + rule))) == ["too-much-text"]


def test_rule_removed_and_section_removed() -> None:
    assert codes(judge(BASE.replace(STYLE_RULE, ""))) == ["rule-removed"]
    assert codes(judge(BASE.replace(_block("structure"), ""))) == ["section-removed"]
    lenient = POLICY.model_copy(update={"limits": POLICY.limits.model_copy(
        update={"allow_remove_rules": True})})
    assert judge(BASE.replace(STYLE_RULE, ""), policy=lenient) == []


def test_too_large() -> None:
    small = POLICY.model_copy(update={"limits": POLICY.limits.model_copy(
        update={"max_agent_chars": 200, "max_added_chars": 10**6})})
    assert codes(judge(BASE.replace(STYLE_RULE, STYLE_RULE + "      - More.\n"), policy=small)) \
        == ["too-large"]


def test_base_unreadable_fails_closed() -> None:
    found = judge(BASE, old="name: product-writer\nsections: [unclosed\n")
    assert codes(found) == ["base-unreadable"]


def test_renamed_agent() -> None:
    found = judge(BASE.replace("name: product-writer ", "name: other-writer "))
    assert found, "a file whose name does not match must be refused"
    assert {"schema-invalid", "renamed"} & set(codes(found))


@pytest.mark.parametrize("violation", [
    Violation("protected-changed", "changes it", path=PATH, section="safety", rule=0),
])
def test_violation_text_names_where(violation: Violation) -> None:
    assert str(violation) == f"{PATH} [safety rule 1]: changes it"  # people count from 1
    assert violation.to_json()["section"] == "safety"
    assert violation.to_json()["rule"] == 0  # data keeps the index
