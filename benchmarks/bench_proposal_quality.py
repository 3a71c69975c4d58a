"""Benchmark: the quality of what the heuristic proposer proposes, per feedback set, beside the
same figures for the heuristic as it was before (``benchmarks/baseline_heuristic.py``).

Sets: the three sample agents with ``sample_repo/feedback.jsonl``, and, where their converted
JSONL is on this machine (``$GITIMPROVE_BENCH_DATA``, ``/work/data/feedback`` or the cache of
``benchmarks/data/sources.py``), real feedback on a general assistant: one- and two-star App
Store reviews of the ChatGPT iOS app and Google Play reviews of Wysa (a mental-health
chatbot), and Shepherd's human critiques of model answers.

Per set and proposer:

- ``ops``: operations proposed (``add``/``upd``: rules added, rules reworded);
- ``dup``: rules written that repeat a rule of the file (or of the same draft);
- ``contra``: rules written that contradict another rule or sentence of the resulting file;
- ``vague``: added rules that are relative or empty ("Make it shorter and more concise.");
- ``lone``: rules that copy the wording of fewer than 3 users word for word;
- ``product``: share of the evidence behind the rules that is about the product, not the
  answers (hand labels where the set has them, else a keyword estimate marked ``~``);
  ``mostly``: rules whose evidence is more than half about the product;
- ``users``: distinct users behind each rule (min / median).

Duplicates and contradictions are judged with :mod:`gitimprove.proposals.rules`, the checks the
proposers themselves use, so the figures say what the checks let through, not a second opinion.
Run: ``python -m benchmarks proposal_quality``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LABELS = Path(__file__).resolve().parent / "data" / "labels" / "chatgpt_ios_reviews.json"
# Labelled review themes that are about the answers; every other label is about the product.
ANSWER_LABELS = {"wrong_answers", "weak_answers", "refusal", "outdated", "answers", "length",
                 "quality", "accuracy"}
_PRODUCT_WORDS = re.compile(
    r"\b(log ?in|sign ?in|sign up|account|subscri\w*|plus|pay\w*|price|money|refund|crash\w*|"
    r"bug\w*|update|ui|button|keyboard|screen|iphone|ipad|android|phone number|verif\w*|"
    r"region|country|available|availability|overheat\w*|battery|hot|history|sync|load\w*|"
    r"network|error|limit\w*|cap|ads?|privacy|data|voice|microphone|download|install\w*|"
    r"widget|dark mode|font|notification\w*)\b", re.I)

ASSISTANT = """\
name: assistant
description: A general assistant that answers questions in a chat app.
variables: []
sections:
  - id: role
    title: Role
    text: |
      You answer the user's questions clearly and correctly.
  - id: style
    title: Style
    rules:
      - Keep answers under 200 words unless the user asks for more.
      - Use headings only for answers longer than three paragraphs.
      - End with a one-line summary of the answer.
  - id: reasoning
    title: Reasoning
    rules:
      - Show the steps of every calculation.
      - Check the result against the question before answering.
  - id: safety
    title: Safety
    protected: true
    rules:
      - Do not give medical, legal or financial advice as fact.
