"""The two sets of runs an evaluation replays, drawn from the feedback store.

*To fix*: the runs a proposal cites as evidence that carry a complaint (a negative rating, a
reason, a correction, or a trouble signal: regenerated, edited, not completed). *To keep*:
well-rated runs of the base version that the proposal does not cite, so that a fix that breaks
what users liked shows up. Only runs with a recorded ``input`` can be replayed; the others are
counted, never guessed. Both samples are drawn with a seeded random generator, so the same seed
draws the same runs; the work done here grows with the sample, not with the feedback: only the
sampled runs' text is read, and each input is cut to ``max_input_chars`` as soon as it is read.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from gitimprove.dataclass import dataclass, field
from gitimprove.evaluation.scorecard import Kind, SetFigures
from gitimprove.feedback.attribution import Timeline
from gitimprove.feedback.models import FeedbackRecord, RunView, merge_runs
from gitimprove.feedback.store import FeedbackStore

MAX_LOGGED_CHARS = 4000  # the logged output shown beside the replays
MAX_FEEDBACK_CHARS = 2000  # the user's own words, per run


@dataclass
class Run:
    """One run to replay: its input (maybe cut), what the user saw, and what they said."""

    kind: Kind
    key: str  # run id, or the feedback id of a run recorded without one
    feedback_ids: list[str]
    input: str
    truncated: bool = False
    logged: str | None = None
    complaints: list[str] = field(default_factory=list)  # reasons and corrections, their words
    corrections: list[str] = field(default_factory=list)
    trouble: list[str] = field(default_factory=list)  # regenerated, edited_output, ...


@dataclass
class RunSets:
    to_fix: list[Run]
    to_keep: list[Run]
    fix: SetFigures
    keep: SetFigures


def _key(record: FeedbackRecord) -> str:
    return record.run_id if record.run_id is not None else record.id


def _cut(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def _complaint(view: RunView) -> bool:
    """Whether a cited run complains: rated down, corrected, with a trouble signal, or with a
    reason and no rating at all (a critique of the answer, imported without one: analysis
    read it as a failure, or the proposal would not cite it)."""
    return (view.rating == "negative" or bool(view.corrections) or bool(view.trouble)
            or (view.rating is None and bool(view.reasons)))


def _whole_run(store: FeedbackStore, agent: str, key: str,
               cited: list[FeedbackRecord]) -> list[FeedbackRecord]:
    """Every record about the run, with its text (a correction may come after the cited
    rating, and the input may be on another record of the same run)."""
    if cited[0].run_id is not None:
        found = store.records(agent=agent, run_id=key)
        if found:
            return found
    return [got for r in cited if (got := store.get(r.id)) is not None]


def _as_run(kind: Kind, key: str, records: list[FeedbackRecord], max_input: int) -> Run | None:
    view = merge_runs(records)[0]
    text = next((r.input for r in reversed(records) if r.input), None)
    if text is None:
        return None
    logged = next((r.output for r in reversed(records) if r.output), None)
    cut, truncated = _cut(text, max_input)
    return Run(kind=kind, key=key, feedback_ids=view.feedback_ids, input=cut, truncated=truncated,
               logged=_cut(logged, MAX_LOGGED_CHARS)[0] if logged else None,
               complaints=[_cut(t, MAX_FEEDBACK_CHARS)[0] for t in view.reasons],
               corrections=[_cut(t, MAX_FEEDBACK_CHARS)[0] for t in view.corrections],
               trouble=view.trouble)


def _grouped(records: Iterable[FeedbackRecord]) -> dict[str, list[FeedbackRecord]]:
    by_run: dict[str, list[FeedbackRecord]] = {}
    for record in sorted(records, key=lambda r: (r.created_at, r.id)):
        by_run.setdefault(_key(record), []).append(record)
    return by_run


def _take(kind: Kind, runs: list[tuple[str, list[FeedbackRecord]]], figures: SetFigures, *,
          store: FeedbackStore, agent: str, sample: int, max_input: int) -> list[Run]:
    """Read runs whole, in the (shuffled) order given, until ``sample`` have an input."""
    chosen: list[Run] = []
    for n, (key, cited) in enumerate(runs):
        if len(chosen) >= sample:
            figures.unexamined = len(runs) - n
            break
        run = _as_run(kind, key, _whole_run(store, agent, key, cited), max_input)
        if run is None:
            figures.no_input += 1
            continue
        figures.candidates += 1
        chosen.append(run)
        figures.truncated += run.truncated
    figures.sampled = len(chosen)
    return chosen


def runs_to_fix(store: FeedbackStore, agent: str, evidence: Iterable[str], *, sample: int,
                rng: random.Random, max_input: int) -> tuple[list[Run], SetFigures]:
    """The cited runs that carry a complaint and an input, sampled.

    The cited records are read without their text; runs are then taken in a random order and
    read whole until the sample is full, so the text read grows with the sample."""
    ids = list(dict.fromkeys(evidence))
    figures = SetFigures(available=len(ids))
    stored = [r for r in store.by_ids(ids, with_io=False) if r.agent == agent]
    figures.gone = len(ids) - len(stored)
    complaints = []
    for key, cited in _grouped(stored).items():
        if not _complaint(merge_runs(cited)[0]):
            figures.not_complaint += 1
            continue
        complaints.append((key, cited))
    rng.shuffle(complaints)
    chosen = _take("fix", complaints, figures, store=store, agent=agent, sample=sample,
                   max_input=max_input)
    return chosen, figures


def runs_to_keep(store: FeedbackStore, agent: str, base_blob: str, *, exclude: set[str],
                 sample: int, rng: random.Random, max_input: int,
                 timeline: Timeline | None = None) -> tuple[list[Run], SetFigures]:
    """Well-rated runs of the base version, not cited by the proposal, sampled. With the
    agent's ``timeline``, records that name no version count for the base version when it was
    live on main as they were made (as ``history`` counts them).

    Runs are read without their text first; the text of a run is read only while the sample
    is not full, so a large store costs a light query or two and ``sample`` (or a few more)
    reads."""
    base = store.records(agent=agent, versions=[base_blob], with_io=False)
    for since, until in timeline.windows(base_blob) if timeline is not None else ():
        base += [r for r in store.records(agent=agent, since=since, until=until,
                                          with_io=False) if r.version is None]
    liked = []
    for key, records in _grouped(base).items():
        view = merge_runs(records)[0]
        if view.rating == "positive" and not view.corrections and not view.trouble \
                and key not in exclude and not set(view.feedback_ids) & exclude:
            liked.append((key, records))
    figures = SetFigures(available=len(liked))
    rng.shuffle(liked)
    chosen = _take("keep", liked, figures, store=store, agent=agent, sample=sample,
                   max_input=max_input)
    return chosen, figures
