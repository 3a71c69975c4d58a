"""``gitimprove review``: the rationale, a diff by section and rule, the evidence, the verdict,
and the exact commands to act on a proposal."""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict
from typing import Any, Literal

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.evaluation import examples
from gitimprove.evaluation.check import EvaluationStatus, evaluation_status, status_lines
from gitimprove.instructions.agentfile import AgentFile
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.ledger import Proposal, ProposalContent, ProposalState
from gitimprove.review.actions import Status, Verdict, find_proposal, judge
from gitimprove.text import rule_number

ChangeKind = Literal["section removed", "section added", "title changed", "text changed",
                     "protected flag changed", "rule reworded", "rule removed", "rule added"]
# The keys each kind of change carries after ``section`` and ``change`` (docs/json.md).
_CHANGE_KEYS: dict[str, tuple[str, ...]] = {
    "section removed": (), "section added": ("title", "text", "rules"),
    "title changed": ("old", "new"), "text changed": ("old", "new"),
    "protected flag changed": ("old", "new"), "rule reworded": ("rule", "old", "new"),
    "rule removed": ("rule", "old"), "rule added": ("rule", "new"),
}


@dataclass(frozen=True)
class SectionChange:
    """One change by section and rule, as a reviewer reads it."""

    section: str
    change: ChangeKind
    rule: int | None = None
    old: str | bool | None = None
    new: str | bool | None = None
    title: str | None = None
    text: str | None = None
    rules: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"section": self.section, "change": self.change,
                **{key: getattr(self, key) for key in _CHANGE_KEYS[self.change]}}


def section_diff(old: AgentFile | None, new: AgentFile) -> list[SectionChange]:
    """Changes by section and rule, as a reviewer reads them."""
    changes: list[SectionChange] = []
    old_sections = {s.id: s for s in (old.sections if old else [])}
    new_ids = new.section_ids
    for sid in old_sections:
        if sid not in new_ids:
            changes.append(SectionChange(sid, "section removed"))
    for section in new.sections:
        before = old_sections.get(section.id)
        sid = section.id
        if before is None:
            changes.append(SectionChange(sid, "section added", title=section.title,
                                         text=section.text, rules=list(section.rules or [])))
            continue
        if before.title != section.title:
            changes.append(SectionChange(sid, "title changed", old=before.title, new=section.title))
        if before.text != section.text:
            changes.append(SectionChange(sid, "text changed", old=before.text, new=section.text))
        if before.protected != section.protected:
            changes.append(SectionChange(sid, "protected flag changed", old=before.protected,
                                         new=section.protected))
        a, b = before.rules or [], section.rules or []
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:
                changes += [SectionChange(sid, "rule reworded", rule=i1 + k, old=a[i1 + k],
                                          new=b[j1 + k]) for k in range(i2 - i1)]
                continue
            changes += [SectionChange(sid, "rule removed", rule=k, old=a[k]) for k in range(i1, i2)]
            changes += [SectionChange(sid, "rule added", rule=k, new=b[k]) for k in range(j1, j2)]
    return changes


@dataclass(frozen=True)
class EditDiff:
    """A commit a person added on top of the model's, with its diff."""

    commit: str
    author: str
    summary: str
    diff: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Review:
    """The review screen's data: the proposal as a whole, the model's own change and the
    commits people added on top, apart and with their authors; for an open proposal the
    verdict, the evaluation and the commands to act on it."""

    proposal: Proposal
    changes: list[SectionChange]
    diff: str
    edits: list[EditDiff]
    model_diff: str | None = None
    verdict: Verdict | None = None
    evaluation: EvaluationStatus | None = None
    commands: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.proposal.id

    @property
    def agent(self) -> str:
        return self.proposal.agent

    def to_json(self) -> dict[str, Any]:
        """The shape docs/json.md documents for `review --json`."""
        p = self.proposal
        data: dict[str, Any] = {
            **Status(p, None).to_json(),  # the fields of the `proposals --json` listing
            "message": p.message, "evidence": p.evidence,
            "changes": [c.to_json() for c in self.changes], "diff": self.diff,
            "edits": [e.to_json() for e in self.edits],
        }
        if self.model_diff is not None:
            data["model_diff"] = self.model_diff
        if self.verdict is not None:
            data.update(self.verdict.to_json())
        if self.evaluation is not None:
            data["evaluation"] = self.evaluation.to_json()
        if self.commands:
            data["commands"] = self.commands
        return data


def review_data(repo: InstructionRepo, spec: str) -> Review:
    """The review screen's data (its JSON: :meth:`Review.to_json`, docs/json.md)."""
    info = find_proposal(repo, spec)
    git = repo.git
    model = info.commit
    parent = model.parents[0]
    new_at = repo.agent_at(info.agent, info.head)
    try:
        old_file: AgentFile | None = repo.agent_at(info.agent, parent).file
    except GitImproveError:
        old_file = None
    review = Review(
        info, section_diff(old_file, new_at.file),
        git.run("diff", parent, info.head, "--", new_at.path),
        [EditDiff(str(e.commit), e.author, e.summary, git.run("diff", f"{e.commit}^", e.commit, "--"))
         for e in info.edits])
    if info.edits:
        review.model_diff = git.run("diff", parent, model.oid, "--", new_at.path)
    if info.state == ProposalState.OPEN:
        review.verdict = judge(repo, info)
        status = evaluation_status(repo, repo.main_tip(), info.head, proposal=info.id,
                                   agent=info.agent)
        if status.record is not None:
            status.examples = examples.load(git, status.record.commit)
        review.evaluation = status
        branch = info.branch
        review.commands = {
            "evaluate": f"gitimprove evaluate {info.id}",
            **_trial_command(repo, info),
            "approve": f"gitimprove approve {info.id}",
            "reject": f'gitimprove reject {info.id} --reason "..."',
            "inspect": f"git log -p {repo.branch}..{branch}",
            "diff": f"git diff {repo.branch}...{branch}",
            "merge_with_git": f"git checkout {repo.branch} && git merge --no-ff {branch}",
        }
    return review


