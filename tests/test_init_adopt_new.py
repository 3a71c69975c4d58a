"""`gitimprove init --adopt-new`: agent files added after a repository was adopted are mapped
in gitimprove.yaml (its other lines kept), named apart from the agents it has, and committed;
a policy the change cannot be written into is refused with nothing written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import commit_file, git
from .test_cli import ok, rev, run_main

STORY = ("name: GenerateStory\ntemplate: |\n  Tell a story about {{$topic}}.\n"
         "template_format: semantic-kernel\n")


@pytest.fixture
def adopted(tmp_path: Path) -> Path:
    target = tmp_path / "crew"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    commit_file(target, "AGENTS.md", "# Agent\n\nAnswer briefly.\n", "agents")
    assert "adopted AGENTS.md (markdown): agents" in ok("init", str(target))
    return target


def test_new_files_are_mapped_and_committed(adopted: Path) -> None:
    policy = adopted / "gitimprove.yaml"
    policy.write_text(policy.read_text().replace("formats:\n", "formats:  # adopted files\n"))
    git(adopted, "commit", "-qam", "a comment of ours")
    commit_file(adopted, "prompts/story.yaml", STORY, "a prompt")
    commit_file(adopted, "docs/AGENTS.md", "# Docs agent\n\nWrite docs.\n", "a second AGENTS.md")
    head = rev(adopted, "HEAD")
    out = ok("init", "--adopt-new", str(adopted))
    assert "adopted prompts/story.yaml (semantic_kernel): generatestory" in out, out
    assert "adopted docs/AGENTS.md (markdown): docs" in out, out
    assert git(adopted, "rev-parse", "HEAD~1").strip() == head
    assert git(adopted, "log", "-1", "--format=%s").strip() == (
        "gitimprove: adopt docs/AGENTS.md, prompts/story.yaml")
    assert git(adopted, "show", "--name-only", "--format=", "HEAD").split() == ["gitimprove.yaml"]
    text = policy.read_text()
    assert "formats:  # adopted files\n  - path: 'AGENTS.md'\n    format: markdown\n" in text
    assert text.count("formats:") == 1 and "# gitimprove policy." in text
    listed = json.loads(ok("agents", "--json", repo=adopted))["agents"]
    assert sorted(a["name"] for a in listed) == ["agents", "docs", "generatestory"]
    # a second run has nothing to add, and says nothing is left
    again = ok("init", "--adopt-new", str(adopted))
    assert "nothing new to commit" in again and "left" not in again


def test_an_untracked_file_is_committed_with_its_mapping(adopted: Path) -> None:
    (adopted / "prompts").mkdir()
    (adopted / "prompts" / "story.yaml").write_text(STORY)
    ok("init", "--adopt-new", str(adopted))
    assert sorted(git(adopted, "show", "--name-only", "--format=", "HEAD").split()) == [
        "gitimprove.yaml", "prompts/story.yaml"]
    assert git(adopted, "status", "--porcelain").strip() == ""


def test_a_list_indented_otherwise_keeps_its_indent(adopted: Path) -> None:
    policy = adopted / "gitimprove.yaml"
    policy.write_text(policy.read_text().replace("  - path: 'AGENTS.md'\n    format: markdown\n",
                                                 "- path: 'AGENTS.md'\n  format: markdown\n"))
    git(adopted, "commit", "-qam", "flush left")
    commit_file(adopted, "prompts/story.yaml", STORY, "a prompt")
    ok("init", "--adopt-new", str(adopted))
    assert ("- path: 'AGENTS.md'\n  format: markdown\n- path: 'prompts/story.yaml'\n"
            "  format: semantic_kernel\n") in policy.read_text()
    assert "generatestory" in ok("agents", repo=adopted)


@pytest.mark.parametrize("case", ["flow", "uncommitted"])
def test_refused_with_nothing_written(adopted: Path, case: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    policy = adopted / "gitimprove.yaml"
    if case == "flow":
        policy.write_text(policy.read_text().replace(
            "formats:\n  - path: 'AGENTS.md'\n    format: markdown\n",
            "formats: [{path: 'AGENTS.md', format: markdown}]\n"))
        git(adopted, "commit", "-qam", "one line")
    else:
        policy.write_text(policy.read_text() + "# a note of ours\n")
    commit_file(adopted, "prompts/story.yaml", STORY, "a prompt")
    before, head = policy.read_bytes(), rev(adopted, "HEAD")
    code, out, err = run_main(capsys, "init", "--adopt-new", str(adopted))
    assert code == 1 and err.startswith("error: "), (out, err)
    assert ("on one line" if case == "flow" else "not committed") in err
    assert "Traceback" not in err
    assert policy.read_bytes() == before and rev(adopted, "HEAD") == head


def test_a_broken_agent_file_added_later_is_named_with_its_reason(adopted: Path) -> None:
    """A crewAI file that does not parse is left with the reason, by a second `init` and by
    `--adopt-new`; a YAML file that is no agent file is not listed again."""
    commit_file(adopted, "crew/config/agents.yaml", "researcher:\n  role: [unclosed\n", "broken")
    commit_file(adopted, "deploy/settings.yaml", "replicas: 3\nimage: shop:1.2\n", "settings")
    for args in (("init",), ("init", "--adopt-new")):
        out = ok(*args, str(adopted))
        assert "  left crew/config/agents.yaml: looks like crewai but line 3: not valid YAML" in out, out
        assert "settings.yaml" not in out
        assert "nothing new to commit" in out


CREW = ("researcher:\n  role: Researcher\n  goal: Find facts\n  backstory: You dig.\n"
        "writer:\n  role: Writer\n  goal: Write it up\n  backstory: You write.\n")


def test_a_second_crew_is_named_by_its_folder(tmp_path: Path) -> None:
    """Two crews of the same agents: the one added later is named by the folder where its
    path parts from the first's (``valuation-researcher``), not by its file name
    (``agents-researcher``), which every crew's file has."""
    target = tmp_path / "crews"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    commit_file(target, "crews/analysis/config/agents.yaml", CREW, "a crew")
    assert "(crewai): researcher, writer" in ok("init", str(target))
    commit_file(target, "crews/valuation/config/agents.yaml", CREW, "a second crew")
    assert "name: 'valuation-{key}'" in ok("init", str(target))  # the hint names it so too
    out = ok("init", "--adopt-new", str(target))
    assert ("adopted crews/valuation/config/agents.yaml (crewai): valuation-researcher, "
            "valuation-writer") in out, out
    listed = json.loads(ok("agents", "--json", repo=target))["agents"]
    assert sorted(a["name"] for a in listed) == [
        "researcher", "valuation-researcher", "valuation-writer", "writer"]


