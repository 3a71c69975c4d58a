"""``gitimprove review``: the rationale, a diff by section and rule, the evidence, the verdict,
and the exact commands to act on a proposal."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from typing import Any

from gitimprove.errors import GitImproveError
from gitimprove.git import Oid
from gitimprove.instructions.agentfile import AgentFile
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.review.actions import find_proposal, validate_merge


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
    info = find_proposal(repo, spec)
    git = repo.git
    parent = Oid(git.run("rev-parse", f"{info.commit}^1").strip())
    new_at = repo.agent_at(info.agent, info.commit)
    try:
        old_file: AgentFile | None = repo.agent_at(info.agent, parent).file
    except GitImproveError:
        old_file = None
    tip = repo.main_tip()
    data: dict[str, Any] = {
        "id": info.id, "agent": info.agent, "state": info.state, "branch": info.branch,
        "commit": str(info.commit), "author": info.author, "summary": info.summary,
        "message": info.message, "evidence": info.evidence,
        # the fields of the `proposals --json` listing (docs/json.md)
        "created_at": datetime.fromtimestamp(info.time, UTC).isoformat(),
        "evidence_count": len(info.evidence),
        "merge_commit": str(info.merge_commit) if info.merge_commit else None, **info.extra,
        "changes": section_diff(old_file, new_at.file),
        "diff": git.run("diff", f"{parent}", f"{info.commit}", "--", new_at.path),
    }
    if info.state == "open":
        _, violations = validate_merge(repo, tip, info.commit)
        data["stale"] = info.base_commit is not None and info.base_commit != tip
        data["merges_cleanly"] = not any(v.code == "conflict" for v in violations)
        data["verdict"] = "pass" if not violations else "fail"
        data["violations"] = [v.to_json() for v in violations]
        branch = info.branch
        data["commands"] = {
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
    lines += ["", "Changes by section:"]
    for ch in data["changes"]:
        where = ch["section"] + (f" rule {ch['rule']}" if "rule" in ch else "")
        lines.append(f"  [{where}] {ch['change']}")
        if ch.get("old") not in (None, ""):
            lines.append(f"      - {ch['old']}")
        if ch.get("new") not in (None, ""):
            lines.append(f"      + {ch['new']}")
    lines += ["", "Diff:", *[f"  {line}" for line in data["diff"].rstrip().splitlines()]]
    if data["state"] == "open":
        verdict = "passes" if data["verdict"] == "pass" else "FAILS"
        lines += ["", f"Validator: {verdict}"]
        lines += [f"  - {v['message']} ({v['path']})" for v in data["violations"]]
        if data["stale"]:
            lines.append("Main has moved since this was proposed; it "
                         + ("still merges cleanly." if data["merges_cleanly"] else "CONFLICTS."))
        lines += ["", "Next:"] + [f"  {name:<15} {cmd}" for name, cmd in data["commands"].items()]
    return "\n".join(lines)
