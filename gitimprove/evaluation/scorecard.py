"""The scorecard: what the judge said about a proposal, run by run, and the figures behind it.

Runs *to fix* are those the proposal cites as evidence; runs *to keep* are well-rated runs of
the base version. ``fixed`` is the share of judged runs to fix where the proposal's answer was
better, ``worse`` the share of judged runs to keep where it was worse, each with a 95% Wilson
interval (:mod:`gitimprove.feedback.significance`, shared with the per-version metrics). ``position`` is the share of decided comparisons (not "same") won by the answer shown
first: the order is random, so a fair judge stays near one half whatever the proposal is worth.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gitimprove.feedback.significance import Rate
from gitimprove.instructions.policy import EvaluationSettings
from gitimprove.text import spent, usd

Kind = Literal["fix", "keep"]
Judgement = Literal["better", "same", "worse"]

MIN_DECIDED_FOR_BIAS = 8  # fewer decided comparisons say nothing about position bias


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgedRun(_Model):
    """One run, answered again with both prompts and compared. Ids only, no user text."""

    set: Kind
    run: str  # the run id (or the feedback id of a run recorded without one)
    feedback: list[str]
    verdict: Judgement | None = None  # the proposal's answer against the base's; None: unjudged
    proposal_first: bool  # shown to the judge as answer A
    reason: str = ""  # the judge's one line (model text, cleaned), or why it was not judged
    input_truncated: bool = False


class SetFigures(_Model):
    """How one set of runs was drawn and what became of it."""

    available: int = 0  # fix: evidence ids cited; keep: well-rated runs of the base version
    gone: int = 0  # cited ids no longer in the feedback store
    not_complaint: int = 0  # cited runs with no complaint, correction or trouble signal
    no_input: int = 0  # runs skipped: no input was recorded
    candidates: int = 0  # runs read that could be replayed
    unexamined: int = 0  # runs not read: the sample was full before them
    sampled: int = 0
    truncated: int = 0  # inputs cut to evaluation.max_input_chars
    better: int = 0
    same: int = 0
    worse: int = 0
    unjudged: int = 0  # replay or judge failed on it (the reason is in its run)
    not_reached: int = 0  # sampled but not judged: stopped early (budget, deadline, API)

    @property
    def judged(self) -> int:
        return self.better + self.same + self.worse


class UsageFigures(_Model):
    input_tokens: int = 0  # every input token, those written to and read from the cache too
    output_tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None  # None: no price known for a model used
    cache_write_tokens: int = 0  # of input_tokens: written to the prompt cache (dearer)
    cache_read_tokens: int = 0  # of input_tokens: read from it (a tenth of the price)
    saved_usd: float | None = None  # what the cache saved (below 0: cost); None: no price

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Scorecard(_Model):
    """Everything an evaluation found, as recorded in git (the record commit's message)."""

    format: Literal[1] = 1
    proposal: str
    agent: str
    proposal_commit: str
    proposal_tree: str
    proposal_blob: str
    base_commit: str
    base_tree: str
    base_blob: str
    model: str
    judge_model: str
    seed: int
    sample: int
    keep_sample: int
    created_at: str
    to_fix: SetFigures = Field(default_factory=SetFigures)
    to_keep: SetFigures = Field(default_factory=SetFigures)
    runs: list[JudgedRun] = Field(default_factory=list)
    usage: UsageFigures = Field(default_factory=UsageFigures)
    token_budget: int
    stopped: str | None = None  # why it ended before judging every sampled run
    warnings: list[str] = Field(default_factory=list)

    # -- figures ------------------------------------------------------------------------------

    def fixed(self) -> Rate:
        return Rate(self.to_fix.better, self.to_fix.judged)

    def worse(self) -> Rate:
        return Rate(self.to_keep.worse, self.to_keep.judged)

    def position(self) -> Rate:
        """Decided comparisons won by the answer shown first."""
        decided = [r for r in self.runs if r.verdict in ("better", "worse")]
        first = sum(1 for r in decided if (r.verdict == "better") == r.proposal_first)
        return Rate(first, len(decided))

    def position_bias(self) -> bool:
        """True when the first position wins too often (or too rarely) to be chance."""
        rate = self.position()
        interval = rate.interval()
        return rate.n >= MIN_DECIDED_FOR_BIAS and interval is not None and \
            not interval[0] <= 0.5 <= interval[1]

    def passes(self, settings: EvaluationSettings) -> list[str]:
        """Why this scorecard does not meet the policy's bar (empty: it does)."""
        problems = []
        fixed, worse = self.fixed(), self.worse()
        if not fixed.n:
            problems.append("no run to fix was judged")
        elif (fixed.value or 0.0) < settings.min_fixed:
            problems.append(f"fixed {fixed.hits} of {fixed.n} runs to fix ({fixed.value:.0%}); "
                            f"the policy asks for at least {settings.min_fixed:.0%}")
        if not worse.n and self.to_keep.sampled:
            # NOTE: runs to keep come after the runs to fix, so a budget or an API that gave out
            # leaves them unjudged first; harm then went unmeasured though it could be measured
            problems.append(f"none of the {self.to_keep.sampled} runs to keep sampled was judged, "
                            "so what the change makes worse was not measured")
        elif worse.n and (worse.value or 0.0) > settings.max_worse:
            problems.append(f"made {worse.hits} of {worse.n} runs to keep worse "
                            f"({worse.value:.0%}); the policy allows at most "
                            f"{settings.max_worse:.0%}")
        if self.position_bias():
            problems.append("the judge's verdicts follow the order of the answers (position "
                            "bias), so they do not measure the proposal")
        return problems

    def headline(self) -> str:
        """``fixed 7/10 (70%, 95% CI 40-89%), worse 0/8 (0%, 0-32%)``"""
        return f"fixed {_rate(self.fixed())}, worse {_rate(self.worse())}"

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for name, rate in (("fixed", self.fixed()), ("worse", self.worse()),
                           ("position", self.position())):
            ci = rate.interval()
            data[name] = {"hits": rate.hits, "n": rate.n, "rate": rate.value,
                          "ci95": list(ci) if ci else None}
        data["position_bias"] = self.position_bias()
        for key in ("to_fix", "to_keep"):
            data[key]["judged"] = getattr(self, key).judged
        return data

    def lines(self, settings: EvaluationSettings | None = None) -> list[str]:
        """The scorecard as `evaluate` and `review` print it."""
        fix, keep = self.to_fix, self.to_keep
        out = [
            f"Runs to fix (cited as evidence): {_rate(self.fixed(), 'made better')}; "
            f"same {fix.same}, worse {fix.worse}",
            f"Runs to keep (well-rated on the base): {_rate(self.worse(), 'made worse')}; "
            f"better {keep.better}, same {keep.same}",
            f"Judged {fix.judged} of {fix.sampled} runs to fix sampled from "
            f"{fix.candidates + fix.no_input + fix.unexamined} cited runs with a complaint "
            f"({fix.available} evidence ids) and {keep.judged} of {keep.sampled} runs to keep "
            f"sampled from {keep.available} well-rated runs",
        ]
        skipped = [(fix.no_input + keep.no_input, "without an input"),
                   (fix.gone, "cited but no longer in the feedback store"),
                   (fix.not_complaint, "cited without a complaint"),
                   (fix.unjudged + keep.unjudged, "not judged (replay or judge failed)"),
                   (fix.not_reached + keep.not_reached, "not reached (stopped early)")]
        said = [f"{n} {what}" for n, what in skipped if n]
        if said:
            out.append("Skipped: " + "; ".join(said))
        cut = fix.truncated + keep.truncated
        if cut:
            out.append(f"{cut} input(s) were cut to the policy's max_input_chars before replay")
        pos = self.position()
        if pos.n:
            out.append(f"Answer shown first won {pos.hits} of {pos.n} decided comparisons"
                       + (" (POSITION BIAS: the verdicts follow the order, not the answers)"
                          if self.position_bias() else " (order randomised; about half is expected)"))
        u = self.usage
        cost = f", {usd(u.cost_usd, 'about ')}" if u.cost_usd is not None else \
            ", cost unknown (no price for the model; see evaluation.input_usd_per_mtok)"
        if u.cache_read_tokens or u.cache_write_tokens:
            saved = u.saved_usd
            cost += (f" (the prompt cache {'saved' if saved >= 0 else 'cost'} "
                     f"{usd(abs(saved))})" if saved is not None else "")
        usage = spent(u.requests, u.input_tokens, u.output_tokens, cache_read=u.cache_read_tokens,
                      cache_write=u.cache_write_tokens)
        out.append(f"Models: {self.model} answered, {self.judge_model} judged; "
                   f"{usage}{cost}; seed {self.seed}")
        if self.stopped:
            out.append(f"Stopped early: {self.stopped}")
        out += [f"Warning: {w}" for w in self.warnings]
        if settings is not None:
            problems = self.passes(settings)
            bar = f"at least {settings.min_fixed:.0%} fixed, at most {settings.max_worse:.0%} worse"
            unmeasured = "" if self.worse().n else \
                " (runs made worse not measured: no run to keep was judged)"
            out.append(f"Policy bar ({bar}): " + ("met" + unmeasured if not problems else
                                                  "NOT met: " + "; ".join(problems)))
        return out


def _rate(rate: Rate, what: str = "") -> str:
    """``7/10 (70%, 95% CI 40%-89%)``; with ``what``, ``7/10 made better (70%, ...)``."""
    what = f" {what}" if what else ""
    if not rate.n:
        return f"0/0{what} (nothing judged)"
    ci = rate.interval()
    assert ci is not None and rate.value is not None
    return f"{rate.hits}/{rate.n}{what} ({rate.value:.0%}, 95% CI {ci[0]:.0%}-{ci[1]:.0%})"
