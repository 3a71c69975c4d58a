"""Evidence before approval: replay a proposal on the runs it is meant to fix, judge, record.

``evaluate(repo, "20261123-ab12cd", sample=10)`` replays the proposal's evidence runs (and a
sample of well-rated runs) with the proposed and the base instructions, has a model judge the
pairs, and records the scorecard in git (see docs/evaluation.md).

Names are imported on first use: the hooks and ``approve`` read recorded scorecards without
loading the Anthropic SDK."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "Evaluation": "engine", "EvaluationError": "engine", "EvaluationPlan": "engine",
    "NeedsModel": "engine", "evaluate": "engine", "plan": "engine",
    "EvaluationRecord": "record", "read_record": "record", "Scorecard": "scorecard",
}

__all__ = ["Evaluation", "EvaluationError", "EvaluationPlan", "EvaluationRecord", "NeedsModel",
           "Scorecard", "evaluate", "plan", "read_record"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


if TYPE_CHECKING:
    from gitimprove.evaluation.engine import (
        Evaluation,
        EvaluationError,
        EvaluationPlan,
        NeedsModel,
        evaluate,
        plan,
    )
    from gitimprove.evaluation.record import EvaluationRecord, read_record
    from gitimprove.evaluation.scorecard import Scorecard
