"""The offline proposer: deterministic, no key, no model.

It turns consistent corrections and recurring failures into rules, in the words users used,
placed in the section the pattern concerns, and skips a rule the file already has. It is
honest about what it is: commits name ``gitimprove-heuristic`` as their author."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gitimprove.instructions.agentfile import (
    TOOLS_SECTION,
    TOOLS_TITLE,
    guideline_tool,
    tool_guidelines,
)
from gitimprove.instructions.policy import ProposerSettings
from gitimprove.patterns.model import Pattern
from gitimprove.proposals.operations import AddRule, AddSection, Draft, Operation, UpdateRule
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


def _op_tools(op: Operation) -> set[str]:
    """The tools whose guidelines an operation of this draft adds or tightens."""
    if isinstance(op, AddRule | UpdateRule) and op.section == TOOLS_SECTION:
        texts = [op.text]
    elif isinstance(op, AddSection) and op.id == TOOLS_SECTION:
        texts = list(op.rules or [])
    else:
        return set()
    return {t for t in map(guideline_tool, texts) if t is not None}


class HeuristicProposer:
    """Rules from patterns, deterministically."""

    name = "heuristic"
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

    def _tool_guideline(self, request: ProposalRequest, pattern: Pattern,
                        ops: list[Operation], existing: list[str]
                        ) -> tuple[Operation, int, Operation | None] | None:
        """Add or tighten the pattern's tool guideline in the ``tools`` section (creating the
        section when the file has none): the operation, the characters it adds and the
        operation of this draft it replaces (extended), or None when the file or the draft
        already says it, or the section is protected."""
        tool = pattern.tool or ""
        text = " ".join((pattern.suggestion or "").split()) or f"{tool}: {_PREFIX}{pattern.label}"
        if guideline_tool(text) != tool:
            text = f"{tool}: {text}"
        text = text if text.endswith((".", "!", "?")) else text + "."
        clause = text.split(":", 1)[1].strip()
        # One edit per tool and draft: a second pattern about the same tool is cited by it.
        if any(tool in _op_tools(op) for op in ops):
            return None
        if TOOLS_SECTION in request.protected:
            return None
        evidence = [pattern.id, *(pattern.open_ids or pattern.feedback_ids)]
        reason = f"{pattern.count} runs rated down ({pattern.share:.0%}): {pattern.label}"
        section = request.file.section(TOOLS_SECTION)
        if section is None:
            new = next((op for op in ops if isinstance(op, AddSection)), None)
            if new is not None:  # this draft adds the section already: one more guideline
                if any(_same_rule(text, r) for r in new.rules or []):
                    return None
                merged = new.model_copy(update={"rules": [*(new.rules or []), text],
                                                "evidence": [*new.evidence, *evidence],
                                                "reason": f"{new.reason}; {reason}"[:2000]})
                return merged, len(text) + 2, new
            first_protected = next((i for i, s in enumerate(request.file.sections)
                                    if s.id in request.protected), None)
            return (AddSection(id=TOOLS_SECTION, title=TOOLS_TITLE, rules=[text],
                               position=first_protected, evidence=evidence, reason=reason),
                    len(TOOLS_TITLE) + len(text) + 6, None)
        rules = section.rules or []
        found = tool_guidelines(request.file).get(tool)
        if not found:
            if any(_same_rule(text, r) for r in existing):
                return None
            return (AddRule(section=TOOLS_SECTION, text=text, evidence=evidence, reason=reason),
                    len(text) + 2, None)
        index = found[0]
        current = rules[index]
        said = current.split(":", 1)[1]
        if _same_rule(clause, said) or any(_same_rule(text, r) for r in request.pending_rules):
            return None
        tightened = f"{current.rstrip()} {clause}"
        return (UpdateRule(section=TOOLS_SECTION, index=index, text=tightened, evidence=evidence,
                           reason=reason), len(clause) + 1, None)

    def propose(self, request: ProposalRequest, check: DraftCheck) -> ProposerResult:
        limits = request.limits
        existing = [r for s in request.file.sections for r in (s.rules or [])] + request.pending_rules
        ops: list[Operation] = []
        used: list[Pattern] = []
        budget = limits.max_added_chars
        for pattern in request.patterns:
            if not pattern.negative or pattern.state != "open":
                continue
            if pattern.kind == "tool_use" and pattern.tool:
                found = self._tool_guideline(request, pattern, ops, existing)
                if found is None:
                    twin = next((n for n, op in enumerate(ops)
                                 if pattern.tool in _op_tools(op)), None)
                    if twin is not None:  # cite the pattern on this draft's edit of that tool
                        ops[twin] = ops[twin].model_copy(update={"evidence": [
                            *ops[twin].evidence, pattern.id,
                            *(pattern.open_ids or pattern.feedback_ids)]})
                        used.append(pattern)
                    continue
                op, cost, replaces = found
                if (replaces is None and len(ops) >= limits.max_operations) or cost > budget:
                    continue
                budget -= cost
                if replaces is None:
                    ops.append(op)
                else:
                    ops[ops.index(replaces)] = op
                used.append(pattern)
                continue
            section = self._section_for(request, pattern)
            text = _rule_text(pattern)
            twin = next((n for n, op in enumerate(ops)
                         if isinstance(op, AddRule) and _same_rule(text, op.text)), None)
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
