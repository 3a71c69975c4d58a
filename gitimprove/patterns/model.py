"""Patterns found across feedback: what analysis produces and proposals consume."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from gitimprove.safetext import capped_marks
from gitimprove.text import shorten

PatternKind = Literal["recurring_failure", "consistent_correction", "implicit_trouble",
                      "successful_pattern", "tool_use"]
# What a pattern is about: the answers (instructions can change them), the product or service
# around them (limits, pricing, login, crashes, UI, support, latency: no instruction fixes
# those), nothing said ("unspecific": complaints that give no reason, "worst app ever"), or
# praise. Only "answers" patterns are ever proposal material.
Triage = Literal["answers", "product", "unspecific", "praise"]
EvidenceState = Literal["open", "pending", "addressed"]


MAX_QUOTE_CHARS = 280


def quote(text: str) -> str:
    """A user's text as a pattern quotes it: on one line, without the characters of the one
    table (escape sequences, bidi controls: quotes reach commit messages and terminals), at
    most :data:`MAX_QUOTE_CHARS` characters, no letter under more than a few marks."""
    return capped_marks(shorten(text, MAX_QUOTE_CHARS))


def pattern_id(kind: str, key: str) -> str:
    """Stable across runs for the same theme: ``pat-`` and 12 hex digits."""
    return "pat-" + hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()[:12]


class PatternPart(BaseModel):
    """One of the close groups a pattern was merged from (see :mod:`.grouping`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    count: int


class Pattern(BaseModel):
    """A group of feedback items that say the same thing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: PatternKind
    label: str = Field(description="short label, e.g. 'too long / verbose'")
    key: str = Field(description="what the id is derived from (the theme's canonical key)")
    count: int
    share: float = Field(description="fraction of the agent's feedback items in this pattern")
    score: float = Field(description="rank: count, recency and negative weight together")
    feedback_ids: list[str]
    quotes: list[str] = Field(description="3-5 representative quotes, verbatim user text")
    versions: list[str] = Field(default_factory=list, description="blob ids it was seen on")
    section: str | None = Field(None, description="section of the agent file it concerns, if known")
    suggestion: str | None = Field(None, description="a rule in the users' own words, if one stands out")
    triage: Triage = Field("answers", description="answers, product, unspecific or praise; see Triage")
    topic: str | None = Field(None, description="for product patterns: 'usage limits', "
                              "'pricing', ...; None for 'other', small groups of several topics "
                              "together (see topics)")
    topics: dict[str, int] = Field(
        default_factory=dict, description="for product patterns: how many of its items are "
        "about each product topic, by their own words (else the pattern's topic), most first")
    tool: str | None = Field(None, description="for tool_use patterns: the tool they concern")
    runs: list[str] = Field(default_factory=list,
                            description="for tool_use patterns: the evidence runs' ids")
    rates: dict[str, float] = Field(default_factory=dict,
                                    description="for tool_use patterns: the figures behind it")
    description: str | None = Field(None, description="what the theme is, where a model named it")
    theme: str | None = Field(None, description="for patterns about the answers: the lexicon "
                              "theme it is named after, or, named by its words, the one most of "
                              "its items speak of ('accuracy'); the offline proposer's stock "
                              "remedy comes from it")
    theme_ids: list[str] = Field(default_factory=list, description="where the theme is read "
                                 "from only some of its items (a pattern named by its words): "
                                 "the ids of those that speak of it, which a rule from the "
                                 "theme cites; empty where every item counts")
    parts: list[PatternPart] = Field(default_factory=list,
                                     description="the close groups it was merged from, if any")
    state: EvidenceState = "open"
    open_ids: list[str] = Field(default_factory=list,
                                description="evidence not yet cited by an open or approved proposal")

    @property
    def negative(self) -> bool:
        return self.kind != "successful_pattern"

    @property
    def fixable(self) -> bool:
        """True when instructions can address it: a negative pattern about the answers."""
        return self.negative and self.triage == "answers"


def importance(p: Pattern) -> tuple[bool, float, int, str]:
    """The order patterns are shown and used in, most important first: problems before praise
    (praise is most of many products' feedback, and ranked by score alone it filled the first
    lines: 2,648 items of praise above 42 complaints), each by score, then count."""
    return (not p.negative, -p.score, -p.count, p.id)


def topic_tally(patterns: Iterable[Pattern]) -> list[tuple[str, int]]:
    """The product patterns' items per product topic, each under its own topic (see
    ``Pattern.topics``), most first: "pricing, 1,643; crashes and bugs, 401"."""
    topics: dict[str, int] = {}
    for p in patterns:
        if p.triage == "product":
            for topic, count in (p.topics or {p.topic or "other": p.count}).items():
                topics[topic] = topics.get(topic, 0) + count
    return sorted(topics.items(), key=lambda tc: (-tc[1], tc[0]))


def cited_ids(patterns: Iterable[Pattern]) -> list[str]:
    seen: dict[str, None] = {}
    for p in patterns:
        seen.update(dict.fromkeys(p.feedback_ids))
    return list(seen)


class SectionLike(Protocol):
    """What analysis reads of an agent file's section (an ``AgentFile`` section fits)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def rules(self) -> list[str] | None: ...


class AgentLike(Protocol):
    """What analysis reads of an agent file: its sections, to say which one a pattern is about."""

    @property
    def sections(self) -> Sequence[SectionLike]: ...
