"""ADK agents whose instruction is a constant of a module of their package (``from . import
prompt`` then ``instruction=prompt.ROOT_PROMPT``): the module holds the agent; only the
constant's literal changes, every written file parses, the rest keeps its bytes, and a change
of code in either file is refused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.adopt import formats_yaml, survey
from gitimprove.instructions.formats import AdoptedDocument, EditError
from gitimprove.instructions.formats.catalog import Catalog, adapter_for, build
from gitimprove.instructions.formats.google_adk import PythonAgents
from gitimprove.instructions.policy import Constant, FormatRule, Policy, parse_policy
from gitimprove.validate import check_change

PACKAGE = Path(__file__).parent / "fixtures" / "adk_package"
FILES = {str(p.relative_to(PACKAGE)): p.read_bytes() for p in sorted(PACKAGE.rglob("*.py"))}
ROOT, ROOT_PROMPT = "trip/agent.py", "trip/prompt.py"
BOOKING, BOOKING_PROMPT = "trip/sub_agents/booking/agent.py", "trip/sub_agents/booking/prompt.py"


def _policy() -> Policy:
    return Policy(formats=survey(FILES, Policy(), []).rules, protected_sections=[])


def _catalog(files: dict[str, bytes], policy: Policy) -> Catalog:
    return build(policy, list(files), lambda path, rule: adapter_for(rule.format, rule.constants).parse(
        files[path].decode(), path))


def _doc(policy: Policy, path: str, key: str, text: str | None = None) -> AdoptedDocument:
    rule = next(r for r in policy.formats if r.matches(path))
    parsed = adapter_for(rule.format, rule.constants).parse(text or FILES[path].decode(), path)
    return AdoptedDocument(parsed, key, key)


def test_init_adopts_the_agent_py_files_and_the_modules_holding_their_prompts() -> None:
    result = survey(FILES, Policy(), [])
    assert [(a.path, a.agents, a.texts_in) for a in result.adopted] == [
        (ROOT, [], [ROOT_PROMPT]), (BOOKING, [], [BOOKING_PROMPT]),
        (ROOT_PROMPT, ["root_agent"], []),
        (BOOKING_PROMPT, ["booking_agent", "confirm_agent", "payment_agent"], [])]
    assert result.left == []
    yaml = formats_yaml(result.rules)
    assert ("  - path: 'trip/sub_agents/booking/prompt.py'\n    format: google_adk\n"
            "    constants:  # the texts of agents an agent.py defines\n"
            "      - agent: 'confirm_agent'\n        constant: CONFIRM_INSTR\n") in yaml
    policy = parse_policy("version: 1\n" + yaml, "gitimprove.yaml")
    assert policy.formats == result.rules
    cat = _catalog(FILES, policy)
    assert sorted(cat.agents) == ["booking_agent", "confirm_agent", "payment_agent", "root_agent"]
    assert cat.agents["root_agent"].path == ROOT_PROMPT and not cat.problems


def test_the_agent_py_names_its_prompts_module_relative_or_by_its_own_folders() -> None:
    adk = adapter_for("google_adk")
    root = adk.parse(FILES[ROOT].decode(), ROOT)
    booking = adk.parse(FILES[BOOKING].decode(), BOOKING)
    assert isinstance(root, PythonAgents) and isinstance(booking, PythonAgents)
    assert root.entries == [] and [(u.key, u.path, u.constant) for u in root.uses] == [
        ("root_agent", ROOT_PROMPT, "ROOT_AGENT_INSTR")]
    assert [(u.key, u.path, u.constant) for u in booking.uses] == [
        ("confirm_agent", BOOKING_PROMPT, "CONFIRM_INSTR"), ("payment_agent", BOOKING_PROMPT, "PAYMENT_INSTR"),
        ("booking_agent", BOOKING_PROMPT, "BOOKING_INSTR")]
    sub = ("from google.adk import Agent\nfrom .sub_agents.booking import prompt as p\n"
           "a = Agent(name='a', instruction=p.X)\n")
    assert [u.path for u in adk.parse(sub, "trip/agent.py").uses] == [BOOKING_PROMPT]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("imports", "expr", "why"), [
    ("from .. import prompt", "prompt.X", "from `..prompt`, which is not a module of this package"),
    ("from ..prompt import X", "X", "imported from `..prompt`, which is not a module of this package"),
    ("from shop import prompt", "prompt.X", "from `shop.prompt`, which is not a module of this package"),
    ("from trip.elsewhere import X", "X", "imported from `trip.elsewhere`"),  # not this file's folders
    ("import prompt", "prompt.X", "`prompt.X`, a name from another module"),
    ("from . import prompt\nprompt = None", "prompt.X", "`prompt.X`, a name from another module"),
])
def test_a_module_outside_the_package_is_refused_with_the_reason(imports: str, expr: str, why: str) -> None:
    text = f"from google.adk import Agent\n{imports}\na = Agent(name='a', instruction={expr})\n"
    with pytest.raises(InvalidFileError) as exc:
        adapter_for("google_adk").parse(text, "shop/booking/agent.py")
    assert why in exc.value.problems[0], exc.value.problems[0]


@pytest.mark.parametrize(("value", "why"), [
    ('f"""Hello {name=}"""', "an f-string gitimprove cannot write back"),
    ('"a" + "b"', "joining strings"),
    ('"""x""".format(y=1)', "a call (`'x'.format(...)`)"),
    ('("a"  # first\n    "b")', "with comments among them"),
])
def test_a_constant_built_when_the_program_runs_leaves_the_agent(value: str, why: str) -> None:
    files = {**FILES, ROOT_PROMPT: f"ROOT_AGENT_INSTR = {value}\n".encode()}
    result = survey(files, Policy(), [])
    assert ROOT not in [a.path for a in result.adopted] and ROOT_PROMPT not in [a.path for a in result.adopted]
    ((path, reason),) = result.left
    assert path == ROOT and reason.startswith("agent 'root_agent': its `instruction` is in trip/prompt.py: ")
    assert why in reason


def test_an_edit_changes_only_the_constant_s_literal() -> None:
    policy = _policy()
    text = FILES[BOOKING_PROMPT].decode()
    doc = _doc(policy, BOOKING_PROMPT, "booking_agent")
    doc.add_rule("rules", "Quote the \"total\" before paying.")
    new = doc.dumps()
    ast.parse(new)
    start, end = text.index('"""\nYou book'), text.index('"""\n\nCONFIRM') + 3
    assert new[:start] == text[:start] and new[len(new) - (len(text) - end):] == text[end:]
    assert '- Take payment with payment_agent.\n- Quote the "total" before paying.\n"""' in new
    assert check_change({BOOKING_PROMPT: text.encode()}, {BOOKING_PROMPT: new.encode()}, policy) == []
    one_line = _doc(policy, BOOKING_PROMPT, "confirm_agent")
    one_line.add_rule("instruction", "Say the date back.")
    written = one_line.dumps()
    assert 'CONFIRM_INSTR = "Ask the traveller to confirm the booking.\\n\\n- Say the date back."\n' in written
    assert written.replace('\\n\\n- Say the date back.', '') == text


