"""How a careful editor reads a rule before adding it: is it already said, does it contradict
another one, is it specific enough to test?

Pure functions over rule texts, shared by both proposers: the heuristic proposer uses them to
choose its edits, and every model answer is checked with :func:`review_draft` after it arrives
(a problem found gets the model's one repair round). "Similar" is semantic-ish, not string
equality: stemmed content words, the theme a rule is about (the feedback lexicon), numbers with
their unit, negation, and the slots a file can fill only once (how an answer starts and ends).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from gitimprove.dataclass import dataclass, field
from gitimprove.instructions.agentfile import AgentFile, Section
from gitimprove.instructions.formats.prose import FENCE_RE, Examples, names_examples
from gitimprove.patterns.text import content, normalize, tokens
from gitimprove.proposals.operations import (
    AddRule,
    AddSection,
    Draft,
    Operation,
    RemoveRule,
    SetText,
    UpdateRule,
)
from gitimprove.text import rule_number, shorten

SAME_WORDS = 0.6          # shared content words (of the shorter rule) for "says the same"
STRONG_CONCEPT = 2.0      # lexicon score for a rule to count as being about a theme
_NEGATORS = frozenset({"not", "no", "never", "avoid", "without", "nor", "stop", "refrain"})
_NUMBER_WORDS = {"a single": 1, "single": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                 "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_UNITS = {"word": "words", "sentence": "sentences", "paragraph": "paragraphs", "line": "lines",
          "bullet": "bullets", "bullet point": "bullets", "point": "bullets", "character": "characters",
          "item": "items", "page": "pages"}
_NUM = r"(\d+|a single|single|one|two|three|four|five|six|seven|eight|nine|ten)"
_QUANTITY = re.compile(r"\b" + _NUM + r"(?:\s*(?:-|to|or|and)\s*" + _NUM + r")?\s+(?:short\s+|key\s+|more\s+)?"
                       r"(bullet points?|words?|sentences?|paragraphs?|lines?|bullets?|points?"
                       r"|characters?|items?|pages?)\b(\s+(?:each|per|apiece))?")
_SLOT = re.compile(r"^(?:always\s+|please\s+)?(start|begin|open|end|finish|close|conclude)\b"
                   r"(?:\s+(?:each|every|the|your|all|a|every)\s+\w+)?\s+(?:with|by)\b")
_SLOT_NAMES = {"start": "start", "begin": "start", "open": "start", "end": "end", "finish": "end",
               "close": "end", "conclude": "end"}
# How long the whole answer should be: brief ("concise", "one page", "under 120 words") or
# detailed ("a full detailed report", "thorough"). "short paragraphs" and "the order details"
# say neither.
_BRIEF = re.compile(r"\b(?:concise(?:ly)?|brief(?:ly)?|succinct(?:ly)?|terse(?:ly)?|"
                    r"as short as possible|as few words as possible)\b")
_DETAILED = re.compile(r"\b(?:detailed|in detail|in-depth|in depth|thorough(?:ly)?|"
                       r"comprehensive(?:ly)?|exhaustive(?:ly)?|at length)\b")
# Limits on the whole answer; "acknowledge it in one sentence" or "note related issues in one
# line at most" limit a part of it.
_LENGTH_UNITS = frozenset({"words", "pages", "characters"})
_ITEM = re.compile(r"(?:[-*+]|\d+[.)])\s")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
_COMPARATIVE = frozenset({"shorter", "longer", "more", "less", "better", "clearer", "simpler",
                          "concis", "concise", "briefer", "fewer", "nicer", "easier"})
_BULLETS = frozenset({"bullet", "bulleted", "list", "lists"})
# A condition on what comes in, not a rule on the answer: "If the text is long (more than 100
# words), summarize it first", "when a question has more than 3 parts", "for documents over 2
# pages". The clause runs to the next comma, semicolon, full stop or "then", names a thing with
# a verb that says what it is or has ("if possible keep it under 100 words" is a limit), and a
# size: a number in it is a threshold, and "long" in it is no wish for a long answer. Other
# conditions ("if the user asks for a refund") stay part of what the rule is about.
_INPUTS = (r"(?:texts?|inputs?|documents?|docs?|messages?|questions?|requests?|emails?|articles?|transcripts?|"
           r"passages?|files?|quer(?:y|ies)|prompts?|tickets?|threads?|conversations?|users?|customers?|"
           r"diffs?|code|logs?|pages?|answers?|responses?|replies|repl(?:y)|outputs?|drafts?|summar(?:y|ies)|"
           r"it|they|this|that)")
_CONDITION = re.compile(
    r"\b(?:if|when|whenever|unless|in case|for (?:(?:any|a|an|the|each|every|long|longer|"
    r"short|shorter|large|big)\s+)*" + _INPUTS + r"\b)"
    r"(?:[^,;.()]|\([^)]*\)|\.(?=\d))*?(?=[,;]|\.(?!\d)|\bthen\b|$)")
_STATES = re.compile(r"\b" + _INPUTS + r"\b[^,;]*?\b(?:is|are|was|has|have|contains?|exceeds?|runs?|goes|gets|"
                     r"spans?|includes?|comes?|asks?|sends?|pastes?|holds?|needs?)\b")

_SIZE = re.compile(r"\b(?:long|longer|lengthy|short|shorter|large|larger|big|bigger|small|smaller|huge)\b")
# A limit on something the agent writes besides its answer: a field, a name, a title ("description:
# 1-1024 characters", "the name field must be 1-64 characters", "commit subjects under 72
# characters"). Named before the figure, in its clause, and no answer named there.
_ANSWER = re.compile(r"\b(?:answers?|responses?|length|size|limits?|repl(?:y|ies)|outputs?|summar(?:y|ies)|"
                     r"messages to the user|it|them|yourself|you)\b")
_OTHER_THING = re.compile(r"\b(?:fields?|keys?|"
                          r"propert(?:y|ies)|attributes?|parameters?|arguments?|names?|titles?|descriptions?|"
                          r"subjects?|filenames?|slugs?|ids?|identifiers?|labels?|tags?|headers?|headings?|"
                          r"front ?matter|metadata|columns?|variables?|values?|strings?|commit messages?|"
                          r"branch names?|passwords?|usernames?)\b")


def _without_conditions(norm: str) -> str:
    """A rule's text without its conditions on the input (or on a draft): what it asks."""
    def drop(m: re.Match[str]) -> str:
        clause = m.group(0)
        sized = _QUANTITY.search(clause) or _SIZE.search(clause)
        return " " if sized and (clause.startswith("for ") or _STATES.search(clause)) else clause
    return " ".join(_CONDITION.sub(drop, norm).split())


