"""The audit trail: a scripted history with every event kind, each listed exactly once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitimprove.audit import Event, audit
from gitimprove.cli import cli
from gitimprove.instructions.init import init
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.proposals.build import Plan, propose
from gitimprove.proposals.operations import AddRule
from gitimprove.review.actions import approve, reject, rollback

from .conftest import SAMPLE, git
from .proposals.helpers import FixedProposer, make_pattern

PW, RA, SA = "product-writer", "research-assistant", "support-agent"
ALICE = "Alice Approver <alice@example.com>"
BOB = "Bob Reviewer <bob@example.com>"


def _day(monkeypatch: pytest.MonkeyPatch, day: int) -> str:
    """Every commit from now on is dated 2030-01-<day> 10:00 UTC."""
    stamp = f"2030-01-{day:02d}T10:00:00+00:00"
    monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)
    monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
    return stamp


def _propose(repo: InstructionRepo, agent: str, section: str, text: str, ids: list[str],
             model: str) -> Plan:
    pattern = make_pattern(f"pattern for {text}", ids=ids, section=section)
    op = AddRule(section=section, text=text, reason="users asked", evidence=[pattern.id, *ids])
    return propose(repo, agent, FixedProposer([op], model=model, summary=f"Add: {text}"),
                   patterns=[pattern])


def _edit(path: Path, old: str, new: str, message: str) -> str:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    git(path.parent.parent, "commit", "-q", "-am", message)
    return git(path.parent.parent, "rev-parse", "HEAD").strip()


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """init; propose+approve; propose+reject; propose+approve+rollback; an open proposal;
    a human edit; an AGENT@vN rollback; a human edit of the protected safety section."""
    target = tmp_path / "repo"
    _day(monkeypatch, 1)
    init(target, template=SAMPLE, replay_history=False)
    repo = InstructionRepo(target)
    s: dict[str, Any] = {"path": target}
    _day(monkeypatch, 2)
    s["a"] = _propose(repo, PW, "style", "Get to the point in the first sentence.",
                      ["fb-1", "fb-2"], "claude-model-a")
    _day(monkeypatch, 3)
    s["a_merge"] = approve(repo, s["a"].id, by=ALICE, note="looks right").commit
    _day(monkeypatch, 4)
    s["b"] = _propose(repo, PW, "structure", "Open with a question.", ["fb-3"], "claude-model-b")
    _day(monkeypatch, 5)
    reject(repo, s["b"].id, reason="questions read as clickbait", by=BOB)
    _day(monkeypatch, 6)
    s["c"] = _propose(repo, RA, "method", "Cite a source for every figure.", ["fb-4", "fb-5"],
                      "claude-model-c")
    _day(monkeypatch, 7)
    s["c_merge"] = approve(repo, s["c"].id, by=ALICE).commit
    _day(monkeypatch, 8)
    s["c_rollback"] = rollback(repo, s["c"].id, reason="briefings got longer", by=BOB).commit
    _day(monkeypatch, 9)
    s["d"] = _propose(repo, SA, "tone", "Thank the customer once, not twice.", ["fb-6"],
                      "claude-model-d")
    _day(monkeypatch, 10)
    s["edit"] = _edit(target / "agents" / f"{PW}.yaml", "Use British English spelling.",
                      "Use British English spelling and the metric system.", "style: metric units")
    _day(monkeypatch, 11)
    s["v2_rollback"] = rollback(repo, f"{PW}@v2", reason="metric units confused US shoppers",
                                by=ALICE).commit
    _day(monkeypatch, 12)
    s["safety_edit"] = _edit(target / "agents" / f"{PW}.yaml", "Never make medical or health claims.",
                             "Never make medical, health or legal claims.", "safety: legal claims too")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    repo.close()
    return s


def _one(events: list[Event], **match: Any) -> Event:
    found = [e for e in events if all(getattr(e, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_every_event_is_listed_exactly_once(history: dict[str, Any]) -> None:
    repo = InstructionRepo(history["path"])
    events = audit(repo)
    assert Counter(e.kind for e in events) == {
        "initialised": 4, "proposed": 4, "approved": 2, "rejected": 1, "rolled_back": 2,
        "human_edit": 2}
    assert [e.time for e in events] == sorted(e.time for e in events)
    a, b, c, d = history["a"], history["b"], history["c"], history["d"]

    for name in (PW, RA, SA):
        init_event = _one(events, kind="initialised", agent=name)
        assert init_event.time == datetime(2030, 1, 1, 10, tzinfo=UTC)

    proposed = _one(events, kind="proposed", proposal=a.id)
    assert (proposed.agent, proposed.state, proposed.model, proposed.commit) == \
        (PW, "approved", "claude-model-a", a.commit)
    assert proposed.actor == "claude-model-a <model@gitimprove.invalid>"
    assert proposed.evidence == ["fb-1", "fb-2"] and proposed.verdict == "pass"
    assert proposed.time == datetime(2030, 1, 2, 10, tzinfo=UTC)
    approved = _one(events, kind="approved", proposal=a.id)
    assert (approved.actor, approved.commit, approved.evidence, approved.model) == \
        (ALICE, history["a_merge"], ["fb-1", "fb-2"], "claude-model-a")
    assert approved.time == datetime(2030, 1, 3, 10, tzinfo=UTC)

    assert _one(events, kind="proposed", proposal=b.id).state == "rejected"
    rejected = _one(events, kind="rejected", proposal=b.id)
    assert (rejected.actor, rejected.reason, rejected.agent) == (BOB, "questions read as clickbait", PW)

    assert _one(events, kind="proposed", proposal=c.id).state == "rolled_back"
    _one(events, kind="approved", proposal=c.id)
    undone = _one(events, kind="rolled_back", proposal=c.id)
    assert (undone.actor, undone.reverts, undone.reason, undone.agent) == \
        (BOB, history["c_merge"], "briefings got longer", RA)
    assert undone.restores is not None and undone.restores.startswith(f"{RA}@v1 ")

    open_one = _one(events, kind="proposed", proposal=d.id)
    assert (open_one.state, open_one.branch, open_one.verdict) == ("open", d.short_branch, "pass")
    assert open_one.verdict_against == git(history["path"], "rev-parse", "main").strip()

    edit = _one(events, kind="human_edit", commit=history["edit"])
    assert (edit.agent, edit.protected, edit.actor) == (PW, False, "Test Reviewer <reviewer@example.com>")
    safety = _one(events, kind="human_edit", commit=history["safety_edit"])
    assert safety.protected is True and safety.protected_sections == ["safety"]
    assert any(v.code == "protected-changed" for v in safety.violations)

    to_v2 = _one(events, kind="rolled_back", commit=history["v2_rollback"])
    assert to_v2.proposal is None and to_v2.reverts is None
    assert to_v2.restores is not None and to_v2.restores.startswith(f"{PW}@v2 ")
    assert (to_v2.actor, to_v2.reason) == (ALICE, "metric units confused US shoppers")


def test_open_proposal_verdict_is_against_current_main(history: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    d = history["d"]
    assert _one(audit(InstructionRepo(history["path"])), kind="proposed", proposal=d.id).verdict == "pass"
    _day(monkeypatch, 13)
    # a human retires the agent the open proposal edits: merging it now conflicts
    git(history["path"], "rm", "-q", f"agents/{SA}.yaml")
    git(history["path"], "commit", "-q", "-m", "retire the support agent")
    event = _one(audit(InstructionRepo(history["path"])), kind="proposed", proposal=d.id)
    assert event.verdict == "fail"
    assert [v.code for v in event.violations] == ["conflict"]


def test_fresh_clone_gives_the_same_trail(history: dict[str, Any], tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(history["path"]), str(clone))
    git(clone, "fetch", "-q", "origin", "+refs/heads/improve/*:refs/heads/improve/*",
        "+refs/gitimprove/*:refs/gitimprove/*")
    here = [e.to_json() for e in audit(InstructionRepo(history["path"]))]
    there = [e.to_json() for e in audit(InstructionRepo(clone))]
    assert there == here


def test_clone_without_the_proposal_refs_misses_them(history: dict[str, Any], tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--single-branch", str(history["path"]), str(clone))
    kinds = Counter(e.kind for e in audit(InstructionRepo(clone)))
    assert kinds["rejected"] == 0 and kinds["proposed"] == 2  # only those merged into main


def _cli(path: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--repo", str(path), "audit", "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_agent_and_since_filters(history: dict[str, Any]) -> None:
    ra = _cli(history["path"], "--agent", RA)["events"]
    assert [e["kind"] for e in ra] == ["initialised", "proposed", "approved", "rolled_back"]
    late = _cli(history["path"], "--since", "2030-01-09")["events"]
    assert [e["kind"] for e in late] == ["proposed", "human_edit", "rolled_back", "human_edit"]
    both = _cli(history["path"], "--agent", PW, "--since", "2030-01-10T00:00:00+00:00")["events"]
    assert [e["kind"] for e in both] == ["human_edit", "rolled_back", "human_edit"]
    assert _cli(history["path"], "--since", "2031-01-01")["events"] == []


def test_json_shape(history: dict[str, Any]) -> None:
    data = _cli(history["path"])
    assert data["branch"] == "main"
    keys = {"kind", "time", "commit", "actor", "summary", "agent", "proposal", "state", "branch",
            "model", "proposer", "evidence", "verdict", "verdict_against", "violations", "reason",
            "reverts", "restores", "version", "protected", "protected_sections", "edited_by",
            "amended_by", "evaluation"}
    for event in data["events"]:
        assert set(event) == keys
        assert datetime.fromisoformat(event["time"]).tzinfo is not None
        assert len(event["commit"]) == 40
    assert [e["time"] for e in data["events"]] == sorted(e["time"] for e in data["events"])


def test_text_output_and_bad_since(history: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["--repo", str(history["path"]), "audit", "--agent", PW])
    assert result.exit_code == 0, result.output
    assert "PROTECTED section(s) changed: safety" in result.output
    assert "reason: questions read as clickbait" in result.output
    bad = CliRunner().invoke(cli, ["--repo", str(history["path"]), "audit", "--since", "last week"])
    assert bad.exit_code != 0 and "is not a date" in str(bad.exception)


def test_a_fast_forwarded_proposal_is_an_edit_named_with_its_proposal(sample_repo: Path) -> None:
    # `git merge` of a proposal branch fast-forwards: the model's commit is on main and
    # nobody approved it; it read as a human edit by the model, of no proposal
    repo = InstructionRepo(sample_repo)
    plan = _propose(repo, PW, "style", "Use short sentences.", ["fb-1"], "claude-x")
    git(sample_repo, "merge", "-q", "--ff-only", plan.short_branch)
    events = [e for e in audit(repo) if e.proposal == plan.id]
    assert [(e.kind, e.state) for e in events] == [("human_edit", None), ("proposed", "landed")]
    assert events[0].commit == events[1].commit
    assert ("    proposal " + plan.id + " landed without an approval merge (a fast-forward or a "
            "cherry-pick): nobody approved it") in events[0].lines()
    assert not [e for e in audit(repo) if e.kind == "approved"]


def test_a_proposal_merged_with_plain_git_is_an_approval(sample_repo: Path) -> None:
    from gitimprove.proposals.build import evidence_states
    from gitimprove.review.actions import list_proposals

    repo = InstructionRepo(sample_repo)
    plan = _propose(repo, PW, "style", "Use short sentences.", ["fb-1", "fb-2"], "claude-x")
    git(sample_repo, "merge", "-q", "--no-ff", "-m", "Merge it by hand", plan.short_branch)
    merge = git(sample_repo, "rev-parse", "HEAD").strip()
    events = [e for e in audit(repo) if e.proposal == plan.id]
    assert [(e.kind, e.state) for e in events] == [("proposed", "approved"), ("approved", None)]
    approved = events[1]
    assert approved.commit == merge and approved.evidence == ["fb-1", "fb-2"]
    assert approved.actor.endswith("(merged with plain git)") and approved.verdict is None
    assert not [e for e in audit(repo) if e.kind == "human_edit"]
    # Its evidence is addressed, so it does not feed another proposal; listings agree.
    assert evidence_states(repo) == {"fb-1": "addressed", "fb-2": "addressed"}
    states = {p.id: p.state for p in list_proposals(repo, include_closed=True)}
    assert states == {plan.id: "approved"}
    # And it can be rolled back like any approval.
    rollback(repo, plan.id, reason="not what we wanted")
    assert evidence_states(repo) == {}


def test_an_amended_approval_names_the_amender_and_their_edit(sample_repo: Path) -> None:
    """`git commit --amend` on main after `approve` keeps the approver as author and the
    Approved-by trailer: the approval stays the approver's, and what the amend changed
    beyond the approved merge is a human edit by whoever amended it (git's committer)."""
    repo = InstructionRepo(sample_repo)
    plan = _propose(repo, PW, "style", "Use short sentences.", ["fb-1", "fb-2"], "claude-x")
    merge = approve(repo, plan.id, by=ALICE).commit
    path = sample_repo / "agents" / f"{PW}.yaml"
    path.write_text(path.read_text().replace("Never make medical or health claims.",
                                             "Health claims are fine when asked."))
    git(sample_repo, "-c", "user.name=Mallory Merger", "-c", "user.email=mallory@example.com",
        "commit", "-q", "-a", "--amend", "--no-edit")
    amended = git(sample_repo, "rev-parse", "HEAD").strip()
    assert amended != merge
    events = audit(repo)
    approved = _one(events, kind="approved", proposal=plan.id)
    assert approved.actor == ALICE and approved.commit == amended
    assert approved.amended_by == "Mallory Merger <mallory@example.com>"
    edit = _one(events, kind="human_edit", commit=amended)
    assert edit.actor == "Mallory Merger <mallory@example.com>" and edit.agent == PW
    assert edit.protected and edit.protected_sections == ["safety"]
    text = "\n".join(approved.lines())
    assert "amended by Mallory Merger" in text
    # With --reset-author the amender is the author too; the Approved-by still names Alice.
    git(sample_repo, "reset", "-q", "--hard", merge)
    path.write_text(path.read_text().replace("Never make medical or health claims.",
                                             "Health claims are fine when asked."))
    git(sample_repo, "-c", "user.name=Mallory Merger", "-c", "user.email=mallory@example.com",
        "commit", "-q", "-a", "--amend", "--no-edit", "--reset-author")
    events = audit(repo)
    approved = _one(events, kind="approved", proposal=plan.id)
    assert approved.actor == ALICE and approved.amended_by == "Mallory Merger <mallory@example.com>"
    edit = _one(events, kind="human_edit")
    assert edit.actor == "Mallory Merger <mallory@example.com>" and edit.protected
    # The approver amending their own merge (a later commit time, the same tree) is no news.
    git(sample_repo, "reset", "-q", "--hard", merge)
    git(sample_repo, "-c", "user.name=Alice Approver", "-c", "user.email=alice@example.com",
        "commit", "-q", "--amend", "--no-edit", "--date=@0")
    events = audit(repo)
    assert _one(events, kind="approved", proposal=plan.id).amended_by is None
    assert not [e for e in events if e.kind == "human_edit"]


def test_plain_text_audit_flags_a_commit_whose_file_does_not_parse(sample_repo: Path) -> None:
    path = sample_repo / "agents" / "support-agent.yaml"
    good = path.read_text()
    _edit(path, "\nsections:", "\nbroken: [\nsections:", "Break support-agent by hand")
    _edit(path, path.read_text(), good, "Fix it again")
    out = CliRunner().invoke(cli, ["--repo", str(sample_repo), "audit", "--agent", "support-agent"])
    assert out.exit_code == 0, out.output
    blocks = out.output.split("\n2")
    broken = next(b for b in blocks if "Break support-agent by hand" in b)
    assert "BROKEN: the file does not parse:" in broken
    assert "BROKEN" not in next(b for b in blocks if "Fix it again" in b)


def test_the_agent_column_is_as_wide_as_the_longest_name() -> None:
    """Adopted files give long agent names (`alpha-config-reporting_analyst`): the columns
    after the name still line up."""
    at = datetime(2026, 11, 26, 17, 10, tzinfo=UTC)
    events = [Event(kind="initialised", time=at, commit="a" * 40, actor="Ann", summary="agents",
                    agent=name, version="b" * 40)
              for name in ("agent-root", "alpha-config-reporting_analyst")]
    width = max(len(e.agent or "") for e in events)
    firsts = [e.lines(width)[0] for e in events]
    assert len({line.index("aaaaaaaaaa") for line in firsts}) == 1, firsts
    assert events[0].lines()[0].index("aaaaaaaaaa") < firsts[0].index("aaaaaaaaaa")