"""
POLICY = """\
version: 1
protected_sections: [safety]
limits: {max_operations: 5, max_added_chars: 1500}
feedback: {url: "sqlite:///.gitimprove/feedback.db"}
"""


@dataclass
class Feedback:
    """A set: the records to import, and which record ids are about the product."""

    name: str
    agents: list[str]
    records: list[dict[str, Any]]
    product: dict[str, bool] | None   # record id -> about the product (None: not known)
    estimated: bool = False


def _data_file(name: str) -> Path | None:
    candidates = []
    if os.environ.get("GITIMPROVE_BENCH_DATA"):
        candidates.append(Path(os.environ["GITIMPROVE_BENCH_DATA"]) / f"{name}.jsonl")
    candidates.append(Path("/work/data/feedback") / f"{name}.jsonl")
    candidates.append(Path.home() / ".cache" / "gitimprove" / "benchmark-data" / f"{name}.jsonl")
    return next((c for c in candidates if c.is_file()), None)


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _sample() -> Feedback:
    records = [json.loads(line) for line in (ROOT / "sample_repo" / "feedback.jsonl")
               .read_text().splitlines() if line.strip()]
    return Feedback("sample", ["product-writer", "research-assistant", "support-agent"], records, None)


def _reviews(name: str = "chatgpt_ios_reviews",
             product_labels: frozenset[str] | None = None) -> Feedback | None:
    """The one- and two-star reviews of set ``name`` (the labelled ones, where it has labels),
    each about the product when its label is one of ``product_labels`` (by default: any
    label but :data:`ANSWER_LABELS`, the iOS reviews' answer themes)."""
    path = _data_file(name)
    if path is None:
        return None
    label_file = LABELS.parent / f"{name}.json"
    labels: dict[str, str] = json.loads(label_file.read_text()) if label_file.is_file() else {}
    records, product = [], {}
    for n, row in enumerate(_rows(path)):
        if int(row.get("rating", 5)) > 2 or not str(row.get("text", "")).strip():
            continue
        if labels and row["hash"] not in labels:
            continue
        fid = f"rv-{row['hash']}"
        text = " ".join(str(row["text"]).split())[:2000]
        records.append({"id": fid, "agent": "assistant", "run_id": f"run-{row['hash']}",
                        "user_id": f"reviewer-{row['hash']}", "rating": "negative",
                        "reason": text, "created_at": f"2026-09-{1 + n % 28:02d}T12:00:00Z"})
        label = labels.get(row["hash"])
        product[fid] = ((label in product_labels if product_labels is not None
                         else label not in ANSWER_LABELS) if label
                        else bool(_PRODUCT_WORDS.search(text)))
    shown = name + (f" ({len(records)} labelled)" if labels else " (1-2 stars)")
    return Feedback(shown, ["assistant"], records, product, estimated=not labels)


def _chatbot_reviews(name: str = "wysa_android_reviews") -> Feedback | None:
    """The reviews of a mental-health chatbot (labelled blind; see
    ``benchmarks/data/sources.py``): Wysa's users complain of a bot that misunderstands them
    and of scripted replies as much as of its price; most of Youper's (held out) complain of
    its paywall."""
    from benchmarks.bench_quality import PRODUCT_THEMES

    return _reviews(name, PRODUCT_THEMES[name])


def _critiques() -> Feedback | None:
    path = _data_file("shepherd_critiques")
    if path is None:
        return None
    records = []
    for n, row in enumerate(_rows(path)):
        fid = f"sh-{row['hash']}"
        records.append({"id": fid, "agent": "assistant", "run_id": f"run-{row['hash']}",
                        "rating": "negative", "reason": " ".join(str(row["text"]).split())[:2000],
                        "created_at": f"2026-09-{1 + n % 28:02d}T12:00:00Z"})
    # Every critique is about an answer (the set's gold error types are all answer errors).
    return Feedback("shepherd_critiques", ["assistant"], records, dict.fromkeys(
        (r["id"] for r in records), False))


def _repo(feedback: Feedback, where: Path) -> Path:
    from gitimprove.feedback.importer import import_feedback
    from gitimprove.instructions.init import init
    from gitimprove.instructions.repo import InstructionRepo

    template = where / "template"
    if feedback.name == "sample":
        shutil.copytree(ROOT / "sample_repo", template)
    else:
        (template / "agents").mkdir(parents=True)
        (template / "agents" / "assistant.yaml").write_text(ASSISTANT)
        (template / "gitimprove.yaml").write_text(POLICY)
    target = where / "repo"
    init(target, template=template)
    data = "\n".join(json.dumps(r) for r in feedback.records).encode()
    with InstructionRepo(target) as repo:
        import_feedback(repo.feedback_store(), repo._feedback_index(), "bench.jsonl", data,
                        fmt="jsonl", skip_invalid=True)
    return target


def _measure(feedback: Feedback, repo_path: Path, agent: str, proposer: Any) -> dict[str, Any]:
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.proposals.build import NothingToPropose, propose
    from gitimprove.proposals.operations import AddRule, UpdateRule
    from gitimprove.proposals.rules import contradiction, duplicates, statements_after, vague

    with InstructionRepo(repo_path) as repo:
        file = repo.agent_at(agent, repo.main_tip()).file
        records = {r.id: r for r in repo.feedback_store().records(agent=agent, with_io=False)}
        try:
            plan = propose(repo, agent, proposer, dry_run=True)
        except NothingToPropose:
            return {"ops": 0, "add": 0, "upd": 0, "dup": 0, "contra": 0, "vague": 0, "lone": 0,
                    "product": None, "mostly": 0, "users": [], "summary": "(nothing to propose)"}
    ops = list(plan.result.draft.operations)
    after = statements_after(file, ops)
    dup = contra = vag = lone = mostly = 0
    shares: list[float] = []
    users: list[int] = []
    product_items = all_items = 0
    corrections: dict[str, set[str]] = {}
    for r in records.values():
        if r.correction:
            corrections.setdefault(" ".join(r.correction.split()).rstrip(".!").lower(), set()).add(
                r.user_id or r.run_id or r.id)
    for n, op in enumerate(ops, 1):
        if not isinstance(op, AddRule | UpdateRule):
            continue
        mine = next(st for st in after if st.op == n)
        others = [st for st in after if st is not mine]
        dup += any(duplicates(op.text, st.text) for st in others)
        contra += any(contradiction(op.text, st.text) is not None for st in others)
        vag += isinstance(op, AddRule) and vague(op.text)
        said = corrections.get(op.text.rstrip(".!").lower())
        lone += said is not None and len(said) < 3
        ids = [e for e in op.evidence if e in records]
        users.append(len({records[i].user_id or records[i].run_id or i for i in ids}))
        if feedback.product is not None and ids:
            about = sum(1 for i in ids if feedback.product.get(i))
            product_items += about
            all_items += len(ids)
            shares.append(about / len(ids))
            mostly += about / len(ids) > 0.5
    return {"ops": len(ops), "add": sum(isinstance(o, AddRule) for o in ops),
            "upd": sum(isinstance(o, UpdateRule) for o in ops), "dup": dup, "contra": contra,
            "vague": vag, "lone": lone,
            "product": (product_items / all_items) if all_items else None, "mostly": mostly,
            "users": users, "summary": plan.result.draft.summary}


def run() -> list[Any]:
    """Prints the table; returns nothing for the common table (the figures are not timings)."""
    measure()
    return []


def measure() -> list[dict[str, Any]]:
    from benchmarks.baseline_heuristic import BaselineHeuristicProposer
    from gitimprove.proposals.proposers.heuristic import HeuristicProposer

    sets = [s for s in (_sample(), _reviews(), _chatbot_reviews(),
                        _chatbot_reviews("youper_android_reviews"), _critiques()) if s is not None]
    rows: list[dict[str, Any]] = []
    print(f"{'set / agent':<44} {'proposer':<9} {'ops':>3} {'add':>3} {'upd':>3} {'dup':>3} "
          f"{'contra':>6} {'vague':>5} {'lone':>4} {'product':>8} {'mostly':>6} {'users min/med':>13}")
    for feedback in sets:
        where = Path(tempfile.mkdtemp(prefix="gitimprove-bench-quality-"))
        try:
            repo_path = _repo(feedback, where)
            for agent in feedback.agents:
                for label, proposer in (("before", BaselineHeuristicProposer()),
                                        ("now", HeuristicProposer())):
                    m = _measure(feedback, repo_path, agent, proposer)
                    share = "-" if m["product"] is None else \
                        f"{'~' if feedback.estimated else ''}{m['product']:.0%}"
                    users = m["users"]
                    support = f"{min(users)}/{statistics.median(users):g}" if users else "-"
                    name = f"{feedback.name} / {agent}"
                    print(f"{name[:44]:<44} {label:<9} {m['ops']:>3} {m['add']:>3} {m['upd']:>3} "
                          f"{m['dup']:>3} {m['contra']:>6} {m['vague']:>5} {m['lone']:>4} "
                          f"{share:>8} {m['mostly']:>6} {support:>13}")
                    print(f"{'':<44}   {m['summary'][:110]}")
                    rows.append({"set": feedback.name, "agent": agent, "proposer": label,
                                 **{k: v for k, v in m.items() if k not in ("users", "summary")}})
        finally:
            shutil.rmtree(where, ignore_errors=True)
    if len(sets) == 1:
        print("(real feedback sets not found: see benchmarks/data/sources.py to convert them)")
    return rows


if __name__ == "__main__":
    run()
