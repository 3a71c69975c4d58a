"""A commit that leaves an agent's file broken is not a version."""

from __future__ import annotations

from pathlib import Path

from gitimprove import InstructionRepo
from tests.conftest import commit_file

PW = "agents/product-writer.yaml"


def test_a_broken_file_on_main_is_not_numbered(sample_repo: Path) -> None:
    good = (sample_repo / PW).read_text()
    commit_file(sample_repo, PW, good.replace("\nvariables:", "\nbroken: [\nvariables:", 1), "oops")
    commit_file(sample_repo, PW, good.replace("British", "American"), "fix, and American")
    repo = InstructionRepo(sample_repo)
    history = repo.history("product-writer")
    assert [(v.label, v.subject) for v in history] == [
        ("v1", "Initialise gitimprove instruction repository"), ("v2", "fix, and American")]
    assert repo.load("product-writer").label == "v2"
    repo.close()
    # the same answer from the on-disk cache, in a new process's view
    again = InstructionRepo(sample_repo)
    assert [v.label for v in again.history("product-writer")] == ["v1", "v2"]
    assert again.load("product-writer").number == 2
    again.close()
