"""Reading the recorded scorecard where a decision is made: review, proposals, validate,
approve and the hooks. Git reads only; no model is ever called here.

One rule everywhere (docs/evaluation.md): a scorecard counts for a merge when it judged the
**tree being merged** (the tree of the commit that brings the proposal: the branch tip for
``approve`` and a merge's side parent for plain git, reviewers' commits included) and replayed
the agent's instructions that are on the target now. :func:`evaluation_status` is that rule;
``approve``, the three hooks, ``validate``, ``review`` and ``proposals`` all ask it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from gitimprove import ledger
from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.evaluation.examples import Example
from gitimprove.evaluation.gate import gate_violations
from gitimprove.evaluation.record import EvaluationRecord, latest, read_record, record_ref
from gitimprove.git import Oid
from gitimprove.instructions.policy import EvaluationSettings
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.validate import Violation

State = Literal["none", "current", "stale-branch", "stale-base"]


@dataclass
class EvaluationStatus:
    """What is known about a proposal's evaluation for one merge (target, head)."""

    proposal: str
    agent: str
    required: bool
    record: EvaluationRecord | None = None
    state: State = "none"
    settings: EvaluationSettings | None = None
    # Why the policy's gate refuses the merge; None when the policy asks for no evaluation.
    gate: list[Violation] | None = None
    # The examples side by side, kept on the machine that evaluated (review shows them).
    examples: list[Example] | None = field(default=None, repr=False)

    @property
    def ref(self) -> str:
        return record_ref(self.agent, self.proposal)

    @property
    def refused(self) -> list[Violation]:
        return self.gate or []

    def lines(self) -> list[str]:
        """The scorecard in words, against the policy's bar."""
        assert self.record is not None
        return self.record.scorecard.lines(self.settings)

    def to_json(self) -> dict[str, Any]:
        """The shape docs/json.md documents (``evaluation`` of `review` and `proposals`)."""
        data: dict[str, Any] = {"state": self.state, "required": self.required, "ref": self.ref}
        if self.record is not None:
            card = self.record.scorecard
            data.update({
                "record": str(self.record.commit), "evaluated_by": self.record.evaluated_by,
                "headline": card.headline(), "complete": card.stopped is None,
                "problems": card.passes(self.settings) if self.settings else [],
                "lines": self.lines(), "scorecard": card.to_json()})
        if self.gate is not None:
            data["gate"] = [v.to_json() for v in self.gate]
        if self.examples is not None:
            data["examples"] = [asdict(e) for e in self.examples]
        return data


def _base_blob(repo: InstructionRepo, agent: str, target: Oid) -> Oid | None:
    try:
        return repo.agent_at(agent, target).blob
    except GitImproveError:
        return None


def evaluation_status(repo: InstructionRepo, target: Oid, head: Oid, *, proposal: str,
                      agent: str, override: Oid | None = None,
                      book: ledger.Ledger | None = None) -> EvaluationStatus:
    """The evaluation of ``proposal`` for merging ``head`` (the commit whose tree is merged)
    into ``target``, and the gate of ``target``'s policy.

    The record is the one ``override`` names (a pre-receive hook sees a pushed record before
    its ref moves), else the one in ``book`` (a listing scans once), else the ref's. Fails
    closed: a policy that does not parse is a gate violation."""
    try:
        settings: EvaluationSettings | None = repo.policy_at(target).evaluation
        unreadable: list[Violation] = []
    except GitImproveError as exc:
        settings = None
        unreadable = [Violation("policy-unreadable",
                                f"the target's policy does not parse: {exc.message}")]
    if override is not None or book is None:
        found = read_record(repo.git, agent, proposal, override=override)
    else:
        found = latest(book).get((agent, proposal))
    status = EvaluationStatus(proposal, agent, bool(settings and settings.required), found,
                              settings=settings)
    base_blob = _base_blob(repo, agent, target) if found is not None or status.required else None
    proposal_tree = repo.git.tree_of(head)
    if found is not None:
        status.state = found.freshness(proposal_tree, base_blob)
    if unreadable:
        status.gate = unreadable
    elif settings is not None and settings.required:
        status.gate = gate_violations(settings, found, proposal=proposal, agent=agent,
                                      proposal_tree=proposal_tree, base_blob=base_blob)
    return status


STATE_TEXT = {
    "current": "for the trees being merged",
    "stale-branch": "STALE: the branch has new commits since; evaluate again",
    "stale-base": "STALE: the base instructions changed on the target since; evaluate again",
}


def status_lines(status: EvaluationStatus) -> list[str]:
    """The evaluation section of the review screen and of `validate`."""
    proposal = status.proposal
    if status.record is None:
        need = "the policy REQUIRES one before approval" if status.required else "optional"
        return [f"Evaluation: none ({need}); run `gitimprove evaluate {proposal}` "
                "(needs ANTHROPIC_API_KEY)"]
    lines = [f"Evaluation {status.record.commit[:10]} by {status.record.evaluated_by}, "
             f"{STATE_TEXT[status.state]}: {status.record.scorecard.headline()}"]
    lines += [f"  {line}" for line in status.lines()]
    if status.gate:
        lines.append("  The policy's gate refuses approval: "
                     + "; ".join(v.message for v in status.gate))
    elif status.required:
        lines.append("  The policy's gate lets it through.")
    lines.append("  What it means, and what it does not prove: `gitimprove docs evaluation`")
    return lines


def short_status(status: EvaluationStatus) -> str:
    """One flag for `gitimprove proposals`."""
    if status.record is None:
        return "eval REQUIRED" if status.required else "not evaluated"
    fixed, worse = status.record.scorecard.fixed(), status.record.scorecard.worse()
    text = f"eval fixed {fixed.hits}/{fixed.n} worse {worse.hits}/{worse.n}"
    if status.state != "current":
        text += " (stale)"
    elif status.gate:
        text += " (below the bar)"
    return text
