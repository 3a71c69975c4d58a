"""How many distinct people stand behind a pattern, and which wording they share.

A rule changes every future answer, so it needs more than a count of feedback items: one
user who files the same complaint ten times is one voice. :func:`support_of` counts the distinct
users and runs behind each pattern, and groups its corrections by wording, so that a proposer
uses the users' own words only when several of them said much the same thing; a lone user's
phrasing is quoted as evidence, never copied as policy.

A record without a ``user_id`` counts as its run's own user (the run is the best stand-in for
who gave it); without a run id either, as its own.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from gitimprove.dataclass import dataclass, field
from gitimprove.feedback.models import FeedbackRecord
from gitimprove.patterns.model import Pattern, quote
from gitimprove.proposals.rules import PriorRule, facts, same_wording
from gitimprove.safetext import plain

if TYPE_CHECKING:
    from gitimprove.patterns.analysis import Themer

MAX_WORDINGS = 5
# NOTE: a run of spaces and commas is tried from its start only (the look-behind): tried
# from each of its places, 10,000 spaces took seconds
_COURTESY = re.compile(r"\A(?:pls|please|plz|kindly)\b[\s,:-]*|(?<![\s,])[\s,]*\b(?:pls|please|plz|thanks|"
                       r"thank you|thx)\b[\s.!]*\Z", re.I)


@dataclass(frozen=True)
class Wording:
    """A correction, and the distinct users who said it in much the same words."""

    text: str
    users: int


@dataclass(frozen=True)
class Support:
    items: int
    users: int
    runs: int
    wordings: tuple[Wording, ...] = ()   # most users first
    numbers: dict[str, list[int]] = field(default_factory=dict)  # unit -> one number per user
    anonymous: bool = False  # no record names its user: each run counts as one
    themed: Support | None = None  # of the items that speak of its theme (Pattern.theme_ids)
    # for a pattern about the answers that is about no one theme: of the items of each theme
    # some of them speak of (see themes_of), most first
    themes: dict[str, Support] = field(default_factory=dict)
    ids: tuple[str, ...] = ()     # of some items (a theme's): which they are
    quotes: tuple[str, ...] = ()  # ... and the first things they said

    def who(self) -> str:
        """Who is behind it, as a reviewer reads it: "from 16 users in 21 runs", or where no
        record names its user, "in 41 runs" (a proposal says once that each run counted as one
        user: "41 users in 41 runs" named users it did not have)."""
        runs = f"in {self.runs} run{'s' * (self.runs != 1)}"
        if self.anonymous:
            return runs
        return f"from {self.users} user{'s' * (self.users != 1)} {runs}"

    def shared_wording(self, min_users: int) -> Wording | None:
        """The most widely shared wording, if at least ``min_users`` users used it."""
        best = self.wordings[0] if self.wordings else None
        return best if best is not None and best.users >= min_users else None


def _user(record: FeedbackRecord) -> str:
    if record.user_id:
        return "user:" + record.user_id
    return "run:" + (record.run_id or record.id)


def support_of(patterns: Iterable[Pattern], records: Sequence[FeedbackRecord],
               themer: Themer | None = None) -> dict[str, Support]:
    """Support of each pattern, from the feedback records it cites; ``themer`` reads the
    themes of a pattern about no one theme (see :func:`themes_of`; default: the lexicon's,
    with no agent's subject)."""
    from gitimprove.patterns.analysis import Themer  # (what reads the lexicon: not at start-up)

    by_id = {r.id: r for r in records}
    out: dict[str, Support] = {}
    themer = themer or Themer()
    for p in patterns:
        recs = [by_id[i] for i in p.feedback_ids if i in by_id]
        if not recs:
            continue
        anonymous = not any(r.user_id for r in recs)
        out[p.id] = Support(items=p.count, users=len({_user(r) for r in recs}),
                            runs=len({_run(r) for r in recs}), wordings=_wordings(recs),
                            numbers=_numbers(recs), anonymous=anonymous,
                            themed=_of(p.theme_ids, by_id, anonymous) if p.theme_ids else None,
                            themes={k: _of(ids, by_id, anonymous)
                                    for k, ids in themes_of(p, by_id, themer).items()})
    return out


THEME_QUOTES = 3


def _of(ids: Iterable[str], by_id: dict[str, FeedbackRecord], anonymous: bool) -> Support:
    """Support of some of a pattern's items (those that speak of one of its themes), with the
    first :data:`THEME_QUOTES` things they said."""
    said = [by_id[i] for i in ids if i in by_id]
    # (as a pattern quotes them: on one line, no escape sequences, bounded)
    texts = dict.fromkeys(quote(t) for r in said if (t := r.reason or r.correction))
    return Support(items=len(said), users=len({_user(r) for r in said}),
                   runs=len({_run(r) for r in said}), anonymous=anonymous,
                   ids=tuple(r.id for r in said), quotes=tuple(list(texts)[:THEME_QUOTES]))


SOME_SHARE = 0.1  # of a pattern's items that speak of a theme first: one of its themes
SOME_LEAST = 3    # ... and at least this many


def themes_of(pattern: Pattern, by_id: dict[str, FeedbackRecord],
              themer: Themer) -> dict[str, list[str]]:
    """For a negative pattern about the answers that is about no one theme (no
    ``Pattern.theme``): each lexicon theme that :data:`SOME_SHARE` of its items, and
    :data:`SOME_LEAST`, speak of first, with their ids, most first (items are runs: a run
    redone is one item of several records). 119 reviews of a chatbot
    fell into one pattern: 20 say it does not understand them, 17 that it answers from a
    script, 12 that it repeats itself, and no theme was read in it, so the offline proposer
    proposed nothing. An item about a product topic by its own words counts for none ("it
    keeps giving me an error" is a crash, not a factual error). Read here, for the patterns
    a proposal may take up, not by analysis for every pattern: it reads the lexicon in each
    distinct text (a second more for 100,000)."""
    if (pattern.theme is not None or pattern.key.startswith("concept:")
            or not pattern.fixable):
        return {}
    first: dict[str, str] = {}
    ids: dict[str, list[str]] = defaultdict(list)
    runs: dict[str, set[str]] = defaultdict(set)  # (a run redone is one item of several records)
    every: set[str] = set()
    for i in pattern.feedback_ids:
        record = by_id.get(i)
        if record is not None:
            every.add(_run(record))
        text = record.reason or record.correction if record is not None else None
        if not text:
            continue
        said = first.get(text)
        if said is None:
            info = themer(text)
            said = first[text] = "" if info.topic is not None else next(iter(info.concepts), "")
        if said and record is not None:
            ids[said].append(i)
            runs[said].add(_run(record))
    least = max(SOME_LEAST, SOME_SHARE * len(every))
    return {k: found for k, found in sorted(ids.items(), key=lambda kv: (-len(runs[kv[0]]), kv[0]))
            if len(runs[k]) >= least}


def _run(record: FeedbackRecord) -> str:
    return record.run_id or "\0" + record.id


def voices_since(prior: PriorRule, patterns: Iterable[Pattern],
                 records: Sequence[FeedbackRecord]) -> int:
    """Distinct users who complained again after ``prior`` was rejected: records made after
    the rejection, that the rejected proposal did not cite, in the patterns behind the rule
    (by pattern id). A reviewer said no to the evidence they saw; this is evidence they did
    not see."""
    if prior.when is None or not prior.patterns:
        return 0
    ids = {i for p in patterns if p.id in prior.patterns for i in p.feedback_ids}
    ids -= set(prior.evidence)
    return len({_user(r) for r in records
                if r.id in ids and r.created_at.timestamp() > prior.when})


def _wordings(recs: Sequence[FeedbackRecord]) -> tuple[Wording, ...]:
    """Corrections grouped by near-identical wording (each group led by its most common,
    rule-like text), with the distinct users behind each group."""
    said: dict[str, set[str]] = defaultdict(set)
    for r in recs:
        text = _COURTESY.sub("", plain(r.correction or "")).strip(" ,;:-")
        if 3 <= len(text.split()) <= 30:
            said[text].add(_user(r))
    # Leaders: the texts most users gave, then the most rule-like (more words carry more).
    texts = sorted(said, key=lambda t: (-len(said[t]), -len(facts(t).words), t))
    groups: list[tuple[str, set[str]]] = []
    for text in texts:
        for lead, users in groups:
            if same_wording(text, lead):
                users |= said[text]
                break
        else:
            groups.append((text, set(said[text])))
    ranked = sorted(groups, key=lambda g: (-len(g[1]), texts.index(g[0])))
    return tuple(Wording(text, len(users)) for text, users in ranked[:MAX_WORDINGS])


def _numbers(recs: Sequence[FeedbackRecord]) -> dict[str, list[int]]:
    """The limits users name ("under 80 words"), one per user and unit."""
    per_user: dict[tuple[str, str], int] = {}
    for r in recs:
        for text in (r.reason, r.correction):
            if not text:
                continue
            for unit, _low, high in facts(text).quantities:
                per_user.setdefault((_user(r), unit), high)
    out: dict[str, list[int]] = defaultdict(list)
    for (_, unit), n in sorted(per_user.items()):
        out[unit].append(n)
    return dict(out)


def consistent_number(values: Sequence[int], min_users: int) -> int | None:
    """A limit that at least ``min_users`` users agree on (within a quarter of each other)."""
    if len(values) < min_users:
        return None
    counts = Counter(values)
    for center in sorted(counts, key=lambda v: (-counts[v], v)):
        close = [v for v in values if abs(v - center) <= center * 0.25]
        if len(close) >= min_users:
            return center
    return None
