"""Pattern analysis: what many pieces of feedback say together. Offline and deterministic.

The pipeline, for one agent:

1. **Items.** Records are merged by run. A reason on a negative run is a *failure* item, on a
   positive run a *praise* item; every correction is a *correction* item; every run that was
   regenerated, edited or not completed is a *trouble* item (its text: the run's reasons and
   corrections). Unrated reasons count only where the lexicon recognises a theme.
2. **Noise** ("test", "lol", "asdf", keyboard mash, only generic words) is dropped; a
   complaint that only judges ("worst app ever", "useless", "not good") is one group,
   ``unspecific``: it counts, but gives nothing to change an instruction by.
3. **Groups.** The distinct texts of each kind are grouped by meaning (:mod:`.grouping`:
   static sentence embeddings, agglomerative clustering cut at a distance taken from the
   set), then close clusters merged (a second level; never two that triage tells apart),
   each merged pattern listing its ``parts`` (a part about one theme in a group about
   none stands apart); no word list decides membership. The concept
   lexicon (:mod:`.lexicon`) only names a group where most of its items match one concept;
   in a set of fewer than :data:`SMALL_SET` texts of a kind, the texts the grouping left
   alone that it reads as one theme are grouped by it (five "too long" complaints).
4. **Triage** (:mod:`.triage`). A group mostly about the product (limits, pricing, login,
   crashes, ...) is a product group, less the items in it that say what is wrong in an
   answer (grouped again among themselves); from any other group, each item plainly about
   the product is set apart into the product group of its topic, so a pattern about the
   answers never rests on a complaint no instruction can fix, and no complaint about the
   answers hides in a pattern no proposal reads.
5. **Patterns.** Groups with at least ``min_support`` items become patterns: stable id from
   (kind, key), label, count, share, evidence ids, 3-5 central quotes, versions, section of the
   agent file it concerns, a suggestion in the users' own words, and a score (count weighted
   by kind and recency) that ranks them, problems before praise.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import operator
import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from datetime import datetime
from itertools import chain, compress, islice
from typing import TYPE_CHECKING, Literal

from gitimprove.cycles import paused
from gitimprove.dataclass import dataclass, field
from gitimprove.feedback.models import FeedbackRecord
from gitimprove.forked import can_fork, in_two, shared
from gitimprove.patterns.lexicon import Concept, Lexicon, read_themes
from gitimprove.patterns.model import (
    MAX_QUOTE_CHARS,
    EvidenceState,
    Pattern,
    PatternKind,
    PatternPart,
    Triage,
    importance,
    pattern_id,
    quote,
)
from gitimprove.patterns.text import (
    content,
    is_fragment,
    is_noise,
    is_unspecific,
    judges,
    judges_badly,
    leaning,
    leans_to,
    nameable,
    normalize,
    plainly_english,
    plainly_praises,
    praises_only,
    script,
    stem,
    tokens,
)
from gitimprove.patterns.triage import (
    TOPIC_LABELS,
    Subject,
    addresses_answer,
    decide,
    mentions_product,
    outside_run,
    plain_product_topic,
    product_topic,
    triage_of,
)
from gitimprove.safetext import capped_marks, plain
from gitimprove.text import shorten

if TYPE_CHECKING:
    from gitimprove.patterns.model import AgentLike
    from gitimprove.patterns.synthesis import Synthesizer

ModelUse = Literal["on", "cached", "off"]
FAILURE: PatternKind = "recurring_failure"
CORRECTION: PatternKind = "consistent_correction"
TROUBLE: PatternKind = "implicit_trouble"
PRAISE: PatternKind = "successful_pattern"
KIND_WEIGHT: dict[str, float] = {FAILURE: 1.0, CORRECTION: 1.0, TROUBLE: 0.7, PRAISE: 0.4}
PRODUCT_KINDS = (FAILURE, TROUBLE)  # kinds of item that may be about the product
HALF_LIFE_DAYS = 30.0          # recency: feedback a month older than the newest counts half
SIMILARITY = 0.35              # residue clustering: cosine needed to join two texts
POSTINGS_CAP = 64              # residue blocking: candidates taken per shared word
UNSPECIFIC_KEY = "unspecific"   # negative feedback that gives no reason: one group
UNSPECIFIC_LABEL = "unhappy, no reason given"
SIGNAL_LABELS = {"regenerated": "regenerated, no reason given",
                 "edited_output": "output edited by the user, no reason given",
                 "not_completed": "task not completed, no reason given"}
TROUBLE_PREFIX = "runs redone or abandoned: "

NAMING_SAMPLE = 400            # distinct texts of a group that naming, triage and quotes read
SPELLING_SAMPLE = 100          # distinct texts read for how users spell a label's words
NUMPY_SAMPLE = 2_000           # distinct texts from which a sample is taken with numpy
PART_SAMPLE = 100              # distinct texts a part of a merged group is named and sided by
MAX_SPELLING_CHARS = 2000      # ... of each

_LEXICON: Lexicon | None = None


def default_lexicon() -> Lexicon:
    global _LEXICON
    if _LEXICON is None:
        _LEXICON = Lexicon()
    return _LEXICON


# -- text -> theme ----------------------------------------------------------------------------


_UNSET = "\0unset"  # a topic not worked out yet (no topic is ever this)
NO_SUBJECT = Subject()  # an agent unknown, or whose instructions say nothing
# TextInfo.state(): tokens, content words, noise, unspecific, English, lexicon matches, topic,
# plain topic
_State = tuple[tuple[str, ...], tuple[str, ...], bool, bool, bool, int, str,
               list[tuple[str, float]] | None, str | None, str | None]


class TextInfo:
    """What analysis knows about one distinct text. Its concepts and product topic (lexicon
    matches) are worked out when first asked for: naming and triage look at a sample of each
    group only."""

    __slots__ = ("_lexicon", "_plain", "_run", "_scored", "_subject", "_topic", "english",
                 "leaning", "noise", "script", "toks", "unspecific", "words")

    def __init__(self, toks: tuple[str, ...], lexicon: Lexicon,
                 subject: Subject = NO_SUBJECT, *, written: str = "latin",
                 run: tuple[str, ...] = ()) -> None:
        self.toks = toks
        self.script = written  # see .text.script
        self._subject = subject
        self._run = run  # the answer and question of the run it was said of, if known
        self.words = tuple(content(toks))  # content stems, for similarity
        self.noise = is_noise(toks, self.words)
        # in English, or in a script or language WordLlama's table knows little of (see
        # .grouping: such texts are also read by their letters); and the language it leans
        # to, which a set of feedback mostly in that language decides (see set_language)
        self.english, self.leaning = leaning(toks)
        self._lexicon = lexicon
        self._scored: list[tuple[str, float]] | None = None
        # judges without saying why ("worst app ever"), or praises only ("good help"): read
        # on negative feedback only
        self.unspecific = is_unspecific(toks, self.words) or (
            praises_only(toks, self.words) and not self._match())
        self._topic: str | None = _UNSET
        self._plain: str | None = _UNSET

    def state(self) -> _State:
        """What is known of the text, to be sent to another process (see :meth:`Themer.warm`):
        all but the lexicon, the subject words and the run, which that process has."""
        return (self.toks, self.words, self.noise, self.unspecific, self.english, self.leaning,
                self.script, self._scored, self._topic, self._plain)

    @classmethod
    def restored(cls, state: _State, lexicon: Lexicon, subject: Subject,
                 run: tuple[str, ...] = ()) -> TextInfo:
        """A :class:`TextInfo` from its :meth:`state`."""
        info = cls.__new__(cls)
        (info.toks, info.words, info.noise, info.unspecific, info.english, info.leaning,
         info.script, info._scored, topic, plain) = state
        # a topic not worked out is told by identity: the copy a pipe brings is not _UNSET
        info._topic = _UNSET if topic == _UNSET else topic
        info._plain = _UNSET if plain == _UNSET else plain
        info._lexicon, info._subject, info._run = lexicon, subject, run
        return info

    def _match(self) -> list[tuple[str, float]]:
        if self._scored is None:
            if self.noise:
                self._scored = []
            else:
                self._scored = read_themes(self._lexicon, self.toks)
        return self._scored

    @property
    def concepts(self) -> tuple[str, ...]:
        return choose_concepts(self._match())

    def _product_toks(self) -> tuple[str, ...]:
        """The tokens product topics are read in (see :meth:`.triage.Subject.product_toks`),
        less the words of product phrases its run holds (see :func:`.triage.outside_run`)."""
        toks = self._subject.product_toks(self.toks)
        if self._run and mentions_product(toks):
            toks = outside_run(toks, self._run)
        return toks

    @property
    def topic(self) -> str | None:
        """The product topic it is about, if any (see :mod:`.triage`)."""
        if self._topic is _UNSET:
            toks = self._product_toks()
            self._topic = (None if self.noise or not mentions_product(toks)
                           else product_topic(toks, self._match()))
        return self._topic

    @property
    def addresses_answer(self) -> bool:
        """Whether it says what is wrong in an answer (see :data:`.triage.ANSWER_TALK`)."""
        return addresses_answer(self.toks)

    @property
    def plain_topic(self) -> str | None:
        """The product topic it is plainly about, taken alone (see :mod:`.triage`)."""
        if self._plain is _UNSET:
            self._plain = (None if self.noise
                           else plain_product_topic(self._product_toks(), self._match))
        return self._plain


def themer_for(agent_file: AgentLike | None, lexicon: Lexicon | None = None) -> Themer:
    """The :class:`Themer` that reads an agent's feedback: what its instructions speak of is
    what it works on, never the product (see :class:`.triage.Subject`). Analysis and the
    proposer read alike with it: a booking agent's "the prices it quoted" is its answers'."""
    return Themer(lexicon, subject=Subject.of(
        part for sec in (agent_file.sections if agent_file is not None else ())
        for part in (sec.title or "", sec.text or "", *(sec.rules or ()))))


class Themer:
    """Text -> :class:`TextInfo`, memoised: identical texts are analysed once."""

    def __init__(self, lexicon: Lexicon | None = None, *,
                 subject: Subject = NO_SUBJECT) -> None:
        """``subject``: what the agent's instructions speak of (see :class:`.triage.Subject`):
        what the agent works on, never the product."""
        self.lexicon = lexicon or default_lexicon()
        self.subject = subject
        self.names: frozenset[str] = frozenset()  # see proper_names: they name a group last
        # text -> the answer and question of the first run it was said of (see collect_items):
        # read by a text's TextInfo, so set before the text is first analysed
        self.runs: dict[str, tuple[str, ...]] = {}
        self._cache: dict[str, TextInfo] = {}

    def __call__(self, text: str) -> TextInfo:
        hit = self._cache.get(text)
        if hit is None:
            hit = self._cache[text] = TextInfo(tokens(text), self.lexicon, self.subject,
                                               written=script(text),
                                               run=self.runs.get(text, ()))
        return hit

    def warm(self, texts: Iterable[str]) -> None:
        """Each distinct text of ``texts`` analysed now, with its plain product topic (which
        analysis reads for nearly every text): half of them in a second process when there
        are many (:func:`gitimprove.forked.in_two`; the same results as here)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if len(todo) < WARM_IN_TWO or not can_fork():
            for text in todo:
                _ = self(text).plain_topic
            return
        _, theirs = in_two(self._states, todo, least=WARM_IN_TWO)
        restored, lexicon, subject = TextInfo.restored, self.lexicon, self.subject
        for text, state in zip(todo[len(todo) // 2:], theirs, strict=True):
            if text not in self._cache:  # (computed here when the child's half was not)
                self._cache[text] = restored(state, lexicon, subject, self.runs.get(text, ()))

    def _states(self, texts: Sequence[str]) -> list[_State]:
        out = []
        for text in texts:
            info = self(text)
            _ = info.plain_topic
            out.append(info.state())
        return out


WARM_IN_TWO = 20_000  # texts: below, forking and pickling cost more than a second core saves


def choose_concepts(scored: list[tuple[str, float]]) -> tuple[str, ...]:
    """The best concept, plus any other that is as strong or clearly present (score >= 2 and
    at least half the best): "Lengthy. A summary would help." is about length *and* summary."""
    if not scored:
        return ()
    best = scored[0][1]
    return tuple(k for k, s in scored if s == best or s >= max(2.0, best / 2))


# -- residue clustering -----------------------------------------------------------------------


def _trigrams(word: str) -> list[str]:
    padded = f"<{word}>"
    return ["~" + padded[i:i + 3] for i in range(len(padded) - 2)]


def _vectors(docs: Sequence[Sequence[str]]) -> list[dict[str, float]]:
    """L2-normalised TF-IDF vectors of word stems and (at 0.4) their character trigrams."""
    df: Counter[str] = Counter()
    feats: list[dict[str, float]] = []
    for words in docs:
        f: dict[str, float] = defaultdict(float)
        for w in words:
            f[w] += 1.0
            for g in _trigrams(w):
                f[g] += 0.4 / max(1, len(w))
        feats.append(f)
        df.update(f.keys())
    n = len(docs)
    out = []
    for f in feats:
        vec = {k: v * (math.log((1 + n) / (1 + df[k])) + 1.0) for k, v in f.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out.append({k: v / norm for k, v in vec.items()})
    return out


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


def cluster_residue(docs: Sequence[Sequence[str]], *, threshold: float = SIMILARITY,
                    weights: Sequence[int] | None = None) -> list[list[int]]:
    """Groups of indices of ``docs`` (content stems) that say the same thing in shared words.

    Leader clustering: texts are taken most frequent (``weights``) and shortest first; each
    joins the most similar existing leader at cosine >= ``threshold``, or becomes a leader. A
    text is compared only with leaders that share one of its words, found through an inverted
    index whose posting lists are capped at :data:`POSTINGS_CAP`: a bounded number of
    comparisons per text, so the cost is linear in the number of texts. Unlike single-link
    joining, a cluster cannot chain across unrelated texts: every member is close to its
    leader. Singletons are returned too."""
    n = len(docs)
    vectors = _vectors(docs)
    order = sorted(range(n), key=lambda i: (-(weights[i] if weights else 1), len(docs[i]), i))
    leaders: dict[str, list[int]] = defaultdict(list)
    owner = list(range(n))
    for i in order:
        vi = vectors[i]
        words = sorted(set(docs[i]))
        best, best_sim = -1, threshold
        seen: set[int] = set()
        for w in words:
            for lead in leaders.get(w, ()):
                if lead in seen:
                    continue
                seen.add(lead)
                sim = _cosine(vi, vectors[lead])
                if sim >= threshold and (best < 0 or sim > best_sim
                                         or (sim == best_sim and lead < best)):
                    best, best_sim = lead, sim
        if best >= 0:
            owner[i] = best
            continue
        for w in words:
            postings = leaders[w]
            if len(postings) < POSTINGS_CAP:
                postings.append(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[owner[i]].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


# -- items and groups -------------------------------------------------------------------------


@dataclass
class Item:
    kind: PatternKind
    text: str | None
    ids: tuple[str, ...]
    created_at: datetime
    versions: tuple[str, ...]
    signal: str | None = None
    context: tuple[str, ...] = ()  # the run's output and input, where its records give them


@dataclass
class Group:
    kind: PatternKind
    key: str
    label: str
    items: list[Item] = field(default_factory=list)
    concept: Concept | None = None
    triage: Triage | None = None     # set by the model's synthesis; else worked out
    topic: str | None = None
    description: str | None = None
    part_texts: list[list[str]] = field(default_factory=list)  # the close groups merged into it
    loose: bool = False  # its texts share no word: named after its most typical one


def collect_items(records: Sequence[FeedbackRecord], themer: Themer) -> list[Item]:
    """Failure, praise, correction and trouble items of the records (see the module doc)."""
    ordered = sorted(records, key=_WHEN)
    runs: dict[tuple[str, str], list[FeedbackRecord]] = defaultdict(list)
    for rec in ordered:
        runs[(rec.agent, rec.run_id if rec.run_id is not None else "\0" + rec.id)].append(rec)
    items: list[Item] = []
    with_runs = any(r.input or r.output for r in ordered)
    for recs in runs.values():
        signals: Mapping[str, object]
        if len(recs) == 1:  # most runs: one record, whose own rating and signals are the run's
            rating, signals = recs[0].rating or None, recs[0].signals
        else:
            rating = next((r.rating for r in reversed(recs) if r.rating), None)
            signals = {}
            for r in recs:
                signals.update(r.signals)
        trouble = _trouble(signals) if signals else []
        context = _run_context(recs) if with_runs else ()
        for r in recs:
            version = (r.version,) if r.version else ()
            if context:  # (before a text is first analysed: its triage reads its run)
                for said in (r.reason, r.correction):
                    if said:
                        themer.runs.setdefault(said, context)
            if r.reason:
                polarity = r.rating or rating or ("negative" if trouble else None)
                if polarity is None:  # a reason without a rating: praise, or a complaint?
                    info = themer(r.reason)
                    polarity = ("positive" if plainly_praises(info.toks) else
                                "negative" if info.concepts else None)
                kind = (FAILURE if polarity == "negative" else PRAISE if polarity == "positive"
                        else None)
                if kind is not None:
                    items.append(Item(kind, r.reason, (r.id,), r.created_at, version,
                                      context=context))
            if r.correction:
                items.append(Item(CORRECTION, r.correction, (r.id,), r.created_at, version,
                                  context=context))
        if trouble:
            texts = [t for r in recs for t in (r.reason, r.correction) if t]
            text = " / ".join(texts) if texts else None
            if text and context:
                themer.runs.setdefault(text, context)
            versions = tuple(dict.fromkeys(r.version for r in recs if r.version))
            items.append(Item(TROUBLE, text, tuple(r.id for r in recs), recs[-1].created_at,
                              versions, signal=trouble[0], context=context))
    return items


_WHEN = operator.attrgetter("created_at", "id")


def _run_context(recs: Sequence[FeedbackRecord]) -> tuple[str, ...]:
    """The run's output and input (the first its records give): the answer the feedback is
    about and the question it answered, so that grouping can tell what the feedback is about
    from what it says about it (:func:`.grouping.cluster_texts`): "the question asked about
    masks for children, this is about school closures" says "off topic" with the question's
    and the answer's words."""
    made = next((r.output for r in recs if r.output), "")
    asked = next((r.input for r in recs if r.input), "")
    return (made, asked) if made or asked else ()


def _trouble(signals: Mapping[str, object]) -> list[str]:
    out = []
    for name in ("regenerated", "edited_output"):
        value = signals.get(name)
        if isinstance(value, int | float) and value is not False and value > 0:
            out.append(name)
    completed = signals.get("task_completed")
    if isinstance(completed, int | float) and completed == 0:
        out.append("not_completed")
    return out


def group_items(items: Sequence[Item], themer: Themer,
                df: tuple[Counter[str], int] | None = None, *,
                synthesizer: Synthesizer | None = None,
                notes: list[str] | None = None) -> list[Group]:
    """Items grouped per kind by meaning (:mod:`.grouping`); each item in one group at most.

    Failures that only judge ("worst app ever") are one group, :data:`UNSPECIFIC_KEY`. Items
    without text (or only noise) of a run with an implicit signal group by that signal;
    other textless items are left out. Every other item is in exactly one group or
    unclustered. The lexicon only names a group (and so keys it) when most of its items
    match one of its concepts, except in a set of fewer than :data:`SMALL_SET` texts of a
    kind: there, texts the grouping left alone that share their first theme are a group.
    A cluster whose texts share no word, about no theme or product topic, is no group.

    With a ``synthesizer`` the model's themes replace the offline groups (which it reads
    through); when it fails, the offline groups stay and ``notes`` says so."""
    from gitimprove.patterns.grouping import UNCLUSTERED, cluster_levels

    groups: dict[tuple[str, str], Group] = {}
    pending: dict[PatternKind, list[Item]] = defaultdict(list)
    if df is None:
        df = _document_frequencies(themer, items)
    for item in items:
        info = themer(item.text) if item.text else None
        # "waste of money" judges, but says what about: pricing
        if (item.kind == FAILURE and info is not None and info.unspecific
                and info.plain_topic is None):
            found = groups.setdefault((FAILURE, UNSPECIFIC_KEY), Group(
                FAILURE, UNSPECIFIC_KEY, UNSPECIFIC_LABEL, triage="unspecific"))
            found.items.append(item)
            continue
        if item.kind == PRAISE and info is not None and info.plain_topic is not None:
            # four stars and "please make an iPad version", "it gets so hot": a request or a
            # complaint about the product, not what users liked in the answers
            continue
        if info is None or info.noise:
            if item.kind == TROUBLE and item.signal:
                key = f"signal:{item.signal}"
                found = groups.setdefault((TROUBLE, key), Group(TROUBLE, key, SIGNAL_LABELS[item.signal]))
                found.items.append(item)
            continue
        pending[item.kind].append(item)
    offline: dict[tuple[str, str], Group] = {}
    clustered: list[list[str]] = []
    loose: list[str] = []
    for kind in sorted(pending):
        by_text = _by_text(pending[kind])
        texts = sorted(by_text)
        infos = list(map(themer, texts))
        language = set_language(infos)
        scripts, foreign = _written(infos, language)
        contexts = ([next((i.context for i in by_text[t] if i.context), ()) for t in texts]
                    if any(i.context for i in pending[kind]) else None)
        fine, labels = cluster_levels(texts, weights=list(map(len, map(by_text.__getitem__, texts))),
                                      side=_side(texts, by_text, themer)
                                      if kind in PRODUCT_KINDS else None, contexts=contexts,
                                      foreign=foreign, scripts=scripts)
        part_of = dict(zip(texts, fine, strict=True))
        clusters: dict[int, list[str]] = defaultdict(list)
        apart: dict[str, list[str]] = defaultdict(list)  # product topic -> texts set apart
        alone: list[str] = []  # left alone by the grouping, about no product topic
        for text, label in zip(texts, labels, strict=True):
            if label != UNCLUSTERED:
                clusters[label].append(text)
            else:
                topic = themer(text).plain_topic if kind in PRODUCT_KINDS else None
                if topic is not None:
                    apart[topic].append(text)
                    loose.append(text)
                else:
                    alone.append(text)
        if len(texts) < SMALL_SET:
            # NOTE: in a set of a few dozen texts the grouping's statistics are weak (a word
            # every text says weighs least, and a quantile of a few alike distances is short):
            # five complaints that all say "too long" were left alone. There, and only for
            # what the grouping left alone, texts the lexicon reads as one theme are a cluster
            alike: set[str] = set()
            for label, members in enumerate(_alike_by_theme(alone, themer),
                                            start=max(clusters, default=UNCLUSTERED) + 1):
                clusters[label] = members
                part_of.update(dict.fromkeys(members, label))  # (parts are per cluster)
                alike.update(members)
            alone = [t for t in alone if t not in alike]
        loose += alone
        homes: dict[str, Group] = {}  # product topic -> the largest cluster about it
        evicted: list[str] = []  # texts about the answers taken out of product clusters
        ordered = [clusters[label] for label in sorted(clusters)]
        # NOTE: each cluster is read on its own (pure): with many texts, the clusters are
        # shared with a forked child, the costliest first; only the names, unique per kind,
        # are given here, in order
        reading = functools.partial(_read_cluster, kind, ordered, by_text, themer, df)
        costly = _costliest_first(ordered)
        reads = dict(zip(costly, shared(reading, costly) if len(texts) >= CLUSTERS_IN_TWO
                         else map(reading, costly), strict=True))
        for n, members in enumerate(ordered):
            clustered.append(members)
            topic, kept, moved, out, naming = reads[n]
            for own, i in moved:
                apart[own].append(members[i])
            evicted += [members[i] for i in out]
            if naming is None:
                continue
            if naming.loose and naming.concept is None and topic is None:
                # NOTE: texts that share no word, that no theme names: on six of the real
                # sets, all sixteen such groups were a few unrelated complaints ("At first, I
                # thought it was great" / "please add one" / "it always forget details"). They
                # are left unclustered (the model step still reads them as a cluster)
                continue
            group = _add_cluster(kind, [members[i] for i in kept], part_of, by_text,
                                 _named(kind, naming, offline, themer), offline)
            if topic is not None:
                group.triage, group.topic = "product", topic
                homes.setdefault(topic, group)
        if evicted:
            # NOTE: grouped among themselves: what they share is what they say of the answers,
            # which the product words around it had drowned in their first cluster
            evicted.sort()
            e_contexts = None
            if contexts is not None:
                at = {text: n for n, text in enumerate(texts)}
                e_contexts = [contexts[at[text]] for text in evicted]
            e_scripts, e_foreign = _written(list(map(themer, evicted)), language)
            e_fine, e_labels = cluster_levels(evicted, weights=[len(by_text[t]) for t in evicted],
                                              contexts=e_contexts,
                                              foreign=e_foreign, scripts=e_scripts)
            e_part_of = dict(zip(evicted, e_fine, strict=True))
            e_clusters: dict[int, list[str]] = defaultdict(list)
            for text, label in zip(evicted, e_labels, strict=True):
                if label != UNCLUSTERED:  # (the model step reads them in their first cluster)
                    e_clusters[label].append(text)
            for label in sorted(e_clusters):
                members = e_clusters[label]
                _add_cluster(kind, members, e_part_of, by_text,
                             _name_group(kind, members, by_text, themer, df, offline), offline)
        for topic in sorted(apart):
            home = homes.get(topic) or _product_group(kind, topic, offline)
            for text in apart[topic]:
                home.items.extend(by_text[text])
    if synthesizer is not None and pending:
        from gitimprove.patterns.synthesis import SynthesisError

        try:
            themed = _synthesized(pending, clustered, loose, synthesizer, notes)
        except SynthesisError as exc:
            if notes is not None and not exc.quiet:
                notes.append(f"the model step failed, so the offline grouping is used: "
                             f"{exc.message}")
                if exc.hint:  # a note of its own: a long API message must not cut it off
                    notes.append(f"to use the model: {exc.hint}")
        else:
            return list(groups.values()) + themed
    return list(groups.values()) + list(offline.values())


SMALL_SET = 50  # distinct texts of a kind: below, texts left alone may group by their theme


def _alike_by_theme(texts: Sequence[str], themer: Themer) -> list[list[str]]:
    """Of ``texts`` (left alone by the grouping, in order), those whose first lexicon theme
    (see :attr:`TextInfo.concepts`) two or more of them share, a list per theme."""
    by_theme: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        themes = themer(text).concepts
        if themes:
            by_theme[themes[0]].append(text)
    return [members for _, members in sorted(by_theme.items()) if len(members) >= 2]


def _written(infos: Sequence[TextInfo], language: int | None) -> tuple[list[str], list[bool]]:
    """The script of each text (``infos``: what analysis knows of each) and whether it is not
    in English (see :attr:`TextInfo.english`); where the set's feedback is mostly in another
    ``language`` (see :func:`set_language`), each text in Latin letters that
    :func:`.text.leans_to` it is in it too. Read with no Python call per text where no
    language is given (100,000 texts)."""
    scripts = list(map(_SCRIPT, infos))
    foreign = list(map(operator.not_, map(_ENGLISH, infos)))
    if language is not None:
        for n in compress(range(len(infos)), map(_ENGLISH, infos)):
            if scripts[n] == "latin" and leans_to(infos[n].toks, language):
                foreign[n] = True
    return scripts, foreign


def set_language(infos: Sequence[TextInfo]) -> int | None:
    """The language (see :func:`.text.leaning`) at least :data:`SET_LANGUAGE_SHARE` of the
    texts in Latin letters (``infos``: what analysis knows of each) are plainly written in
    (:attr:`TextInfo.english` false), if one is, and more of them than are plainly in English
    (:func:`.text.plainly_english`).

    A short text has few function words: "Muy lento", "Respuesta demasiado larga" and
    "Traducción incorrecta" read as English alone (as "so bad" must). Among Spanish feedback
    they are Spanish, and grouped with it: read as English, they were clustered apart from the
    longer Spanish complaints about the same things, and by WordLlama's vectors alone."""
    votes = Counter(info.leaning for info in compress(infos, map(operator.not_, map(_ENGLISH, infos)))
                    if info.script == "latin")
    if not votes:
        return None
    latin = list(map(_SCRIPT, infos)).count("latin")
    language, n = min(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    if n < SET_LANGUAGE_MIN or n < SET_LANGUAGE_SHARE * latin:
        return None
    # NOTE: and more than the texts plainly in English: in a set of English and Spanish
    # feedback, "crashes" and "great app" stay English, as they read alone
    english = sum(1 for info in compress(infos, map(_ENGLISH, infos))
                  if info.script == "latin" and plainly_english(info.toks))
    return language if n > english else None


_SCRIPT = operator.attrgetter("script")
_ENGLISH = operator.attrgetter("english")

SET_LANGUAGE_SHARE = 1 / 3  # of a set's texts in Latin letters, plainly in one language
SET_LANGUAGE_MIN = 3        # ... and at least this many


def _small_product_groups_joined(groups: list[Group], min_support: int,
                                 themer: Themer) -> list[Group]:
    """``groups``, each product group of fewer than ``min_support`` items joined to the largest
    one of its kind and topic that has enough: two reviews saying "expensive af" are about
    pricing like the 35 of the pricing pattern, and dropped as too few they were counted
    nowhere. The items of the small ones left (of topics no group has enough of) that name a
    product topic themselves are one group of their kind when they are enough ("other": a
    crash, a login and a limit among the first 25 reviews are three complaints about the
    product, counted under their topics)."""
    homes: dict[tuple[str, str], Group] = {}
    for g in sorted(groups, key=lambda g: -len(g.items)):
        if g.triage == "product" and g.topic and len(g.items) >= min_support:
            homes.setdefault((g.kind, g.topic), g)
    small = [g for g in groups if g.triage == "product" and g.topic is not None
             and len(g.items) < min_support]
    left: dict[PatternKind, list[Item]] = defaultdict(list)  # of small groups without a home
    for g in small:
        home = homes.get((g.kind, g.topic or ""))
        if home is not None:
            home.items.extend(g.items)
        else:
            left[g.kind] += [it for it in g.items if it.text and themer(it.text).topic is not None]
    others = {kind: Group(kind, OTHER_PRODUCT_KEY, "", named, triage="product")
              for kind, named in left.items() if len(named) >= min_support}
    joined = {id(g) for g in small if (g.kind, g.topic or "") in homes or g.kind in others}
    return [g for g in groups if id(g) not in joined] + list(others.values())


OTHER_PRODUCT_KEY = "product:other"  # the key of the group of small product groups


def _themed_parts_apart(groups: list[Group], min_support: int, themer: Themer,
                        df: tuple[Counter[str], int]) -> list[Group]:
    """``groups``, each part of a failure group about no one theme that is itself about one
    (:func:`_theme`) and has ``min_support`` items set apart as a group of its own. The
    2,292 reviews of an assistant merged the 12 that say its knowledge stops in September
    2021 into 69 about answers and questions in general: as a part, the offline proposer
    read no theme in them, and proposed nothing."""
    taken: dict[tuple[str, str], Group] = {(g.kind, g.key): g for g in groups}
    out: list[Group] = []
    for g in groups:
        out.append(g)
        if g.kind != FAILURE or g.concept is not None or g.triage is not None or len(g.part_texts) < 2:
            continue
        said = Counter(filter(None, map(_TEXT, g.items)))
        # (the group read as its pattern will be; a part through a smaller sample)
        if _read_theme({t: said[t] for t in _sample(said)}, themer) is not None:
            continue
        kept: list[list[str]] = []
        by_text: dict[str, list[Item]] | None = None
        for texts in g.part_texts:
            counts = {t: said[t] for t in texts}
            if (sum(counts.values()) < min_support or _read_theme(
                    {t: counts[t] for t in _sample(counts, PART_SAMPLE)}, themer) is None):
                kept.append(texts)
                continue
            by_text = by_text or _by_text(g.items)
            named = _name_group(g.kind, texts, by_text, themer, df, taken, hints=False)
            named.items, named.part_texts = [it for t in texts for it in by_text[t]], [texts]
            taken[(g.kind, named.key)] = named
            out.append(named)
        if len(kept) < len(g.part_texts):
            moved = set(chain.from_iterable(g.part_texts)) - set(chain.from_iterable(kept))
            g.items = [it for it in g.items if (it.text or "") not in moved]
            g.part_texts = kept
            if g.items:  # named again by what is left: the words it had may have moved out
                del taken[(g.kind, g.key)]
                left = _by_text(g.items)
                renamed = _name_group(g.kind, list(left), left, themer, df, taken, hints=False)
                g.key, g.loose = renamed.key, renamed.loose
                taken[(g.kind, g.key)] = g
    return [g for g in out if g.items]


def _add_cluster(kind: PatternKind, members: Sequence[str], part_of: Mapping[str, int],
                 by_text: dict[str, list[Item]], named: Group,
                 offline: dict[tuple[str, str], Group]) -> Group:
    """The group the cluster ``members`` (texts), ``named`` so (see :func:`_named`), joins or
    starts in ``offline``, with its items and its parts (``part_of``: each text's fine
    cluster) added."""
    # Clusters that the lexicon names alike are one pattern: one label, one id.
    group = offline.setdefault((kind, named.key), named)
    for text in members:
        group.items.extend(by_text[text])
    split: dict[int, list[str]] = defaultdict(list)
    for text in members:
        split[part_of[text]].append(text)
    group.part_texts += split.values()
    return group


def _group_parts(group: Group, themer: Themer, df: tuple[Counter[str], int]) -> list[PatternPart]:
    """The parts of a group merged from several (:func:`_parts`), which account for each of
    its items: the items that joined it after (a product text set apart from a cluster about
    something else, a product group too small to stand) are one more part, named by their
    own words, or the parts would add up to less than the pattern's count."""
    if len(group.part_texts) < 2:
        return []
    by_text = _by_text(group.items)
    merged = set(chain.from_iterable(group.part_texts))
    joined = [text for text in by_text if text not in merged]
    return _parts(group.kind, [*group.part_texts, *([joined] if joined else [])], by_text,
                  themer, df)


def _by_text(items: Iterable[Item]) -> dict[str, list[Item]]:
    """``items`` by their text (an item without one under "")."""
    by_text: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_text[item.text or ""].append(item)
    return by_text


def _parts(kind: PatternKind, parts: Sequence[Sequence[str]], by_text: dict[str, list[Item]],
           themer: Themer, df: tuple[Counter[str], int]) -> list[PatternPart]:
    """The groups (their texts) a group was merged from, close ones (:mod:`.grouping`) or
    ones the lexicon names alike, each with its count and a label of its distinctive words,
    largest first."""
    counts: dict[str, int] = {}
    for texts in parts:
        named = _name_group(kind, texts, by_text, themer, df, {}, hints=False, sample=PART_SAMPLE)
        said = {t: len(by_text[t]) for t in _sample(_said(texts, by_text), PART_SAMPLE)}
        label = _terms_label(named, said, list(said))
        counts[label] = counts.get(label, 0) + sum(len(by_text[t]) for t in texts)
    if len(counts) < 2:  # parts named alike ("long (3); long (2)") tell a reader nothing
        return []
    return sorted((PatternPart(label=label, count=n) for label, n in counts.items()),
                  key=lambda p: (-p.count, p.label))


def _said(texts: Sequence[str], by_text: Mapping[str, list[Item]]) -> dict[str, int]:
    """Each of ``texts`` with how many items said it (made without a Python call per text: a
    cluster can hold 100,000)."""
    return dict(zip(texts, map(len, map(by_text.__getitem__, texts)), strict=True))


def _key_words(name: str) -> str:
    """A name as part of a group's key: its lowercase words joined by ``-``."""
    return "-".join(re.findall(r"[a-z0-9]+", name.lower()))


def _product_group(kind: PatternKind, topic: str,
                   groups: dict[tuple[str, str], Group]) -> Group:
    """The one group of ``kind`` for the product topic ``topic`` ("usage limits")."""
    key = "product:" + _key_words(topic)
    group = groups.get((kind, key))
    if group is None:
        label = TOPIC_LABELS.get(topic, topic)
        group = groups[(kind, key)] = Group(kind, key, label, triage="product", topic=topic)
    return group


def _side(texts: Sequence[str], by_text: Mapping[str, list[Item]],
          themer: Themer) -> Callable[[Sequence[int]], tuple[Triage, str | None]]:
    """What a cluster of ``texts`` (its members' indices) is about, as triage decides it
    (:func:`.triage.decide`) on a sample of :data:`PART_SAMPLE` of its texts (the first of
    those triage reads later): clusters about different things are never merged."""
    def side(members: Sequence[int]) -> tuple[Triage, str | None]:
        weight = _said(list(map(texts.__getitem__, members)), by_text)
        read = _sample(weight, PART_SAMPLE)
        return decide([themer(t).topic for t in read for _ in range(weight[t])])
    return side


def _product_split(members: Sequence[str], by_text: Mapping[str, list[Item]],
                   themer: Themer) -> tuple[str | None, list[int], list[tuple[str, int]], list[int]]:
    """The product topic of a cluster (None if it is about the answers); which of its texts
    (``members``, by index) stay in it; those set apart, each with its product topic; and
    those evicted.

    A cluster mostly about the product (see :func:`.triage.decide`) is a pattern about that
    topic, less each text that says what is wrong in an answer more than it speaks of the
    product (:func:`.triage.addresses_answer`, no product topic of its own): those are
    evicted, to be grouped among themselves. A long review of the limits that also says
    "and the math is wrong" lands near other reviews of the limits, and a product pattern is
    read by no proposal. From any other cluster, each text plainly about the product (see
    :func:`.triage.plain_product_topic`) is set apart, to join the largest cluster about its
    topic or a group of its own: a pattern about the answers never rests on a complaint no
    instruction can fix ("2 messages and I'm out" is about usage limits, however close its
    words are to a complaint about the answers). Pure (a function of the cluster alone), so
    clusters are read on two processes."""
    weight = _said(members, by_text)
    read = _sample(weight)
    triage, topic = decide([themer(t).topic for t in read for _ in range(weight[t])])
    kept: list[int] = []
    moved: list[tuple[str, int]] = []
    evicted: list[int] = []
    if triage == "product":
        for n, text in enumerate(members):
            info = themer(text)
            (evicted if info.addresses_answer and info.topic is None else kept).append(n)
        return topic, kept, moved, evicted
    for n, text in enumerate(members):
        own = themer(text).plain_topic
        if own is None:
            kept.append(n)
        else:
            moved.append((own, n))
    return None, kept, moved, evicted


_Read = tuple[str | None, list[int], list[tuple[str, int]], list[int], "_Naming | None"]


def _read_cluster(kind: PatternKind, clusters: Sequence[list[str]],
                  by_text: Mapping[str, list[Item]], themer: Themer,
                  df: tuple[Counter[str], int], at: int) -> _Read:
    """The product split of the cluster numbered ``at`` of ``clusters`` (for a kind that has
    one, see :func:`_product_split`) and the naming of the texts it keeps (see
    :func:`_naming`)."""
    members = clusters[at]
    if kind in PRODUCT_KINDS:
        topic, kept, moved, evicted = _product_split(members, by_text, themer)
    else:
        topic, kept, moved, evicted = None, list(range(len(members))), [], []
    naming = (_naming([members[n] for n in kept], by_text, themer, df,
                      praise=kind == PRAISE) if kept else None)
    return topic, kept, moved, evicted, naming


CLUSTERS_IN_TWO = 20_000  # texts: below, one process reads the clusters (see gitimprove.forked)


def _synthesized(pending: Mapping[PatternKind, Sequence[Item]], clustered: Sequence[list[str]],
                 loose: Sequence[str], synthesizer: Synthesizer,
                 notes: list[str] | None) -> list[Group]:
    """Groups of the model's themes: one per (theme, kind of item)."""
    by_text = _by_text(chain.from_iterable(pending[kind] for kind in sorted(pending)))
    ids = {text: [i for it in items for i in it.ids] for text, items in by_text.items()}
    groups_in_order = sorted(clustered, key=lambda g: (-sum(len(by_text[t]) for t in g), g[0]))
    result = synthesizer.run(ids, groups_in_order, sorted(set(loose)))
    if notes is not None:  # NOTE: what the requests cost is the synthesizer's bill
        notes.append(f"themes by {result.model}"
                     + (" (from the cache, no request)" if result.cached else ""))
    out: dict[tuple[str, str], Group] = {}
    for theme in result.themes:
        slug = _key_words(theme.name)[:60] or "theme"
        for text in theme.texts:
            for item in by_text.get(text, ()):
                key = f"theme:{slug}"
                group = out.get((item.kind, key))
                if group is None:
                    # implicit trouble reads as the offline grouping labels it
                    label = TROUBLE_PREFIX + theme.name if item.kind == TROUBLE else theme.name
                    group = out[(item.kind, key)] = Group(
                        item.kind, key, label, triage=theme.triage, topic=theme.topic,
                        description=theme.description or None)
                group.items.append(item)
    return list(out.values())


def _sample(counts: Mapping[str, int], limit: int = NAMING_SAMPLE) -> list[str]:
    """The texts a group is read through: its most said, then a stable hash order."""
    if len(counts) <= limit:
        return sorted(counts, key=lambda t: (-counts[t], t))
    # NOTE: the keys made by map, no Python call per text: a group of 100,000 texts is
    # sampled several times (triage, naming, parts, quotes)
    hashes = map(_HASHES.__getitem__, counts)
    if len(counts) < NUMPY_SAMPLE:
        keyed = zip(map(operator.neg, counts.values()), hashes, counts, strict=True)
        return [t for _, _, t in heapq.nsmallest(limit, keyed)]
    import numpy as np

    # One int64 key per text, (-count, crc32) in that order (a count below 2**31): numpy
    # finds the limit-th key, and only the texts at or below it are sorted in Python, with
    # the text itself breaking a tie of keys, as heapq.nsmallest does.
    n, texts = len(counts), list(counts)
    key = (np.fromiter(hashes, dtype=np.int64, count=n)
           - np.fromiter(counts.values(), dtype=np.int64, count=n) * (1 << 32))
    kth = np.partition(key, limit - 1)[limit - 1]
    near = np.flatnonzero(key <= kth)
    return [t for _, t in sorted(zip(key[near].tolist(), map(texts.__getitem__, near.tolist()),
                                     strict=True))[:limit]]


class _Hashes(dict[str, int]):
    """Text -> the CRC-32 of its UTF-8, worked out the first time a text is met: a text of a
    large group is sampled several times (triage, naming, parts, quotes), and encoding and
    hashing a long review costs more than looking it up. Bounded like the token memos."""

    def __missing__(self, text: str) -> int:
        if len(self) >= HASH_MEMO:
            self.clear()
        found = self[text] = zlib.crc32(text.encode("utf-8", "replace"))
        return found


HASH_MEMO = 200_000
_HASHES = _Hashes()


def _distinctive(words: Mapping[str, int], size: int,
                 df: tuple[Counter[str], int]) -> list[tuple[str, float]]:
    """A group's words (each with how many of its ``size`` items read say it), most
    distinctive first: their share of the group times their rarity in the whole feedback
    (``df``: each word's document frequency, and the number of texts)."""
    freq, n = df
    return sorted(((w, c / size * math.log((1 + n) / (1 + freq[w]))) for w, c in words.items()),
                  key=lambda ws: (-ws[1], ws[0]))


NAME_SHARE = 0.05        # a word said in at least this share of the texts, ...
NAME_CAPITALISED = 0.6   # ... and capitalised in this share of its uses inside a sentence: a name
NAME_SAMPLE = 2000       # texts read for how words are written


def proper_names(df: tuple[Counter[str], int], texts: Iterable[str]) -> frozenset[str]:
    """Stems of the names the feedback keeps saying ("ChatGPT", "Claude", "Replika"): said in
    at least :data:`NAME_SHARE` of the texts, and written with a capital where no sentence
    starts in at least :data:`NAME_CAPITALISED` of those uses (read in the first
    :data:`NAME_SAMPLE` texts). They say what every pattern is about, so a pattern is named by
    them only when it shares no other word: "paid, pay, support", not "chatgpt, paid, pay". A
    word users often write, but in lower case ("phone number"), is no name."""
    freq, n = df
    if n < 20:
        return frozenset()
    common = {w for w, c in freq.items() if c >= NAME_SHARE * n and w.isascii() and w.isalpha()}
    if not common:
        return frozenset()
    uses: Counter[str] = Counter()
    capitals: Counter[str] = Counter()
    for text in islice(texts, NAME_SAMPLE):
        for word in _INNER_WORD.findall(text[:MAX_NAME_READ]):
            root = stem(word.lower())
            if root in common:
                uses[root] += 1
                capitals[root] += word[0].isupper()
    return frozenset(w for w in common if uses[w] >= 5 and capitals[w] >= NAME_CAPITALISED * uses[w])


# a word inside a sentence: after a lower-case letter, a comma or a colon and one space
_INNER_WORD = re.compile(r"(?<=[a-z,;:] )[A-Za-z][A-Za-z0-9]*")
MAX_NAME_READ = 2000  # characters of a text read for names


def _name_group(kind: PatternKind, members: Sequence[str], by_text: dict[str, list[Item]],
                themer: Themer, df: tuple[Counter[str], int],
                taken: dict[tuple[str, str], Group], *, hints: bool = True,
                sample: int = NAMING_SAMPLE) -> Group:
    """Key and label of a cluster: a lexicon concept where most of its items match one
    (a naming hint only; not with ``hints=False``), else its most distinctive words, read
    in a ``sample`` of its texts. Keys are unique per kind."""
    return _named(kind, _naming(members, by_text, themer, df, hints=hints, sample=sample,
                                praise=kind == PRAISE), taken, themer)


@dataclass(frozen=True)
class _Naming:
    """What a cluster's texts say its name is (see :func:`_naming`): the lexicon concept most
    of its items match, if any, else its words' key."""

    concept: str | None
    terms_key: str
    loose: bool


def _naming(members: Sequence[str], by_text: Mapping[str, list[Item]], themer: Themer,
            df: tuple[Counter[str], int], *, hints: bool = True, sample: int = NAMING_SAMPLE,
            praise: bool = False) -> _Naming:
    """The reading :func:`_name_group` names a cluster by (pure: no other cluster's name
    decides it, so clusters are read on two processes)."""
    weight = _said(members, by_text)
    read = _sample(weight, sample)
    size = sum(weight[t] for t in read)
    concepts: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for text in read:
        info = themer(text)
        if hints and info.concepts:
            concepts[info.concepts[0]] += weight[text]
        words.update(dict.fromkeys({w for w in info.words if nameable(w)}, weight[text]))
    distinctive = [w for w, _ in _distinctive(words, size, df)]
    shared = [w for w in distinctive if words[w] >= min(2, size)]
    if themer.names:  # what every pattern is about names a group only when nothing else does
        distinctive.sort(key=themer.names.__contains__)
        shared = [w for w in shared if w not in themer.names] or shared
    # words that judge, or name whatever is judged ("good", "app"), name a group last; but
    # what users praise is what their judging words say ("super", "love")
    ranked = shared if praise else sorted(shared, key=judges)
    if not praise and _mostly_judged(shared, words, size):  # by its most said bad words
        ranked = sorted(shared, key=lambda w: (not judges_badly(w), -words[w] * judges_badly(w)))
    terms = ranked[:3] if shared else distinctive[:3]
    terms_key = "+".join(sorted(map(_bounded, terms))) or "text"  # shown in --json
    best = sorted(concepts, key=lambda k: (-concepts[k], k))[:1]
    return _Naming(best[0] if hints and best and concepts[best[0]] * 2 > size else None,
                   terms_key, not shared and len(read) >= 2)


JUDGED = 0.3  # a group this share of whose items say one judging word, ...
NAMED = 0.15  # ... and no other word this share of them: named by how it judges


def _mostly_judged(shared: Sequence[str], words: Mapping[str, int], size: int) -> bool:
    """Whether a group is named by its judging words: 30% of its items say one that judges
    badly ("worst", "terrible", "waste"; :func:`.text.judges_badly`), and no word they share
    but those that judge or name what is judged ("app") is said by 15% of them. A group of
    59 reviews, 19 of them saying "worst", was named "game, graphics, play" after the 5-8
    that spoke of a game or the Play Store, and quoted "worst app ever 0 stats"."""
    bad = [words[w] for w in shared if judges_badly(w)]
    other = [words[w] for w in shared if not judges(w)]
    return bool(bad) and max(bad) >= JUDGED * size and max(other, default=0) < NAMED * size


def _named(kind: PatternKind, naming: _Naming, taken: dict[tuple[str, str], Group],
           themer: Themer) -> Group:
    """The group of a cluster read as ``naming`` says: the group of its concept where one of
    that kind is ``taken`` already, else a new one, its key unique among those ``taken``."""
    if naming.concept is not None:
        c = themer.lexicon.concepts[naming.concept]
        key = f"concept:{c.key}"
        return taken.get((kind, key)) or Group(kind, key, _concept_label(kind, c), concept=c)
    key = f"terms:{naming.terms_key}"
    n_try = 2
    while (kind, key) in taken:
        key = f"terms:{naming.terms_key}#{n_try}"
        n_try += 1
    # NOTE: the key still comes from its words (an id that stays when a text comes or goes)
    return Group(kind, key, "", loose=naming.loose)


def group_texts(texts: Sequence[str], *, lexicon: Lexicon | None = None,
                use_lexicon: bool = True) -> list[str | None]:
    """The group key each text would join, or None for noise and unclustered texts: the
    grouping alone, for measuring it against labels.

    ``use_lexicon=False`` is the old word-overlap clustering (kept as a baseline)."""
    from gitimprove.patterns.grouping import UNCLUSTERED, cluster_texts

    themer = Themer(lexicon)
    keys: list[str | None] = [None] * len(texts)
    residue: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        if not themer(text).noise:
            residue[text].append(i)
    distinct = sorted(residue)
    if use_lexicon:
        labels = cluster_texts(distinct, weights=[len(residue[t]) for t in distinct])
        for text, label in zip(distinct, labels, strict=True):
            if label != UNCLUSTERED:
                for i in residue[text]:
                    keys[i] = f"group:{label}"
        return keys
    for members in cluster_residue([themer(t).words for t in distinct],
                                   weights=[len(residue[t]) for t in distinct]):
        words_key = "terms:" + distinct[members[0]]
        for m in members:
            for i in residue[distinct[m]]:
                keys[i] = words_key
    return keys


def _concept_label(kind: PatternKind, c: Concept) -> str:
    if kind == CORRECTION:
        return c.correction
    if kind == PRAISE:
        return c.praise
    if kind == TROUBLE:
        return TROUBLE_PREFIX + c.failure
    return c.failure


# -- patterns ---------------------------------------------------------------------------------


QUOTE_POOL = 20  # a product pattern's quotes are chosen among its most central texts


@paused()  # it builds and keeps an item, a text and its tokens per record (see cycles.paused)
def analyze_records(
    records: Sequence[FeedbackRecord],
    *,
    agent_file: AgentLike | None = None,
    min_support: int = 3,
    evidence_state: Callable[[str], EvidenceState] | None = None,
    current_version: str | None = None,
    version_order: Sequence[str] = (),
    lexicon: Lexicon | None = None,
    synthesizer: Synthesizer | None = None,
    notes: list[str] | None = None,
) -> list[Pattern]:
    """Patterns in ``records`` (one agent's feedback), most important first.

    With a ``synthesizer`` (:mod:`.synthesis`), a model names the themes; ``notes`` receives
    what it cost, or why the offline grouping was used instead.

    ``evidence_state(id)`` marks evidence cited by an open proposal (``pending``) or an approved
    one (``addressed``). A pattern whose evidence is all cited takes that state (``pending``
    if any is pending). A pattern with addressed evidence whose open evidence all comes from
    versions older than ``current_version`` is ``addressed`` too: the change that addressed it
    shipped after that feedback was given. ``open_ids`` always lists the uncited evidence."""
    if not records:
        return []
    themer = themer_for(agent_file, lexicon)
    items = collect_items(records, themer)
    word_df = _document_frequencies(themer, items)
    themer.names = proper_names(word_df, filter(None, map(_TEXT, items)))  # (read lazily)
    groups = _themed_parts_apart(_small_product_groups_joined(
        group_items(items, themer, word_df, synthesizer=synthesizer, notes=notes), min_support,
        themer), min_support, themer, word_df)
    newest = max(r.created_at for r in records)
    total = {k: 0 for k in KIND_WEIGHT}
    run_count = len({(r.run_id or "\0" + r.id) for r in records})
    record_count = len(records)
    versions_of = {r.id: r.version for r in records}
    current = current_version
    older = set(version_order[:version_order.index(current)]) if current in version_order else set()
    older |= {v for v in versions_of.values() if v and v != current and v not in version_order}
    for kind in total:
        total[kind] = run_count if kind == TROUBLE else record_count
    corrections = {g.key: g for g in groups if g.kind == CORRECTION}
    # what users wrote instead, for the failures of the same key (and the corrections' own)
    suggestions = {key: _suggestion(_central_texts(fixes, _read(fixes), themer, word_df))
                   for key, fixes in corrections.items() if len(fixes.items) >= min_support}

    if evidence_state is not None:  # asked here, once per record: a child asks no caller
        known = {r.id: evidence_state(r.id) for r in records}
        evidence_state = known.__getitem__

    def pattern_of(g: Group) -> Pattern:
        return _pattern(g, themer, word_df, suggestions.get(g.key), newest=newest,
                        total=total[g.kind], evidence_state=evidence_state,
                        versions_of=versions_of, older=older, agent_file=agent_file)

    kept = [g for g in groups if len(g.items) >= min_support]
    # NOTE: each pattern is named, quoted and split into its parts on its own (pure, as
    # Themer.warm's per-text work is): with many items, the patterns are shared with a
    # forked child, the costliest first
    costly = [kept[n] for n in _costliest_first([g.items for g in kept])]
    patterns = shared(pattern_of, costly) if len(items) >= PATTERNS_IN_TWO else list(
        map(pattern_of, costly))
    patterns.sort(key=importance)
    return patterns


PATTERNS_IN_TWO = 20_000  # items: below, one process makes the patterns (see gitimprove.forked)


def _costliest_first(sized: Sequence[Sized]) -> list[int]:
    """The indices of ``sized`` (groups' items, clusters' texts), the most work first: a group
    is read through a sample of its texts, so its work is its size up to the sample's, and a
    part per group."""
    return sorted(range(len(sized)), key=lambda n: (-min(len(sized[n]), NAMING_SAMPLE), n))


def _pattern(g: Group, themer: Themer, word_df: tuple[Counter[str], int],
             suggestion: str | None, *, newest: datetime, total: int,
             evidence_state: Callable[[str], EvidenceState] | None,
             versions_of: dict[str, str | None], older: set[str],
             agent_file: AgentLike | None) -> Pattern:
    """The pattern of one group (see :func:`analyze_records`); ``suggestion``: what users
    wrote instead, from the corrections of the group's key."""
    read = _read(g)
    ranked = _central_texts(g, read, themer, word_df)
    if not g.label:
        g.label = _terms_label(g, read, ranked)
    if g.kind not in (CORRECTION, FAILURE, TROUBLE):
        suggestion = None
    # NOTE: attrgetter and chain: a group can hold 100,000 items
    ids = list(dict.fromkeys(chain.from_iterable(map(_IDS, sorted(g.items, key=_ITEM_ORDER)))))
    versions = list(dict.fromkeys(chain.from_iterable(map(_VERSIONS, sorted(
        g.items, key=_CREATED))))) if any(map(_VERSIONS, g.items)) else []
    weight = KIND_WEIGHT[g.kind]
    score = sum(weight * 0.5 ** ((newest - it.created_at).total_seconds()
                                 / 86400 / HALF_LIFE_DAYS) for it in g.items)
    state, open_ids = _state(ids, evidence_state, versions_of, older)
    if g.triage is not None:
        triage, topic = ("praise", None) if g.kind == PRAISE else (g.triage, g.topic)
    else:
        topics = [themer(t).topic for t, n in read.items() for _ in range(n)]
        triage, topic = triage_of(topics, praise=g.kind == PRAISE)
    if g.key == OTHER_PRODUCT_KEY:  # small groups of several topics: named by them
        g.label = ", ".join(_item_topics(g, themer, topic))
    elif triage == "product" and (g.concept is not None or g.key.startswith("product:")):
        # a group the lexicon named after a fault of answers ("too long / verbose") that
        # is about the product, or one named after its topic ("crashes and app bugs",
        # shown as "crashes and bugs: crashes and app bugs"): named by its own words
        by_text = _by_text(it for it in g.items if it.text)
        named = _name_group(g.kind, list(by_text), by_text, themer, word_df, {}, hints=False)
        g.label = _terms_label(named, read, ranked)
    theme = _theme(g, read, themer) if triage == "answers" else None
    return Pattern(
        id=pattern_id(g.kind, g.key), kind=g.kind, label=g.label, key=g.key,
        count=len(g.items), share=round(len(g.items) / max(1, total), 4),
        score=round(score, 4), feedback_ids=ids,
        quotes=_focused_quotes(_quoted(ranked, themer, triage, topic), g, read, themer,
                               word_df),
        versions=versions, section=_section(g, themer, agent_file) if triage == "answers"
        else None, suggestion=suggestion if triage == "answers" else None,
        triage=triage, topic=topic, topics=_item_topics(g, themer, topic) if triage == "product"
        else {}, description=g.description, theme=theme, theme_ids=_theme_ids(g, theme, themer),
        state=state,
        open_ids=open_ids, parts=_group_parts(g, themer, word_df))


THEME_SHARE = 1 / 3  # of a pattern's items whose first concept is one: the pattern's theme, ...
THEME_LEAD = 2     # ... when they are this many times as many as those of any other concept
THEME_MIN = 3      # ... and at least this many (two of a group of four say little)


def _theme(g: Group, read: Mapping[str, int], themer: Themer) -> str | None:
    """The lexicon concept a pattern is about: the one it is named after, or, for a group
    named by its words, the one that :data:`THEME_SHARE` of its items (``read``, see
    :func:`_read`) match first, :data:`THEME_LEAD` times as many as any other. "question,
    wrong answers", 14 of whose 30 reviews say the answers are wrong and 2 the next most
    said thing, is about accuracy; a group of reviews of everything the app does is about no
    one thing. A hint for the offline proposer's stock remedies: it neither groups nor names."""
    if g.concept is not None:
        return g.concept.key
    return _read_theme(read, themer)


def _theme_ids(g: Group, theme: str | None, themer: Themer) -> list[str]:
    """The ids of the items of ``g`` that speak of its ``theme`` first, where the theme was
    read from its items (:func:`_read_theme`) and not all of them do: a rule from the theme
    rests on them, not on the reviews of a game that will not start grouped beside them.
    Empty where the group is named after its theme, or every item speaks of it."""
    if theme is None or g.concept is not None:
        return []
    said = {t: themer(t).concepts[:1] == (theme,) for t in set(filter(None, map(_TEXT, g.items)))}
    if all(said.values()) and all(it.text for it in g.items):
        return []
    return list(dict.fromkeys(i for it in sorted(g.items, key=_ITEM_ORDER)
                              if it.text and said[it.text] for i in it.ids))


def _read_theme(read: Mapping[str, int], themer: Themer) -> str | None:
    """The lexicon concept that the texts ``read`` (each with how many items said it) are
    about, as :func:`_theme` says of a group named by its words."""
    firsts: Counter[str] = Counter()
    for text, n in read.items():
        said = themer(text).concepts
        if said:
            firsts[said[0]] += n
    ranked = sorted(firsts.items(), key=lambda kn: (-kn[1], kn[0]))
    if not ranked:
        return None
    best, n = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0
    size = sum(read.values())
    return best if n >= THEME_SHARE * size and n >= THEME_LEAD * runner and n >= THEME_MIN else None


def _item_topics(g: Group, themer: Themer, topic: str | None) -> dict[str, int]:
    """How many of a product group's items are about each product topic (most first): an
    item by its own words where they name one, else by the group's ``topic``. A group is
    about the product when most of its items are, and gets its most common topic; a review
    that says it paid and still hit the limit after 20 messages sits in a group about
    pricing, and is counted under usage limits here."""
    said = Counter(map(_TEXT, g.items))
    out: Counter[str] = Counter()
    for text, n in said.items():
        info = themer(text) if text else None
        own = (info.plain_topic or info.topic) if info is not None else None
        out[own or topic or "other"] += n
    return dict(sorted(out.items(), key=lambda tc: (-tc[1], tc[0])))


def _quoted(ranked: list[str], themer: Themer, triage: Triage, topic: str | None) -> list[str]:
    """The five texts a pattern quotes: its most central ones; for a product pattern, those
    plainly about its topic first (then those about it in their group), so "login" is not
    shown with a complaint about the answers; for a pattern about the answers, those about no
    product topic first, so it does not open with "the app crashes"."""
    head = ranked[:QUOTE_POOL]
    if triage == "answers":  # ... and a pattern about the answers, those about the answers
        return _varied(sorted(head, key=lambda t: themer(t).topic is not None), themer)
    if triage != "product":
        return _varied(head, themer)
    if topic is None:  # the group of small ones (see _small_product_groups_joined)
        return _varied(sorted(head, key=lambda t: (themer(t).plain_topic is None,
                                                   themer(t).topic is None)), themer)
    return _varied(sorted(head, key=lambda t: (themer(t).plain_topic != topic,
                                               themer(t).topic != topic)), themer)


QUOTES = 5
ALIKE = 0.6  # a quote sharing this share of its words with one before it says it again


def _varied(texts: Sequence[str], themer: Themer) -> list[str]:
    """The first :data:`QUOTES` of ``texts``, passing over one that says what a quote before it
    says, in nearly its words (:data:`ALIKE` of the words of the two, Jaccard): one critique
    pasted three times with a word changed is one quote, where the pool has others. Passed-over
    texts fill the list when too few are left."""
    chosen: list[str] = []
    passed: list[str] = []
    words: list[frozenset[str]] = []
    for text in texts:
        if len(chosen) == QUOTES:
            break
        own = frozenset(themer(text).words)
        if own and any(len(own & w) >= ALIKE * len(own | w) for w in words):
            passed.append(text)
            continue
        chosen.append(text)
        words.append(own)
    return chosen + passed[:QUOTES - len(chosen)]


FOCUS_CHARS = 100   # a longer quote opens at its sentence that speaks most of its pattern
FOCUS_WORDS = 8     # ... read through the pattern's this many most distinctive words
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n+|$)")


def _focused_quotes(texts: Sequence[str], g: Group, read: Mapping[str, int], themer: Themer,
                    df: tuple[Counter[str], int]) -> list[str]:
    """``texts`` as a pattern quotes them (:func:`.model.quote`), each long one opening at the
    sentence that speaks most of what the pattern is about, where a reader of its first
    :data:`FOCUS_CHARS` characters would not reach it: the sentences that match the concept
    that names it, else those with most of its most distinctive words. A review that says
    "It made up an entire study" after three sentences of how it was used is quoted from
    there ("…It made up an entire study…")."""
    if not any(len(t) > FOCUS_CHARS for t in texts):
        return [quote(t) for t in texts]
    said: Counter[str] = Counter()
    for text, count in read.items():
        said.update(dict.fromkeys(themer(text).words, count))
    size = sum(read.values()) or 1
    weight = {w: score for w, score in _distinctive(said, size, df)[:FOCUS_WORDS]
              if said[w] >= min(2, size)}
    concept = g.concept.key if g.concept is not None else None

    def score(sentence: str) -> float:
        toks = tokens(sentence)
        if concept is not None and any(k == concept for k, _ in themer.lexicon.match(toks)):
            return math.inf
        return sum(weight.get(w, 0.0) for w in set(content(toks)))

    return [quote(_focus(t, score)) for t in texts]


def _focus(text: str, score: Callable[[str], float]) -> str:
    """``text`` from its first sentence of the highest ``score`` (above 0), where that
    sentence starts beyond the first 60% of :data:`FOCUS_CHARS`; else the whole text."""
    if len(text) <= FOCUS_CHARS:
        return text
    best, at = 0.0, 0
    for m in _SENTENCE.finditer(text):
        found = score(m[0])
        if found > best:
            best, at = found, m.start()
        if found == math.inf:
            break
    opens = _OPENING.search(text, at)
    if opens is None or at <= FOCUS_CHARS * 3 // 5:
        return text
    return "…" + text[opens.start():]


_OPENING = re.compile(r"\w")


def _state(ids: list[str], evidence_state: Callable[[str], EvidenceState] | None,
           versions_of: dict[str, str | None], older: set[str]) -> tuple[EvidenceState, list[str]]:
    if evidence_state is None:
        return "open", list(ids)
    states = {i: evidence_state(i) for i in ids}
    open_ids = [i for i in ids if states[i] == "open"]
    if not open_ids:
        return ("pending" if any(s == "pending" for s in states.values()) else "addressed"), []
    if any(s == "addressed" for s in states.values()) and all(
            versions_of.get(i) in older for i in open_ids):
        return "addressed", open_ids
    return "open", open_ids


def _document_frequencies(themer: Themer, items: Iterable[Item]) -> tuple[Counter[str], int]:
    texts = {it.text for it in items if it.text}
    themer.warm(texts)
    # NOTE: one Counter over all texts' words: no Python call per text but the themer's
    return Counter(chain.from_iterable(map(set, map(_WORDS, map(themer, texts))))), len(texts)


_WORDS = operator.attrgetter("words")
_TEXT = operator.attrgetter("text")
_IDS = operator.attrgetter("ids")
_VERSIONS = operator.attrgetter("versions")
_CREATED = operator.attrgetter("created_at")
_ITEM_ORDER = operator.attrgetter("created_at", "ids")


def _read(g: Group) -> dict[str, int]:
    """The distinct texts a group is read through (:func:`_sample`), each with how many of its
    items said it, most said first."""
    said: Counter[str] = Counter(filter(None, map(_TEXT, g.items)))
    return {t: said[t] for t in _sample(said)}


def _central_texts(g: Group, read: Mapping[str, int], themer: Themer,
                   word_df: tuple[Counter[str], int]) -> list[str]:
    """The group's distinct texts (``read``, see :func:`_read`), most representative first
    (closest to the group's centroid, so a quote is typical rather than the longest or the
    first)."""
    if not read:
        return []
    import numpy as np
    from scipy.sparse import csr_matrix

    texts = list(read)
    said = [themer(text).words for text in texts]
    df, n = word_df
    # NOTE: each text's TF-IDF vector as a row of one sparse matrix: a pattern is read
    # through up to NAMING_SAMPLE texts, and a dict per text cost a Python call per word
    index: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    cols = np.fromiter(map(index.__getitem__, chain.from_iterable(said)), dtype=np.int64)
    lengths = np.fromiter(map(len, said), dtype=np.int64, count=len(texts))
    idf = np.fromiter((math.log((1 + n) / (1 + df[w])) for w in index), dtype=np.float64,
                      count=len(index))
    rows = csr_matrix((idf[cols], cols, np.concatenate(([0], np.cumsum(lengths)))),
                      shape=(len(texts), len(index)))
    rows.sum_duplicates()  # a word said twice: twice its weight
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    counts = np.fromiter(read.values(), dtype=np.float64, count=len(texts))
    centroid = np.asarray(rows.T @ (counts / norms)).ravel()
    sims = (np.asarray(rows @ centroid).ravel() / norms
            / (math.sqrt(float(centroid @ centroid)) or 1.0)).tolist()
    # a text that says what names the group ranks higher: its concept, or, first of all, one
    # of the words it is named by (a group of 20 reviews named "ideologies, liberal, trump"
    # after 10 of them was quoted "Not as expected": its centroid lay nearest the short ones)
    if g.concept is not None:
        key = (g.concept.key,)
        bonus = [0.25 * (themer(text).concepts[:1] == key) for text in texts]
    else:
        named = frozenset(g.key.removeprefix("terms:").partition("#")[0].split("+")) \
            if g.key.startswith("terms:") else frozenset()
        bonus = [float(not named.isdisjoint(words)) for words in said]

    def rank(i: int) -> tuple[float, int, int, str]:
        text = texts[i]
        too_long = len(text) > MAX_QUOTE_CHARS
        return (-(sims[i] + bonus[i]) + (0.5 if too_long else 0.0), -read[text], len(text), text)

    out: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for i in sorted(range(len(texts)), key=rank):
        if said[i] in seen:
            continue
        seen.add(said[i])
        out.append(texts[i])
        if len(out) == 10:  # 5 quotes and a suggestion among the first 10 is all we use
            break
    return out


_WORD = re.compile(r"[a-z0-9]+")
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"\n]+")


def _terms_label(g: Group, read: Mapping[str, int], ranked: Sequence[str]) -> str:
    """A label from the group's distinctive words (the stems of its key), each as users most
    often spelled it in the group's texts: ``recipe``, not ``recip``."""
    stems = [s for s in g.key.split("terms:", 1)[-1].split("#")[0].split("+") if s and s != "text"]
    if g.loose and ranked:
        # words of one text each would name what the others do not say ("door, heartbeat,
        # renew" over "not professional" and "does not do what I want")
        return f'like "{shorten(ranked[0], LOOSE_LABEL)}"'
    if not stems:
        return shorten(ranked[0], 60) if ranked else "(no words in common)"
    sample = dict(islice(read.items(), SPELLING_SAMPLE))
    spelled = _spellings(stems, sample)
    grown = {s: _grown(s, sample) for s in stems if is_fragment(s)}
    words = [grown.get(s) or spelled.get(s, s) for s in stems]
    pair = _phrase(stems, sample)
    if pair is not None:  # "invalid, phone number", not "invalid, number, phone"
        joined, said = pair
        words = [said if s == joined[0] else words[i] for i, s in enumerate(stems)
                 if s not in joined[1:]]
    # a grown string within another names nothing more ("注册" beside "不能注册")
    return ", ".join(dict.fromkeys(_bounded(w) for w in words if not any(
        w in grown.values() and w != o and w in o for o in words)))


LOOSE_LABEL = 50  # characters of the text a group of texts sharing no word is named after
MAX_GROWN = 8  # characters of a word grown from a pair of characters
MAX_LABEL_WORD = 30  # characters of a word in a label: a longer "word" is a mash, a hash or a URL


def _bounded(word: str) -> str:
    """A word of a label as it may be shown: its marks capped (a letter under a thousand
    combining marks is a word, to the tokens) and cut to :data:`MAX_LABEL_WORD` characters.
    A word that starts with a combining mark (a text of marks alone) shows it on a dotted
    circle, as Unicode shows a mark by itself, not on the comma or column before it."""
    word = capped_marks(word)
    if word and unicodedata.category(word[0])[0] == "M":
        word = "\u25cc" + word
    return word if len(word) <= MAX_LABEL_WORD else word[:MAX_LABEL_WORD - 1] + "…"


def _grown(pair: str, texts: Mapping[str, int]) -> str:
    """A pair of characters of a script written without spaces (see :func:`.text.is_fragment`)
    grown to the longest string around it that most of the texts holding it share: "注册"
    becomes "注册账号" where most of a group's texts say 注册账号. A label of pairs names
    nothing ("一大, 不能")."""
    word = pair
    held = {t: n for t, n in texts.items() if pair in t}
    base = sum(held.values())
    while len(word) < MAX_GROWN:
        around = _around(word, held)
        best = min(around, key=lambda w: (-around[w], w), default=None)
        if best is None or around[best] * 2 <= base:
            break
        word = best
        held = {t: n for t, n in held.items() if word in t}
    return word


def _around(word: str, texts: Mapping[str, int]) -> Counter[str]:
    """``word`` with the character before or after it, where the two make a pair of a script
    written without spaces, counted over every occurrence (overlapping ones too) in ``texts``
    (text -> how many said it). The regex engine finds the neighbours and each text's are
    counted at once: a text that says 登录 5,000 times is read once, not 5,000 times in Python."""
    around: Counter[str] = Counter()
    before = re.compile(f"(?=(.){re.escape(word)})", re.S)
    after = re.compile(f"(?={re.escape(word)}(.))", re.S)
    for text, n in texts.items():
        for c, k in Counter(before.findall(text)).items():
            if is_fragment(c + word[0]):
                around[c + word] += k * n
        for c, k in Counter(after.findall(text)).items():
            if is_fragment(word[-1] + c):
                around[word + c] += k * n
    return around


def _read_for_labels(text: str) -> str:
    """A text as label words are read in it (spellings, phrases): normalised once, though both
    read the same sample."""
    return _normalized_head(text[:MAX_SPELLING_CHARS])


@functools.lru_cache(maxsize=1024)  # keys of at most MAX_SPELLING_CHARS: a bounded cache
def _normalized_head(head: str) -> str:
    return normalize(head)


def _spellings(stems: Iterable[str], texts: Mapping[str, int]) -> dict[str, str]:
    """The most frequent surface word of each stem in ``texts`` (text -> how many said it);
    ties go to the shorter word, then the first in alphabetical order."""
    wanted = set(stems)
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for text, count in texts.items():
        for word in _WORD.findall(_read_for_labels(text)):
            root = stem(word)
            if root in wanted:
                seen[root][word] += count
    return {s: min(seen[s], key=lambda w: (-seen[s][w], len(w), w)) for s in seen}


def _phrase(stems: Sequence[str], texts: Mapping[str, int]) -> tuple[tuple[str, ...], str] | None:
    """Two or three of a label's stems that users write side by side ("phone number",
    "something went wrong"): in at least two texts and half of those holding them all, as most
    of them spelled it."""
    wanted = set(stems)
    together: Counter[tuple[str, ...]] = Counter()
    holding: Counter[frozenset[str]] = Counter()  # the label's stems a text holds
    said: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for text, count in texts.items():
        seen: set[tuple[str, ...]] = set()
        present: set[str] = set()
        # side by side within a clause: "at the end. Sentence two" is no "end sentence"
        for clause in _CLAUSE.split(_read_for_labels(text)):
            words = _WORD.findall(clause)
            roots = list(map(stem, words))
            present.update(wanted.intersection(roots))
            for size in (2, 3):
                for i in range(len(roots) - size + 1):
                    if roots[i] not in wanted:  # no phrase of the label starts here
                        continue
                    key = tuple(roots[i:i + size])
                    if len(set(key)) == size and wanted.issuperset(key):
                        said[key][" ".join(words[i:i + size])] += count
                        if key not in seen:
                            seen.add(key)
                            together[key] += count
        holding[frozenset(present)] += count
    found = [k for k, n in together.items() if n >= 2 and 2 * n >= sum(
        m for held, m in holding.items() if held.issuperset(k))]
    if not found:
        return None
    key = sorted(found, key=lambda k: (-len(k), -together[k], k))[0]
    return key, min(said[key], key=lambda w: (-said[key][w], len(w), w))


_COURTESY_START = re.compile(r"\A(?:pls|please|plz|kindly)\b[\s,:-]*", re.I)
# (a run of spaces and commas tried from its start only: see proposals.support._COURTESY)
_COURTESY_END = re.compile(r"(?<![\s,])[\s,]*\b(?:pls|please|plz|thanks|thank you|thx)\b[\s.!]*\Z",
                           re.I)


# A figure that is not a limit ("the correct answer is $16-$8=$8") fixes one answer; a limit
# ("under 80 words", "within 24 hours") can be a rule.
_ANSWER_FIGURE = re.compile(r"\d+(?:[.,]\d+)?(?!\s*(?:-\s*\d+\s*)?(?:words?|sentences?|paragraphs?"
                            r"|bullets?|bullet points?|points?|lines?|characters?|items?|pages?"
                            r"|minutes?|hours?|days?|seconds?|percent)\b|\s*%)(?!\d|[.,]\d)", re.I)


def _suggestion(ranked: Sequence[str]) -> str | None:
    """A rule in the users' own words: the most central correction of rule-like length that
    names no figure but a limit (one user's right answer to one problem is not a rule)."""
    for text in map(plain, ranked[:10]):  # users' words: nothing hidden in them (see plain)
        words = text.split()
        if not 3 <= len(words) <= 30 or _ANSWER_FIGURE.search(text):
            continue
        rule = _COURTESY_END.sub("", _COURTESY_START.sub("", text)).strip()
        rule = rule.rstrip("!?.,;: ")
        if len(rule.split()) < 3:
            continue
        return rule[0].upper() + rule[1:] + "."
    return None


def _section(g: Group, themer: Themer, agent_file: AgentLike | None) -> str | None:
    """The section of the agent file the pattern concerns, by shared words, where one stands
    out: the concept's hint words (or a model theme's name and description) and the group's
    most frequent words against each section's title (counted double), text and rules. Words
    found in every section say nothing. Only a section of the file can be the answer."""
    if agent_file is None or not agent_file.sections:
        return None
    section_words: list[tuple[str, set[str], set[str]]] = []
    for s in agent_file.sections:
        title = set(tokens(s.title or s.id))
        body: set[str] = set(tokens(s.text or ""))
        for rule in s.rules or []:
            body |= set(tokens(rule))
        section_words.append((s.id, set(content(tuple(title))) or title, set(content(tuple(body)))))
    weights: dict[str, float] = defaultdict(float)
    if g.concept is not None:
        for hint in g.concept.hints:
            for t in content(tokens(hint)):
                weights[t] += 3.0
    if g.description is not None:  # a model's theme: its name and description say what it is
        for t in set(content(tokens(f"{g.label.removeprefix(TROUBLE_PREFIX)} {g.description}"))):
            weights[t] += 2.0
    common: Counter[str] = Counter(chain.from_iterable(map(set, map(_WORDS, map(
        themer, filter(None, map(_TEXT, g.items)))))))
    # a word a third of the group shares: two items of 23 saying "message" and "write" made
    # a group of complaints about refusals the concern of the section about a memory tool
    shared = max(2, len(g.items) / 3)
    for w, c in sorted(common.items(), key=lambda wc: (-wc[1], wc[0]))[:8]:
        if c >= shared:
            weights[w] += 0.5
    if not weights:
        return None
    spread = Counter(w for _, title, body in section_words for w in title | body)
    best: tuple[float, str] | None = None
    for sid, title, body in section_words:
        score = 0.0
        for w, weight in weights.items():
            if spread[w] >= len(section_words) and len(section_words) > 1:
                continue
            rarity = 1.0 / max(1, spread[w])
            if w in title:
                score += 2 * weight * rarity
            elif w in body:
                score += weight * rarity
        if score > 0 and (best is None or score > best[0]):
            best = (score, sid)
    return best[1] if best and best[0] >= 1.0 else None
