"""An adopted agent (crewAI) is replayed with the prompt its framework builds, base and proposal."""

from __future__ import annotations

import shutil
from pathlib import Path

from gitimprove.instructions.init import init
from gitimprove.instructions.repo import InstructionRepo
from tests.conftest import git
from tests.evaluation.conftest import Setup, run_evaluation, use
from tests.fakes.anthropic_server import FakeAnthropicServer, Received, is_judge
from tests.review.conftest import commit_tree_change, out, run

FIXTURES = Path(__file__).resolve().parent.parent / "formats" / "fixtures"
CREW = "src/crew/config/agents.yaml"
RULE = "Keep every answer under fifty words."


def test_an_adopted_agent_is_replayed_as_its_framework_renders_it(api: FakeAnthropicServer,
                                                                  tmp_path: Path) -> None:
    root = tmp_path / "crew"
    (root / "src/crew/config").mkdir(parents=True)
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    shutil.copy(FIXTURES / "crew_agents.yaml", root / CREW)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agents")
    init(root)
    repo = InstructionRepo(root)
    version = repo.load("researcher").version
    ids = []
    for i in range(3):
        repo.record_feedback(agent="researcher", id=f"fb-r{i}", run_id=f"run-r{i}", version=version,
                             rating="negative", reason="far too long", input=f"Research topic {i}")
        ids.append(f"fb-r{i}")
    repo.record_feedback(agent="researcher", id="fb-ok", run_id="run-ok", version=version,
                         rating="positive", reason="good", input="Research tea")
    text = out(root, "show", f"main:{CREW}") + "\n"
    edited = text.replace("    - Prefer primary sources.\n", f"    - Prefer primary sources.\n    - {RULE}\n")
    assert edited != text
    pid = "20261126-crew01"
    message = (f"researcher: shorter\n\nUsers say it is long.\n\nGitimprove-Proposal: {pid}\n"
               f"Gitimprove-Agent: researcher\nGitimprove-Evidence: {','.join(ids)}\n")
    commit = commit_tree_change(root, "main", {CREW: edited}, message)
    run(root, "update-ref", f"refs/heads/improve/researcher/{pid}", commit)

    def replay(received: Received) -> str:
        return "SHORT" if RULE in received.system else "LONG " * 50

    use(api, replay=replay)
    card = run_evaluation(api, Setup(root, repo, pid, ids, ["fb-ok"])).scorecard
    assert (card.to_fix.better, card.to_keep.sampled) == (3, 1)
    systems = [r.system for r in api.requests if not is_judge(r)]
    assert all(s.startswith("You are {topic} Senior Data Researcher") for s in systems)
    assert sum(RULE in s for s in systems) == len(systems) // 2
    assert card.base_blob == version
    repo.close()