def test_the_validator_refuses_code_and_protected_changes_in_the_module() -> None:
    policy = _policy()
    text = FILES[ROOT_PROMPT].decode()

    def codes(new: str) -> list[str]:
        return [v.code for v in check_change({ROOT_PROMPT: text.encode()}, {ROOT_PROMPT: new.encode()}, policy)]

    assert codes(text.replace("not an instruction", "changed")) == ["protected-key"]
    assert codes(text + "import os\n") == ["protected-key"]
    assert codes(text.replace("passport number", "passport number unless asked")) == ["protected-changed"]
    assert "variable-added" in codes(text.replace("{_time}", "{_time} {secret}"))
    # an f-string now: its `{_time}` would be a field, code, where the text had a state variable
    # (and ADK no longer fills `{_time}`: the variable is dropped)
    assert codes(text.replace('ROOT_AGENT_INSTR = """', 'ROOT_AGENT_INSTR = f"""')) == [
        "protected-key", "variable-dropped"]


def test_pointing_an_agent_at_another_constant_is_a_change_of_code_and_unlists_it() -> None:
    policy = _policy()
    text = FILES[BOOKING].decode()
    moved = text.replace("instruction=prompt.CONFIRM_INSTR", "instruction=prompt.BOOKING_INSTR")
    assert [v.code for v in check_change({BOOKING: text.encode()}, {BOOKING: moved.encode()}, policy)] == [
        "protected-key"]
    cat = _catalog({**FILES, BOOKING: moved.encode()}, policy)
    assert "confirm_agent" not in cat.agents and "booking_agent" in cat.agents
    assert cat.problems[BOOKING_PROMPT] == [
        f"{BOOKING_PROMPT}: gitimprove.yaml lists `CONFIRM_INSTR` as the instruction of agent 'confirm_agent', "
        "but no adopted agent.py gives agent 'confirm_agent' that instruction; make the `constants:` of this "
        "file in gitimprove.yaml's `formats:` name the constant the agent.py uses (and keep that agent.py in "
        "`formats:`)"]
    # without its agent.py in `formats:`, a module's agents are not listed either
    alone = Policy(formats=[r for r in policy.formats if r.matches(BOOKING_PROMPT)])
    assert _catalog(FILES, alone).agents == {}