_PROSE_ONLY = re.compile(r"\b(?:in prose|prose only|no bullets?|no lists?|without bullets?|"
                         r"not (?:in )?(?:a )?(?:bullets?|lists?))\b")  # not "must not listen"


@dataclass(frozen=True)
class Facts:
    """What a rule says, reduced to what comparisons need."""

    text: str
    words: frozenset[str]                      # stemmed content words
    negative: bool                             # "never", "do not", "avoid" ...
    concepts: tuple[str, ...]                  # lexicon themes, strongest first
    # themes a short rule names in half its content words, below STRONG_CONCEPT ("Always
    # include sources"): it says what a rule of the theme says, though it may not say all
    # of the theme ("Be polite and professional" asks for no empathy)
    short_concepts: tuple[str, ...]
    quantities: tuple[tuple[str, int, int], ...]  # (unit, low, high), for the whole answer
    slot: str | None                           # "start" or "end": a file says this once
    bullets: bool                              # asks for bullet points or a list
    prose_count: bool                          # fixes the form as a number of paragraphs / prose
    brief: bool = False                        # asks for a short answer (a limit, "concise")
    detailed: bool = False                     # asks for a long one ("detailed", "thorough")

    @property
    def concept(self) -> str | None:
        return self.concepts[0] if self.concepts else None


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _limits_another_thing(before: str) -> bool:
    """Whether a figure whose clause reads ``before`` up to it limits a thing other than the
    answer: a field or a name is named there, and no answer."""
    clause = re.split(r"[;.!?]\s|\s-\s|\bthen\b", before)[-1]
    return bool(_OTHER_THING.search(clause)) and not _ANSWER.search(clause)


