"""Adopted agents through the library: load(), variables in the format's syntax, versions per
agent in a file holding several, feedback, and Agno."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitimprove.errors import UnknownAgentError
from gitimprove.instructions.init import init
from gitimprove.instructions.repo import InstructionRepo
from tests.conftest import git

FIXTURES = Path(__file__).parent / "fixtures"
CREW = "src/crew/config/agents.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "crew"
    (root / "src/crew/config").mkdir(parents=True)
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    shutil.copy(FIXTURES / "crew_agents.yaml", root / CREW)
    shutil.copy(FIXTURES / "release.prompt.md", root / "release.prompt.md")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agents")
    result = init(root)
    assert [a.path for a in result.adopted] == ["release.prompt.md", CREW]
    return root


def test_load_renders_and_fills_the_formats_variables(repo: Path) -> None:
    with InstructionRepo(repo) as ir:
        inst = ir.load("reporting_analyst")
        assert inst.file_format == "crewai" and inst.file.variables == ["topic"]
        assert inst.text.startswith("You are Reporting Analyst. You're a meticulous analyst.")
        assert "Create detailed reports based on AI data analysis" in inst.format(topic="AI")
        with pytest.raises(KeyError, match="topic"):
            inst.format()
        md = ir.load("release")
        assert md.format(version="2.0").startswith("# Release note\n\nWrite a release note for 2.0.")
        assert ir.load("reporting_analyst") is inst  # warm: the same object


def test_versions_are_per_agent_in_a_file_holding_several(repo: Path) -> None:
    path = repo / CREW
    path.write_text(path.read_text().replace("- Prefer primary sources.", "- Prefer primary sources.\n"
                                             "    - Date every source."))
    git(repo, "commit", "-q", "-am", "researcher: date sources")
    with InstructionRepo(repo) as ir:
        assert [v.number for v in ir.history("researcher")] == [1, 2]
        assert [v.number for v in ir.history("reporting_analyst")] == [1]
        researcher = ir.load("researcher")
        assert researcher.number == 2 and researcher.version != git(repo, "rev-parse", f"HEAD:{CREW}").strip()
        ir.record_feedback(agent="researcher", run_id="r1", version=researcher.version, rating="negative",
                           reason="too long")
        with pytest.raises(UnknownAgentError):
            ir.record_feedback(agent="defaults", run_id="r2", rating="negative", reason="x")


def test_agno_improver_uses_an_adopted_agent(repo: Path) -> None:
    pytest.importorskip("agno", reason="agno is not installed")
    from gitimprove.integrations.agno import Improver

    improver = Improver(repo, agent="reporting_analyst", variables={"topic": "coffee"})
    try:
        assert "based on coffee data analysis" in improver.instructions()
    finally:
        improver.repo.close()


def test_feedback_for_an_agent_that_does_not_load_is_refused(repo: Path) -> None:
    (repo / "agents").mkdir()
    (repo / "agents/broken.yaml").write_text("name: broken\nsections: 3\n")
    git(repo, "add", "agents")
    git(repo, "commit", "-q", "-m", "a broken native agent")
    with InstructionRepo(repo) as ir:
        assert "broken" in ir.agent_names()
        with pytest.raises(UnknownAgentError, match="cannot be loaded"):
            ir.record_feedback(agent="broken", run_id="r1", rating="negative", reason="x")


def test_a_proposer_is_shown_the_formats_variable_syntax(repo: Path) -> None:
    from gitimprove.instructions.formats import variable_syntax
    from gitimprove.instructions.policy import Limits
    from gitimprove.proposals.proposers.base import ProposalRequest

    with InstructionRepo(repo) as ir:
        at = ir.agent_at("researcher", ir.main_tip())
    request = ProposalRequest(agent="researcher", file=at.file, protected=[], limits=Limits(), patterns=[],
                              variable_syntax=variable_syntax(at.format))
    shown = request.labelled_file()
    assert "variables (each written {name} must stay; use no other): topic" in shown
    assert "[rules]" in shown or "rules" in shown


def test_agents_whose_names_collide_are_named_by_file_then_folder(tmp_path: Path) -> None:
    """Two cagent files at the top with a `root` agent each, and one crewAI file in two folders:
    each name is widened only as far as it must be (file stem first, then folders)."""
    root = tmp_path / "many"
    root.mkdir()
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    shutil.copy(FIXTURES / "cagent.yaml", root / "support.yaml")
    shutil.copy(FIXTURES / "cagent.yaml", root / "finance.yaml")
    for team in ("alpha", "beta"):
        (root / team / "config").mkdir(parents=True)
        shutil.copy(FIXTURES / "crew_agents.yaml", root / team / "config" / "agents.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agents")
    result = init(root)
    assert not result.left
    names = {a.path: a.agents for a in result.adopted}
    assert all(n.startswith("finance-") for n in names["finance.yaml"])
    assert all(n.startswith("support-") for n in names["support.yaml"])
    assert names["alpha/config/agents.yaml"] == ["alpha-config-reporting_analyst",
                                                 "alpha-config-researcher"]
    every = [n for agents in names.values() for n in agents]
    assert len(every) == len(set(every))
    repo = InstructionRepo(root)
    assert sorted(repo.agent_names()) == sorted(every)


def test_a_typo_in_an_adopted_agent_s_name_names_no_agents_folder(repo: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(repo), "show",
                           "researchr"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("error: no agent 'researchr' on main")
    assert "agents/" not in proc.stderr.splitlines()[0]  # its agents live in files of their own
    assert "hint: did you mean 'researcher'?" in proc.stderr


def test_adopting_a_file_larger_than_the_size_limit_raises_the_limit(tmp_path: Path) -> None:
    """A team's AGENTS.md of 40,000 characters is theirs to keep: init raises `max_agent_chars`
    above it (and says so), or no proposal could ever pass the validator for that file."""
    from gitimprove.instructions.policy import Limits, parse_policy
    from gitimprove.proposals.operations import AddRule, Draft, apply
    from gitimprove.validate import check_change

    root = tmp_path / "big"
    root.mkdir()
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    body = "".join(f"## Topic {i}\n\n" + "".join(f"- Rule {i}.{j}: {'word ' * 30}\n" for j in range(8)) + "\n"
                   for i in range(30))
    (root / "AGENTS.md").write_text("# Agents\n\n" + body)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agents")
    result = init(root)
    policy = parse_policy((root / "gitimprove.yaml").read_bytes(), "gitimprove.yaml")
    size = len(body)
    assert policy.limits.max_agent_chars > size > Limits().max_agent_chars
    assert any("max_agent_chars" in note and "agents" in note for note in result.notes)
    with InstructionRepo(root) as ir:
        at = ir.agent_at("agents", ir.main_tip())
    from gitimprove.instructions.formats import AdoptedDocument
    assert at.parsed is not None
    doc = AdoptedDocument(at.parsed, at.key or "agents", "agents")
    apply(doc, Draft(summary="s", rationale="r", operations=[
        AddRule(section="topic-3", text="Name the source of every figure.", reason="r")]).operations)
    assert check_change({"AGENTS.md": at.raw}, {"AGENTS.md": doc.dumps().encode()}, policy) == []


def test_agent_files_of_another_format_in_agents_are_adopted(tmp_path: Path) -> None:
    """docker/cagent-action keeps its cagent teams in agents/, the folder gitimprove's own agents
    live in: `init` adopted nothing and stopped ("name: required field 'name' is missing"). Now
    gitimprove's agents go to another folder and the teams are adopted, with a note; a proposal
    for one of them passes the validator. A folder of gitimprove agents is read as before."""
    from gitimprove.instructions.policy import parse_policy

    root = tmp_path / "review"
    (root / "agents").mkdir(parents=True)
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    shutil.copy(FIXTURES / "cagent.yaml", root / "agents" / "pr-reviewer.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agents")
    result = init(root)
    assert [(a.path, a.format, a.agents) for a in result.adopted] == [
        ("agents/pr-reviewer.yaml", "cagent", ["researcher", "root"])]
    assert any("agents/ holds cagent files" in n and "gitimprove-agents/" in n for n in result.notes)
    policy = parse_policy((root / "gitimprove.yaml").read_bytes(), "gitimprove.yaml")
    assert policy.agents_dir == "gitimprove-agents" and policy.limits.allowed_paths == ["gitimprove-agents/*.yaml"]
    assert not (root / "gitimprove-agents").exists()
    assert git(root, "status", "--porcelain").strip() == ""
    with InstructionRepo(root) as ir:
        assert sorted(ir.agent_names()) == ["researcher", "root"]
        assert "Never answer legal questions yourself." in ir.load("root").text

    native = tmp_path / "native"
    (native / "agents").mkdir(parents=True)
    git(tmp_path, "init", "-q", "-b", "main", str(native))
    shutil.copy(Path(__file__).parents[2] / "sample_repo" / "agents" / "product-writer.yaml",
                native / "agents" / "product-writer.yaml")
    git(native, "add", "-A")
    git(native, "commit", "-q", "-m", "agents")
    result = init(native)
    assert not result.adopted and not result.notes
    assert parse_policy((native / "gitimprove.yaml").read_bytes(), "gitimprove.yaml").agents_dir == "agents"


def test_an_agent_file_of_another_format_beside_gitimprove_agents_is_named_for_what_it_is(tmp_path: Path) -> None:
    """agents/ holding a gitimprove agent and a cagent team: gitimprove's folder cannot move, and
    `init` says what the cagent file is, not that it misses gitimprove's `name`."""
    from gitimprove.errors import InvalidFileError

    root = tmp_path / "mixed"
    (root / "agents").mkdir(parents=True)
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    shutil.copy(FIXTURES / "cagent.yaml", root / "agents" / "pr-reviewer.yaml")
    shutil.copy(Path(__file__).parents[2] / "sample_repo" / "agents" / "product-writer.yaml",
                root / "agents" / "product-writer.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agents")
    with pytest.raises(InvalidFileError) as exc:
        init(root)
    assert exc.value.problems == ["agents/pr-reviewer.yaml: a cagent file among gitimprove's agent files in "
                                  "agents/: move it out of agents/ to have it adopted"]
    assert not (root / "gitimprove.yaml").exists()


