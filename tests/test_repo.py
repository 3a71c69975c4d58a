"""InstructionRepo: what agents load at run time, read from git objects only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitimprove.errors import (
    GitImproveError,
    InvalidFileError,
    NotARepositoryError,
    UnknownAgentError,
)
from gitimprove.instructions.agentfile import parse_agent, render
from gitimprove.instructions.repo import InstructionRepo

from .conftest import SAMPLE, commit_file, git

PW = "agents/product-writer.yaml"


def rev(repo: Path, name: str) -> str:
    return git(repo, "rev-parse", name).strip()


def add_rule(repo: Path, rule: str, message: str = "edit") -> str:
    """Commit a new style rule to product-writer with plain git; returns the commit."""
    path = repo / PW
    text = path.read_text().replace("    rules:\n", f"    rules:\n      - {rule}\n", 1)
    return commit_file(repo, PW, text, message)


def test_load_returns_text_version_number_and_commit(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    inst = ir.load("product-writer")
    raw = (SAMPLE / PW).read_bytes()
    assert inst.text == render(parse_agent(raw, PW))
    assert inst.version == rev(sample_repo, f"main:{PW}")
    assert len(inst.version) == 40 and int(inst.version, 16) >= 0
    assert inst.number == 1 and inst.label == "v1"
    assert inst.commit == inst.tip == rev(sample_repo, "main")
    assert inst.agent == "product-writer"
    assert inst.file.name == "product-writer"


def test_load_sees_a_new_commit_on_the_very_next_call(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    first = ir.load("product-writer")
    assert ir.load("product-writer") is first  # warm: nothing changed
    for n in range(2, 6):
        commit = add_rule(sample_repo, f"Rule number {n}.")
        inst = ir.load("product-writer")
        assert (inst.number, inst.commit, inst.version) == (n, commit, rev(sample_repo, f"main:{PW}"))
        assert f"- Rule number {n}." in inst.text


def test_load_sees_a_commit_made_by_another_process(sample_repo: Path, tmp_path: Path) -> None:
    ir = InstructionRepo(sample_repo)
    assert ir.load("product-writer").number == 1
    # a separate clone pushes to the repository, as a teammate's machine would
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(sample_repo), str(other))
    add_rule(other, "From another process.")
    git(sample_repo, "config", "receive.denyCurrentBranch", "updateInstead")
    git(other, "push", "-q", "origin", "main")
    inst = ir.load("product-writer")
    assert inst.number == 2
    assert "- From another process." in inst.text
    assert inst.commit == rev(other, "main")


def test_load_with_packed_refs(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    ir.load("product-writer")
    git(sample_repo, "pack-refs", "--all")
    assert not (sample_repo / ".git" / "refs" / "heads" / "main").exists()
    assert ir.load("product-writer").number == 1
    add_rule(sample_repo, "Loose again.")  # main is loose again, shadowing the packed entry
    assert ir.load("product-writer").number == 2
    git(sample_repo, "pack-refs", "--all")
    assert ir.load("product-writer").number == 2
    # a ref that only changes inside packed-refs
    git(sample_repo, "update-ref", "refs/heads/main", "main~1")
    git(sample_repo, "pack-refs", "--all")
    assert ir.load("product-writer").number == 1
    fresh = InstructionRepo(sample_repo)
    assert fresh.load("product-writer").number == 1


def test_load_ignores_the_working_tree(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    committed = ir.load("product-writer")
    path = sample_repo / PW
    path.write_text(path.read_text().replace("    rules:\n", "    rules:\n      - Uncommitted.\n", 1))
    git(sample_repo, "add", PW)  # staged, still not committed
    (sample_repo / "agents" / "draft.yaml").write_text("name: draft\n")
    fresh = InstructionRepo(sample_repo)
    for r in (ir, fresh):
        inst = r.load("product-writer")
        assert inst.text == committed.text and "Uncommitted" not in inst.text
        assert inst.version == committed.version
        assert r.agent_names() == ["product-writer", "research-assistant", "support-agent",
                                  "trip-planner"]


def test_load_in_a_bare_clone(sample_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(sample_repo), str(bare))
    ir = InstructionRepo(bare)
    assert ir.git.is_bare
    inst = ir.load("support-agent")
    assert inst.number == 1
    assert inst.version == rev(sample_repo, "main:agents/support-agent.yaml")
    assert ir.agent_names() == ["product-writer", "research-assistant", "support-agent",
                                  "trip-planner"]
    assert [v.number for v in ir.history("support-agent")] == [1]


def test_load_another_branch(sample_repo: Path) -> None:
    git(sample_repo, "checkout", "-q", "-b", "experiment")
    add_rule(sample_repo, "Experimental rule.")
    git(sample_repo, "checkout", "-q", "main")
    ir = InstructionRepo(sample_repo)
    main = ir.load("product-writer")
    exp = ir.load("product-writer", ref="experiment")
    same = ir.load("product-writer", ref="refs/heads/experiment")
    assert "Experimental rule." not in main.text
    assert "- Experimental rule." in exp.text
    assert exp.version == same.version == rev(sample_repo, f"experiment:{PW}")
    assert exp.number == 2 and main.number == 1
    # a tag or commit works too (no cache file: it is not a branch)
    git(sample_repo, "tag", "t1", "experiment")
    assert ir.load("product-writer", ref="t1").version == exp.version
    assert ir.load("product-writer", ref=rev(sample_repo, "experiment")).version == exp.version


def test_load_from_a_subfolder_of_the_checkout(sample_repo: Path) -> None:
    inst = InstructionRepo(sample_repo / "agents").load("support-agent")
    assert inst.number == 1


def test_branch_comes_from_the_policy(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "trunk")
    commit_file(repo, "gitimprove.yaml", "main_branch: trunk\n", "policy")
    commit_file(repo, "agents/a.yaml", "name: a\nsections:\n  - id: s\n    text: T\n", "a")
    ir = InstructionRepo(repo)
    assert ir.branch == "trunk"
    assert ir.load("a").text == "T\n"


def test_agents_dir_from_the_policy(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_file(repo, "gitimprove.yaml", "agents_dir: prompts/llm\n", "policy")
    commit_file(repo, "prompts/llm/a.yaml", "name: a\nsections:\n  - id: s\n    text: T\n", "a")
    ir = InstructionRepo(repo)
    assert ir.agent_names() == ["a"]
    assert ir.agent_at("a", ir.main_tip()).path == "prompts/llm/a.yaml"


def test_unknown_agent_says_did_you_mean(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    with pytest.raises(UnknownAgentError) as info:
        ir.load("product-writr")
    assert info.value.message.startswith("no agent 'product-writr' on main ")
    assert info.value.hint == "did you mean 'product-writer'?"
    with pytest.raises(UnknownAgentError) as info:
        ir.load("zzz")
    assert info.value.hint == "agents: product-writer, research-assistant, support-agent, trip-planner"
    for bad in ("../gitimprove", "a\nb", "product-writer.yaml"):
        with pytest.raises(UnknownAgentError):
            ir.load(bad)


def test_invalid_committed_file_names_file_and_line(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    good = ir.load("product-writer")
    text = (sample_repo / PW).read_text().replace("    rules:\n", "    rules:\n      - 42\n", 1)
    commit_file(sample_repo, PW, text, "break it")
    line = text.splitlines().index("      - 42") + 1
    problem = f"{PW}:{line}:9: sections[1].rules[0]: Input should be a valid string, got int 42"
    with pytest.raises(InvalidFileError) as info:
        ir.load("product-writer", strict=True)
    assert info.value.problems == [problem]
    served = ir.load("product-writer")  # an agent run is never failed by a bad commit
    assert served.version == good.version and served.problem == problem
    assert served.fallback_from == rev(sample_repo, f"main:{PW}")
    assert ir.load("product-writer", ref="main~1").version == good.version


def test_same_bytes_under_another_name_are_checked_again(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    ir.load("product-writer")
    commit_file(sample_repo, "agents/copy.yaml", (sample_repo / PW).read_text(), "copy")
    with pytest.raises(InvalidFileError, match=r"differs from the file name 'copy'\.yaml"):
        ir.load("copy")


def test_format_fills_variables(sample_repo: Path) -> None:
    inst = InstructionRepo(sample_repo).load("product-writer")
    assert inst.file.variables == ["product_name", "audience"]
    text = inst.format(product_name="Lumo desk lamp", audience="home office workers")
    assert "Lumo desk lamp" in text and "home office workers" in text
    assert "{{" not in text
    with pytest.raises(KeyError, match="audience"):
        inst.format(product_name="Lumo desk lamp")


def test_describe(sample_repo: Path) -> None:
    ir = InstructionRepo(sample_repo)
    row = ir.describe("support-agent")
    assert row.to_json() == {"name": "support-agent", "format": "native", "path": "agents/support-agent.yaml",
                   "version": "v1", "number": 1,
                   "blob": rev(sample_repo, "main:agents/support-agent.yaml"),
                   "sections": ["role", "knowledge", "tone", "process", "escalation", "safety"],
                   "protected": ["escalation", "safety"], "fallback_from": None, "problem": None}


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(NotARepositoryError) as info:
        InstructionRepo(tmp_path)
    assert info.value.hint == ("cd into your instruction repository, or pass --repo PATH "
                               "(`gitimprove init PATH` makes one)")


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(GitImproveError, match="no main branch yet"):
        InstructionRepo(tmp_path).load("x")


def test_reads_leave_the_checkout_alone(sample_repo: Path) -> None:
    path = sample_repo / PW
    path.write_text(path.read_text() + "# dirty\n")
    (sample_repo / "untracked.txt").write_text("x\n")
    git(sample_repo, "add", "untracked.txt")
    index = (sample_repo / ".git" / "index").read_bytes()
    status = git(sample_repo, "status", "--porcelain")
    head = rev(sample_repo, "HEAD")
    with InstructionRepo(sample_repo) as ir:
        for name in ir.agent_names():
            ir.load(name)
            ir.describe(name)
            ir.history(name)
            ir.find_version(name, "v1")
            ir.agent_at(name, ir.main_tip())
    assert git(sample_repo, "status", "--porcelain") == status
    assert (sample_repo / ".git" / "index").read_bytes() == index
    assert rev(sample_repo, "HEAD") == head


def test_load_is_import_light() -> None:
    # the runtime path must not pull in the editing, proposing or HTTP machinery
    code = ("import sys, gitimprove.instructions.repo; "
            "print(sorted(m for m in ('ruamel.yaml', 'anthropic', 'httpx', 'click', "
            "'gitimprove.feedback.store') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_leaked_git_variables_do_not_redirect_load(sample_repo: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # as inside a git hook of another repository
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    git(decoy, "init", "-q", "-b", "main")
    commit_file(decoy, "agents/product-writer.yaml",
                "name: product-writer\nsections:\n  - id: s\n    text: Decoy.\n", "decoy")
    expected = rev(sample_repo, f"main:{PW}")
    monkeypatch.setenv("GIT_DIR", str(decoy / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(decoy))
    monkeypatch.setenv("GIT_INDEX_FILE", str(decoy / ".git" / "index"))
    with InstructionRepo(sample_repo) as ir:
        inst = ir.load("product-writer")
        assert inst.version == expected and "Decoy" not in inst.text
        assert [v.number for v in ir.history("product-writer")] == [1]


def test_parsed_files_are_kept_and_a_bad_entry_is_ignored(sample_repo: Path) -> None:
    # a later command reads what the YAML gave from the cache, checked again in full
    blob = rev(sample_repo, f"main:{PW}")
    with InstructionRepo(sample_repo) as ir:
        expected = ir.load("product-writer").text
        kept = ir.git.state_dir / "parsed-v1" / f"agent-{blob}.json"
        policy = ir.git.state_dir / "parsed-v1" / f"policy-{rev(sample_repo, 'main:gitimprove.yaml')}.json"
    assert kept.is_file() and policy.is_file()
    for bad in ("{", '{"name": 5}', '{"name": "product-writer", "sections": []}', "[]"):
        kept.write_text(bad)
        policy.write_text(bad)
        with InstructionRepo(sample_repo) as ir:
            assert ir.load("product-writer").text == expected
            assert ir.policy().agents_dir == "agents"
    assert '"sections"' in kept.read_text()  # written again from the file itself


def test_a_file_that_does_not_validate_is_never_kept(sample_repo: Path) -> None:
    text = (sample_repo / PW).read_text().replace("    rules:\n", "    rules:\n      - 42\n", 1)
    commit_file(sample_repo, PW, text, "break it")
    with InstructionRepo(sample_repo) as ir:
        assert ir.load("product-writer").fallback_from is not None
        assert not (ir.git.state_dir / "parsed-v1" / f"agent-{rev(sample_repo, f'main:{PW}')}.json").exists()
