"""Patterns in the agent's decisions: what feedback says about the tools it called.

Runs whose tool calls were logged (with feedback, or by :meth:`InstructionRepo.record_run`)
are related to their feedback, tool by tool. A run is *negative* when it was rated down, or
(unrated) when it was regenerated, edited or not completed; it is *judged* when it was rated or
shows such trouble. Five kinds of evidence, each a ``tool_use`` pattern with ``tool`` set:

- **usage**: judged runs that called the tool (without a failure of it) are rated down
  significantly more often than judged runs that did not (the per-version statistics: Wilson intervals, a pooled
  two-proportion z-test at 0.05 split across the tools, at least 20 runs a side);
- **errors**: the tool failed in runs that were then rated down, more often negative than runs
  where it did not fail (at least ``min_support`` of those, as the baseline);
- **repeated**: the tool was called :data:`REPEAT` times or more in one run, and such runs are
  more often negative than the other runs that called it (again with a baseline);
- **complaints**: negative feedback on runs that called the tool names its behaviour (the
  tool's name words, stemmed: "it *searched* instead of using what I gave it");
- **skipped**: negative feedback on runs that did *not* call the tool says so ("the *tests*
  were never run", "didn't run the *linter*"): a tool the agent did not call is no evidence
  against the tool, but for a guideline to call it. Only tools the agent has (called in some
  run, or with a guideline in its file: ``tools``) count.

A pattern needs ``min_support`` negative runs. ``count`` is those runs, ``share`` is them over
the judged runs with logged decisions, ``feedback_ids`` the feedback records of those runs
(never run logs), ``runs`` their run ids, ``rates`` the figures behind it, ``suggestion`` a
tool guideline (``web_search: ...``; ``section`` is ``tools_section``, the id of the agent's
section of tool guidelines, when it has one).
Offline and deterministic, linear in the number of runs.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from gitimprove.dataclass import dataclass, field
from gitimprove.feedback.models import FeedbackRecord, RunView, merge_runs
from gitimprove.feedback.significance import ALPHA, MIN_RUNS, Rate, compare
from gitimprove.patterns.model import EvidenceState, Pattern, importance, pattern_id, quote
from gitimprove.patterns.text import content, tokens
from gitimprove.safetext import plain

REPEAT = 3                 # calls of one tool in one run that count as "repeated"
HALF_LIFE_DAYS = 30.0      # recency weight of a run, as in the feedback analysis
_NAME_SPLIT = re.compile(r"[_.\-]+|(?<=[a-z])(?=[A-Z])")
# Words of tool names that say nothing about a tool's behaviour.
_GENERIC_NAME_WORDS = frozenset({"get", "set", "tool", "api", "run", "call", "do", "func",
                                 "function", "mcp", "v1", "v2", "data", "info", "the", "to",
                                 "by", "of", "from", "with", "and", "for"})

# The guideline each kind of evidence suggests; the users' own correction wins for complaints
# and skipped calls. Worded for any tool (a search, a test runner, a shell), not for one domain.
GUIDELINES = {
    "usage": "Use it only when what you already have does not cover the task; say what you used "
             "it for.",
    "errors": "When it fails, say so, and never report its output as a result; fix the cause or "
              "carry on without it, and say which.",
    "repeated": "Call it at most twice for one step; change the input instead of repeating the "
                "same call.",
    "complaints": "Use what the user already gave you first; call it only for what that does "
                  "not cover.",
    "skipped": "Call it whenever the task needs it, and before you say the work is done; if you "
               "could not, say that it was not run.",
}
# A sentence says a tool was not called when it has a negation, a verb of calling (or a second
# word of the tool's name: "did not search the web") and the tool's name.
_NOT = frozenset(t for w in ("not", "never", "without", "forgot", "forget", "skipped", "skip",
                             "no", "neglected", "missed") for t in tokens(w))
_CALL = frozenset(t for w in ("run", "ran", "running", "call", "called", "use", "used", "execute",
                              "executed", "invoke", "invoked", "check", "checked", "try", "tried")
                  for t in tokens(w))
_SENTENCE = re.compile(r"[.!?;\n]+")


@dataclass
class _Run:
    view: RunView
    negative: bool
    counts: dict[str, int]  # calls per tool
    errors: dict[str, int]  # failed calls per tool (only tools that failed)
    feedback_ids: list[str]
    words: frozenset[str] = frozenset()
    texts: list[str] = field(default_factory=list)


def name_words(tool: str) -> frozenset[str]:
    """The stems a complaint about ``tool`` would use: ``web_search`` -> {web, search}."""
    parts = [p.lower() for p in _NAME_SPLIT.split(tool) if p]
    return frozenset(w for w in content(tuple(t for p in parts for t in tokens(p)))
                     if w not in _GENERIC_NAME_WORDS and len(w) > 2)


def _named(said: frozenset[str], words: frozenset[str]) -> frozenset[str]:
    """The tool's name words ``said`` holds, a stem's longer form included (lint, linter)."""
    return frozenset(w for w in words for t in said
                     if t == w or (min(len(t), len(w)) >= 4 and (t.startswith(w) or w.startswith(t))))


def says_not_called(text: str, words: frozenset[str]) -> bool:
    """Whether ``text`` says the tool of name words ``words`` was not called ("the tests were
    never run", "didn't run the linter", "you did not search the web")."""
    if not words:
        return False
    for sentence in _SENTENCE.split(text):
        said = frozenset(tokens(sentence))
        named = _named(said, words)
        if named and said & _NOT and (said & _CALL or len(named) >= 2):
            return True
    return False


def _no_calls(record: FeedbackRecord) -> bool:
    return record.tool_calls is None


def _runs(records: Sequence[FeedbackRecord]) -> list[_Run]:
    """The judged runs with logged decisions. Runs that only have a log (most runs, when every
    run is logged) or only feedback are set aside before any merging."""
    if all(map(_no_calls, records)):  # no run logged its decisions: nothing to group
        return []
    groups: dict[tuple[str, str], list[FeedbackRecord]] = defaultdict(list)
    for r in records:
        groups[(r.agent, r.run_id if r.run_id is not None else "\0" + r.id)].append(r)
    out = []
    stems: dict[str, frozenset[str]] = {}  # the same complaint is often said many times
    for recs in groups.values():
        feedback_ids = [r.id for r in recs if r.is_feedback]
        if not feedback_ids or all(r.tool_calls is None for r in recs):
            continue
        if len(recs) == 1:  # most runs: no need to sort and merge
            view = RunView(recs[0].agent, recs[0].run_id)
            view.add(recs[0])
        else:
            (view,) = merge_runs(recs)
        judged = view.rating is not None or bool(view.trouble)
        if not judged or view.tool_calls is None:
            continue
        negative = view.rating == "negative" or (view.rating is None and bool(view.trouble))
        # NOTE: plain dicts: a Counter per run is a measurable share of analysing 100,000 runs.
        counts: dict[str, int] = {}
        errors: dict[str, int] = {}
        for call in view.tool_calls:
            counts[call.name] = counts.get(call.name, 0) + 1
            if call.status == "error":
                errors[call.name] = errors.get(call.name, 0) + 1
        texts = [*view.reasons, *view.corrections] if negative else []
        words: frozenset[str] = frozenset()
        for text in texts:
            said_words = stems.get(text)
            if said_words is None:
                said_words = stems[text] = frozenset(content(tokens(text)))
            words |= said_words
        said = set(feedback_ids)
        out.append(_Run(view, negative, counts, errors,
                        [i for i in view.feedback_ids if i in said], words, texts))
    return out


def _rate(runs: Sequence[_Run]) -> Rate:
    return Rate(sum(1 for r in runs if r.negative), len(runs))


def _figures(prefix: str, rate: Rate) -> dict[str, float]:
    ci = rate.interval() or (0.0, 0.0)
    return {f"{prefix}_negative": rate.hits, f"{prefix}_runs": rate.n,
            f"{prefix}_rate": round(rate.value or 0.0, 4),
            f"{prefix}_ci95_low": round(ci[0], 4), f"{prefix}_ci95_high": round(ci[1], 4)}


def decision_patterns(
    records: Sequence[FeedbackRecord],
    *,
    tools_section: str | None = None,
    min_support: int = 3,
    evidence_state: Callable[[str], EvidenceState] | None = None,
    min_runs: int = MIN_RUNS,
    tools: Collection[str] = (),
) -> list[Pattern]:
    """``tool_use`` patterns in one agent's records, most important first (see the module doc).
    ``tools``: the tools the agent file gives guidelines for (besides those runs called).

    ``evidence_state(id)``: a pattern whose evidence is all cited by open or approved proposals
    is ``pending`` or ``addressed``; ``open_ids`` lists the rest."""
    runs = _runs(records)
    if not runs:
        return []
    newest = max(r.view.last_at or datetime.min for r in runs)
    by_tool: dict[str, list[_Run]] = defaultdict(list)
    for r in runs:
        for name in r.counts:
            by_tool[name].append(r)
    called = sorted(by_tool)
    all_runs = _rate(runs)
    alpha = ALPHA / max(1, len(called))
    section = tools_section
    found: list[Pattern] = []

    def emit(tool: str, kind: str, label: str, evidence: list[_Run], rates: dict[str, float],
             quotes_first: frozenset[str] = frozenset(), suggestion: str | None = None) -> None:
        evidence = sorted(evidence, key=lambda r: (r.view.last_at or newest, r.view.run_id or ""))
        ids = list(dict.fromkeys(i for r in evidence for i in r.feedback_ids))
        if len(evidence) < min_support or not ids:
            return
        texts = Counter(t for r in evidence for t in r.texts)
        ranked = sorted(texts, key=lambda t: (
            not (set(content(tokens(t))) & quotes_first), -texts[t], len(t), t))
        quotes = list(dict.fromkeys(quote(t) for t in ranked))[:5]
        score = sum(0.5 ** ((newest - (r.view.last_at or newest)).total_seconds() / 86400
                            / HALF_LIFE_DAYS) for r in evidence)
        state: EvidenceState = "open"
        open_ids = list(ids)
        if evidence_state is not None:
            open_ids = [i for i in ids if evidence_state(i) == "open"]
            states = {evidence_state(i) for i in ids}
            if not open_ids:
                state = "pending" if "pending" in states else "addressed"
        versions = list(dict.fromkeys(v for r in evidence for v in r.view.versions))
        key = f"tool:{tool}:{kind}"
        found.append(Pattern(
            id=pattern_id("tool_use", key), kind="tool_use", label=label, key=key,
            count=len(evidence), share=round(len(evidence) / len(runs), 4), score=round(score, 4),
            feedback_ids=ids, quotes=quotes, versions=versions, section=section,
            suggestion=suggestion or f"{tool}: {GUIDELINES[kind]}", tool=tool, state=state,
            open_ids=open_ids, runs=[r.view.run_id or r.feedback_ids[0] for r in evidence],
            rates=rates))

    def worse_when(tool: str, kind: str, marked: list[_Run], rest: list[_Run],
                   names: tuple[str, str], label: str, words: frozenset[str]) -> None:
        """A pattern when the marked runs are more often negative than the rest (which must
        be at least ``min_support`` runs, as the baseline)."""
        hit, base = _rate(marked), _rate(rest)
        if marked and base.n >= min_support and (hit.value or 0) > (base.value or 0):
            text = label.format(tool=tool, hits=hit.hits, hit=hit.value or 0, n=hit.n,
                                base=base.value or 0, base_n=base.n)
            emit(tool, kind, text, [r for r in marked if r.negative],
                 {**_figures(names[0], hit), **_figures(names[1], base)}, words)

    for tool in called:
        using = by_tool[tool]
        negative_using = [r for r in using if r.negative]
        # the runs that did not call it, by difference: each tool costs its own runs only
        without_rate = Rate(all_runs.hits - len(negative_using), all_runs.n - len(using))
        words = name_words(tool)

        # usage: rated down more often when the tool was called (and worked: a failure is
        # the errors pattern's evidence, not a reason to call the tool less)
        worked = [r for r in using if not r.errors.get(tool, 0)]
        with_rate = _rate(worked)
        test = compare("negative_rate", without_rate, with_rate, True, alpha=alpha,
                       min_runs=min_runs)
        if test.verdict == "worse":
            emit(tool, "usage",
                 f"runs that call {tool} are rated down more: {with_rate.value:.0%} of "
                 f"{with_rate.n} vs {without_rate.value:.0%} of {without_rate.n} without",
                 [r for r in worked if r.negative],
                 {**_figures("with", with_rate), **_figures("without", without_rate),
                  "p_value": round(test.p_worse, 6)}, words)

        # errors: a failure of the tool, then a thumbs-down
        worse_when(tool, "errors", [r for r in using if r.errors.get(tool, 0)],
                   [r for r in using if not r.errors.get(tool, 0)], ("failed", "ok"),
                   "{tool} failed in {hits} runs rated down: negative {hit:.0%} after a failure "
                   "vs {base:.0%} without", words)
        # repeated: the same tool called again and again in one run
        worse_when(tool, "repeated", [r for r in using if r.counts.get(tool, 0) >= REPEAT],
                   [r for r in using if r.counts.get(tool, 0) < REPEAT], ("repeated", "fewer"),
                   f"{{tool}} called {REPEAT}+ times in one run: negative {{hit:.0%}} of {{n}} vs "
                   "{base:.0%} of {base_n} with fewer calls", words)

        # complaints: negative feedback that names what the tool did
        if words:
            quoting = [r for r in negative_using if r.words & words]
            correction = _correction(quoting, words)
            emit(tool, "complaints",
                 f"complaints about what {tool} did ({len(quoting)} runs rated down)",
                 quoting, {"runs": len(quoting), "negative_runs_using": len(negative_using)},
                 words, f"{tool}: {correction}" if correction else None)

    # skipped: runs rated down without a call of a tool the agent has, whose feedback says so
    for tool in sorted({*called, *tools}):
        words = name_words(tool)
        if not words:
            continue
        without = [r for r in runs if r.negative and tool not in r.counts]
        saying = [r for r in without if _named(r.words, words)
                  and any(says_not_called(t, words) for t in r.texts)]
        correction = _correction(saying, words)
        emit(tool, "skipped",
             f"{tool} was not called in {len(saying)} runs rated down whose feedback says it "
             "should have been", saying,
             {"runs": len(saying), "negative_runs_without": len(without)}, words,
             f"{tool}: {correction}" if correction else None)

    found.sort(key=importance)
    return found


def _correction(runs: Sequence[_Run], words: frozenset[str]) -> str | None:
    """The users' own remedy: the most frequent correction of rule-like length among runs."""
    counts = Counter(plain(c) for r in runs for c in r.view.corrections if "\n" not in c.strip())

    def rank(kv: tuple[str, int]) -> tuple[bool, int, int, str]:
        return (not (set(content(tokens(kv[0]))) & words), -kv[1], len(kv[0]), kv[0])

    for text, _ in sorted(counts.items(), key=rank):
        if 4 <= len(text.split()) <= 30:
            rule = text.rstrip(" .!?")
            return rule[0].upper() + rule[1:] + "."
    return None
