"""``gitimprove evaluate``: replay a proposal on the runs it is meant to fix, judge, record.

:func:`plan` draws the runs and says what an evaluation would judge, without a model.
:func:`evaluate` replays each sampled run with the base and the proposed instructions, has the
judge compare the answers in a random order, stops cleanly at the policy's token budget, and
records the scorecard in git for the exact trees it judged. Nothing is recorded when it fails
before judging a single run or is interrupted: the record is written last, in one step.
"""

from __future__ import annotations

import os
import random
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import anthropic
import anthropic.types

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.evaluation.examples import Example, excerpt, pick, save
from gitimprove.evaluation.judge import judge, judge_prompt
from gitimprove.evaluation.record import EvaluationRecord, record_ref, write_record
from gitimprove.evaluation.replay import Answer, replay
from gitimprove.evaluation.runs import Run, RunSets, runs_to_fix, runs_to_keep
from gitimprove.evaluation.scorecard import JudgedRun, Scorecard, SetFigures, UsageFigures
from gitimprove.git import Identity, Oid, merge_tree
from gitimprove.instructions.policy import EvaluationSettings
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.llm import (
    CACHE_READ_RATE,
    CACHE_WRITE_RATE,
    KEY_URL,
    Bill,
    Hints,
    MessagesAPI,
    Price,
    Tokens,
)
from gitimprove.llm import price as llm_price

KEY_HINT = (f"set ANTHROPIC_API_KEY to a key ({KEY_URL}); ANTHROPIC_BASE_URL points at another "
            "endpoint, and evaluation.model in gitimprove.yaml picks the model")
HINTS = Hints(key=KEY_HINT, fallback="or replay fewer runs (--sample N)",
              timeout_setting="evaluation.timeout_seconds", model_setting="evaluation.model",
              deadline_setting="evaluation.deadline_seconds")
CALLS_PER_RUN = 3  # two replays and one judgement
CHARS_PER_TOKEN = 4  # for the budget's estimate of a run not yet made


class EvaluationError(GitImproveError):
    """An evaluation that cannot run (no model, nothing to replay, an API failure)."""


class NeedsModel(EvaluationError):
    """No API key: says what would have been judged."""

    def __init__(self, message: str, *, hint: str, plan: EvaluationPlan) -> None:
        super().__init__(message, hint=hint)
        self.plan = plan


@dataclass
class EvaluationPlan:
    """What an evaluation of one proposal judges: the trees, the prompts, the sampled runs."""

    proposal: str
    agent: str
    proposal_commit: Oid
    proposal_tree: Oid
    proposal_blob: Oid
    base_commit: Oid
    base_tree: Oid
    base_blob: Oid
    base_prompt: str = field(repr=False)
    proposal_prompt: str = field(repr=False)
    sets: RunSets = field(repr=False)
    settings: EvaluationSettings
    seed: int
    sample: int
    keep_sample: int

    @property
    def runs(self) -> list[Run]:
        return [*self.sets.to_fix, *self.sets.to_keep]

    @property
    def calls(self) -> int:
        return CALLS_PER_RUN * len(self.runs)

    def counts(self) -> str:
        """``12 runs to fix (of 30 cited ...) and 10 runs to keep (...), 66 model calls``"""
        fix, keep = self.sets.fix, self.sets.keep
        fix_notes = [f"{n} {what}" for n, what in (
            (fix.no_input, "without an input"), (fix.gone, "no longer in the feedback store"),
            (fix.not_complaint, "without a complaint"), (fix.truncated, "cut to max_input_chars"))
            if n]
        keep_notes = [f"{keep.no_input} without an input"] if keep.no_input else []
        return (f"{fix.sampled} runs to fix (of {fix.available} evidence ids"
                + "".join(f", {n}" for n in fix_notes) + f") and {keep.sampled} runs to keep "
                f"(of {keep.available} well-rated runs of the base version"
                + "".join(f", {n}" for n in keep_notes) + f"), with {self.calls} model calls "
                f"({self.settings.model} answers, {self.settings.judge} judges)"
                + ("; with no run to keep it could not tell what the change makes worse"
                   if not keep.sampled else ""))

    def to_json(self) -> dict[str, Any]:
        return {"proposal": self.proposal, "agent": self.agent, "seed": self.seed,
                "sample": self.sample, "keep_sample": self.keep_sample, "calls": self.calls,
                "model": self.settings.model, "judge_model": self.settings.judge,
                "to_fix": self.sets.fix.model_dump(), "to_keep": self.sets.keep.model_dump()}


