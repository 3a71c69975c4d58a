"""The proposer interface and the bounded view of an agent file a proposer is shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gitimprove.errors import GitImproveError
from gitimprove.instructions.agentfile import AgentFile
from gitimprove.instructions.policy import Limits
from gitimprove.patterns.model import Pattern
from gitimprove.proposals.operations import Draft

# Checks a draft against the file, the protected sections and the policy's limits (the same
# validator that guards the merge). Returns one readable problem per line; empty means valid.
DraftCheck = Callable[[Draft], list[str]]


class ProposerError(GitImproveError):
    """The proposer could not produce a valid draft (bad answers, API failure)."""


class NothingNew(ProposerError):
    """Every open pattern is already covered by the file or by an open proposal."""


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
    pending_rules: list[str] = field(default_factory=list)

    def labelled_file(self) -> str:
        """The agent file with every rule numbered and protected sections marked read-only."""
        lines = [f"agent: {self.file.name}", f"description: {self.file.description}",
                 f"variables (each {{{{name}}}} must stay): {', '.join(self.file.variables) or '-'}",
                 ""]
        for pos, section in enumerate(self.file.sections):
            flag = "  [PROTECTED: read-only, do not change, move or remove]" \
                if section.id in self.protected else ""
            lines.append(f"section {pos}: id={section.id!r} title={section.title!r}{flag}")
            if section.text is not None:
                lines.append("  text: |")
                lines += [f"    {line}" for line in section.text.rstrip().splitlines()]
            for i, rule in enumerate(section.rules or []):
                lines.append(f"  rule {i}: {rule}")
            lines.append("")
        if self.pending_rules:
            lines.append("rules that open proposals already add (under review; do not propose them again):")
            lines += [f"  - {rule}" for rule in self.pending_rules]
            lines.append("")
        return "\n".join(lines)


@dataclass(frozen=True)
class ProposerResult:
    draft: Draft
    proposer: str
    model: str
    usage: Usage = Usage()


class Proposer(Protocol):
    """Turns a request into a draft. ``check`` validates a draft; a proposer may use the
    problems it returns to repair its answer once."""

    name: str
    model: str

    def propose(self, request: ProposalRequest, check: DraftCheck) -> ProposerResult: ...
