"""The proposer interface and the bounded view of an agent file a proposer is shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.instructions.agentfile import AgentFile, guideline_tool
from gitimprove.instructions.policy import Limits
from gitimprove.patterns.model import Pattern
from gitimprove.proposals.operations import Draft
from gitimprove.proposals.rules import Known, PriorRule, example_sections, review_draft, written
from gitimprove.proposals.support import Support
from gitimprove.text import fold

# Checks a draft against the file, the protected sections and the policy's limits (the same
# validator that guards the merge). Returns one readable problem per line; empty means valid.
DraftCheck = Callable[[Draft], list[str]]


class ProposerError(GitImproveError):
    """The proposer could not produce a valid draft (bad answers, API failure)."""


# "Address 8 recurring feedback patterns": a count in a title must be the real count.
_COUNTED = re.compile(r"\b(\d+)\s+(?:[a-z-]+\s+){0,2}?(?:patterns?|changes?|rules?|operations?|"
                      r"edits?|issues?|problems?|fixes|improvements?|themes?)\b", re.I)


def _clause(rule: str) -> str:
    """A tool guideline without its tool's name (``web_search: Use it ...`` -> ``Use it ...``)."""
    return rule.split(":", 1)[1] if guideline_tool(rule) else rule


def _plain(text: str) -> str:
    """A text compared word for word: lower case, letters and digits only, courtesy dropped."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return " ".join(w for w in words if w not in ("pls", "please", "plz", "thanks", "thx"))


@dataclass(frozen=True)
class LeftOut:
    """Something a proposer chose not to propose, and why (shown in the review)."""

    what: str
    why: str
    rejected: bool = False   # skipped because a reviewer rejected it before
    proposal: str | None = None  # the rejected proposal
    reason: str | None = None    # the reviewer's reason
    rolled_back: bool = False    # approved, then rolled back (not rejected)

    def line(self) -> str:
        return f"{self.what}: {self.why}"


def left_out_summary(left_out: list[LeftOut], *, example: bool = True) -> str:
    """One sentence: how much was left out, what was skipped as rejected before, one example
    (not with ``example=False``, where each is listed after it)."""
    if not left_out:
        return "nothing left out"
    rejected = [lo for lo in left_out if lo.rejected]
    parts = [f"{len(left_out)} pattern(s) left out"]
    if rejected:
        by: dict[tuple[str | None, str | None], int] = {}
        for lo in rejected:
            by[(lo.proposal, lo.reason)] = by.get((lo.proposal, lo.reason), 0) + 1
        said = ", ".join(f"{n} in {pid}" + (f' ("{reason}")' if reason else "")
                         for (pid, reason), n in list(by.items())[:3])
        back = sum(lo.rolled_back for lo in rejected)
        verb = ("rejected" if not back else "rolled back" if back == len(rejected)
                else "rejected or rolled back")
        parts.append(f"{len(rejected)} skipped because a reviewer {verb} the same rule before "
                     f"({said})")
    other = next((lo for lo in left_out if not lo.rejected), None)
    if other is not None and example:
        parts.append(f"e.g. {other.line()}")
    return "; ".join(parts)


def left_out_lines(left_out: list[LeftOut], *, shown: int | None = None,
                   quote: Callable[[str], str] = str) -> list[str]:
    """What was left out, one line per reason: ``what: why``, or for a reason several
    patterns share, ``why (N patterns): what, what, ...`` (the first ``shown`` of them, where
    given): twenty product patterns are one line about the product, not twenty. Each what and
    why is written as ``quote`` makes it."""
    by: dict[str, list[str]] = {}
    for lo in left_out:
        by.setdefault(quote(lo.why), []).append(quote(lo.what))
    return [f"{whats[0]}: {why}" if len(whats) == 1 else
            f"{why} ({len(whats)} patterns): "
            f"{fold(whats, shown) if shown is not None else ', '.join(whats)}"
            for why, whats in by.items()]


class NothingNew(ProposerError):
    """Every open pattern is already covered by the file or by an open proposal."""

    def __init__(self, message: str, *, hint: str | None = None,
                 left_out: list[LeftOut] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.left_out = left_out or []


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens,
                     self.output_tokens + other.output_tokens, self.requests + other.requests)


@dataclass(frozen=True)
class ProposalRequest:
    """Everything a proposer may see. Its size does not grow with the amount of feedback."""

    agent: str
    file: AgentFile
    protected: list[str]
    limits: Limits
    patterns: list[Pattern]
    max_quotes: int = 4
    notes: list[str] = field(default_factory=list)
    variable_syntax: str = "{{name}}"  # how the agent's file format writes a variable
    pending_rules: list[str] = field(default_factory=list)
    # Rules of open proposals (with their proposal) and of rejected ones (with the reason).
    pending: list[PriorRule] = field(default_factory=list)
    rejected: list[PriorRule] = field(default_factory=list)
    # Distinct users and runs behind each pattern (by pattern id), and their shared wordings.
    support: dict[str, Support] = field(default_factory=dict)
    min_users: int = 3
    min_runs: int = 3
    wording_min_users: int = 3
    # Agents the same command asks about after this one: a model's requests can be counted out
    # ("request 1 of at most 4") before they are made.
    agents_after: int = 0

    @property
    def known(self) -> Known:
        """What a draft is judged against besides the file."""
        pending = [*self.pending, *(PriorRule(r, "", "an open proposal") for r in self.pending_rules
                                    if not any(p.text == r for p in self.pending))]
        return Known(pending=pending, rejected=list(self.rejected))

    def review(self, draft: Draft, *, for_model: bool = False) -> list[str]:
        """A careful editor's objections to a draft (:func:`~gitimprove.proposals.rules.review_draft`),
        and operations whose evidence lacks support: patterns not in this request, or with
        fewer distinct users or runs than the policy asks for a rule."""
        problems = review_draft(self.file, draft, self.known, for_model=for_model)
        for m in _COUNTED.finditer(draft.summary):
            if int(m.group(1)) != len(draft.operations):
                problems.append(f"summary: it says {m.group(0)!r} but the draft has "
                                f"{len(draft.operations)} operation(s); name what changes instead "
                                "(e.g. 'Tighten the length rule; add a call to action')")
        shown = {p.id for p in self.patterns if p.fixable}
        for n, op in enumerate(draft.operations, 1):
            cited = [e for e in op.evidence if e.startswith("pat-")]
            unknown = [e for e in cited if e not in shown]
            if unknown:
                problems.append(f"operation {n} ({op.op}): cites {', '.join(unknown[:3])}, which "
                                "is not among the problem patterns shown; cite only those")
                continue
            backed = [self.support[e] for e in cited if e in self.support]
            if backed and len(backed) == len(cited) and not any(
                    s.users >= self.min_users and s.runs >= self.min_runs for s in backed):
                best = max(backed, key=lambda s: (s.users, s.runs))
                problems.append(f"operation {n} ({op.op}): its patterns have at most {best.users} "
                                f"distinct users in {best.runs} runs; a rule needs at least "
                                f"{self.min_users} users and {self.min_runs} runs: leave it out")
                continue
            copied = next((q for t in written(op) for q in self._lone_words()
                           if _plain(q) in (_plain(t), _plain(_clause(t)))), None)
            if copied is not None:
                problems.append(f"operation {n} ({op.op}): copies one user's words ({copied[:90]!r}) "
                                "as the rule; quote them in the reason and write the rule from what "
                                "several users agree on")
        return problems

    def _lone_words(self) -> list[str]:
        """Users' words shown with the patterns that fewer than ``wording_min_users`` users share
        (only where the support is known: without records, nobody can tell)."""
        shared = [w.text for s in self.support.values() for w in s.wordings
                  if w.users >= self.wording_min_users]
        # NOTE: a tool_use pattern's suggestion is a stock guideline unless a user's correction
        # made it, and that correction is among its quotes and wordings: the stock text is ours.
        said = [t for p in self.patterns if p.fixable and p.id in self.support
                for t in [*p.quotes, *(w.text for w in self.support[p.id].wordings),
                          "" if p.kind == "tool_use" else p.suggestion or ""] if t]
        return [t for t in said if not any(_plain(t) == _plain(w) for w in shared)]

    def labelled_file(self) -> str:
        """The agent file with every rule numbered and protected sections marked read-only."""
        lines = [f"agent: {self.file.name}", f"description: {self.file.description}",
                 f"variables (each written {self.variable_syntax} must stay; use no other): "
                 f"{', '.join(self.file.variables) or '-'}",
                 ""]
        examples = example_sections(self.file)
        for pos, section in enumerate(self.file.sections):
            flag = ("  [PROTECTED: read-only, do not change, move or remove]"
                    if section.id in self.protected else
                    "  [worked examples: a rule here would read as part of one]"
                    if section.id in examples else "")
            under = f" under={section.parent!r}" if section.parent is not None else ""
            lines.append(f"section {pos}: id={section.id!r} title={section.title!r}{under}{flag}")
            if section.text is not None:
                lines.append("  text: |")
                lines += [f"    {line}" for line in section.text.rstrip().splitlines()]
            for i, rule in enumerate(section.rules or []):
                lines.append(f"  rule {i}: {rule}")
            lines.append("")
        return "\n".join(lines)


@dataclass(frozen=True)
class ProposerResult:
    draft: Draft
    proposer: str
    model: str
    usage: Usage = Usage()
    left_out: list[LeftOut] = field(default_factory=list)


class Proposer(Protocol):
    """Turns a request into a draft. ``check`` validates a draft; a proposer may use the
    problems it returns to repair its answer once.

    A proposer is given the first ``proposer.max_patterns`` open patterns, which bounds a
    model's prompt; one that sets ``reads_every_pattern = True`` (the offline proposer, which
    sends no prompt) is given every one."""

    name: str
    model: str

    def propose(self, request: ProposalRequest, check: DraftCheck) -> ProposerResult: ...