@dataclass
class Evaluation:
    """The outcome: the recorded scorecard, and examples side by side."""

    record: EvaluationRecord
    examples: list[Example]
    plan: EvaluationPlan

    @property
    def scorecard(self) -> Scorecard:
        return self.record.scorecard

    def to_json(self) -> dict[str, Any]:
        """`evaluate --json` (docs/json.md)."""
        card, settings = self.scorecard, self.plan.settings
        return {"status": "recorded", "record": str(self.record.commit),
                "ref": record_ref(card.agent, card.proposal),
                "passes": not card.passes(settings), "problems": card.passes(settings),
                "scorecard": card.to_json(), "examples": [asdict(e) for e in self.examples]}


# -- the plan (no model) -------------------------------------------------------------------------

def known_models() -> list[str]:
    """Model names the installed anthropic SDK knows."""
    names: list[str] = []
    for arg in typing.get_args(anthropic.types.Model):
        names += [a for a in typing.get_args(arg) if isinstance(a, str)]
    return names


def check_models(settings: EvaluationSettings) -> None:
    """Refuse a model name the SDK does not know, before any call is made."""
    import difflib

    known = known_models()
    for setting, name in (("evaluation.model", settings.model),
                          ("evaluation.judge_model", settings.judge)):
        if known and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            raise EvaluationError(
                f"{setting} in gitimprove.yaml names {name!r}, a model the Anthropic SDK does "
                "not know",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"known models include {', '.join(known[:4])}; for a newer model, upgrade "
                  "the anthropic package")


def plan(repo: InstructionRepo, spec: str, *, sample: int | None = None,
         seed: int | None = None) -> EvaluationPlan:
    """The trees, prompts and runs an evaluation of proposal ``spec`` would judge."""
    from gitimprove.review.actions import find_proposal

    info = find_proposal(repo, spec, include_closed=True)
    if info.state != "open":
        raise EvaluationError(f"proposal {info.id} is {info.state.replace('_', ' ')}; only an open "
                              "proposal is evaluated", hint="see `gitimprove proposals`")
    git = repo.git
    base = repo.main_tip()
    settings = repo.policy_at(base).evaluation
    if sample is not None and sample < 1:
        raise EvaluationError("--sample must be at least 1")
    base_at = repo.agent_at(info.agent, base)
    merged, conflicts = merge_tree(git, base, info.head)
    if conflicts:
        raise EvaluationError(f"proposal {info.id} does not merge cleanly into {repo.branch} "
                              f"(conflict in {', '.join(conflicts)}); there is nothing to judge",
                              hint=f"reject it and propose again from the current {repo.branch}")
    # NOTE: an unreferenced commit of the merged tree, so that the agent is read (and rendered)
    # the way `load()` would read it after the approval, whatever the file's format.
    judged = git.commit_tree(merged, [base], "gitimprove evaluate: the merge it judges\n")
    try:
        proposed_at = repo.agent_at(info.agent, judged)
    except GitImproveError:
        raise EvaluationError(f"proposal {info.id} leaves no readable {info.agent} in "
                              f"{base_at.path}; nothing to replay") from None
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    n_fix = sample or settings.sample
    n_keep = min(settings.keep, n_fix) if sample is not None else settings.keep
    store = repo.feedback_store()
    draw = random.Random(seed)
    to_fix, fix = runs_to_fix(store, info.agent, info.evidence, sample=n_fix, rng=draw,
                              max_input=settings.max_input_chars)
    exclude = set(info.evidence) | {run.key for run in to_fix}
    to_keep, keep = runs_to_keep(store, info.agent, str(base_at.blob), exclude=exclude,
                                 sample=n_keep, rng=draw, max_input=settings.max_input_chars,
                                 timeline=repo.timelines([info.agent]).get(info.agent))
    if not to_fix:
        why = [said for n, said in (
            (fix.no_input, f"{fix.no_input} runs have no input recorded"),
            (fix.gone, f"{fix.gone} are no longer in the feedback store "
                       f"({store.url.split('?')[0]})"),
            (fix.not_complaint, f"{fix.not_complaint} carry no complaint")) if n]
        hints = ([] if not fix.no_input else [
            "give each run its input and output with its feedback (the `input` and `output` "
            "fields of a feedback import line, or record_feedback(..., input=..., output=...))"])
        hints += [] if not fix.gone else [
            "a gone id means the store was cleaned, or GITIMPROVE_FEEDBACK_URL points at "
            "another store"]
        raise EvaluationError(
            f"proposal {info.id} has no run to fix that can be replayed: of its {fix.available} "
            f"evidence ids, {', '.join(why) or 'none is a run'}", hint="; ".join(hints) or None)
    return EvaluationPlan(
        proposal=info.id, agent=info.agent, proposal_commit=info.head,
        proposal_tree=git.tree_of(info.head), proposal_blob=proposed_at.blob, base_commit=base,
        base_tree=git.tree_of(base), base_blob=base_at.blob, base_prompt=base_at.rendered(),
        proposal_prompt=proposed_at.rendered(), sets=RunSets(to_fix, to_keep, fix, keep),
        settings=settings, seed=seed, sample=n_fix, keep_sample=n_keep)


