"""Reading the recorded scorecard where a decision is made: review, proposals, validate,
approve and the hooks. Git reads only; no model is ever called here."""

from __future__ import annotations

from typing import Any

from gitimprove.errors import GitImproveError
from gitimprove.evaluation.gate import gate_violations
from gitimprove.evaluation.record import EvaluationRecord, read_record, record_ref
from gitimprove.git import Oid
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.validate import Violation


def _base_blob(repo: InstructionRepo, agent: str, target: Oid) -> Oid | None:
    try:
        return repo.agent_at(agent, target).blob
    except GitImproveError:
        return None


def check_evaluation(repo: InstructionRepo, target: Oid, proposal_commit: Oid, *, proposal: str,
                     agent: str, record: Oid | None = None) -> list[Violation]:
    """The gate of ``target``'s policy for merging ``proposal_commit`` into it.

    ``record``: the record commit to judge by instead of the ref's current one (a pre-receive
    hook sees a pushed record before its ref moves). Fails closed: what cannot be read is a
    violation."""
    try:
        settings = repo.policy_at(target).evaluation
    except GitImproveError as exc:
        return [Violation("policy-unreadable", f"the target's policy does not parse: {exc.message}")]
    if not settings.required:
        return []
    found = read_record(repo.git, agent, proposal, override=record)
    return gate_violations(settings, found, proposal=proposal, agent=agent,
                           proposal_tree=repo.git.tree_of(proposal_commit),
                           base_blob=_base_blob(repo, agent, target))


def evaluation_status(repo: InstructionRepo, target: Oid, proposal_commit: Oid, *, proposal: str,
                      agent: str) -> dict[str, Any]:
    """What `review`, `proposals` and `validate` show about a proposal's evaluation."""
    try:
        settings = repo.policy_at(target).evaluation
    except GitImproveError:
        settings = None
    found: EvaluationRecord | None = read_record(repo.git, agent, proposal)
    data: dict[str, Any] = {"state": "none", "required": bool(settings and settings.required),
                            "ref": record_ref(agent, proposal)}
    if found is not None:
        card = found.scorecard
        data.update({
            "state": found.freshness(repo.git.tree_of(proposal_commit),
                                     _base_blob(repo, agent, target)),
            "record": str(found.commit), "evaluated_by": found.evaluated_by,
            "headline": card.headline(), "complete": card.stopped is None,
            "problems": card.passes(settings) if settings else [],
            "lines": card.lines(settings), "scorecard": card.to_json()})
    if settings is not None and settings.required:
        data["gate"] = [v.to_json() for v in gate_violations(
            settings, found, proposal=proposal, agent=agent,
            proposal_tree=repo.git.tree_of(proposal_commit),
            base_blob=_base_blob(repo, agent, target))]
    return data


STATE_TEXT = {
    "current": "for the trees being merged",
    "stale-branch": "STALE: the branch has new commits since; evaluate again",
    "stale-base": "STALE: the base instructions changed on the target since; evaluate again",
}


def status_lines(data: dict[str, Any], proposal: str) -> list[str]:
    """The evaluation section of the review screen and of `validate`."""
    if data["state"] == "none":
        need = "the policy REQUIRES one before approval" if data["required"] else "optional"
        return [f"Evaluation: none ({need}); run `gitimprove evaluate {proposal}` "
                "(needs ANTHROPIC_API_KEY)"]
    lines = [f"Evaluation {data['record'][:10]} by {data['evaluated_by']}, "
             f"{STATE_TEXT[data['state']]}: {data['headline']}"]
    lines += [f"  {line}" for line in data["lines"]]
    if data.get("gate"):
        lines.append("  The policy's gate refuses approval: "
                     + "; ".join(v["message"] for v in data["gate"]))
    elif data["required"]:
        lines.append("  The policy's gate lets it through.")
    lines.append("  What it means, and what it does not prove: docs/evaluation.md")
    return lines


def short_status(data: dict[str, Any]) -> str:
    """One flag for `gitimprove proposals`."""
    if data["state"] == "none":
        return "eval REQUIRED" if data["required"] else "not evaluated"
    fixed, worse = data["scorecard"]["fixed"], data["scorecard"]["worse"]
    text = f"eval fixed {fixed['hits']}/{fixed['n']} worse {worse['hits']}/{worse['n']}"
    if data["state"] != "current":
        text += " (stale)"
    elif data.get("gate"):
        text += " (below the bar)"
    return text