def _trial_command(repo: InstructionRepo, info: Proposal) -> dict[str, str]:
    """Evidence without a model, what users say of the proposal beside live
    (docs/trials.md): how to start its trial, or to read the one running; nothing where the
    policy allows none or another proposal's trial holds the agent (one per agent)."""
    trials = repo.policy_at(repo.main_tip()).trials
    try:
        running = repo.running_trial(info.agent)
    except GitImproveError:  # the agent is gone from main, or its file does not load
        return {}
    if running is not None and running.proposal == info.id:
        return {"trial": f"gitimprove trial status {info.agent}"}
    if not trials.allowed or running is not None:
        return {}
    return {"trial": f"gitimprove trial start {info.id} --share "
                     f"{min(0.1, trials.max_share) * 100:g}%"}


FOLD_AFTER = 6
_LIST_LINE = re.compile(r"\A([A-Z][A-Za-z-]*: )([^\s,]+(?:,[^\s,]+)+)\Z")


def fold_list(line: str, where: str = "review --json, git log") -> str:
    """A trailer line listing ids (``Gitimprove-Patterns: pat-1,pat-2``) with a space after
    each comma, so that a narrow terminal wraps it between ids, not inside one; a list of
    many (``Gitimprove-Evidence: fb-1,fb-2,...``) shortened to its first few (the full list:
    ``where``)."""
    match = _LIST_LINE.match(line)
    if match is None:
        return line
    items = match.group(2).split(",")
    if len(items) <= FOLD_AFTER:
        return f"{match.group(1)}{', '.join(items)}"
    return (f"{match.group(1)}{', '.join(items[:FOLD_AFTER])} and {len(items) - FOLD_AFTER} "
            f"more (all: {where})")


def message_text(message: str, where: tuple[str, ...] = ("review --json", "git log")
                 ) -> list[str]:
    """A proposal's commit message for people: the content block one line saying where to
    read it, long lists of ids folded (the full text: the commands ``where``)."""
    folded = ProposalContent.folded(message, where=", ".join(f"`{w}`" for w in where))
    return [fold_list(line, ", ".join(where)) for line in folded.rstrip().splitlines()]


def review_text(review: Review) -> str:
    info = review.proposal
    lines = [f"Proposal {info.id} for {info.agent} ({info.state.value}), by {info.author}",
             f"branch: {info.branch or '(removed; its commit stays in git)'}  "
             f"commit: {info.commit.oid[:10]}", ""]
    lines += [f"  {line}" for line in message_text(info.message)]
    if review.edits:
        lines += ["", "The model's change:",
                  *[f"  {line}" for line in (review.model_diff or "").rstrip().splitlines()],
                  "", "Commits people added on top:"]
        for e in review.edits:
            lines.append(f"  {e.commit[:10]} by {e.author}: {e.summary}")
            lines += [f"    {line}" for line in e.diff.rstrip().splitlines()]
    lines += ["", "Changes by section:"]
    for ch in review.changes:
        where = ch.section + (f" {rule_number(ch.rule)}" if ch.rule is not None else "")
        lines.append(f"  [{where}] {ch.change}" + (f" ({ch.title})" if ch.title else ""))
        # a section added: what it says, as a rule added shows its text
        lines += [f"      + {line}" for piece in (ch.text or "", *ch.rules)
                  for line in piece.splitlines() if line.strip()]
        if ch.old not in (None, ""):
            lines.append(f"      - {ch.old}")
        if ch.new not in (None, ""):
            lines.append(f"      + {ch.new}")
    title = "Diff (everything a merge brings):" if review.edits else "Diff:"
    lines += ["", title, *[f"  {line}" for line in review.diff.rstrip().splitlines()]]
    verdict, evaluation = review.verdict, review.evaluation
    if verdict is not None and evaluation is not None:
        lines += ["", f"Validator: {'passes' if verdict.passed else 'FAILS'}"]
        lines += [f"  - {v.message} ({v.path})" for v in verdict.violations]
        if verdict.stale:
            lines.append("Main has moved since this was proposed; it "
                         + ("still merges cleanly." if verdict.merges_cleanly else "CONFLICTS."))
        lines += ["", *status_lines(evaluation)]
        if evaluation.examples:
            lines.append("  Examples (kept on this machine only):")
            lines += [f"  {line}" for line in examples.lines(evaluation.examples)]
        lines += ["", "Next:"] + [f"  {name:<15} {cmd}" for name, cmd in review.commands.items()]
    return "\n".join(lines)
