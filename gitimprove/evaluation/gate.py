"""The optional gate: ``evaluation.required`` in the target's policy asks for a passing
scorecard, recorded for the proposal tree being merged, before a proposal reaches main.

:func:`gate_violations` is pure: the policy's settings, the record (or None) and the trees
being merged in, violations out. It never calls a model; ``approve``, the git hooks and
``validate`` read the recorded scorecard and ask it.
"""

from __future__ import annotations

from gitimprove.evaluation.record import EvaluationRecord
from gitimprove.git import Oid
from gitimprove.instructions.policy import EvaluationSettings
from gitimprove.validate import Violation


def gate_violations(settings: EvaluationSettings, record: EvaluationRecord | None, *,
                    proposal: str, agent: str, proposal_tree: Oid,
                    base_blob: Oid | None) -> list[Violation]:
    """Why the policy's evaluation gate refuses this merge (empty: it lets it through)."""
    if not settings.required:
        return []
    evaluate = f"run `gitimprove evaluate {proposal}`"
    if record is None:
        return [Violation("evaluation-missing",
                          f"the policy requires an evaluation and proposal {proposal} has none; "
                          f"{evaluate}", agent=agent)]
    fresh = record.freshness(proposal_tree, base_blob)
    if fresh == "stale-branch":
        return [Violation("evaluation-stale",
                          f"the evaluation of {proposal} judged another tree (the branch has new "
                          f"commits since {record.commit.short}); {evaluate} again", agent=agent)]
    if fresh == "stale-base":
        return [Violation("evaluation-stale",
                          f"the evaluation of {proposal} replayed other base instructions than "
                          f"{agent}'s on the target now; {evaluate} again", agent=agent)]
    return [Violation("evaluation-failed", f"evaluation {record.commit.short}: {problem}",
                      agent=agent)
            for problem in record.scorecard.passes(settings)]
