"""ADK agents whose instruction is what a function returns (``instruction=
return_instructions_root()``, the function in ``agent.py`` or in a module of the package):
adopted when the function can only return one string literal, which is then the text edited;
any other function is refused with the reason."""

from __future__ import annotations

import ast

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.adopt import formats_yaml, survey
from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
from gitimprove.instructions.formats.catalog import adapter_for, build
from gitimprove.instructions.policy import Constant, Policy, parse_policy
from gitimprove.validate import check_change

ADK = ADAPTERS["google_adk"]
AGENT = ("from google.adk.agents import Agent\n\nfrom .prompts import return_instructions_root\n\n"
         "root_agent = Agent(\n    name='ask_rag_agent',\n    instruction=return_instructions_root(),\n)\n")
# As google/adk-samples writes it (RAG, data-science): a draft kept beside the text returned.
PROMPTS = '''"""Module for storing and retrieving agent instructions."""


def return_instructions_root() -> str:

    instruction_prompt_v1 = """
        You answer questions about the corpus.
        - Cite the source of the information.
        """

    instruction_prompt_v0 = """
        An older draft.
        """

    return instruction_prompt_v1
'''
FILES = {"rag/agent.py": AGENT.encode(), "rag/prompts.py": PROMPTS.encode()}


def test_init_adopts_a_function_of_the_package_that_returns_one_literal() -> None:
    result = survey(FILES, Policy(), [])
    assert [(a.path, a.agents) for a in result.adopted] == [
        ("rag/agent.py", []), ("rag/prompts.py", ["ask_rag_agent"])]
    assert result.left == []
    yaml = formats_yaml(result.rules)
    assert "      - agent: 'ask_rag_agent'\n        constant: return_instructions_root()\n" in yaml
    policy = parse_policy("version: 1\nprotected_sections: []\n" + yaml, "gitimprove.yaml")
    assert policy.formats == result.rules
    cat = build(policy, list(FILES), lambda path, rule: adapter_for(rule.format, rule.constants).parse(
        FILES[path].decode(), path))
    assert cat.agents["ask_rag_agent"].path == "rag/prompts.py" and not cat.problems

    rule = next(r for r in policy.formats if r.matches("rag/prompts.py"))
    doc = AdoptedDocument(adapter_for(rule.format, rule.constants).parse(PROMPTS, "rag/prompts.py"),
                          "ask_rag_agent", "ask_rag_agent")
    doc.add_rule("instruction", "Say when the corpus has no answer.")
    new = doc.dumps()
    ast.parse(new)
    assert new == PROMPTS.replace("information.\n        \"\"\"\n\n    instruction_prompt_v0",
                                  "information.\n        - Say when the corpus has no answer.\n"
                                  "        \"\"\"\n\n    instruction_prompt_v0")
    assert check_change({"rag/prompts.py": PROMPTS.encode()}, {"rag/prompts.py": new.encode()}, policy) == []
    draft = PROMPTS.replace("An older draft.", "A changed draft.")
    assert [v.code for v in check_change({"rag/prompts.py": PROMPTS.encode()},
                                         {"rag/prompts.py": draft.encode()}, policy)] == ["protected-key"]


def test_the_function_may_be_named_through_its_module() -> None:
    agent = AGENT.replace("from .prompts import return_instructions_root", "from . import prompts").replace(
        "instruction=return_instructions_root()", "instruction=prompts.return_instructions_root()")
    result = survey({**FILES, "rag/agent.py": agent.encode()}, Policy(), [])
    assert [(a.path, a.agents) for a in result.adopted] == [("rag/agent.py", []), ("rag/prompts.py", ["ask_rag_agent"])]
    assert result.rules[1].constants == [Constant(agent="ask_rag_agent", constant="return_instructions_root()")]


def test_a_function_of_agent_py_itself_is_read_there() -> None:
    text = ("from google.adk import Agent\n\ndef instructions() -> str:\n    \"\"\"The prompt.\"\"\"\n"
            "    return '- Be brief.'\n\nroot_agent = Agent(name='a', instruction=instructions())\n")
    doc = AdoptedDocument(ADK.parse(text, "agent.py"), "a", "a")
    doc.add_rule("instruction", "Be kind.")
    assert doc.dumps() == text.replace("'- Be brief.'", "'- Be brief.\\n- Be kind.'")


