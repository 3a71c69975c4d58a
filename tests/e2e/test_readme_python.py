"""The README's Python snippets and setup commands, run as written (paths filled in)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE
from tests.e2e.test_readme import _block_after, _run

README = (ROOT / "README.md").read_text()


def _python_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, f"no python block after {heading!r}"
    return block.group(1)


def test_use_it_on_your_own_repository(tmp_path: Path) -> None:
    (tmp_path / "sample_repo").symlink_to(SAMPLE)
    for line in _block_after("## Use it on your own repository"):
        if line.startswith("pip install"):
            continue  # the package under test is installed already
        proc = _run(tmp_path, line)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
    assert [p.stem for p in (tmp_path / "my-agents" / "agents").glob("*.yaml")] == ["assistant"]
    agents = sorted(p.stem for p in (tmp_path / "shop-agents" / "agents").glob("*.yaml"))
    assert agents == ["product-writer", "research-assistant", "support-agent", "trip-planner"]


def test_the_python_api_snippet(sample_repo: Path) -> None:
    code = _python_after("## The Python API an agent needs")
    code = code.replace('"path/to/agents-repo"', repr(str(sample_repo)))
    scope: dict[str, object] = {"run_id": "run-readme-1"}
    exec(compile(code, "README.md", "exec"), scope)
    from gitimprove import InstructionRepo

    repo = InstructionRepo(sample_repo)
    records = repo.feedback_store().records(agent="product-writer")
    assert [r.run_id for r in records] == ["run-readme-1"] * 3
    assert {r.version for r in records} == {repo.load("product-writer").version}
    assert "Trail Flask" in str(scope["prompt"])


def test_the_agno_snippet(sample_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("agno", reason="agno is not installed (pip install 'gitimprove[agno]')")
    from tests.fakes.anthropic_server import (
        FakeAnthropicServer,
        Received,
        Reply,
        text_answer,
        tool_use,
    )

    def answer(received: Received) -> Reply:
        if not received.tools:  # the agent's run
            return text_answer("A flask for every trail.")
        return tool_use({"summary": "Keep descriptions short", "rationale": "Users find them long.",
                         "operations": [{"op": "update_rule", "section": "style", "index": 2,
                                         "text": "Keep it under 80 words.",
                                         "reason": "too long, in many words", "evidence": []}]})

    # Feedback to learn from, so that `improver.propose()` in the snippet has something to do.
    assert _run(sample_repo, "gitimprove feedback import feedback.jsonl").returncode == 0
    code = _python_after("## Using with Agno")
    code = code.replace('"path/to/agents-repo"', repr(str(sample_repo)))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeAnthropicServer() as server:
        server.handler = answer
        # The SDK reads these, as it would with a real key and the real API.
        monkeypatch.setenv("ANTHROPIC_API_KEY", str(server.api_key))
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        scope: dict[str, object] = {}
        exec(compile(code, "README.md", "exec"), scope)
        assert len(server.requests) == 2  # the agent's run, then the proposer's
        assert "Trail Flask" in server.requests[0].system
    from gitimprove import InstructionRepo

    repo = InstructionRepo(sample_repo)
    mine = [r for r in repo.feedback_store().records(agent="product-writer") if r.version]
    assert len(mine) == 2 and {r.version for r in mine} == {repo.load("product-writer").version}
    assert len(repo.git.for_each_ref("refs/heads/improve/product-writer/")) == 1
