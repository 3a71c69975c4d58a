"""Feedback on agent runs: capture, storage, import and pattern analysis.

Import-light on purpose: ``InstructionRepo.load()`` never imports this package; the repository
methods that need it import it lazily."""

from __future__ import annotations

from gitimprove.feedback.errors import (
    FeedbackError,
    FeedbackImportError,
    FeedbackStoreError,
    FeedbackWarning,
    InvalidFeedbackError,
)
from gitimprove.feedback.models import FeedbackRecord, RunView, merge_runs, normalize_rating

__all__ = [
    "FeedbackError",
    "FeedbackImportError",
    "FeedbackRecord",
    "FeedbackStoreError",
    "FeedbackWarning",
    "InvalidFeedbackError",
    "RunView",
    "merge_runs",
    "normalize_rating",
]
