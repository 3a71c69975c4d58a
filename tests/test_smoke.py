from pathlib import Path

from gitimprove import InstructionRepo


def test_sample_repo_loads(sample_repo: Path) -> None:
    repo = InstructionRepo(sample_repo)
    assert repo.agent_names() == ["product-writer", "research-assistant", "support-agent"]
    inst = repo.load("product-writer")
    assert inst.number == 1
    assert "{{product_name}}" in inst.text