def test_tool_configuration_is_not_listed_as_left() -> None:
    """strata-game-library/core: init listed its issue forms, its GitHub Actions' action.yml,
    .github/settings.yml and .yamllint.yaml as "left: not an agent file" among its 15 agent
    files; kaggle-5-day-agents a docker-compose.yml in a folder. Tool configuration, passed over
    as CI files are, and so are Kubernetes manifests."""
    from gitimprove.instructions.adopt import survey
    from gitimprove.instructions.policy import Policy

    noise = [".github/ISSUE_TEMPLATE/bug.yml", ".github/ISSUE_TEMPLATE/config.yml", "review-pr/action.yml",
             "action.yml", ".github/settings.yml", ".yamllint.yaml", "Day3a/docker-compose.yml"]
    files = {p: b"name: x\non: push\n" for p in noise}
    files["src/crew/config/agents.yaml"] = (FIXTURES / "crew_agents.yaml").read_bytes()
    files["openapi.yaml"] = b"openapi: 3.0.0\n"
    # mitrasan22/slo_recommendation_engine: twelve k8s/ manifests beside its ADK agents
    files["k8s/api/api-deployment.yaml"] = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"
    files["k8s/all.yaml"] = b"---\napiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: ConfigMap\n"
    result = survey(files, Policy(), [])
    assert [a.path for a in result.adopted] == ["src/crew/config/agents.yaml"]
    assert result.left == [("openapi.yaml", "not an agent file: no format recognises its shape")]


