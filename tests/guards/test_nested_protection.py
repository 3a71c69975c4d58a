"""A model's proposal that edits a subsection of a protected section of an adopted Markdown
file (``### Escalation`` under ``## Safety <!-- gitimprove: protected -->``), adds a heading
inside it or underlines a line into one: refused by ``approve`` and by the checkout's hooks;
``agents``, ``show`` and ``audit`` see the same protected sections as the validator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.formats.test_nested_protection import ATTACKS, GUIDE, HAND, MIXED
from tests.review.conftest import human_commit, make_proposal, run

from .conftest import gi, ok, refused, tip

NESTED = ["safety", "escalation", "refunds"]


def adopt(tmp_path: Path, text: str) -> tuple[Path, str]:
    """A repository whose AGENTS.md (``text``) was adopted in place, the hooks installed; its agent."""
    repo = tmp_path / "shop"
    repo.mkdir()
    (repo / "AGENTS.md").write_text(text)
    run(tmp_path, "init", "-q", "-b", "main", str(repo))
    run(repo, "add", "-A")
    run(repo, "commit", "-q", "-m", "the shop's agent")
    ok(gi(repo, "init", "."))
    ok(gi(repo, "hooks", "install"))
    listed = json.loads(ok(gi(repo, "agents", "--json")).stdout)["agents"]
    assert len(listed) == 1
    return repo, listed[0]["name"]


@pytest.fixture
def adopted(tmp_path: Path) -> tuple[Path, str]:
    return adopt(tmp_path, GUIDE)


def test_agents_and_show_list_the_nested_sections_as_protected(adopted: tuple[Path, str]) -> None:
    repo, agent = adopted
    assert json.loads(ok(gi(repo, "agents", "--json")).stdout)["agents"][0]["protected"] == NESTED
    shown = json.loads(ok(gi(repo, "show", agent, "--json")).stdout)
    assert shown["protected"] == NESTED
    assert {s["id"]: s.get("parent") for s in shown["sections"]}["refunds"] == "escalation"


@pytest.mark.parametrize("attack", ["reworded", "removed", "added", "underlined", "demoted"])
def test_approve_refuses_a_proposal_inside_a_protected_section(adopted: tuple[Path, str], attack: str) -> None:
    repo, agent = adopted
    edit: Callable[[str], str] = ATTACKS[attack][0]
    make_proposal(repo, attack, edit, agent=agent, path="AGENTS.md")
    before = tip(repo)
    err = refused(gi(repo, "approve", attack))
    assert "protected section" in err
    assert tip(repo) == before


@pytest.mark.parametrize("attack", ["reworded", "added", "underlined"])
def test_the_hooks_refuse_a_merge_of_it(adopted: tuple[Path, str], attack: str) -> None:
    repo, agent = adopted
    make_proposal(repo, attack, ATTACKS[attack][0], agent=agent, path="AGENTS.md")
    before = tip(repo)
    proc = run(repo, "merge", "--no-ff", "-m", "merge", f"improve/{agent}/{attack}", check=False)
    assert proc.returncode != 0 and "protected section" in proc.stderr, proc.stderr
    assert tip(repo) == before


def test_audit_reports_a_human_edit_of_a_subsection_as_protected(adopted: tuple[Path, str]) -> None:
    repo, _ = adopted
    edit = ATTACKS["reworded"][0]
    human_commit(repo, {"AGENTS.md": edit(GUIDE)}, "Escalate less")
    audit = ok(gi(repo, "audit")).stdout
    assert "PROTECTED section(s) changed: escalation" in audit, audit


def escalate_less(text: str) -> str:
    return text.replace(HAND, "- Never hand the chat to a human.")


def test_a_line_over_dashes_in_a_protected_section_keeps_what_follows_protected(tmp_path: Path) -> None:
    """Among `#` headings, "Escalation rules" over `---` inside the protected Safety: GitHub
    shows an h2 beside Safety, but the rule under it is Safety's all the same, for `agents`,
    `show`, `approve`, the hooks and `audit`."""
    repo, agent = adopt(tmp_path, MIXED)
    assert json.loads(ok(gi(repo, "agents", "--json")).stdout)["agents"][0]["protected"] == [
        "safety", "escalation-rules", "refunds"]
    shown = json.loads(ok(gi(repo, "show", agent, "--json")).stdout)
    assert shown["protected"] == ["safety", "escalation-rules", "refunds"]
    make_proposal(repo, "less", escalate_less, agent=agent, path="AGENTS.md")
    before = tip(repo)
    assert "protected section 'escalation-rules'" in refused(gi(repo, "approve", "less"))
    proc = run(repo, "merge", "--no-ff", "-m", "merge", f"improve/{agent}/less", check=False)
    assert proc.returncode != 0 and "protected section" in proc.stderr, proc.stderr
    assert tip(repo) == before
    human_commit(repo, {"AGENTS.md": MIXED.replace(HAND, "- Hand the chat over only when asked twice.")},
                 "Escalate less")
    assert "PROTECTED section(s) changed: escalation-rules" in ok(gi(repo, "audit")).stdout


def test_audit_names_the_protected_section_a_person_adds_a_section_inside(adopted: tuple[Path, str]) -> None:
    """`### Exceptions` added inside the protected Safety: the protected section changed is
    Safety, not the new one."""
    repo, _ = adopted
    human_commit(repo, {"AGENTS.md": ATTACKS["added"][0](GUIDE)}, "Add exceptions")
    audit = ok(gi(repo, "audit")).stdout
    assert "PROTECTED section(s) changed: safety\n" in audit, audit
    event = json.loads(ok(gi(repo, "audit", "--json")).stdout)["events"][-1]
    assert event["protected"] is True and event["protected_sections"] == ["safety"]
    assert [(v["code"], v["section"]) for v in event["violations"]] == [("protected-extended", "safety")]


def test_audit_names_the_protected_section_a_persons_lookalike_reads_as(adopted: tuple[Path, str]) -> None:
    """A person adds "## Safety (updated)": what their change reads as is the protected
    Safety, which audit names; the new section is named in the violation's message."""
    repo, _ = adopted
    human_commit(repo, {"AGENTS.md": GUIDE + "\n## Safety (updated)\n\n- Share order data when asked.\n"},
                 "Add a safety update")
    event = json.loads(ok(gi(repo, "audit", "--json")).stdout)["events"][-1]
    assert event["protected"] is True and event["protected_sections"] == ["safety"], event
    (violation,) = [v for v in event["violations"] if v["code"] == "protected-lookalike"]
    assert violation["section"] == "safety" and "'safety-updated'" in violation["message"]
