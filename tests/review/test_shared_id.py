"""Branches `improve/a/X` and `improve/b/X`: two agents' proposals with one id. Both are
listed, each with its agent; an id that names both is refused, `AGENT/ID` names one."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import add_rule, gitimprove, make_proposal, ok, out, run


def two_of_one_id(repo: Path) -> None:
    make_proposal(repo, "x1", add_rule("Use short sentences."))
    make_proposal(repo, "x1", add_rule("Thank the customer for waiting.",
                                       after="      - Be polite and professional.\n"),
                  agent="support-agent", summary="thank for waiting")


def test_both_proposals_are_listed_with_their_agents(sample_repo: Path) -> None:
    repo = sample_repo
    two_of_one_id(repo)
    listing = json.loads(ok(repo, "proposals", "--json"))["proposals"]
    assert sorted((p["agent"], p["id"]) for p in listing) == [
        ("product-writer", "x1"), ("support-agent", "x1")]
    text = ok(repo, "proposals")
    assert "product-writer" in text and "support-agent" in text
    # The kept summary (second run) says the same.
    again = json.loads(ok(repo, "proposals", "--json"))["proposals"]
    assert sorted(p["branch"] for p in again) == [
        "improve/product-writer/x1", "improve/support-agent/x1"]


def test_an_id_two_agents_share_is_refused_and_agent_id_names_one(sample_repo: Path) -> None:
    repo = sample_repo
    two_of_one_id(repo)
    for command in (["review", "x1"], ["approve", "x1"], ["reject", "x1", "--reason", "no"]):
        proc = gitimprove(repo, *command)
        assert proc.returncode == 1, proc.stderr
        assert "product-writer/x1, support-agent/x1" in proc.stderr
        assert "AGENT/ID" in proc.stderr
    shown = ok(repo, "review", "support-agent/x1")
    assert "support-agent" in shown.splitlines()[0]
    ok(repo, "approve", "product-writer/x1")
    assert "Use short sentences." in out(repo, "show", "main:agents/product-writer.yaml")
    # Approved on main, x1 is still the other agent's open proposal, and listed.
    listing = json.loads(ok(repo, "proposals", "--json", "--all"))["proposals"]
    assert sorted((p["agent"], p["state"]) for p in listing) == [
        ("product-writer", "approved"), ("support-agent", "open")]
    ok(repo, "reject", "x1", "--reason", "not now")
    listing = json.loads(ok(repo, "proposals", "--json", "--all"))["proposals"]
    assert sorted((p["agent"], p["state"]) for p in listing) == [
        ("product-writer", "approved"), ("support-agent", "rejected")]
    run(repo, "branch", "-D", "improve/support-agent/x1", check=False)


def test_both_approved_are_listed_and_a_rollback_of_one_leaves_the_other(sample_repo: Path) -> None:
    repo = sample_repo
    two_of_one_id(repo)
    ok(repo, "approve", "product-writer/x1")
    ok(repo, "approve", "support-agent/x1")
    for _ in range(2):  # read whole, then from main's line kept on disk
        listing = json.loads(ok(repo, "proposals", "--json", "--all"))["proposals"]
        assert sorted((p["agent"], p["state"]) for p in listing) == [
            ("product-writer", "approved"), ("support-agent", "approved")]
    events = json.loads(ok(repo, "audit", "--json"))["events"]
    assert sorted((e["agent"], e["proposal"]) for e in events if e["kind"] == "approved") == [
        ("product-writer", "x1"), ("support-agent", "x1")]
    ok(repo, "rollback", "support-agent/x1", "--reason", "worse")
    listing = json.loads(ok(repo, "proposals", "--json", "--all"))["proposals"]
    assert sorted((p["agent"], p["state"]) for p in listing) == [
        ("product-writer", "approved"), ("support-agent", "rolled_back")]
    assert "Use short sentences." in out(repo, "show", "main:agents/product-writer.yaml")


def test_agent_and_a_prefix_name_one_and_a_miss_lists_both_by_agent(sample_repo: Path) -> None:
    # README: a unique prefix will do, and AGENT/ID where two agents share an id; AGENT/PREFIX
    # was refused, and "open proposals: x1000a, x1000a" could not be told apart
    repo = sample_repo
    make_proposal(repo, "20261127-ab12cd", add_rule("Use short sentences."))
    make_proposal(repo, "20261127-ab12cd", add_rule("Thank the customer for waiting.",
                                                    after="      - Be polite and professional.\n"),
                  agent="support-agent", summary="thank for waiting")
    assert "support-agent" in ok(repo, "review", "support-agent/ab12").splitlines()[0]
    assert "product-writer" in ok(repo, "review", "product-writer/2026112").splitlines()[0]
    proc = gitimprove(repo, "review", "support-agent/ffff")
    assert proc.returncode == 1
    assert ("open proposals: product-writer/20261127-ab12cd, support-agent/20261127-ab12cd"
            in " ".join(proc.stderr.split())), proc.stderr


def test_the_server_keeps_a_second_agent_s_proposal_of_one_id_and_still_refuses_a_duplicate(
        sample_repo: Path, tmp_path: Path) -> None:
    """A push that creates improve/support-agent/x1 where improve/product-writer/x1 exists is
    no clash (ids are an agent's: AGENT/ID names each one), but the id another agent's proposal
    has does not make it 'the same proposal pushed again': one citing feedback an open
    proposal already cites is refused, as any other is."""
    bare = tmp_path / "server.git"
    make_proposal(sample_repo, "x1", add_rule("Use short sentences."))
    thanks = add_rule("Thank the customer for waiting.", after="      - Be polite and professional.\n")
    make_proposal(sample_repo, "s1", thanks, agent="support-agent", evidence="fb-7")
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    assert gitimprove(bare, "hooks", "install", "--bare").returncode == 0
    make_proposal(sample_repo, "x1", thanks, agent="support-agent", evidence="fb-7",
                  summary="thank for waiting again")
    pushed = run(sample_repo, "push", str(bare), "improve/support-agent/x1", check=False)
    assert pushed.returncode == 1, pushed.stderr
    assert "proposal x1 (improve/support-agent/x1) cites feedback that proposal s1" in pushed.stderr
    run(sample_repo, "update-ref", "-d", "refs/heads/improve/support-agent/x1")
    make_proposal(sample_repo, "x1", thanks, agent="support-agent", evidence="fb-8",
                  summary="thank for waiting")
    run(sample_repo, "push", str(bare), "improve/support-agent/x1")
    listing = json.loads(ok(bare, "proposals", "--json"))["proposals"]
    assert sorted((p["agent"], p["id"]) for p in listing) == [
        ("product-writer", "x1"), ("support-agent", "s1"), ("support-agent", "x1")]