def test_a_constant_two_agents_use_is_not_edited() -> None:
    rule = FormatRule(path=ROOT_PROMPT, format="google_adk", constants=[
        Constant(agent="a", constant="ROOT_AGENT_INSTR"), Constant(agent="b", constant="ROOT_AGENT_INSTR")])
    parsed = adapter_for(rule.format, rule.constants).parse(FILES[ROOT_PROMPT].decode(), ROOT_PROMPT)
    doc = AdoptedDocument(parsed, "a", "a")
    doc.add_rule("instruction", "Be brief.")
    with pytest.raises(EditError, match="other agents use too"):
        doc.dumps()


@pytest.mark.parametrize(("constants", "problem"), [
    ([Constant(agent="a", constant="MISSING")], "`MISSING` (the instruction of agent 'a') is not defined"),
    ([Constant(agent="a", constant="ROOT_AGENT_INSTR"), Constant(agent="a", constant="MODEL_NOTE")],
     "two constants are listed for the instruction of agent 'a'"),
])
def test_a_policy_listing_what_the_module_does_not_hold_is_refused(constants: list[Constant], problem: str) -> None:
    with pytest.raises(InvalidFileError) as exc:
        adapter_for("google_adk", constants).parse(FILES[ROOT_PROMPT].decode(), ROOT_PROMPT)
    assert problem in exc.value.problems[0]


def test_constants_belong_to_google_adk_only() -> None:
    with pytest.raises(InvalidFileError, match="`constants:` is for google_adk prompt modules"):
        adapter_for("crewai", [Constant(agent="a", constant="X")])


def test_init_again_names_a_new_package_and_says_its_module_needs_constants(tmp_path: Path) -> None:
    import shutil

    from gitimprove.instructions.init import init
    from tests.conftest import git

    root = tmp_path / "repo"
    (root / "notes").mkdir(parents=True)
    (root / "notes/AGENTS.md").write_text("# Agent\n\nAnswer briefly.\n")
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "notes")
    init(root)
    shutil.copytree(PACKAGE / "trip", root / "trip")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a package")
    left = dict(init(root).left)
    assert left[ROOT].endswith("with `format: google_adk` under its `formats:` to adopt it, or "
                               "run `gitimprove init --adopt-new`")
    assert left[ROOT_PROMPT].endswith("with `format: google_adk` and the `constants:` its agents use "
                                      "(`gitimprove docs file-formats`) under its `formats:` to "
                                      "adopt it, or run `gitimprove init --adopt-new`")
    # --adopt-new writes the constants too
    adopted = init(root, adopt_new=True)
    assert {a.path for a in adopted.adopted} >= {ROOT, ROOT_PROMPT} and adopted.commit
    assert "constant: " in (root / "gitimprove.yaml").read_text()
    assert not init(root).left


