"""Shared pieces for the proposal tests: fixed patterns, fixed drafts, git snapshots."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from gitimprove.patterns.model import EvidenceState, Pattern, pattern_id
from gitimprove.proposals.operations import AddRule, Draft, Operation
from gitimprove.proposals.proposers.base import DraftCheck, ProposalRequest, ProposerResult, Usage

from ..conftest import git

AGENT = "product-writer"
MODEL = "claude-test-model-1"
FIXED_USAGE = Usage(1234, 321, 1)


def make_pattern(label: str = "too long / verbose", *, ids: list[str] | None = None,
                 kind: str = "recurring_failure", section: str | None = "style",
                 suggestion: str | None = "Get to the point in the first sentence.",
                 quotes: list[str] | None = None, state: EvidenceState = "open",
                 key: str | None = None, triage: str = "answers", topic: str | None = None,
                 theme: str | None = None) -> Pattern:
    ids = ids if ids is not None else ["fb-0003", "fb-0010", "fb-0042"]
    return Pattern(id=pattern_id(kind, key or label), kind=kind,  # type: ignore[arg-type]
                   label=label, key=key or label, triage=triage, topic=topic,  # type: ignore[arg-type]
                   count=len(ids), share=0.25, score=float(len(ids)),
                   feedback_ids=ids, quotes=quotes or ["Brevity please. This goes on and on.",
                                                       "way too long for a product page"],
                   section=section, suggestion=suggestion, state=state, theme=theme)


class FixedProposer:
    """Stands in for a model: returns the same draft whatever it is asked."""

    name = "fixed"

    def __init__(self, operations: list[Operation], *, model: str = MODEL,
                 summary: str = "Make descriptions shorter",
                 rationale: str = "Users keep saying the descriptions are too long.",
                 usage: Usage = FIXED_USAGE,
                 before_return: Callable[[], None] | None = None) -> None:
        self.model = model
        self.operations = operations
        self.summary = summary
        self.rationale = rationale
        self.usage = usage
        self.before_return = before_return
        self.requests: list[ProposalRequest] = []

    def propose(self, request: ProposalRequest, check: DraftCheck) -> ProposerResult:
        self.requests.append(request)
        draft = Draft(summary=self.summary, rationale=self.rationale, operations=self.operations)
        if self.before_return is not None:
            self.before_return()
        return ProposerResult(draft=draft, proposer=self.name, model=self.model, usage=self.usage)


def sources_pattern(ids: list[str] | None = None, **kw: object) -> Pattern:
    """A pattern the heuristic turns into a rule in every sample agent: the citations theme
    has a stock remedy no sample file says yet."""
    return make_pattern("no sources or citations", ids=ids, key="concept:citations",
                        suggestion=None, quotes=["no sources", "where does this figure come from?",
                                                 "cite something please"], **kw)  # type: ignore[arg-type]


def shorter_rule(pattern: Pattern) -> AddRule:
    return AddRule(section="style", text="Keep every description under 80 words.",
                   reason="Five users said the descriptions run on.",
                   evidence=[pattern.id, *pattern.feedback_ids])


def refs(repo: Path) -> str:
    """Every ref and what it points at (HEAD included)."""
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)") + \
        git(repo, "rev-parse", "HEAD")


def objects(repo: Path) -> set[str]:
    """Every object id in the repository, loose or packed, reachable or not."""
    out = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"],
                         cwd=repo, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def checkout_state(repo: Path) -> tuple[str, str, str]:
    """What a user sees of their checkout: status, HEAD and the index."""
    return (git(repo, "status", "--porcelain", "--untracked-files=all"),
            git(repo, "rev-parse", "HEAD"), git(repo, "ls-files", "-s", "--debug"))


def trailers(repo: Path, commit: str) -> dict[str, list[str]]:
    """Trailers as git itself parses them."""
    out = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", commit)
    parsed: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.strip():
            key, _, value = line.partition(": ")
            parsed.setdefault(key, []).append(value)
    return parsed