def test_a_policy_written_with_crlf_keeps_its_line_ends(adopted: Path) -> None:
    policy = adopted / "gitimprove.yaml"
    policy.write_bytes(policy.read_bytes().replace(b"\n", b"\r\n"))
    git(adopted, "commit", "-qam", "windows line ends")
    commit_file(adopted, "prompts/story.yaml", STORY, "a prompt")
    ok("init", "--adopt-new", str(adopted))
    raw = policy.read_bytes()
    assert b"  - path: 'prompts/story.yaml'\r\n    format: semantic_kernel\r\n" in raw
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert git(adopted, "status", "--porcelain", "--ignored").strip() == ""


def test_a_path_with_a_line_break_writes_no_trailer(adopted: Path) -> None:
    """A folder's name is the user's data: "x\\nApproved-by: ..." stays on the subject line."""
    folder = "team\nApproved-by: Mallory <m@example.com>"
    commit_file(adopted, f"{folder}/AGENTS.md", "# Team\n\nAnswer briefly.\n", "a team agent")
    ok("init", "--adopt-new", str(adopted))
    message = git(adopted, "log", "-1", "--format=%B")
    assert message.startswith("gitimprove: adopt team Approved-by") and message.strip().count("\n") == 0, message
    assert git(adopted, "log", "-1", "--format=%(trailers)").strip() == ""