@lru_cache(maxsize=4096)
def facts(text: str) -> Facts:
    """The :class:`Facts` of one rule (cached: rules are compared many times)."""
    from gitimprove.patterns.analysis import default_lexicon
    from gitimprove.patterns.lexicon import read_themes

    norm = " ".join(normalize(text).replace("{{", " ").replace("}}", " ").split())
    toks = tokens(norm)
    # What the rule asks of the answer: the rule without its conditions on the input.
    asked = _without_conditions(norm)
    asked_toks = tokens(asked) if asked != norm else toks
    scored = read_themes(default_lexicon(), asked_toks)  # (a program's "error handling" is none)
    concepts = tuple(k for k, s in scored if s >= STRONG_CONCEPT)
    words = frozenset(content(asked_toks))
    quantities = []
    for m in _QUANTITY.finditer(asked):
        if m.group(4):  # "max 8 words each": a limit on one item, not on the answer
            continue
        if _limits_another_thing(asked[:m.start()]):  # "description: 1-1024 characters"
            continue
        low = _number(m.group(1))
        high = _number(m.group(2)) if m.group(2) else low
        unit = m.group(3).rstrip("s") if m.group(3) != "bullet points" else "bullet point"
        quantities.append((_UNITS.get(unit, unit), low, high))
    slot = _SLOT.match(norm)
    raw = set(toks)
    return Facts(
        # NOTE: negation is read at the head of the rule ("Do not", "Never", "Avoid"): in
        # "benefits, not features" the "not" contrasts, it does not negate the rule.
        text=text, words=words, negative=bool(set(toks[:3]) & _NEGATORS),
        concepts=concepts, short_concepts=tuple(k for k, s in scored if s < STRONG_CONCEPT
                                                and 2 * s >= max(2, len(words))),
        quantities=tuple(quantities),
        slot=_SLOT_NAMES[slot.group(1)] if slot else None,
        bullets=bool(raw & {"bullet", "bulleted"}) or ("list" in raw and "format" in raw),
        prose_count=any(u == "paragraphs" for u, _, _ in quantities) or bool(_PROSE_ONLY.search(norm)),
        brief=bool(_BRIEF.search(asked)) or any(u in _LENGTH_UNITS for u, _, _ in quantities),
        detailed=bool(_DETAILED.search(asked)))


def overlap(a: Facts, b: Facts) -> float:
    """Shared content words, as a share of the shorter rule's."""
    if not a.words or not b.words:
        return 0.0
    return len(a.words & b.words) / min(len(a.words), len(b.words))


# Users' words that steer the agent rather than say what is wrong with its answers: an
# address to send people to, or an order about its instructions themselves. With enough user
# ids behind them (an import can name any) they are an injection, copied as a rule.
_STEERING = re.compile(
    r"https?://\S*|\bwww\.\S*|(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+"
    r"|\b(?:ignore|disregard|forget|override|bypass)\b[^.!?;]{0,40}?"
    r"\b(?:instructions?|prompts?|rules|guidelines)\b|\bsystem prompt\b", re.I)


def steering(text: str) -> str | None:
    """What in ``text`` steers the agent (a web or mail address, "ignore all previous
    instructions"), or None: such words are quoted as evidence, never copied as a rule."""
    found = _STEERING.search(text)
    return found.group() if found else None


def vague(text: str) -> bool:
    """Relative or empty advice a reviewer cannot test: "Make it shorter and more concise.",
    "Be better." (a comparative, no number, hardly any content)."""
    f = facts(text)
    norm = set(tokens(text))
    if f.quantities or not f.words:
        return not f.words
    return bool(norm & _COMPARATIVE) and len(f.words - _COMPARATIVE) <= 2


