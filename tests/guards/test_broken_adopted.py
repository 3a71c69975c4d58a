"""A broken adopted file (here a crewAI agents.yaml holding two agents): the hooks keep it off
main, load() serves the last valid version of each of its agents, `agents` lists them as broken,
and the documented way back (rollback AGENT@vN) works from a broken tip."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from gitimprove import InstructionRepo, InvalidFileError
from tests.review.conftest import out, run

from .conftest import gi, ok, tip

FIXTURES = Path(__file__).parent.parent / "formats" / "fixtures"
CREW = "src/crew/config/agents.yaml"
RULE = "    - Prefer primary sources.\n"
NEW_RULE = "    - Keep answers short.\n"
# Two ways an adopted file breaks: YAML that does not parse, and YAML the adapter refuses.
UNPARSABLE = "researcher:\n  role: [unclosed\n  goal: x\n"
REFUSED = "researcher: just a sentence, not an agent\nreporting_analyst:\n  role: Analyst\n"


def commit_crew(repo: Path, text: str, message: str, *, env: dict[str, str] | None = None,
                args: tuple[str, ...] = (), check: bool = True) -> int:
    (repo / CREW).write_text(text)
    run(repo, "add", CREW)
    return run(repo, "commit", "-q", *args, "-m", message, env=env, check=check).returncode


@pytest.fixture
def crew(tmp_path: Path) -> Path:
    """A crewAI project adopted in place (v1), then a person's edit of the researcher (v2)."""
    repo = tmp_path / "crew"
    (repo / "src/crew/config").mkdir(parents=True)
    shutil.copy(FIXTURES / "crew_agents.yaml", repo / CREW)
    run(tmp_path, "init", "-q", "-b", "main", str(repo))
    run(repo, "add", "-A")
    run(repo, "commit", "-q", "-m", "a crew")
    assert "adopted src/crew/config/agents.yaml (crewai)" in ok(gi(repo, "init", ".")).stdout
    text = (repo / CREW).read_text()
    commit_crew(repo, text.replace(RULE, RULE + NEW_RULE, 1), "researcher: keep answers short")
    return repo


@pytest.mark.parametrize("broken", [UNPARSABLE, REFUSED], ids=["unparsable", "adapter-refuses"])
def test_hooks_keep_a_broken_adopted_file_off_main(crew: Path, broken: str) -> None:
    repo = crew
    ok(gi(repo, "hooks", "install"))
    before = tip(repo)
    for args in ((), ("--no-verify",)):
        proc_code = commit_crew(repo, broken, "oops", args=args, check=False)
        assert proc_code != 0 and tip(repo) == before
    proc = run(repo, "commit", "-q", "--no-verify", "-m", "oops", check=False)
    assert "does not validate" in proc.stderr and CREW in proc.stderr, proc.stderr
    assert "GITIMPROVE_ALLOW_BROKEN=1" in proc.stderr, "names the emergency override"
    assert commit_crew(repo, broken, "oops", env={"GITIMPROVE_ALLOW_BROKEN": "1"}) == 0
    assert out(repo, "show", f"main:{CREW}") == broken.rstrip("\n")


def test_a_broken_adopted_file_pushed_to_the_server_is_refused(crew: Path, tmp_path: Path) -> None:
    bare = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(crew), str(bare))
    ok(gi(bare, "hooks", "install", "--bare"))
    run(crew, "remote", "add", "origin", str(bare))
    commit_crew(crew, REFUSED, "oops")
    proc = run(crew, "push", "origin", "main", check=False)
    assert proc.returncode != 0 and "does not validate" in proc.stderr, proc.stderr
    assert out(bare, "rev-parse", "main") != tip(crew)


@pytest.fixture(params=[UNPARSABLE, REFUSED], ids=["unparsable", "adapter-refuses"])
def broken_crew(crew: Path, request: pytest.FixtureRequest) -> Path:
    """v1, v2, then a broken file committed without hooks."""
    commit_crew(crew, request.param, "oops")
    return crew


def test_load_serves_each_agent_of_the_file_its_last_valid_version(
        broken_crew: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = InstructionRepo(broken_crew)
    broken_blob = out(broken_crew, "rev-parse", f"main:{CREW}")
    with caplog.at_level(logging.WARNING, logger="gitimprove"):
        researcher = repo.load("researcher")
        analyst = repo.load("reporting_analyst")
    assert "Keep answers short." in researcher.text and researcher.label == "v2"
    assert researcher.fallback_from == broken_blob and researcher.problem
    assert analyst.label == "v1" and analyst.fallback_from == broken_blob
    assert analyst.text.startswith("You are Reporting Analyst.")
    assert any("serving v2" in r.getMessage() for r in caplog.records)
    for agent in ("researcher", "reporting_analyst"):
        with pytest.raises(InvalidFileError):
            InstructionRepo(broken_crew).load(agent, strict=True)


def test_agents_lists_the_agents_of_a_broken_file_as_broken(broken_crew: Path) -> None:
    proc = gi(broken_crew, "agents")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert "BROKEN" in lines["researcher"] and "serving v2" in lines["researcher"], proc.stdout
    assert "BROKEN" in lines["reporting_analyst"], proc.stdout
    assert CREW in proc.stderr
    said = proc.stderr.splitlines()  # each problem once, as an error: no warning repeating it
    assert len(said) == len(set(said)) and all(line.startswith("error: ") for line in said), said
    shown = gi(broken_crew, "show", "researcher")  # main's file: broken; says what is served
    assert shown.returncode == 1 and shown.stderr.splitlines()[-1] == (
        "  hint: agents are served v2, the last valid version (`gitimprove show researcher@v2`; "
        "to restore it: `gitimprove rollback researcher@v2`); fix the file or the `formats:` "
        "mapping in gitimprove.yaml"), shown.stderr
    assert "Keep answers short." in ok(gi(broken_crew, "show", "researcher@v2")).stdout
    stats = ok(gi(broken_crew, "feedback", "stats", "--agent", "researcher"))
    assert [line for line in stats.stderr.splitlines() if "does not validate" in line] == [
        line for line in stats.stderr.splitlines() if line.startswith("warning: ")], stats.stderr
    assert stats.stderr.count("serving v2 of researcher") == 1
    listed = json.loads(gi(broken_crew, "agents", "--json").stdout)
    assert {a["name"]: a["version"] for a in listed["agents"]} == {
        "researcher": "v2", "reporting_analyst": "v1"}
    history = ok(gi(broken_crew, "history", "researcher")).stdout
    assert history.splitlines()[0].startswith("v2"), "a broken commit is not a version"


def test_rollback_to_a_version_works_from_a_broken_adopted_tip(broken_crew: Path) -> None:
    repo = broken_crew
    ok(gi(repo, "rollback", "researcher@v1", "--reason", "broken file"))
    assert out(repo, "show", f"main:{CREW}") + "\n" == (FIXTURES / "crew_agents.yaml").read_text()
    inst = InstructionRepo(repo).load("researcher")
    assert inst.fallback_from is None and "Keep answers short." not in inst.text
    assert (repo / CREW).read_text() == (FIXTURES / "crew_agents.yaml").read_text(), \
        "the checkout follows"
    ok(gi(repo, "rollback", "researcher@v2"))
    assert NEW_RULE in out(repo, "show", f"main:{CREW}") + "\n"
