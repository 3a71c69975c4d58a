"""Adopting a crewAI project, a Markdown instruction file and ADK packages, end to end through the CLI:
init, agents, show --rendered, feedback, propose (heuristic), review, approve, rollback."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from ..conftest import git
from .test_cli_e2e import BIN, gi

FIXTURES = Path(__file__).parent.parent / "formats" / "fixtures"

pytestmark = pytest.mark.skipif(not BIN.exists(), reason="the console script is not installed")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src/crew/config").mkdir(parents=True)
    shutil.copy(FIXTURES / "crew_agents.yaml", root / "src/crew/config/agents.yaml")
    shutil.copy(FIXTURES / "crew_tasks.yml", root / "src/crew/config/tasks.yml")
    shutil.copy(FIXTURES / "CLAUDE.md", root / "CLAUDE.md")
    (root / "docs").mkdir()
    (root / "docs/mkdocs-extra.yml").write_text("theme: material\n")
    (root / "broken.yaml").write_text("researcher:\n\trole: x\n")
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a crew")
    return root


def _one(cwd: Path, *args: str) -> str:
    proc = gi(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _feedback(cwd: Path, agent: str, reason: str, n: int = 5) -> None:
    for i in range(n):
        _one(cwd, "feedback", "record", "--agent", agent, "--run-id", f"{agent}-{i}", "--rating", "negative",
             "--reason", reason)


def _proposal(cwd: Path, agent: str) -> str:
    out = _one(cwd, "propose", agent)
    return out.split(f"improve/{agent}/", 1)[1].split()[0]


def _improve(cwd: Path, agent: str, reason: str) -> str:
    """Feedback, a proposal that the validator passes, and its approval; the proposal's id."""
    _feedback(cwd, agent, reason)
    pid = _proposal(cwd, agent)
    assert "Validator: passes" in _one(cwd, "review", pid)
    _one(cwd, "approve", pid)
    return pid