def duplicates(new: str, old: str) -> bool:
    """Whether ``new`` says what ``old`` already says (so adding it adds nothing)."""
    a, b = facts(new), facts(old)
    if " ".join(normalize(new).split()).rstrip(".!") == " ".join(normalize(old).split()).rstrip(".!"):
        return True
    if a.negative != b.negative:
        return False
    if a.bullets and b.bullets:
        return True  # "Prefer bullets, short sentences" already asks for bullet points
    # At least half the new rule's words too, and not a theme the old one lacks: a line that
    # shares some of them ("What is the customer asking for?", "Customer provides order
    # number") does not say what it adds ("Use the order number the customer already gave,
    # never ask for it again.": asking again).
    shared = a.words & b.words
    if (len(shared) >= 2 and overlap(a, b) >= SAME_WORDS and 2 * len(shared) >= len(a.words)
            and (a.concept is None or a.concept in b.concepts)):
        return True
    # any theme of the new rule: "End with a call to action that tells the reader what to do
    # next" is about next steps first, and about the call to action "A conclusion with a call
    # to action" already asks for
    same_theme = not set(a.concepts).isdisjoint((*b.concepts, *b.short_concepts))
    return same_theme and not _label(b) and (vague(new) or overlap(a, b) >= 0.5)


def restates(new: str, old: str, theme: str | None = None) -> bool:
    """Whether ``old`` is on the theme of ``new`` (``theme``, else its own) in its words, though
    it does not say all of it (:func:`duplicates`): "Prefer plain language whenever
    possible." for "Use plain language: explain each technical term ...". The theme alone is
    not enough: in coding instructions "Descriptive error messages" is on accuracy and
    "`scripts/` — deployment scripts" on tone. Two content words shared, more than a quarter
    of the old rule's (not two of a paragraph's), and no inline data (``{"summary": ...}``),
    are."""
    a, b = facts(new), facts(old)
    theme = theme or a.concept
    shared = len(a.words & b.words)
    return (theme is not None and b.concept == theme and shared >= 2 and 4 * shared > len(b.words)
            and not old.lstrip(" *_`").startswith(("{", "[", "<")))


def _label(f: Facts) -> bool:
    """Whether a line names a topic and asks nothing ("Configuration details", "Technical
    requirements"): an item of a list of topics, which says no rule of the theme its one
    word may name."""
    return len(f.words) <= 2 and not _ASKS.search(f.text) and not _BIDS.match(f.text)


_BIDS = re.compile(r"\W*(?:be|do|please|let|make|keep|stay|get)\b", re.IGNORECASE)


def figures(f: Facts) -> frozenset[str]:
    """The numbers a rule names other than its limits: "the correct answer is 27" names 27,
    "keep it under 80 words" names none (80 is a limit, compared by :func:`contradiction`)."""
    limits = {str(n) for _, low, high in f.quantities for n in (low, high)}
    return frozenset(n for n in _FIGURE.findall(f.text) if n not in limits)


def same_wording(a: str, b: str) -> bool:
    """Whether two users said it in much the same words (not only on the same theme).

    Corrections that name different figures are different corrections, however many words
    they share: "The correct answer is $8." and "The correct answer is 45 * 3/5 = 27." each
    fix one answer; together they are not a wording users agree on."""
    fa, fb = facts(a), facts(b)
    na, nb = figures(fa), figures(fb)
    if na and nb and not na & nb:
        return False
    return fa.negative == fb.negative and len(fa.words & fb.words) >= 2 and overlap(fa, fb) >= SAME_WORDS


def contradiction(new: str, old: str) -> str | None:
    """Why ``new`` and ``old`` cannot both be rules (None when they can)."""
    a, b = facts(new), facts(old)
    related = bool(set(a.concepts) & set(b.concepts)) or overlap(a, b) >= 0.5
    for unit, low, high in a.quantities:
        for unit_b, low_b, high_b in b.quantities:
            if unit == unit_b and (low, high) != (low_b, high_b) and related:
                return f"it sets {_span(low, high)} {unit} where the other says {_span(low_b, high_b)}"
    if a.bullets and b.prose_count and not a.negative:
        return "it asks for bullet points where the other fixes the form as paragraphs"
    if b.bullets and a.prose_count and not b.negative:
        return "it fixes the form as paragraphs where the other asks for bullet points"
    if (a.negative != b.negative and len(a.words & b.words) >= 2 and overlap(a, b) >= SAME_WORDS
            and _negated(a if a.negative else b) in (b if a.negative else a).words):
        return "it says the opposite"
    if not (a.negative or b.negative):
        if a.brief and b.detailed and not a.detailed:
            return "it asks for a short answer where the other asks for a detailed one"
        if a.detailed and b.brief and not a.brief:
            return "it asks for a detailed answer where the other asks for a short one"
    if a.slot and a.slot == b.slot and _ANSWER_PART.search(normalize(old)) and not duplicates(new, old):
        return f"a file can say only once how an answer should {a.slot}"
    return None