# -- the evaluation (needs a model) --------------------------------------------------------------

def price(model: str, settings: EvaluationSettings) -> Price | None:
    """The policy's price (evaluation.input_usd_per_mtok and output_usd_per_mtok), else the
    model family's (:func:`gitimprove.llm.price`)."""
    given, out = settings.input_usd_per_mtok, settings.output_usd_per_mtok
    return llm_price(model, (given, out) if given is not None and out is not None else None)


@dataclass
class _Meter:
    """Tokens by model, and whether the next run still fits the budget (cache writes and reads
    count at their price: a read a tenth of a token)."""

    budget: int
    by_model: dict[str, Tokens] = field(default_factory=dict)
    runs: int = 0

    def add(self, model: str, tokens: Tokens) -> None:
        self.by_model[model] = self.by_model.get(model, Tokens()) + tokens

    @property
    def used(self) -> int:
        return round(sum(t.weighted for t in self.by_model.values()))

    def fits(self, estimate: int) -> bool:
        """Whether one more run fits: the first by ``estimate``, later ones by what the runs
        before cost, their cache writes counted as reads (the next run reads what they wrote)."""
        if not self.runs:
            return self.used + max(estimate, 1) <= self.budget
        premium = (CACHE_WRITE_RATE - CACHE_READ_RATE) * sum(
            t.cache_write for t in self.by_model.values())
        per_run = (self.used - premium) / self.runs
        return self.used + max(per_run, 1) <= self.budget

    def figures(self, settings: EvaluationSettings) -> UsageFigures:
        bill = Bill.of(self.by_model, lambda model: price(model, settings))
        total = bill.tokens
        return UsageFigures(input_tokens=total.input, output_tokens=total.output,
                            requests=total.requests, cost_usd=bill.cost_usd,
                            cache_write_tokens=total.cache_write,
                            cache_read_tokens=total.cache_read, saved_usd=bill.saved_usd)


def estimate_tokens(p: EvaluationPlan, run: Run) -> int:
    """The input tokens of one run's three calls, roughly (characters / 4), for the first run;
    later runs are estimated from what the runs before them really cost."""
    chars = len(p.base_prompt) + len(p.proposal_prompt) + 3 * len(run.input) + len(run.logged or "")
    return chars // CHARS_PER_TOKEN


def evaluate(repo: InstructionRepo, spec: str, *, sample: int | None = None,
             seed: int | None = None, by: str | None = None,
             env: Mapping[str, str] = os.environ, api_key: str | None = None,
             base_url: str | None = None, max_retries: int = 4, backoff_base: float = 1.0,
             backoff_max: float = 30.0, sleep: Callable[[float], None] | None = None,
             bills: list[Bill] | None = None) -> Evaluation:
    """Evaluate proposal ``spec`` and record its scorecard; see the module docstring.

    ``api_key`` and ``base_url`` default to ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` in
    ``env``. Without a key, raises :class:`NeedsModel` saying what would have been judged.
    ``bills`` receives what the answered requests cost, whether it succeeds or fails."""
    p = plan(repo, spec, sample=sample, seed=seed)
    check_models(p.settings)
    key = api_key or env.get("ANTHROPIC_API_KEY", "").strip()
    if not key:
        raise NeedsModel(f"evaluating proposal {p.proposal} needs a model, and ANTHROPIC_API_KEY "
                         f"is not set. It would judge {p.counts()}.", hint=KEY_HINT, plan=p)
    from gitimprove.review.actions import _identity

    by_identity = _identity(repo, by)
    settings = p.settings
    api = MessagesAPI(model=settings.model, timeout=settings.timeout_seconds,
                      error=EvaluationError, hints=HINTS, api_key=key,
                      base_url=base_url or env.get("ANTHROPIC_BASE_URL") or None,
                      max_retries=max_retries, backoff_base=backoff_base,
                      backoff_max=backoff_max, deadline=settings.deadline_seconds,
                      **({"sleep": sleep} if sleep else {}))
    try:
        return _judge_all(repo, p, api, by_identity)
    finally:  # NOTE: an evaluation that fails, or is interrupted, has still paid for them
        if bills is not None and api.used:
            bills.append(api.bill(lambda model: price(model, settings)))