@pytest.mark.parametrize(("body", "why"), [
    ("    return f'{x}'\n", "a function that returns an f-string"),
    ("    a = 'x'\n    a = 'y'\n    return a\n", "does more than return one string"),
    ("    a = 'x'\n    print(a)\n    return a\n", "does more than return one string"),
    ("    if x:\n        return 'a'\n    return 'b'\n", "does more than return one string"),
    ("    return ('a'  # first\n        'b')\n", "with comments among them"),
])
def test_any_other_function_leaves_the_agent_with_the_reason(body: str, why: str) -> None:
    prompts = f"x = 1\n\ndef return_instructions_root() -> str:\n{body}"
    result = survey({**FILES, "rag/prompts.py": prompts.encode()}, Policy(), [])
    assert result.adopted == []
    ((path, reason),) = result.left
    assert path == "rag/agent.py" and reason.startswith(
        "agent 'ask_rag_agent': its `instruction` is in rag/prompts.py: ") and why in reason, reason


@pytest.mark.parametrize(("constant", "why"), [
    ("return_instructions_root", "without a parameter for the context ADK passes it"),  # the function itself
    ("x()", "is not a function assigned once"),
])
def test_a_listing_that_does_not_match_the_module_is_refused(constant: str, why: str) -> None:
    prompts = "x = 'a'\n\ndef return_instructions_root() -> str:\n    return 'b'\n"
    with pytest.raises(InvalidFileError) as exc:
        adapter_for("google_adk", [Constant(agent="a", constant=constant)]).parse(prompts, "rag/prompts.py")
    assert why in exc.value.problems[0]


# An InstructionProvider: ADK calls `instruction=` with the context when it is a function. The
# shape of google/adk-samples (e39b8067995c3df2d394d2c1a8ee332da621ffcc,
# python/agents/travel-concierge/travel_concierge/sub_agents/in_trip/tools.py,
# `transit_coordination`): code reading the state, then the text of a prompt constant.
PROVIDER = '''from google.adk.agents import Agent
from google.adk.agents.readonly_context import ReadonlyContext

DAY_OF_INSTR = """
You are the day-of agent.
- Tell the traveller when to leave.
"""


def day_of_instruction(readonly_context: ReadonlyContext) -> str:
    """Builds the day_of agent's instruction."""
    state = readonly_context.state
    if "itinerary" not in state:
        print("no itinerary yet")
    return DAY_OF_INSTR


day_of_agent = Agent(
    model="gemini-2.0-flash",
    name="day_of_agent",
    instruction=day_of_instruction,
)
'''


def test_an_instruction_provider_that_returns_one_constant_is_managed_there() -> None:
    files = {"trip/agent.py": PROVIDER.encode()}
    result = survey(files, Policy(), [])
    assert [(a.path, a.agents) for a in result.adopted] == [("trip/agent.py", ["day_of_agent"])]
    parsed = ADK.parse(PROVIDER, "trip/agent.py")
    doc = AdoptedDocument(parsed, "day_of_agent", "day_of_agent")
    doc.add_rule("instruction", "Name the station.")
    new = doc.dumps()
    assert new == PROVIDER.replace("leave.\n", "leave.\n- Name the station.\n")
    policy = Policy(formats=result.rules, protected_sections=[])
    assert check_change({"trip/agent.py": PROVIDER.encode()}, {"trip/agent.py": new.encode()}, policy) == []
    for old, code, refused in [
            ('print("no itinerary yet")', 'print(readonly_context.state)', "protected-key"),  # its code
            ("    return DAY_OF_INSTR\n", "    import os\n    return DAY_OF_INSTR\n", "protected-key"),
            # no longer one text to manage: the file does not read as an agent file any more
            ("    return DAY_OF_INSTR\n", '    return DAY_OF_INSTR + " Be brief."\n', "schema-invalid")]:
        changed = PROVIDER.replace(old, code)
        assert [v.code for v in check_change(
            {"trip/agent.py": PROVIDER.encode()}, {"trip/agent.py": changed.encode()}, policy)] == [refused]


@pytest.mark.parametrize("body", [
    '    text = """\n- Be brief.\n"""\n    return text\n',  # a name it assigns once
    '    return f"""\n- Be brief, {readonly_context.user_id}.\n"""\n',  # an f-string: its text
    '    if readonly_context.state:\n        return DAY_OF_INSTR\n    return DAY_OF_INSTR\n',  # twice the same
])
def test_a_provider_is_read_when_every_return_gives_one_text(body: str) -> None:
    text = PROVIDER.replace('    return DAY_OF_INSTR\n', body)
    parsed = ADK.parse(text, "trip/agent.py")
    assert [e.key for e in parsed.entries] == ["day_of_agent"]


