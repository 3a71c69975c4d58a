"""Clones of a bare remote: the remote is the shared truth. Driven with the installed
`gitimprove` and plain git, asserting what the remote holds and what each clone sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import add_rule, gitimprove, make_proposal, ok, out, run

P1 = "improve/product-writer/p1"


def states(cwd: Path) -> dict[str, str]:
    rows = json.loads(ok(cwd, "proposals", "--all", "--json"))["proposals"]
    return {r["id"]: r["state"] for r in rows}


def server_and_clones(sample_repo: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote made from ``sample_repo``, and Ann's and Bob's clones of it."""
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    ann, bob = tmp_path / "ann", tmp_path / "bob"
    for clone in (ann, bob):
        run(tmp_path, "clone", "-q", str(bare), str(clone))
    return bare, ann, bob


@pytest.fixture
def team(sample_repo: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote, Ann's clone (with proposal p1, pushed) and Bob's clone (fetched it)."""
    bare, ann, bob = server_and_clones(sample_repo, tmp_path)
    make_proposal(ann, "p1", add_rule("Use short sentences."))
    ok(ann, "push", "--all")
    fetched = ok(bob, "fetch")
    assert "fetched proposals and records from origin" in fetched
    assert out(bob, "rev-parse", P1) == out(ann, "rev-parse", P1)
    return bare, ann, bob


def test_push_all_never_resurrects_what_the_remote_rejected(team: tuple[Path, Path, Path]) -> None:
    bare, ann, bob = team
    ok(ann, "reject", "p1", "--reason", "too vague")
    ok(ann, "push", "--all")
    assert run(bare, "rev-parse", "--verify", P1, check=False).returncode != 0, \
        "the rejected proposal's branch is gone from the remote"
    assert out(bare, "rev-parse", "refs/gitimprove/rejected/product-writer/p1")
    for _ in range(2):
        pushed = ok(bob, "push", "--all")
        assert "not pushed: improve/product-writer/p1 (rejected)" in pushed
        assert run(bare, "rev-parse", "--verify", P1, check=False).returncode != 0
    assert states(bob) == {"p1": "rejected"}


def test_approving_reads_the_remotes_records_first(team: tuple[Path, Path, Path]) -> None:
    _, ann, bob = team
    ok(ann, "reject", "p1", "--reason", "too vague")
    ok(ann, "push", "--all")
    before = out(bob, "rev-parse", "main")
    proc = gitimprove(bob, "approve", "p1")
    assert proc.returncode == 1 and "rejected" in proc.stderr
    assert out(bob, "rev-parse", "main") == before
    assert states(bob) == {"p1": "rejected"}


def test_rejecting_what_the_remote_approved_is_refused(team: tuple[Path, Path, Path]) -> None:
    _, ann, bob = team
    ok(ann, "approve", "p1")
    run(ann, "push", "-q", "origin", "main")
    proc = gitimprove(bob, "reject", "p1", "--reason", "no")
    assert proc.returncode == 1 and "approved on the remote" in proc.stderr
    assert run(bob, "rev-parse", "--verify", "refs/gitimprove/rejected/product-writer/p1",
               check=False).returncode != 0
    proc = gitimprove(bob, "approve", "p1")
    assert proc.returncode == 1 and "approved on the remote" in proc.stderr


def test_approve_offline_and_an_unreachable_remote(team: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, _, bob = team
    run(bob, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = gitimprove(bob, "approve", "p1")
    assert proc.returncode == 1 and "--offline" in proc.stderr and "Traceback" not in proc.stderr
    ok(bob, "approve", "p1", "--offline")
    assert states(bob) == {"p1": "approved"}


def test_fetch_brings_every_proposal_and_record(team: tuple[Path, Path, Path], tmp_path: Path) -> None:
    bare, ann, _ = team
    make_proposal(ann, "p2", add_rule("Mention the warranty."))
    ok(ann, "reject", "p2", "--reason", "no")
    # Records of other kinds (evaluations, trials) live under refs/gitimprove/ too.
    run(ann, "update-ref", "refs/gitimprove/evaluations/product-writer/e1", "main")
    pushed = ok(ann, "push", "--all")
    assert "gitimprove fetch" in pushed
    carol = tmp_path / "carol"
    run(tmp_path, "clone", "-q", str(bare), str(carol))
    ok(carol, "fetch")
    assert out(carol, "rev-parse", P1) == out(ann, "rev-parse", P1)
    assert out(carol, "rev-parse", "refs/gitimprove/evaluations/product-writer/e1")
    assert states(carol) == {"p1": "open", "p2": "rejected"}
    assert run(carol, "rev-parse", "--verify", "improve/product-writer/p2",
               check=False).returncode != 0, "a rejected proposal's branch is not brought back"


AGENT = "support-agent"


def proposals_of(cwd: Path, agent: str = AGENT) -> list[str]:
    return out(cwd, "for-each-ref", "--format=%(refname)", f"refs/heads/improve/{agent}/").split()


def propose(cwd: Path, *args: str) -> str:
    return ok(cwd, "propose", AGENT, "--proposer", "heuristic", *args)


@pytest.fixture
def teammates(sample_repo: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote and two clones with the same feedback; neither has run `gitimprove fetch`."""
    bare, ann, bob = server_and_clones(sample_repo, tmp_path)
    for clone in (ann, bob):
        ok(clone, "feedback", "import", "feedback.jsonl")
    assert "Proposed improve/support-agent/" in propose(ann, "--push")
    return bare, ann, bob


def test_propose_reads_the_remotes_open_proposals_first(teammates: tuple[Path, Path, Path]) -> None:
    bare, ann, bob = teammates
    said = propose(bob)
    assert "nothing to propose for support-agent" in said and "already cited" in said, said
    assert proposals_of(bob) == proposals_of(ann) == proposals_of(bare), \
        "bob now knows ann's proposal (fetched) and made no duplicate"


def test_propose_does_not_repeat_what_the_remote_rejected(teammates: tuple[Path, Path, Path]) -> None:
    bare, ann, bob = teammates
    [branch] = proposals_of(ann)
    pid = branch.rsplit("/", 1)[-1]
    ok(ann, "reject", pid, "--reason", "not what we want")
    ok(ann, "push", "--all")
    assert proposals_of(bare) == []
    said = propose(bob)  # the evidence is open again, but the rules were rejected
    assert "nothing to propose for support-agent" in said, said
    assert "rejected the same rule before" in said and pid in said, said
    assert proposals_of(bob) == [] and proposals_of(bare) == []


def test_propose_does_not_repeat_what_the_remote_approved(teammates: tuple[Path, Path, Path]) -> None:
    _, ann, bob = teammates
    [branch] = proposals_of(ann)
    ok(ann, "approve", branch.rsplit("/", 1)[-1])
    run(ann, "push", "-q", "origin", "main")
    said = propose(bob)  # bob has not pulled: his main is behind the remote's
    assert "nothing to propose for support-agent" in said, said
    assert proposals_of(bob) == []


def test_propose_with_the_remote_unreachable(teammates: tuple[Path, Path, Path],
                                             tmp_path: Path) -> None:
    _, _, bob = teammates
    run(bob, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = gitimprove(bob, "propose", AGENT, "--proposer", "heuristic")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "error: cannot fetch from origin" in proc.stderr and "--offline" in proc.stderr
    assert proposals_of(bob) == [], "nothing written on refusal"
    said = propose(bob, "--offline")
    assert "Proposed improve/support-agent/" in said, "--offline decides from this clone alone"


def test_propose_with_a_remote_that_has_no_main_yet(sample_repo: Path, tmp_path: Path) -> None:
    """A new, empty remote (nothing pushed yet) has no records to read: propose goes ahead."""
    run(tmp_path, "init", "-q", "--bare", str(tmp_path / "empty.git"))
    run(sample_repo, "remote", "add", "origin", str(tmp_path / "empty.git"))
    ok(sample_repo, "feedback", "import", "feedback.jsonl")
    assert "Proposed improve/support-agent/" in propose(sample_repo)


def test_two_clones_proposing_at_once_the_remote_keeps_the_first(
        teammates: tuple[Path, Path, Path]) -> None:
    """Bob proposes before he could see Ann's proposal (offline here; at the same moment in
    real life). The same change gets the same id and git refuses his branch; his
    `propose --push` removes the local copy and says what happened."""
    bare, _, bob = teammates
    [anns] = proposals_of(bare)
    proc = gitimprove(bob, "propose", AGENT, "--proposer", "heuristic", "--offline", "--push")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "another clone proposed for this feedback first" in proc.stderr, proc.stderr
    assert anns.rsplit("/", 1)[-1] in proc.stderr, "names the proposal that was first"
    assert proposals_of(bare) == [anns], "no duplicate on the remote"
    assert proposals_of(bob) == [], "bob's refused copy is gone, nothing left to push by mistake"
    assert "nothing to propose for support-agent" in propose(bob)  # reading the remote now


def test_a_different_proposal_citing_the_same_feedback_is_refused_by_the_remote(
        teammates: tuple[Path, Path, Path]) -> None:
    """Bob's clone has one more complaint, so his change differs from Ann's (another id) but
    cites the same feedback: the server's pre-receive refuses it, on `propose --push` and on
    a later `push --all` of a copy made offline."""
    bare, _, bob = teammates
    assert gitimprove(bare, "hooks", "install", "--bare").returncode == 0
    [anns] = proposals_of(bare)
    ok(bob, "feedback", "record", "--agent", AGENT, "--rating", "negative", "--user-id", "zoe",
       "--reason", "It made me repeat my order number three times.")
    proc = gitimprove(bob, "propose", AGENT, "--proposer", "heuristic", "--offline", "--push")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "another clone proposed for this feedback first" in proc.stderr, proc.stderr
    assert "cites feedback that proposal " + anns.rsplit("/", 1)[-1] in proc.stderr, proc.stderr
    assert proposals_of(bare) == [anns] and proposals_of(bob) == []
    dup = propose(bob, "--offline")
    assert "Proposed improve/support-agent/" in dup
    proc = gitimprove(bob, "push", "--all")
    assert proc.returncode == 1 and "origin refused the push" in proc.stderr, proc.stderr
    assert "cites feedback that proposal" in proc.stderr and "gitimprove fetch" in proc.stderr
    assert proposals_of(bare) == [anns]