# What an answer is made of, named by a rule on how it starts or ends: "Begin each review with
# a brief summary", "End with a call to action". "Start with minimal tool access" and "Always
# start by understanding what the user wants" say how the agent goes about its work.
_ANSWER_PART = re.compile(
    r"\b(?:answers?|responses?|repl(?:y|ies)|messages?|emails?|reviews?|reports?|outputs?|"
    r"summar(?:y|ies)|posts?|comments?|letters?|articles?|essays?|stor(?:y|ies)|texts?|notes?|"
    r"readers?|call to action|greetings?|sign-?off|signature|questions?|conclusions?|"
    r"paragraphs?|sentences?|tl;? ?dr|headings?|titles?|verdicts?|recommendations?|"
    r"apolog(?:y|ies|ise|ize)|thanks|thank you|next steps?|markers?)\b")


def _negated(f: Facts) -> str | None:
    """What a negative rule forbids, its first content word after the negation ("praise" in
    "Do not praise the question"): a rule says the opposite only of a rule that asks for it,
    not of "Answer user questions" for sharing "user" and "question"."""
    toks = tokens(normalize(f.text))
    at = next((i for i, t in enumerate(toks[:3]) if t in _NEGATORS), None)
    if at is None:
        return None
    return next(iter(content(toks[at + 1:])), None)


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


# -- a whole draft against the file and the proposals before it -------------------------------


@dataclass(frozen=True)
class PriorRule:
    """A rule another proposal for the same agent adds or rewords: an open one (pending) or a
    rejected one, with the reviewer's reason, who rejected it and when, and what it cited."""

    text: str
    section: str
    proposal: str
    reason: str | None = None
    op: str = "add_rule"
    by: str | None = None           # who rejected it
    when: int | None = None         # when (Unix seconds)
    evidence: tuple[str, ...] = ()  # the feedback ids the rejected proposal cited
    patterns: tuple[str, ...] = ()  # the pattern ids behind this rule
    rolled_back: bool = False       # approved, then rolled back (``by``/``when``: the rollback)

    def rejected_before(self) -> str:
        """``rejected before on 2026-11-20 by Ann <ann@example.com>: too long`` (one line), or
        ``rolled back on ...`` for a rule that was approved and then rolled back."""
        from datetime import UTC, datetime

        day = (f" on {datetime.fromtimestamp(self.when, UTC):%Y-%m-%d}"
               if self.when is not None else "")
        by = f" by {shorten(self.by, 80)}" if self.by else ""
        why = f": {shorten(self.reason, 160)}" if self.reason and self.reason.strip() else ""
        what = "rolled back" if self.rolled_back else "rejected before"
        return f"{what}{day}{by} (in {self.proposal}){why}"


# What a reviewer's reason objects to, when it is not the rule itself: where it was put ...
_PLACE = re.compile(
    r"\b(?:wrong|another|other|different|separate|own)\s+(?:section|place|heading|part)\b"
    r"|\bbelongs?\b|\bmisplaced\b|\bplacement\b|\bwrong place\b|\bout of place\b"
    r"|\b(?:move|put|place)\s+(?:it|this|that|the rule)\s+(?:in|into|under|to|at)\b"
    r"|\bnot\s+(?:in|under)\s+(?:this|the)\s+(?:\S+\s+)?(?:section|heading)\b", re.I)
