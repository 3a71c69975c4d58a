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