def test_files_alike_up_to_their_grandparent_are_named_by_the_folder_where_they_part() -> None:
    """crewAI-examples keeps marketing_strategy twice, in crews/ and in integrations/nvidia_models/:
    alike up to `marketing_posts/config/`, both crews were left ("the agent name ... is used by")
    with a hint naming a template already tried. Each is named by the first folder where their
    paths part, and adopted."""
    from gitimprove.instructions.adopt import formats_yaml, survey
    from gitimprove.instructions.formats.catalog import adapter_for, build, decode
    from gitimprove.instructions.policy import Policy, parse_policy

    tail = "marketing_strategy/src/marketing_posts/config/"
    files = {f"{top}{tail}{name}": (FIXTURES / fixture).read_bytes()
             for top in ("crews/", "integrations/nvidia_models/")
             for name, fixture in (("agents.yaml", "crew_agents.yaml"), ("tasks.yaml", "crew_tasks.yml"))}
    files["crews/other/config/agents.yaml"] = (FIXTURES / "crew_agents.yaml").read_bytes()
    result = survey(files, Policy(), [])
    assert result.left == []
    names = {a.path: a.agents for a in result.adopted}
    assert names[f"crews/{tail}agents.yaml"] == ["crews-agents-reporting_analyst", "crews-agents-researcher"]
    assert names[f"integrations/nvidia_models/{tail}agents.yaml"] == [
        "integrations-agents-reporting_analyst", "integrations-agents-researcher"]
    assert names["crews/other/config/agents.yaml"] == ["other-config-reporting_analyst", "other-config-researcher"]
    policy = parse_policy("version: 1\n" + formats_yaml(result.rules), "gitimprove.yaml")
    cat = build(policy, list(files), lambda path, rule: adapter_for(rule.format, rule.constants).parse(
        decode(files[path], path), path))
    assert not cat.problems and len(cat.agents) == sum(len(a) for a in names.values())