def test_a_global_instruction_from_the_module_is_a_second_text_of_the_agent() -> None:
    agent_py = ("from google.adk import Agent\nfrom . import prompt\n"
                "root_agent = Agent(name='root_agent', global_instruction=prompt.G, instruction=prompt.I)\n")
    module = "I = '''\n- Plan the trip.\n'''\nG = 'You are TripBot.'\n"
    files = {"t/agent.py": agent_py.encode(), "t/prompt.py": module.encode()}
    result = survey(files, Policy(), [])
    (rule,) = [r for r in result.rules if r.constants]
    assert [(c.constant, c.field) for c in rule.constants] == [("G", "global_instruction"), ("I", "instruction")]
    parsed = adapter_for(rule.format, rule.constants).parse(module, "t/prompt.py")
    assert parsed.render(parsed.entry("root_agent")) == "You are TripBot.\n\n\n- Plan the trip.\n"
    mixed = agent_py.replace("instruction=prompt.I", "instruction='Plan.'")
    with pytest.raises(InvalidFileError, match="gitimprove keeps an agent in one file"):
        adapter_for("google_adk").parse(mixed, "t/agent.py")


# The shape of google/adk-samples (e39b8067995c3df2d394d2c1a8ee332da621ffcc,
# python/agents/customer-service/customer_service/agent.py and prompts.py), with the import
# written as a star import: an f-string global instruction and a plain instruction.
CS_AGENT = b'''from google.adk import Agent

from .prompts import *

root_agent = Agent(
    model="gemini-2.0-flash",
    global_instruction=GLOBAL_INSTRUCTION,
    instruction=INSTRUCTION,
    name="customer_service",
)
'''
CS_PROMPTS = b'''"""Global instruction and instruction for the customer service agent."""

from .entities.customer import Customer

GLOBAL_INSTRUCTION = f"""
The profile of the current customer is:  {Customer.get_customer("123").to_json()}
"""

INSTRUCTION = """
You are "Project Pro," the primary AI assistant for Cymbal Home & Garden.
- Greet the customer by name.
"""
'''


@pytest.mark.parametrize("module", ["cs/prompts.py", "cs/prompts/__init__.py"])
def test_a_star_import_and_a_prompt_package_are_followed_to_the_one_module(module: str) -> None:
    files = {"cs/agent.py": CS_AGENT, module: CS_PROMPTS, "cs/entities/customer.py": b"class Customer: ...\n"}
    result = survey(files, Policy(), [])
    assert [(a.path, a.agents) for a in result.adopted] == [("cs/agent.py", []), (module, ["customer_service"])]
    policy = Policy(formats=result.rules, protected_sections=[])
    assert sorted(_catalog(files, policy).agents) == ["customer_service"]
    doc = _doc(policy, module, "customer_service", CS_PROMPTS.decode())
    doc.add_rule("global-instruction", 'Quote the profile as JSON, {"id": "..."}.')
    new = doc.dumps()
    assert 'to_json()}\n\n- Quote the profile as JSON, {{"id": "..."}}.\n"""' in new
    assert check_change({module: CS_PROMPTS}, {module: new.encode()}, policy) == []
    field = new.replace('{Customer.get_customer("123").to_json()}', '{Customer.get_customer("124").to_json()}')
    assert "protected-key" in [v.code for v in check_change({module: CS_PROMPTS}, {module: field.encode()}, policy)]
    # a second star import: which module binds the name is no longer known
    starred = CS_AGENT.replace(b"from .prompts import *", b"from .prompts import *\nfrom .tools import *")
    assert [v.code for v in check_change({"cs/agent.py": CS_AGENT}, {"cs/agent.py": starred}, policy)] == [
        "schema-invalid"]