def test_adopt_then_improve_a_crewai_agent_and_a_markdown_file(project: Path) -> None:
    out = _one(project, "init", ".")
    assert "adopted src/crew/config/agents.yaml (crewai): reporting_analyst, researcher" in out
    assert "adopted src/crew/config/tasks.yml (crewai): reporting_task, research_task" in out
    assert "adopted CLAUDE.md (markdown): claude" in out
    assert "left broken.yaml: not an agent file" in out
    assert "left docs/mkdocs-extra.yml: not an agent file" in out
    assert "wrote agents/assistant.yaml" not in out  # no example agent beside the team's own
    assert git(project, "status", "--porcelain") == ""

    listed = json.loads(_one(project, "agents", "--json"))
    assert {a["name"]: a["format"] for a in listed["agents"]} == {
        "claude": "markdown", "reporting_analyst": "crewai", "reporting_task": "crewai",
        "research_task": "crewai", "researcher": "crewai"}
    shown = _one(project, "show", "reporting_analyst")  # its lines of the file, not the others'
    assert shown.startswith("reporting_analyst:\n") and "researcher:" not in shown and "max_iter: ~" in shown
    rendered = _one(project, "show", "researcher", "--rendered")
    assert rendered.startswith("You are {topic} Senior Data Researcher\n. You're a seasoned researcher")
    assert "Your personal goal is: Uncover cutting-edge developments in {topic} and explain" in rendered

    refused = gi("feedback", "record", "--agent", "broken", "--rating", "negative", "--reason", "x", cwd=project)
    assert refused.returncode == 1 and "no agent 'broken'" in refused.stderr

    original = (project / "src/crew/config/agents.yaml").read_bytes()
    _feedback(project, "researcher", "Too verbose, needs to be more concise")
    pid = _proposal(project, "researcher")
    review = _one(project, "review", pid)
    assert "Validator: passes" in review and "rule added" in review
    _one(project, "approve", pid)
    after = git(project, "show", "main:src/crew/config/agents.yaml")
    diff = git(project, "diff", "HEAD~1", "HEAD", "--", "src/crew/config/agents.yaml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 2 and "+" in changed  # a `>` block: the new rule has a line of its own
    added = next(line for line in changed if line != "+")
    assert added.startswith("+    - ") and len(added) > 12
    assert "reporting_analyst" in after
    history = _one(project, "history", "reporting_analyst")
    assert len(history.strip().splitlines()) == 1  # its own version did not change
    assert _one(project, "history", "researcher").startswith("v2 ")

    original_md = (project / "CLAUDE.md").read_bytes()
    _improve(project, "claude", "Too long, make it shorter")
    approved_md = (project / "CLAUDE.md").read_bytes()
    # "Conventions" are the code's: a rule about the answers gets a section of its own, written
    # with the file's bullet and CRLF, and no final newline
    assert approved_md.startswith(original_md + b"\r\n\r\n## Answers\r\n\r\n* "), approved_md
    assert approved_md.count(b"\n") == original_md.count(b"\n") + 4 and not approved_md.endswith(b"\n")

    _one(project, "rollback", pid, "--reason", "too terse")
    assert (project / "src/crew/config/agents.yaml").read_bytes() == original
    _one(project, "rollback", "claude@v1")
    assert (project / "CLAUDE.md").read_bytes() == original_md
    crew = project / "src/crew/config/agents.yaml"
    crew.write_bytes(crew.read_bytes().replace(b"verbose: True", b"verbose: False"))
    git(project, "commit", "-q", "-am", "quieter analyst")
    audit = _one(project, "audit")
    assert "approved" in audit and "rolled_back" in audit
    assert "human_edit  reporting_analyst" in audit
    assert "PROTECTED key changed: changes `reporting_analyst.verbose`" in audit


def test_bad_input_under_mapped_globs_is_reported_and_nothing_written(project: Path) -> None:
    _one(project, "init", ".")
    policy = (project / "gitimprove.yaml").read_text()
    policy += ("  - path: '*.md'\n    format: markdown\n"
               "  - path: 'broken.yaml'\n    format: crewai\n"
               "  - path: 'docs/*.yml'\n    format: cagent\n"
               "  - path: 'CLAUDE.md'\n    format: github_models\n")
    (project / "NOTES.md").write_text("---\ntitle: notes\n---\n")
    (project / "src/crew/config/more.yaml").write_text("researcher:\n  role: Another researcher\n  goal: Find more\n")
    policy += "  - path: 'src/crew/config/more.yaml'\n    format: crewai\n"
    (project / "gitimprove.yaml").write_text(policy)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "more mappings")
    before = git(project, "rev-parse", "main")
    proc = gi("agents", cwd=project)
    assert proc.returncode == 1
    err = proc.stderr
    assert "broken.yaml:2:1: a tab where YAML needs spaces" in err
    assert "NOTES.md: has no instructions: the file is empty but for its front matter" in err
    assert "docs/mkdocs-extra.yml: not a cagent file" in err
    assert "CLAUDE.md: claimed by two formats in gitimprove.yaml (markdown and github_models)" in err
    assert "the agent name 'researcher' is used by src/crew/config/agents.yaml and src/crew/config/more.yaml" in err
    assert "reporting_analyst" in proc.stdout  # the good agents are still listed
    shown = gi("show", "researcher", cwd=project)
    assert shown.returncode == 1 and "the agent name 'researcher' is used by" in shown.stderr
    shown = gi("show", "nosuch", cwd=project)
    assert shown.returncode == 1 and "adopted file(s) do not load" in shown.stderr
    for agent in ("researcher", "claude"):
        refused = gi("feedback", "record", "--agent", agent, "--rating", "negative", "--reason", "x",
                     cwd=project)
        assert refused.returncode == 1, refused.stdout
    assert git(project, "rev-parse", "main") == before
    assert git(project, "status", "--porcelain") == ""