def test_a_provider_of_the_package_returning_a_prompt_constant_puts_the_agent_in_that_module() -> None:
    agent = ("from google.adk.agents import Agent\nfrom . import prompt\n\n"
             "def provide(ctx):\n    return prompt.DAY_OF_INSTR\n\n"
             "day_of_agent = Agent(name='day_of_agent', instruction=provide)\n")
    prompts = 'DAY_OF_INSTR = """\n- Tell the traveller when to leave.\n"""\n'
    files = {"trip/agent.py": agent.encode(), "trip/prompt.py": prompts.encode()}
    result = survey(files, Policy(), [])
    assert [(a.path, a.agents) for a in result.adopted] == [("trip/agent.py", []), ("trip/prompt.py", ["day_of_agent"])]


@pytest.mark.parametrize(("body", "why"), [
    ('    if readonly_context.state:\n        return DAY_OF_INSTR\n    return """other"""\n',
     "a function that returns 2 different things (lines 16, 17)"),
    ("    return DAY_OF_INSTR.format(x=1)\n", "whose returned value is a call (`DAY_OF_INSTR.format(...)`)"),
    ("    if state:\n        return DAY_OF_INSTR\n", "may end without returning its text"),
    ("    if state:\n        return\n    return DAY_OF_INSTR\n", "may return nothing (line 16)"),
    ("    yield DAY_OF_INSTR\n    return DAY_OF_INSTR\n", "a generator function"),
    ("    return readonly_context\n", "returns its parameter `readonly_context`"),
    ("    text = 'a'\n    text = 'b'\n    return text\n", "returns `text`, which it may assign more than once"),
    # a local name that shadows the module's constant, or a parameter named like a module
    ("    DAY_OF_INSTR = state['text']\n    text = DAY_OF_INSTR\n    return text\n",
     "returns `DAY_OF_INSTR`, built from what it sets when it runs (`DAY_OF_INSTR`)"),
    ("    prompt = readonly_context\n    return prompt.DAY_OF_INSTR\n",
     "returns `prompt.DAY_OF_INSTR`, built from what it sets when it runs (`prompt`)"),
])
def test_any_other_provider_leaves_the_agent_with_the_reason(body: str, why: str) -> None:
    text = PROVIDER.replace('    return DAY_OF_INSTR\n', body)
    result = survey({"trip/agent.py": text.encode()}, Policy(), [])
    assert result.adopted == []
    ((_, reason),) = result.left
    assert "`instruction` is `day_of_instruction`, a function ADK calls for the text when the program runs (an " \
           "InstructionProvider)" in reason and why in reason, reason


def test_the_real_shape_of_a_provider_choosing_between_two_prompts_is_left_with_the_reason() -> None:
    """travel-concierge's in_trip (same commit): tools.py's transit_coordination returns
    prompt.NEED_ITIN_INSTR, or prompt.LOGISTIC_INSTR_TEMPLATE.format(...)."""
    agent = ("from google.adk.agents import Agent\n"
             "from travel_concierge.sub_agents.in_trip.tools import transit_coordination\n\n"
             "day_of_agent = Agent(\n    model='gemini-2.0-flash',\n    name='day_of_agent',\n"
             "    instruction=transit_coordination,\n)\n")
    tools = ("from travel_concierge.sub_agents.in_trip import prompt\n\n\n"
             "def transit_coordination(readonly_context):\n    state = readonly_context.state\n"
             "    if 'itinerary' not in state:\n        return prompt.NEED_ITIN_INSTR\n"
             "    return prompt.LOGISTIC_INSTR_TEMPLATE.format(CURRENT_TIME=state['now'])\n")
    base = "travel_concierge/sub_agents/in_trip/"
    result = survey({base + "agent.py": agent.encode(), base + "tools.py": tools.encode()}, Policy(), [])
    assert result.adopted == []
    assert result.left == [(base + "agent.py", f"agent 'day_of_agent': its `instruction` is in {base}tools.py: "
                            "line 4: `transit_coordination` (the instruction of agent 'day_of_agent') is a function "
                            "ADK calls for the text when the program runs (an InstructionProvider): a function that "
                            "returns 2 different things (lines 7, 8); gitimprove manages it only when every "
                            "`return` gives the one text; gitimprove edits only text written as one string literal")]