# ... or how it was worded (too vague a wording is a wording, not a no to the rule).
_WORDING = re.compile(r"\b(?:wording|worded|reword\w*|rephras\w*|phrasing|phrased|vague|unclear|"
                      r"ambiguous|too\s+(?:long|wordy))\b", re.I)


def objection(reason: str | None) -> str:
    """What a rejection objects to: ``"place"`` (the reason says it stood in the wrong
    section), ``"wording"`` (how it was said), else ``"rule"`` (the rule itself, also when the
    reviewer gave no reason)."""
    if not reason:
        return "rule"
    if _PLACE.search(reason):
        return "place"
    if _WORDING.search(reason):
        return "wording"
    return "rule"


@dataclass(frozen=True)
class Statement:
    """One rule (or one sentence of a section's text) of the file after a draft."""

    section: str
    text: str
    index: int | None = None          # the rule's index in the original file; None if new
    op: int | None = None             # the draft's operation (1-based) that wrote it
    in_text: bool = False

    def where(self, *, for_model: bool = False) -> str:
        """Where the statement is, for a person (rules counted from 1), or ``for_model``: as
        the model's labelled file and its operations' ``index`` number them, from 0."""
        if self.op is not None:
            return f"operation {self.op}"
        if self.in_text:
            return f"the text of '{self.section}'"
        if for_model:
            return f"rule {self.index} of '{self.section}'"
        return f"{rule_number(self.index or 0)} of '{self.section}'"


def sentences(text: str) -> list[str]:
    """The sentences of a section's text. A line that stops mid-sentence goes on in the next
    line of its paragraph (hard-wrapped prose, as in a crewAI folded block: "... shows
    insider" / "trading activity ..."); a blank line, a list item or a line ending in ``.!?:;``
    ends it."""
    lines: list[str] = []
    for line in (ln.strip() for ln in text.splitlines()):
        if lines and lines[-1] and line and lines[-1][-1] not in ".!?:;" and not _ITEM.match(line):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return [s.strip() for line in lines for s in _SENTENCE.split(line) if s.strip()]


# A term and what it means, as a glossary or a scale gives it: "Accurate: The information
# presented in the CLAIM is correct, complete, and consistent ...", "Critical: A defect that
# blocks a release.": a word with a capital, a colon, then an article, and no word that asks
# anything of the answer.
_DEFINITION = re.compile(r"\A[*_]*[A-Z][\w'/ -]{0,30}?[*_]*:[*_]*\s+(?:[Tt]he|[Aa]n?)\s")
_ASKS = re.compile(r"\b(?:should|must|shall|need to|needs to|always|never|avoid|don'?t|do not|"
                   r"make sure|ensure|use|keep|write|include|give|cite)\b", re.I)


def defines(text: str) -> bool:
    """Whether a rule only says what a term means ("Accurate: The information ... is
    correct"): such a line asks nothing of the agent, so it is no rule a new one repeats or
    contradicts (a verdict named "Accurate" is no rule about accuracy)."""
    return bool(_DEFINITION.match(text)) and not _ASKS.search(text)


def file_statements(file: AgentFile) -> list[Statement]:
    """Every rule of the file, and the sentences of each section's text, less those that
    only say what a term means (:func:`defines`) and worked examples (:func:`own_text`)."""
    out = []
    texts, _ = _without_examples(file)
    for s, text in zip(file.sections, texts, strict=True):
        out += [Statement(s.id, t, in_text=True) for t in sentences(text)
                if not defines(t) and not _leads_in(t)]
        out += [Statement(s.id, r, index=i) for i, r in enumerate(s.rules or [])
                if not defines(r) and not _leads_in(r)]
    return out


def _leads_in(text: str) -> bool:
    """Whether a line only introduces what follows it ("When customers ask about products:",
    "Technical guidelines:", "User question: {{$user_question}}"): no rule of its own."""
    plain = text.rstrip(" \t*_")
    return plain.endswith((":", "：")) or bool(_INPUT_LABEL.fullmatch(plain))


# A label and the input that fills it: "User question: {{$user_question}}", "Text: {input}".
_INPUT_LABEL = re.compile(r"[^:{}]{1,40}:\s*(?:\{\{[^{}]*\}\}|\{[\w.$]+\}|\$\{[\w.:-]+\})")