@pytest.mark.parametrize(("imports", "extra", "why"), [
    ("from .prompts import *\nfrom .more import *", {"cs/more.py": b"OTHER = 'x'\n"},
     "which any of 2 star imports may bind (`from .prompts import *`, `from .more import *`); gitimprove "
     "follows a star import only when it is the file's one star import"),
    ("from .other import *", {"cs/other.py": b"OTHER = 'x'\n"}, "of cs/other.py, which does not define it"),
    ("from .prompts import *", {"cs/prompts/__init__.py": CS_PROMPTS}, "both cs/prompts.py and cs/prompts/__init__.py"),
    ("from .more import *", {"cs/more.py": b"from .prompts import *\n"},
     "of cs/more.py, which star-imports another module in turn"),
    ("from os.path import *", {}, "may come from `from os.path import *`, not a module"),
])
def test_a_star_import_that_does_not_name_one_constant_is_refused_with_the_reason(
        imports: str, extra: dict[str, bytes], why: str) -> None:
    files = {"cs/agent.py": CS_AGENT.replace(b"from .prompts import *", imports.encode()), "cs/prompts.py": CS_PROMPTS,
             **extra}
    result = survey(files, Policy(), [])
    assert "cs/agent.py" not in [a.path for a in result.adopted]
    assert any(why in reason for path, reason in result.left if path == "cs/agent.py"), result.left


def test_a_module_that_becomes_a_package_too_unlists_its_agents() -> None:
    """A human commit adding prompts/__init__.py beside prompts.py: Python would read the
    package; the catalog lists the agent no more, and says why."""
    files = {"cs/agent.py": CS_AGENT, "cs/prompts.py": CS_PROMPTS}
    policy = Policy(formats=survey(files, Policy(), []).rules, protected_sections=[])
    assert sorted(_catalog(files, policy).agents) == ["customer_service"]
    cat = _catalog({**files, "cs/prompts/__init__.py": b"INSTRUCTION = 'x'\n"}, policy)
    assert cat.agents == {}
    assert "cs/agent.py: agent 'customer_service': both cs/prompts.py and cs/prompts/__init__.py exist" in \
        cat.problem_list()[0]


def test_a_star_import_leaves_out_a_name_its_module_does_not_export() -> None:
    prompts = CS_PROMPTS + b'\n__all__ = ["GLOBAL_INSTRUCTION"]\n'
    result = survey({"cs/agent.py": CS_AGENT, "cs/prompts.py": prompts}, Policy(), [])
    assert result.adopted == []
    assert "`INSTRUCTION` comes from a star import (`import *`) of cs/prompts.py, which does not define it in its " \
        "`__all__`" in result.left[0][1]


def test_a_constant_a_later_star_import_may_rebind_is_refused() -> None:
    agent = CS_AGENT.replace(b"from .prompts import *\n", b"INSTRUCTION = 'x'\nGLOBAL_INSTRUCTION = 'y'\n"
                             b"from .prompts import *\n")
    result = survey({"cs/agent.py": agent, "cs/prompts.py": CS_PROMPTS}, Policy(), [])
    assert result.adopted == []
    assert "which `from .prompts import *` on line 5 may bind again" in result.left[0][1]


def test_a_constant_of_the_module_a_later_star_import_may_rebind_is_refused() -> None:
    prompts = CS_PROMPTS + b"\nfrom .legacy import *\n"
    result = survey({"cs/agent.py": CS_AGENT.replace(b"import *", b"import GLOBAL_INSTRUCTION, INSTRUCTION"),
                     "cs/prompts.py": prompts}, Policy(), [])
    assert result.adopted == []
    assert "may be bound again by `from .legacy import *` on line 14" in result.left[0][1]