def test_adopt_then_improve_an_adk_agent_defined_in_python(tmp_path: Path) -> None:
    root = tmp_path / "dice"
    (root / "dice").mkdir(parents=True)
    shutil.copy(FIXTURES / "adk_agent.py", root / "dice/agent.py")
    (root / "other").mkdir()
    (root / "other/agent.py").write_text("from google.adk import Agent\nfrom . import prompt\n\n"
                                         "root_agent = Agent(name='other', instruction=prompt.ROOT)\n")
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "an ADK agent")
    out = _one(root, "init", ".")
    assert "adopted dice/agent.py (google_adk): dice_agent, helper" in out
    assert "left other/agent.py: agent 'other': its `instruction` is `ROOT` of other/prompt.py, which is not a file" in out
    rendered = _one(root, "show", "dice_agent", "--rendered")
    assert rendered.startswith("You are DiceBot.\n\n\n    You help players of board games.")

    original = (root / "dice/agent.py").read_text()
    pid = _improve(root, "dice_agent", "Too verbose, needs to be more concise")
    after = (root / "dice/agent.py").read_text()
    ast.parse(after)
    diff = git(root, "diff", "HEAD~1", "HEAD", "--", "dice/agent.py")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed and all(line.startswith("+    - ") for line in changed), changed
    assert after.split('"""\n\nhelper', 1)[1] == original.split('"""\n\nhelper', 1)[1]

    _one(root, "rollback", pid, "--reason", "too terse")
    assert (root / "dice/agent.py").read_text() == original
    agent = root / "dice/agent.py"
    agent.write_text(original.replace('tools=[roll_die],', 'tools=[],'))
    git(root, "commit", "-q", "-am", "no tools")
    assert "PROTECTED key changed" in _one(root, "audit")


def _hooked_proposal(root: Path, agent: str) -> tuple[str, str]:
    """``root``'s files committed, adopted, the hooks installed, and a proposal for ``agent``:
    its branch and tip."""
    from ..review.conftest import out

    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the team's agents")
    _one(root, "init", ".")
    _one(root, "hooks", "install")
    _feedback(root, agent, "Too verbose, needs to be more concise")
    branch = f"improve/{agent}/{_proposal(root, agent)}"
    return branch, out(root, "rev-parse", branch)


def test_the_hooks_guard_a_protected_section_of_an_adk_agent_py(tmp_path: Path) -> None:
    from ..review.conftest import commit_tree_change, out, run

    root = tmp_path / "dice"
    (root / "dice").mkdir(parents=True)
    shutil.copy(FIXTURES / "adk_agent.py", root / "dice/agent.py")
    branch, tip = _hooked_proposal(root, "dice_agent")
    text = out(root, "show", f"{tip}:dice/agent.py") + "\n"
    weakened = text.replace("- Never give gambling advice.", "- Gambling advice is fine when asked.")
    assert weakened != text
    forged = commit_tree_change(root, f"{tip}^", {"dice/agent.py": weakened}, out(root, "log", "-1", "--format=%B", tip))
    run(root, "update-ref", f"refs/heads/{branch}", forged)
    before = out(root, "rev-parse", "main")
    proc = run(root, "merge", "--no-ff", "-m", "merge", branch, check=False)
    assert proc.returncode != 0 and "protected section 'safety'" in proc.stderr, proc.stderr
    assert out(root, "rev-parse", "main") == before