def example_sections(file: AgentFile) -> set[str]:
    """The ids of the sections that are worked examples (see
    :class:`~gitimprove.instructions.formats.prose.Examples`): a heading that names them, or
    under one, or under a section whose text ends in them. No rule goes into one."""
    return _without_examples(file)[1]


def _without_examples(file: AgentFile) -> tuple[list[str], set[str]]:
    """Each section's text less its worked examples (:func:`own_text`), and the ids of the
    sections that are examples (:func:`example_sections`), read in one pass."""
    texts: list[str] = []
    found: set[str] = set()
    ends: set[str] = set()  # the sections whose text ends in examples
    for s in file.sections:
        inside = s.parent in found or s.parent in ends or names_examples(s.title)
        text, to_end = own_text(s.text or "", inside=inside)
        texts.append(text)
        if inside:
            found.add(s.id)
        elif to_end:
            ends.add(s.id)
    return texts, found


def own_text(text: str, *, inside: bool = False) -> tuple[str, bool]:
    """A section's text less its worked examples (see
    :class:`~gitimprove.instructions.formats.prose.Examples`; all of it when the section is
    ``inside`` them), its code blocks and its tables, and whether the examples run to its end
    (and on into the sections under it): "The sun is sphere-shaped" in an editor's example is
    no rule of the editor's."""
    if inside:
        return "", True
    examples = Examples()
    kept = []
    fenced = False
    for line in text.splitlines():
        if FENCE_RE.match(line):
            # code (a config, a script, a sample output) says no rule: "result =
            # researcher.kickoff(...)" is no sentence a new rule repeats or contradicts
            fenced = not fenced
            examples.holds(line)
            continue
        if fenced or _TABLE_ROW.match(line) or (line.strip() and examples.holds(line)):
            continue
        kept.append(line)
        if line.strip():
            examples.read(line)
    return "\n".join(kept), examples.block


_TABLE_ROW = re.compile(r"\s*\|")  # a row of a Markdown table: cells, not sentences


def statements_after(file: AgentFile, operations: Iterable[Operation]) -> list[Statement]:
    """The file's statements once the operations are applied (originals replaced or removed)."""
    ops = list(operations)
    replaced = {(op.section, op.index) for op in ops if isinstance(op, UpdateRule | RemoveRule)}
    new_text = {op.section for op in ops if isinstance(op, SetText)}
    out = [st for st in file_statements(file)
           if (st.section, st.index) not in replaced and not (st.in_text and st.section in new_text)]
    for n, op in enumerate(ops, 1):
        out += [Statement(_section(op), t, op=n) for t in written(op)]
    return out


def _section(op: Operation) -> str:
    return op.id if isinstance(op, AddSection) else op.section


def written(op: Operation) -> list[str]:
    """The rule texts an operation writes (the sentences, for a section's text)."""
    if isinstance(op, AddRule | UpdateRule):
        return [op.text]
    if isinstance(op, SetText):
        return sentences(op.text)
    if isinstance(op, AddSection):
        return [*(op.rules or []), *sentences(op.text or "")]
    return []


_ABOUT_CODE = re.compile(r"\b(?:code|coding|commits?|git|tests?|testing|lint\w*|naming|files?|folders?|modules?|"
                          r"apis?|branch\w*|pull|builds?|deploy\w*|architecture|project|repo\w*|setup|"
                          r"install\w*|dependenc\w*|database|schema|responsibilities)\b")


def about_code(section: Section | None) -> bool:
    """Whether a section is about something other than the answers (the code, tests,
    commits, the project's set-up): no rule about the answers goes there, and its rules say
    nothing a rule about the answers would repeat or contradict."""
    return section is not None and bool(_ABOUT_CODE.search(f"{section.id} {section.title or ''}".lower()))


@dataclass
class Known:
    """What a draft is judged against besides the file: open and rejected proposals' rules."""

    pending: list[PriorRule] = field(default_factory=list)
    rejected: list[PriorRule] = field(default_factory=list)


