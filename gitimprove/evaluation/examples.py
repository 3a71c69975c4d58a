"""Examples side by side: a few runs with the logged, base and proposed answers.

They quote users' runs, so they are never recorded in git (feedback is personal data that does
not belong in history): ``evaluate`` prints them and keeps them on the machine that ran it,
under the git directory, where ``review`` shows them."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from gitimprove.dataclass import dataclass
from gitimprove.git import Oid, Repository

MAX_EXAMPLE_CHARS = 600


@dataclass
class Example:
    """One run side by side."""

    set: str
    run: str
    verdict: str | None
    reason: str
    input: str
    logged: str | None
    base: str
    proposal: str
    proposal_shown_as: str | None = None  # "A" or "B": where the judge saw the proposal's answer


def excerpt(text: str) -> str:
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[:MAX_EXAMPLE_CHARS - 1] + "…"


def pick(examples: list[Example], n: int = 3) -> list[Example]:
    """A few runs: one of each verdict first, runs to fix before runs to keep."""
    ordered = sorted(examples, key=lambda e: e.set != "fix")
    chosen: list[Example] = []
    for wanted in ("better", "worse", "same"):
        hit = next((e for e in ordered if e.verdict == wanted and e not in chosen), None)
        if hit is not None:
            chosen.append(hit)
    chosen += [e for e in ordered if e not in chosen][: n - len(chosen)]
    return chosen[:n]


def examples_path(git: Repository, record: Oid) -> Path:
    return git.state_dir / "evaluations" / f"{record}.json"


def save(git: Repository, record: Oid, examples: list[Example]) -> None:
    path = examples_path(git, record)
    with contextlib.suppress(OSError):  # a read-only git directory: they were printed
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([asdict(e) for e in examples], ensure_ascii=False))
        os.replace(tmp, path)


def load(git: Repository, record: Oid) -> list[Example]:
    """The examples kept for a record on this machine (none elsewhere)."""
    try:
        data = json.loads(examples_path(git, record).read_text())
        return [Example(**{k: e.get(k) for k in Example.__dataclass_fields__}) for e in data]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def lines(examples: list[Example]) -> list[str]:
    """Runs side by side, each text cut to one clean line (it is user and model text)."""
    # NOTE: imported here: the judge module imports the Anthropic SDK, and the review screen,
    # validate and the hooks read examples without ever calling a model.
    from gitimprove.evaluation.judge import one_line

    out = []
    for e in examples:
        # the judge's reason names positions ("B is shorter"); say which one was the proposal
        shown = f" (proposal shown as {e.proposal_shown_as})" if e.proposal_shown_as in ("A", "B") \
            else ""
        out.append(f"  [{e.set} {one_line(e.run, 60)}] {e.verdict}{shown}: {one_line(e.reason)}")
        for label, text in (("input", e.input), ("logged", e.logged), ("base", e.base),
                            ("proposal", e.proposal)):
            if text:
                out.append(f"      {label + ':':<10} {one_line(text, 160)}")
    return out