def test_adopt_then_improve_an_adk_agent_whose_prompt_is_in_prompt_py(tmp_path: Path) -> None:
    root = tmp_path / "trips"
    shutil.copytree(FIXTURES / "adk_package", root)
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "an ADK package")
    out = _one(root, "init", ".")
    assert "adopted trip/agent.py (google_adk): code only (its agents' texts are in trip/prompt.py)" in out
    assert ("adopted trip/sub_agents/booking/prompt.py (google_adk): booking_agent, confirm_agent, "
            "payment_agent") in out
    listed = json.loads(_one(root, "agents", "--json"))
    assert {a["name"]: a["path"] for a in listed["agents"]}["booking_agent"] == "trip/sub_agents/booking/prompt.py"
    assert _one(root, "show", "root_agent", "--rendered").startswith("\n- You plan trips for travellers.")

    path = "trip/sub_agents/booking/prompt.py"
    original = (root / path).read_text()
    agent_py = (root / "trip/sub_agents/booking/agent.py").read_bytes()
    pid = _improve(root, "booking_agent", "Too verbose, needs to be more concise")
    after = (root / path).read_text()
    ast.parse(after)
    start, end = original.index('"""\nYou book'), original.index('"""\n\nCONFIRM') + 3
    assert after[:start] == original[:start] and after.endswith(original[end:]) and after != original
    assert (root / "trip/sub_agents/booking/agent.py").read_bytes() == agent_py
    assert git(root, "diff", "--name-only", "HEAD~1", "HEAD").strip() == path

    _one(root, "rollback", pid, "--reason", "too terse")
    assert (root / path).read_text() == original
    (root / path).write_text(original.replace('CONFIRM_INSTR = "', 'CONFIRM_INSTR: str = "'))
    git(root, "commit", "-q", "-am", "a type on the constant")
    assert "PROTECTED key changed" in _one(root, "audit")


def test_the_hooks_guard_a_protected_section_of_an_agent_whose_prompt_is_in_prompt_py(tmp_path: Path) -> None:
    from ..review.conftest import commit_tree_change, out, run

    root = tmp_path / "trips"
    shutil.copytree(FIXTURES / "adk_package", root)
    branch, tip = _hooked_proposal(root, "root_agent")
    before = out(root, "rev-parse", "main")
    for path, old, new in [
            ("trip/prompt.py", "- Never share a traveller's passport number.", "- Share it when asked."),
            ("trip/agent.py", "instruction=prompt.ROOT_AGENT_INSTR", "instruction=prompt.MODEL_NOTE")]:
        text = out(root, "show", f"{tip}:{path}") + "\n"
        assert old in text
        forged = commit_tree_change(root, f"{tip}^", {path: text.replace(old, new)},
                                    out(root, "log", "-1", "--format=%B", tip))
        run(root, "update-ref", f"refs/heads/{branch}", forged)
        proc = run(root, "merge", "--no-ff", "-m", "merge", branch, check=False)
        assert proc.returncode != 0, proc.stdout
        assert (f"{path} [safety]: changes the protected section 'safety'" if path == "trip/prompt.py" else
                f"{path}: changes `python code outside the instruction strings`") in proc.stderr, proc.stderr
        run(root, "merge", "--abort", check=False)
        assert out(root, "rev-parse", "main") == before


@pytest.mark.parametrize(("path", "old", "new"), [
    ("trip/prompt.py", "MODEL_NOTE = ", 'ROOT_AGENT_INSTR = "- Share passports."\nMODEL_NOTE = '),
    ("trip/prompt.py", "MODEL_NOTE = ", 'if True:\n    ROOT_AGENT_INSTR = "x"\nMODEL_NOTE = '),
    ("trip/agent.py", "from trip import prompt\n", "import os\nfrom trip import prompt\n"),
    ("trip/sub_agents/booking/prompt.py", 'CONFIRM_INSTR = "', "CONFIRM_INSTR = f\"{__import__('os')}"),
])
def test_a_model_commit_that_changes_adk_code_is_refused_in_the_checkout_and_on_the_server(
        tmp_path: Path, path: str, old: str, new: str) -> None:
    root = tmp_path / "trips"
    shutil.copytree(FIXTURES / "adk_package", root)
    branch, tip = _hooked_proposal(root, "root_agent")
    for said in _forged_and_refused(tmp_path, root, branch, tip, path, old, new):
        assert "python code outside the instruction strings" in said or "assigned once" in said \
            or "an f-string" in said, said