class _Killed(BaseException):
    """Stands for SIGKILL at one instant: nothing after it runs."""


def test_killed_before_the_rename_leaves_the_working_tree_as_it_was(
        adopted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new policy is written in the git directory, then renamed over the committed one: a
    kill between the two leaves the policy as committed and nothing for `git status` to show."""
    from gitimprove.instructions import init

    commit_file(adopted, "prompts/story.yaml", STORY, "a prompt")
    before = (adopted / "gitimprove.yaml").read_bytes()

    real = os.replace
    written: list[bytes] = []

    def killed(src: str | Path, dst: str | Path) -> None:
        if Path(dst) != adopted / "gitimprove.yaml":
            real(src, dst)
            return
        written.append(Path(src).read_bytes())
        raise _Killed

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(_Killed):
        init.init(adopted, adopt_new=True)
    assert b"prompts/story.yaml" in written[0]  # the new policy was whole, not yet in place
    assert (adopted / "gitimprove.yaml").read_bytes() == before
    assert git(adopted, "status", "--porcelain", "--ignored").strip() == ""
    monkeypatch.undo()
    ok("init", "--adopt-new", str(adopted))  # a second try does the work
    assert "prompts/story.yaml" in (adopted / "gitimprove.yaml").read_text()
    assert git(adopted, "status", "--porcelain").strip() == ""


@pytest.mark.parametrize("fails", ["rename", "write"])
def test_a_git_directory_on_another_file_system_writes_beside_the_policy(
        adopted: Path, monkeypatch: pytest.MonkeyPatch, fails: str) -> None:
    """The git directory on another file system (the rename fails), or read-only (the write
    fails): the new policy is written beside the old one and renamed over it."""
    from gitimprove.instructions import init

    commit_file(adopted, "prompts/story.yaml", STORY, "a prompt")
    if fails == "rename":
        real = os.replace

        def across(src: str | Path, dst: str | Path) -> None:
            if Path(src).parent != adopted:
                raise OSError(18, "Invalid cross-device link")
            real(src, dst)

        monkeypatch.setattr(os, "replace", across)
    else:
        write = Path.write_bytes

        def read_only(self: Path, data: bytes) -> int:
            if self.parent != adopted:
                raise PermissionError(13, "Permission denied", str(self))
            return write(self, data)

        monkeypatch.setattr(Path, "write_bytes", read_only)
    init.init(adopted, adopt_new=True)
    assert "prompts/story.yaml" in (adopted / "gitimprove.yaml").read_text()
    assert git(adopted, "status", "--porcelain", "--ignored").strip() == ""
    assert not list((adopted / ".git").glob("gitimprove-*"))


def test_a_repository_begun_with_gitimprove_files_is_told_of_an_agent_file_added_later(
        tmp_path: Path) -> None:
    """A repository with no agent file to adopt begins with gitimprove's starter agent and no
    `formats:`; an AGENTS.md added later was passed over in silence by a second `init`."""
    target = tmp_path / "fresh"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    commit_file(target, "README.md", "# A project\n", "readme")
    ok("init", str(target))
    assert "formats:" not in (target / "gitimprove.yaml").read_text()
    commit_file(target, "AGENTS.md", "# Agent\n\nAnswer briefly.\n", "an agent")
    said = ok("init", str(target))
    assert "left AGENTS.md: a markdown file that gitimprove.yaml does not map" in said, said
    assert "gitimprove init --adopt-new" in said
    assert "adopted AGENTS.md (markdown): agents" in ok("init", "--adopt-new", str(target))
    listed = json.loads(ok("agents", "--json", repo=target))["agents"]
    assert sorted(a["name"] for a in listed) == ["agents", "assistant"]
