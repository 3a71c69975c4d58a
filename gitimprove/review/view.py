"""``gitimprove review``: the rationale, a diff by section and rule, the evidence, the verdict,
and the exact commands to act on a proposal."""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict
from typing import Any

from gitimprove.errors import GitImproveError
from gitimprove.evaluation import examples
from gitimprove.evaluation.check import evaluation_status, status_lines
from gitimprove.git import Oid
from gitimprove.instructions.agentfile import AgentFile
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.ledger import ProposalState
from gitimprove.review.actions import Status, find_proposal, judge


def section_diff(old: AgentFile | None, new: AgentFile) -> list[dict[str, Any]]:
    """Changes by section and rule, as a reviewer reads them."""
    changes: list[dict[str, Any]] = []
    old_sections = {s.id: s for s in (old.sections if old else [])}
    new_ids = new.section_ids
    for sid in old_sections:
        if sid not in new_ids:
            changes.append({"section": sid, "change": "section removed"})
    for section in new.sections:
        before = old_sections.get(section.id)
        if before is None:
            changes.append({"section": section.id, "change": "section added",
                            "title": section.title, "text": section.text, "rules": section.rules or []})
            continue
        if before.title != section.title:
            changes.append({"section": section.id, "change": "title changed",
                            "old": before.title, "new": section.title})
        if before.text != section.text:
            changes.append({"section": section.id, "change": "text changed",
                            "old": before.text, "new": section.text})
        if before.protected != section.protected:
            changes.append({"section": section.id, "change": "protected flag changed",
                            "old": before.protected, "new": section.protected})
        a, b = before.rules or [], section.rules or []
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:
                for k in range(i2 - i1):
                    changes.append({"section": section.id, "change": "rule reworded", "rule": i1 + k,
                                    "old": a[i1 + k], "new": b[j1 + k]})
                continue
            for k in range(i1, i2):
                changes.append({"section": section.id, "change": "rule removed", "rule": k, "old": a[k]})
            for k in range(j1, j2):
                changes.append({"section": section.id, "change": "rule added", "rule": k, "new": b[k]})
    return changes


def review_data(repo: InstructionRepo, spec: str) -> dict[str, Any]:
    """The review screen's data (shape: docs/json.md): the proposal as a whole, the model's
    own change and the commits people added on top, apart and with their authors."""
    info = find_proposal(repo, spec)
    git = repo.git
    model = info.commit
    parent = model.parents[0]
    new_at = repo.agent_at(info.agent, info.head)
    try:
        old_file: AgentFile | None = repo.agent_at(info.agent, parent).file
    except GitImproveError:
        old_file = None
    data: dict[str, Any] = {
        **Status(info, None).to_json(),  # the fields of the `proposals --json` listing
        "message": info.message, "evidence": info.evidence,
        "changes": section_diff(old_file, new_at.file),
        "diff": git.run("diff", parent, info.head, "--", new_at.path),
        "edits": [{"commit": str(e.commit), "author": e.author, "summary": e.summary,
                   "diff": git.run("diff", f"{e.commit}^", e.commit, "--")} for e in info.edits],
    }
    if info.edits:
        data["model_diff"] = git.run("diff", parent, model.oid, "--", new_at.path)
    if info.state == ProposalState.OPEN:
        data.update(judge(repo, info).to_json())
        data["evaluation"] = evaluation_status(repo, repo.main_tip(), info.head,
                                               proposal=info.id, agent=info.agent)
        if data["evaluation"].get("record"):
            data["evaluation"]["examples"] = [
                asdict(e) for e in examples.load(git, Oid(data["evaluation"]["record"]))]
        branch = info.branch
        data["commands"] = {
            "evaluate": f"gitimprove evaluate {info.id}",
            "approve": f"gitimprove approve {info.id}",
            "reject": f'gitimprove reject {info.id} --reason "..."',
            "inspect": f"git log -p {repo.branch}..{branch}",
            "diff": f"git diff {repo.branch}...{branch}",
            "merge_with_git": f"git checkout {repo.branch} && git merge --no-ff {branch}",
        }
    return data


FOLD_AFTER = 6
_LIST_LINE = re.compile(r"\A([A-Z][A-Za-z-]*: )([^\s,]+(?:,[^\s,]+){6,})\Z")


def fold_list(line: str) -> str:
    """A trailer line listing many ids (``Gitimprove-Evidence: fb-1,fb-2,...``) shortened to
    its first few; the full list is in ``review --json`` and in ``git log``."""
    match = _LIST_LINE.match(line)
    if match is None:
        return line
    items = match.group(2).split(",")
    return (f"{match.group(1)}{', '.join(items[:FOLD_AFTER])} and {len(items) - FOLD_AFTER} "
            "more (all: review --json, git log)")


def review_text(data: dict[str, Any]) -> str:
    lines = [f"Proposal {data['id']} for {data['agent']} ({data['state']}), by {data['author']}",
             f"branch: {data['branch']}  commit: {data['commit'][:10]}", ""]
    lines += [f"  {fold_list(line)}" for line in data["message"].rstrip().splitlines()]
    if data["edits"]:
        lines += ["", "The model's change:",
                  *[f"  {line}" for line in data["model_diff"].rstrip().splitlines()],
                  "", "Commits people added on top:"]
        for e in data["edits"]:
            lines.append(f"  {e['commit'][:10]} by {e['author']}: {e['summary']}")
            lines += [f"    {line}" for line in e["diff"].rstrip().splitlines()]
    lines += ["", "Changes by section:"]
    for ch in data["changes"]:
        where = ch["section"] + (f" rule {ch['rule']}" if "rule" in ch else "")
        lines.append(f"  [{where}] {ch['change']}")
        if ch.get("old") not in (None, ""):
            lines.append(f"      - {ch['old']}")
        if ch.get("new") not in (None, ""):
            lines.append(f"      + {ch['new']}")
    title = "Diff (everything a merge brings):" if data["edits"] else "Diff:"
    lines += ["", title, *[f"  {line}" for line in data["diff"].rstrip().splitlines()]]
    if data["state"] == "open":
        verdict = "passes" if data["verdict"] == "pass" else "FAILS"
        lines += ["", f"Validator: {verdict}"]
        lines += [f"  - {v['message']} ({v['path']})" for v in data["violations"]]
        if data["stale"]:
            lines.append("Main has moved since this was proposed; it "
                         + ("still merges cleanly." if data["merges_cleanly"] else "CONFLICTS."))
        lines += ["", *status_lines(data["evaluation"], data["id"])]
        shown = data["evaluation"].get("examples")
        if shown:
            lines.append("  Examples (kept on this machine only):")
            lines += [f"  {line}" for line in examples.lines([examples.Example(**e) for e in shown])]
        lines += ["", "Next:"] + [f"  {name:<15} {cmd}" for name, cmd in data["commands"].items()]
    return "\n".join(lines)