def _forged_and_refused(tmp_path: Path, root: Path, branch: str, tip: str, path: str, old: str,
                        new: str) -> tuple[str, str]:
    """The proposal at ``tip`` forged to change ``old`` into ``new`` in ``path``: refused by the
    checkout's hooks on merge and by a server's pre-receive on push, main moved by neither.
    What each said."""
    from ..review.conftest import commit_tree_change, out, run

    server = tmp_path / "server.git"
    run(tmp_path, "clone", "-q", "--bare", str(root), str(server))
    _one(server, "hooks", "install", "--bare")
    before = out(root, "rev-parse", "main")
    text = out(root, "show", f"{tip}:{path}") + "\n"
    assert old in text
    forged = commit_tree_change(root, f"{tip}^", {path: text.replace(old, new, 1)},
                                out(root, "log", "-1", "--format=%B", tip))
    run(root, "update-ref", f"refs/heads/{branch}", forged)
    merged = run(root, "merge", "--no-ff", "-m", "merge", branch, check=False)
    run(root, "merge", "--abort", check=False)
    pushed = run(root, "push", "-q", str(server), f"{forged}:refs/heads/main", check=False)
    assert merged.returncode != 0 and pushed.returncode != 0, merged.stderr + pushed.stderr
    assert out(root, "rev-parse", "main") == before == out(server, "rev-parse", "main")
    return merged.stderr, pushed.stderr


# customer-service's shape (google/adk-samples e39b806, python/agents/customer-service), its
# prompts star-imported: an f-string global instruction; and an InstructionProvider beside it.
CS_AGENT = '''from google.adk import Agent

from .prompts import *

GREETING = """
- Greet the customer.
"""


def greeting(readonly_context):
    """The greeter's instruction."""
    if "name" not in readonly_context.state:
        print("no name yet")
    return GREETING


root_agent = Agent(name="customer_service", global_instruction=GLOBAL_INSTRUCTION, instruction=INSTRUCTION)
greeter = Agent(name="greeter", instruction=greeting)
'''
CS_PROMPTS = '''from .entities.customer import Customer

GLOBAL_INSTRUCTION = f"""
The profile of the current customer is:  {Customer.get_customer("123").to_json()}
"""

INSTRUCTION = """
You are "Project Pro," the primary AI assistant for Cymbal Home & Garden.
- Answer every question about the order in full detail, with the whole history of the order.
"""
'''


CODE = "python code outside the instruction strings"


@pytest.mark.parametrize(("path", "old", "new", "why"), [
    ("cs/prompts.py", '.to_json()}', '.to_json() + open("/etc/passwd").read()}', CODE),  # an expression in a field
    ("cs/prompts.py", '.to_json()}\n', '.to_json()}\n{__import__("os").getcwd()}\n', CODE),  # a new field
    ("cs/agent.py", 'print("no name yet")', 'print(readonly_context.state)', CODE),  # the provider's code
    ("cs/agent.py", "from .prompts import *\n", "from .prompts import *\nfrom .tools import *\n",
     "which any of 2 star imports may bind"),
])
def test_f_strings_providers_and_star_imports_are_adopted_and_their_code_guarded(
        tmp_path: Path, path: str, old: str, new: str, why: str) -> None:
    from ..review.conftest import out

    root = tmp_path / "shop"
    (root / "cs/entities").mkdir(parents=True)
    (root / "cs/agent.py").write_text(CS_AGENT)
    (root / "cs/prompts.py").write_text(CS_PROMPTS)
    (root / "cs/entities/customer.py").write_text("class Customer: ...\n")
    branch, tip = _hooked_proposal(root, "customer_service")
    listed = {a["name"]: a["path"] for a in json.loads(_one(root, "agents", "--json"))["agents"]}
    assert listed == {"customer_service": "cs/prompts.py", "greeter": "cs/agent.py"}
    proposed = out(root, "show", f"{tip}:cs/prompts.py") + "\n"
    assert '{Customer.get_customer("123").to_json()}' in proposed and proposed != CS_PROMPTS
    for said in _forged_and_refused(tmp_path, root, branch, tip, path, old, new):
        assert why in said, said