def _judge_all(repo: InstructionRepo, p: EvaluationPlan, api: MessagesAPI,
               by_identity: Identity) -> Evaluation:
    """Replay and judge the plan's runs within its budget and deadline, and record the
    scorecard (see the module docstring)."""
    settings = p.settings
    order = random.Random(p.seed + 1)
    meter = _Meter(settings.token_budget)
    judged: list[JudgedRun] = []
    examples: list[Example] = []
    stopped: str | None = None
    figures = {"fix": p.sets.fix.model_copy(), "keep": p.sets.keep.model_copy()}
    with api.client() as client:
        for index, run in enumerate(p.runs):
            proposal_first = order.random() < 0.5
            api.at_most(CALLS_PER_RUN * (len(p.runs) - index))  # a run judged on none makes 2
            if not meter.fits(estimate_tokens(p, run)):
                stopped = (f"the token budget ({settings.token_budget:,} tokens, "
                           f"evaluation.token_budget) was reached after {meter.runs} of "
                           f"{len(p.runs)} runs ({meter.used:,} tokens used)")
                for rest in p.runs[index:]:
                    figures[rest.kind].not_reached += 1
                break
            try:
                entry, example = _one(api, client, p, run, proposal_first, meter)
            except EvaluationError as exc:
                if not meter.runs:
                    raise EvaluationError(f"{exc.message}; nothing was recorded",
                                          hint=exc.hint) from None
                # NOTE: the run being judged is dropped whole: a record holds judged runs only.
                stopped = (f"the deadline ({settings.deadline_seconds:g} seconds, "
                           f"evaluation.deadline_seconds) was reached after {meter.runs} of "
                           f"{len(p.runs)} runs" if api.deadline.passed else
                           f"the API failed after {meter.runs} runs: {exc.message}")
                for rest in p.runs[index:]:
                    figures[rest.kind].not_reached += 1
                break
            meter.runs += 1
            judged.append(entry)
            _count(figures[run.kind], entry)
            if example is not None:
                examples.append(example)
    card = Scorecard(
        proposal=p.proposal, agent=p.agent, proposal_commit=p.proposal_commit,
        proposal_tree=p.proposal_tree, proposal_blob=p.proposal_blob, base_commit=p.base_commit,
        base_tree=p.base_tree, base_blob=p.base_blob, model=settings.model,
        judge_model=settings.judge, seed=p.seed, sample=p.sample, keep_sample=p.keep_sample,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        to_fix=figures["fix"], to_keep=figures["keep"], runs=judged,
        usage=meter.figures(settings), token_budget=settings.token_budget, stopped=stopped)
    if card.position_bias():
        card.warnings.append("the answer shown first won far more (or fewer) comparisons than "
                             "chance allows: the judge follows the order, so its verdicts do not "
                             "measure the proposal")
    record = write_record(repo.git, card, by_identity)
    chosen = pick(examples)
    save(repo.git, record.commit, chosen)
    return Evaluation(record, chosen, p)


def _one(api: MessagesAPI, client: anthropic.Anthropic, p: EvaluationPlan, run: Run,
         proposal_first: bool, meter: _Meter) -> tuple[JudgedRun, Example | None]:
    """Replay one run both ways and judge it."""
    settings = p.settings
    entry = JudgedRun(set=run.kind, run=run.key, feedback=run.feedback_ids,
                      proposal_first=proposal_first, input_truncated=run.truncated)
    answers: list[Answer] = []
    for system in (p.base_prompt, p.proposal_prompt):
        answer = replay(api, client, system=system, user_input=run.input,
                        max_tokens=settings.max_tokens)
        meter.add(settings.model, answer.tokens)
        answers.append(answer)
    base, proposed = answers
    empty = [name for name, a in (("base", base), ("proposal", proposed)) if not a.text]
    if empty:
        entry.reason = f"the {' and '.join(empty)} replay gave no text"
        return entry, None
    first, second = (proposed, base) if proposal_first else (base, proposed)
    verdict = judge(api, client, run, first.text, second.text, model=settings.judge)
    meter.add(settings.judge, verdict.tokens)
    entry.reason = verdict.reason
    if verdict.preferred is None:
        return entry, None
    if verdict.preferred == "same":
        entry.verdict = "same"
    else:
        entry.verdict = "better" if (verdict.preferred == "A") == proposal_first else "worse"
    return entry, Example(set=run.kind, run=run.key, verdict=entry.verdict, reason=entry.reason,
                          input=excerpt(run.input), logged=excerpt(run.logged) if run.logged else None,
                          base=excerpt(base.text), proposal=excerpt(proposed.text),
                          proposal_shown_as="A" if proposal_first else "B")


def _count(figures: SetFigures, entry: JudgedRun) -> None:
    if entry.verdict == "better":
        figures.better += 1
    elif entry.verdict == "same":
        figures.same += 1
    elif entry.verdict == "worse":
        figures.worse += 1
    else:
        figures.unjudged += 1


def judge_prompt_size(p: EvaluationPlan, run: Run) -> int:
    """Characters of the judge's prompt for ``run``, with answers of ``max_tokens`` each."""
    answer = "x" * (p.settings.max_tokens * CHARS_PER_TOKEN)
    return len(judge_prompt(run, answer, answer))


