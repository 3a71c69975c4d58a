"""Evidence before approval: replay a proposal on the runs it is meant to fix, judge, record.

``evaluate(repo, "20261123-ab12cd", sample=10)`` replays the proposal's evidence runs (and a
sample of well-rated runs) with the proposed and the base instructions, has a model judge the
pairs, and records the scorecard in git (see docs/evaluation.md)."""

from gitimprove.evaluation.evaluate import (
    Evaluation,
    EvaluationError,
    EvaluationPlan,
    NeedsModel,
    evaluate,
    plan,
)
from gitimprove.evaluation.record import EvaluationRecord, read_record
from gitimprove.evaluation.scorecard import Scorecard

__all__ = ["Evaluation", "EvaluationError", "EvaluationPlan", "EvaluationRecord", "NeedsModel",
           "Scorecard", "evaluate", "plan", "read_record"]
