"""The heuristic proposer as it was before proposals were checked like a careful editor's
edits: kept only so that ``python -m benchmarks proposal_quality`` can print its figures beside
today's. Not used by gitimprove."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gitimprove.instructions.policy import ProposerSettings
from gitimprove.patterns.model import Pattern
from gitimprove.proposals.operations import AddRule, Draft
from gitimprove.proposals.proposers.base import (
    DraftCheck,
    NothingNew,
    ProposalRequest,
    ProposerError,
    ProposerResult,
    Usage,
)

if TYPE_CHECKING:
    from gitimprove.patterns.lexicon import Concept

_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(["a", "an", "the", "and", "or", "to", "of", "in", "on", "for", "with", "is", "are", "be", "it", "its", "this", "that", "you", "your", "always", "never", "do", "not", "don't", "should", "must", "please"])
_STYLE_HINTS = ("style", "tone", "format", "voice", "writing", "process", "method")
_PREFIX = "Avoid what users keep reporting: "


def _same_rule(a: str, b: str) -> bool:
    # NOTE: the boilerplate prefix alone would make every label-based rule "similar".
    return similar(a.removeprefix(_PREFIX), b.removeprefix(_PREFIX))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def similar(a: str, b: str, threshold: float = 0.5) -> bool:
    """Whether two rules say much the same thing (word overlap)."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    return len(wa & wb) / min(len(wa), len(wb)) >= threshold


def _concept(key: str) -> Concept | None:
    from gitimprove.patterns.lexicon import CONCEPTS

    name = key.removeprefix("concept:")
    return next((c for c in CONCEPTS if c.key == name), None) if key.startswith("concept:") else None


def _rule_text(pattern: Pattern) -> str:
    if pattern.suggestion:
        text = pattern.suggestion.strip()
    elif pattern.kind == "consistent_correction" and pattern.quotes:
        text = pattern.quotes[0].strip()
    elif (concept := _concept(pattern.key)) is not None:
        # The theme's own remedy ("end with a call to action"), not a restated complaint.
        text = concept.correction
    else:
        text = f"{_PREFIX}{pattern.label}"
    text = " ".join(text.split())
    text = text[0].upper() + text[1:] if text else text
    return text if text.endswith((".", "!", "?")) else text + "."


class BaselineHeuristicProposer:
    """Rules from patterns, deterministically."""

    name = "heuristic"  # the author it names in commits, as before
    model = "heuristic"

    def __init__(self, settings: ProposerSettings | None = None) -> None:
        self.settings = settings or ProposerSettings()

    def _section_for(self, request: ProposalRequest, pattern: Pattern) -> str | None:
        editable = [s for s in request.file.sections if s.id not in request.protected]
        if not editable:
            return None
        if pattern.section and any(s.id == pattern.section for s in editable):
            return pattern.section
        with_rules = [s for s in editable if s.rules]
        for s in with_rules:
            if any(h in f"{s.id} {s.title or ''}".lower() for h in _STYLE_HINTS):
                return s.id
        return (with_rules or editable)[0].id

    def propose(self, request: ProposalRequest, check: DraftCheck) -> ProposerResult:
        limits = request.limits
        existing = [r for s in request.file.sections for r in (s.rules or [])] + request.pending_rules
        ops: list[AddRule] = []
        used: list[Pattern] = []
        budget = limits.max_added_chars
        for pattern in request.patterns:
            if not pattern.negative or pattern.state != "open":
                continue
            section = self._section_for(request, pattern)
            text = _rule_text(pattern)
            twin = next((n for n, op in enumerate(ops) if _same_rule(text, op.text)), None)
            if twin is not None:
                # The rule this draft already adds answers this pattern too: cite it there, so
                # its feedback is pending and the next run does not propose the same rule again.
                ops[twin] = ops[twin].model_copy(update={"evidence": [
                    *ops[twin].evidence, pattern.id, *(pattern.open_ids or pattern.feedback_ids)]})
                used.append(pattern)
                continue
            if len(ops) >= limits.max_operations:
                continue
            if section is None or any(_same_rule(text, r) for r in existing):
                continue
            if len(text) + 2 > budget:
                continue
            budget -= len(text) + 2
            existing.append(text)
            evidence = [pattern.id, *(pattern.open_ids or pattern.feedback_ids)]
            ops.append(AddRule(section=section, text=text, evidence=evidence,
                               reason=f"{pattern.count} feedback items ({pattern.share:.0%}): "
                                      f"{pattern.label}"))
            used.append(pattern)
        if not ops:
            raise NothingNew("every open pattern is already covered by a similar rule in the file "
                             "or in an open proposal",
                             hint="review the open proposals, or edit the agent by hand")
        labels = ", ".join(p.label for p in used)
        draft = Draft(
            summary=f"Address {len(used)} recurring feedback pattern{'s' if len(used) > 1 else ''}"[:200],
            rationale=(f"Users repeatedly raised: {labels}. Each new rule states, in the users' own "
                       "words, what they asked for, in the section it concerns. Proposed offline by "
                       "the heuristic proposer (no language model)."),
            operations=[*ops],
        )
        problems = check(draft)
        if problems:
            raise ProposerError("the heuristic draft does not pass the validator: " + "; ".join(problems))
        return ProposerResult(draft=draft, proposer=self.name, model=self.model, usage=Usage())