def proposed_again(text: str, rejected: Iterable[PriorRule]) -> PriorRule | None:
    """The rejected rule ``text`` says again (by meaning), whether or not it may come back."""
    return next((r for r in rejected if duplicates(text, r.text) or duplicates(r.text, text)), None)


def rejected_match(text: str, rejected: Iterable[PriorRule],
                   section: str | None = None) -> PriorRule | None:
    """The rejection that keeps ``text`` (a rule for ``section``) out, if one does. A rejection
    of the rule itself keeps it out; one that objected to where it stood keeps it out of that
    section only, and one that objected to its wording keeps out only the same words. (A
    rejection that new complaints outweigh is not among ``rejected``: see
    :func:`gitimprove.proposals.support.voices_since`.)"""
    for prior in rejected:
        if proposed_again(text, [prior]) is None:
            continue
        kind = objection(prior.reason)
        if kind == "place" and section is not None and prior.section and section != prior.section:
            continue
        if kind == "wording" and set(content(tokens(text))) != set(content(tokens(prior.text))):
            continue  # the same words, punctuation and stop words aside, stay out
        return prior
    return None


def pending_match(text: str, pending: Iterable[PriorRule]) -> PriorRule | None:
    return next((r for r in pending if duplicates(text, r.text) or duplicates(r.text, text)), None)


def review_draft(file: AgentFile, draft: Draft, known: Known, *,
                 for_model: bool = False) -> list[str]:
    """A careful editor's objections to a draft, one per line, naming the operation:
    a rule that repeats one already in the file (or in this draft, or in an open proposal),
    contradicts one, was rejected before, or is too vague to test. Empty means none.
    ``for_model``: rules numbered as the model's file shows them (from 0)."""
    problems: list[str] = []
    after = statements_after(file, draft.operations)
    code = {s.id for s in file.sections if about_code(s)}
    for n, op in enumerate(draft.operations, 1):
        mine = [st for st in after if st.op == n]
        for st in mine:
            label = f"operation {n} ({op.op}): {_cut(st.text)!r}"
            if (prior := rejected_match(st.text, known.rejected, st.section)) is not None:
                why = f" (reason: {_cut(prior.reason, 120)})" if prior.reason else ""
                again = {"place": f"do not propose it in '{st.section}' again",
                         "wording": "do not propose it in these words again"}.get(
                    objection(prior.reason), "do not propose it again")
                problems.append(f"{label} was proposed before in {prior.proposal} and "
                                f"rejected{why}; {again}")
                continue
            if (prior := pending_match(st.text, known.pending)) is not None:
                problems.append(f"{label} is already proposed by the open proposal {prior.proposal}")
                continue
            if isinstance(op, AddRule | AddSection) and vague(st.text):
                problems.append(f"{label} is relative or vague; write a specific rule a reviewer "
                                "can test (a number, a concrete instruction)")
                continue
            for other in after:
                if other is st or (other.op == n):
                    continue
                if other.section in code and st.section not in code:
                    continue  # a rule about commit messages says nothing of the answers
                if other.op is not None and other.op > n:
                    continue  # each pair once, reported at the later operation
                why_not = contradiction(st.text, other.text)
                if why_not is not None:
                    problems.append(f"{label} contradicts {other.where(for_model=for_model)} ({_cut(other.text)!r}): "
                                    f"{why_not}; resolve it in the same draft (reword that rule "
                                    "with update_rule) or leave this rule out")
                    break
                if duplicates(st.text, other.text):
                    hint = ("; if that rule is not enough, tighten it with update_rule instead"
                            if other.op is None else "")
                    problems.append(f"{label} repeats {other.where(for_model=for_model)} ({_cut(other.text)!r}){hint}")
                    break
                if (isinstance(op, AddRule | AddSection) and other.op is None
                        and other.index is not None and restates(st.text, other.text)):
                    problems.append(f"{label} is on the theme of {other.where(for_model=for_model)} "
                                    f"({_cut(other.text)!r}) in its words; if that rule is not "
                                    "enough, tighten it with update_rule instead of adding a second")
                    break
    return problems


def _cut(text: str | None, width: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"
