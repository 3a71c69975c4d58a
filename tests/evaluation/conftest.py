"""A repository with feedback on real runs, a proposal citing them, and the fake Messages API
answering both the agent's replays and the judge."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitimprove.evaluate import Evaluation, evaluate
from gitimprove.instructions.repo import InstructionRepo
from tests.fakes.anthropic_server import (
    FakeAnthropicServer,
    Received,
    evaluation_handler,
    prefers,
)
from tests.review.conftest import add_rule, make_proposal

AGENT = "product-writer"
PID = "20261126-e0a1b2"
NEW_RULE = "Keep it under 50 words, in three short bullet points."
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def replay_by_prompt(received: Received) -> str:
    """The agent: short with the proposed rule in its prompt, long without it."""
    return "SHORT: three bullets." if NEW_RULE in received.system else \
        "LONG: " + "words " * 60


fair_judge = prefers("SHORT")


def set_evaluation(path: Path, message: str = "evaluation settings", **values: object) -> None:
    """Set keys of the policy's ``evaluation:`` block and commit it on main."""
    import re

    from tests.conftest import git

    policy = path / "gitimprove.yaml"
    text = policy.read_text()
    if not re.search(r"^evaluation:", text, re.M):
        text += "evaluation:\n"
    for key, value in values.items():
        line = f"  {key}: {value}"
        pattern = re.compile(rf"^  {key}: [^\n]*$", re.M)
        text = pattern.sub(line, text) if pattern.search(text) else \
            re.sub(r"^(evaluation:[^\n]*)$", rf"\1\n{line}", text, count=1, flags=re.M)
    policy.write_text(text)
    git(path, "commit", "-qam", message)


def use(server: FakeAnthropicServer, judge: Any = fair_judge,
        replay: Any = replay_by_prompt) -> None:
    server.handler = evaluation_handler(replay, judge)


@dataclass
class Setup:
    path: Path
    repo: InstructionRepo
    pid: str
    evidence: list[str]
    liked: list[str]


def record_runs(repo: InstructionRepo, *, negative: int = 12, positive: int = 8,
                without_input: int = 2, prefix: str = "", input_text: str | None = None) -> tuple[list[str], list[str]]:
    """Negative runs (the evidence), well-rated runs, and a few runs without an input."""
    version = repo.load(AGENT).version
    evidence, liked = [], []
    for i in range(negative + without_input):
        fid = f"fb-{prefix}neg-{i:03d}"
        run = f"run-{prefix}neg-{i:03d}"
        fields: dict[str, Any] = {"id": fid, "run_id": run, "version": version, "rating": "negative",
                                  "reason": "Way too long, nobody reads all that",
                                  "created_at": START + timedelta(minutes=i)}
        if i < negative:
            fields["input"] = input_text or f"Describe the Trail Flask, size {i}"
            fields["output"] = "A very long description " * 10
        repo.record_feedback(agent=AGENT, **fields)
        evidence.append(fid)
    for i in range(positive):
        fid = f"fb-{prefix}pos-{i:03d}"
        repo.record_feedback(agent=AGENT, id=fid, run_id=f"run-{prefix}pos-{i:03d}", version=version,
                             rating="positive", reason="great, just right",
                             input=f"Describe the Summit Mug, colour {i}", output="Nice mug.",
                             created_at=START + timedelta(hours=1, minutes=i))
        liked.append(fid)
    return evidence, liked


@pytest.fixture
def setup(sample_repo: Path) -> Iterator[Setup]:
    repo = InstructionRepo(sample_repo)
    evidence, liked = record_runs(repo)
    make_proposal(sample_repo, PID, add_rule(NEW_RULE), evidence=",".join([*evidence, "fb-gone-1"]))
    yield Setup(sample_repo, repo, PID, evidence, liked)
    repo.close()


def run_evaluation(server: FakeAnthropicServer, s: Setup, **kwargs: Any) -> Evaluation:
    kwargs.setdefault("seed", 7)
    return evaluate(s.repo, s.pid, api_key=server.api_key, base_url=server.base_url,
                    backoff_base=0.001, backoff_max=0.01, env={}, **kwargs)
