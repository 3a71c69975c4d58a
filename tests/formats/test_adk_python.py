"""Google ADK agents defined in Python (``agent.py``): read with ``ast``, never run; only the
instruction literals change, every written file parses, and the rest keeps its bytes."""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.adopt import survey
from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument, EditError
from gitimprove.instructions.formats.pysource import FString, Source, encode
from gitimprove.instructions.policy import FormatRule, Policy
from gitimprove.validate import check_change

ADK = ADAPTERS["google_adk"]

AGENT_PY = (Path(__file__).parent / "fixtures" / "adk_agent.py").read_text()


def _outside(text: str, new: str, literal: str) -> tuple[str, str]:
    """The file's text before and after the edited literal, in the old and the new file."""
    at = text.index(literal)
    end = len(text) - at - len(literal)
    return text[:at] + text[len(text) - end:], new[:at] + new[len(new) - end:]


def test_agents_and_their_instruction_strings_are_found() -> None:
    parsed = ADK.parse(AGENT_PY, "dice/agent.py")
    assert [e.key for e in parsed.entries] == ["helper", "dice_agent"]
    view = parsed.view(parsed.entry("dice_agent"), "dice")
    assert [(s.id, s.rules, s.protected) for s in view.sections] == [
        ("global-instruction", None, False),
        ("instruction", None, False),
        ("rules", ["Roll with the roll_die tool; never invent a roll.", "Say which die you rolled."], False),
        ("safety", ["Never give gambling advice."], True)]
    assert parsed.render(parsed.entry("dice_agent")).startswith("You are DiceBot.\n\n\n    You help players")
    assert ADK.claims("dice/agent.py") and not ADK.claims("dice/tools.py")


def test_an_edit_replaces_only_the_literal_and_the_file_stays_python() -> None:
    parsed = ADK.parse(AGENT_PY, "dice/agent.py")
    doc = AdoptedDocument(parsed, "dice_agent", "dice")
    doc.add_rule("rules", 'Quote the "house rules" \\ as written.')
    doc.update_rule("rules", 1, "Name the die you rolled.")
    new = doc.dumps()
    ast.parse(new)
    old_block = AGENT_PY[AGENT_PY.index('"""\n    You help'):AGENT_PY.index('"""\n\nhelper')] + '"""'
    before, after = _outside(AGENT_PY, new, old_block)
    assert before == after
    assert ('    - Name the die you rolled.\n    - Quote the "house rules" \\\\ as written.\n\n'
            "    ## Safety") in new
    module = ast.parse(new)
    constant = next(n for n in module.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "INSTRUCTION")
    assert isinstance(constant.value, ast.Constant)
    assert '- Quote the "house rules" \\ as written.' in constant.value.value
    again = ADK.parse(new, "dice/agent.py").view(ADK.parse(new, "dice/agent.py").entry("dice_agent"), "dice")
    assert again.section("rules").rules[-1] == 'Quote the "house rules" \\ as written.'  # type: ignore[union-attr]


def test_a_one_line_string_that_gains_lines_stays_in_its_quotes() -> None:
    parsed = ADK.parse(AGENT_PY, "dice/agent.py")
    doc = AdoptedDocument(parsed, "helper", "helper")
    doc.add_rule("instruction", "Cite the rule's page.")
    new = doc.dumps()
    assert ("    instruction='You answer questions about the \\'house rules\\'.\\n\\n- Cite the rule\\'s page.',"
            "  # a comment kept as it is\n") in new
    before, after = _outside(AGENT_PY, new, "'You answer questions about the \\'house rules\\'.'")
    assert before == after


@pytest.mark.parametrize(("instruction", "why"), [
    ('f"You help {user=}."', "an f-string gitimprove cannot write back as Python reads it"),
    ('f"You help " "{user}."', "an f-string joined with other string literals"),
    ('"You help. " + EXTRA', "joining strings"),
    ('"You help. %s" % EXTRA', "joining strings"),
    ('("You help. "  # the role\n    "Be brief.")', "with comments among them"),
    ('("You help. "\n    """Be brief.""")', "of different kinds or triple-quoted"),
    ('("You help. "\n    r"Be brief.")', "of different kinds or triple-quoted"),
    ("build_instruction()", "a call (`build_instruction(...)`)"),
    ("upper.ROOT_PROMPT", "from `..upper`, which is not a module of this package"),
    ("OTHER_PROMPT", "imported from `shop.prompt`, which is not a module of this package"),
    ("sep", "imported from `os`, which is not a module of this package"),
    ("TWICE", "assigns more than once"),
    ("provider_of_two", "`provider_of_two`, a function ADK calls for the text when the program runs (an "
                        "InstructionProvider): a function that returns `'x' if ctx else EXTRA`, built from what it "
                        "sets when it runs (`ctx`)"),
    ("provider()", "`provider()`, a function with parameters or a decorator"),
    ("provider(1)", "a call (`provider(...)`)"),
    ("EXTRA()", "a call (`EXTRA(...)`)"),
])
def test_an_instruction_not_written_as_one_literal_is_refused_with_the_reason(instruction: str, why: str) -> None:
    text = ("from google.adk.agents import Agent\nfrom .. import upper\nfrom shop.prompt import OTHER_PROMPT\n"
            "EXTRA = 'x'\nTWICE = 'a'\nTWICE = 'b'\n\ndef provider(ctx): return 'x'\n"
            "def provider_of_two(ctx): return 'x' if ctx else EXTRA\nfrom os import sep\n"
            f"root_agent = Agent(name='a', model='m', instruction={instruction})\n")
    with pytest.raises(InvalidFileError) as exc:
        ADK.parse(text, "agent.py")
    assert why in exc.value.problems[0] and exc.value.problems[0].startswith("agent.py:11: agent 'a': `instruction`")
    assert "one string literal" in (exc.value.hint or "")


@pytest.mark.parametrize(("text", "message"), [
    ("def broken(:\n", "agent.py:1: not valid Python"),
    ("import os\n", "expected an `Agent(...)` or `LlmAgent(...)` call"),
    # an agent.py of a framework of its own (YinTingrui/ADK-Learning's tourism agent)
    ("from my_app.base_agent import BaseAgent\nclass TourismAgent(BaseAgent):\n    pass\n",
     "call with an `instruction=`; it imports nothing from google.adk"),
    ("from google.adk import Agent\nAgent(model='m', instruction='x')\n", "has no `name=\"...\"` string"),
])
def test_a_file_that_is_not_an_adk_module_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ADK.parse(text, "agent.py")
    if "google.adk" in text:
        with pytest.raises(InvalidFileError) as exc:
            ADK.parse(text.replace("Agent(model='m',", "SequentialAgent(name='r',"), "agent.py")
        # a pipeline (kaggle-5-day-agents' BlogPipeline): what it is, not only what it lacks
        assert exc.value.problems[0].endswith("; its `SequentialAgent(...)` runs the agents it is given and has no "
                                              "instruction of its own")


def test_a_constant_two_agents_use_is_not_edited() -> None:
    text = ("from google.adk import Agent\nSHARED = '''\n- Be brief.\n'''\n"
            "a = Agent(name='a', instruction=SHARED)\nb = Agent(name='b', instruction=SHARED)\n")
    parsed = ADK.parse(text, "agent.py")
    doc = AdoptedDocument(parsed, "a", "a")
    doc.add_rule("instruction", "Be kind.")
    with pytest.raises(EditError, match="other agents use too"):
        doc.dumps()


def test_validator_refuses_code_changes_and_protects_sections() -> None:
    raw = AGENT_PY.encode()
    policy = Policy(formats=[FormatRule(path="dice/agent.py", format="google_adk")], protected_sections=[])
    model = raw.replace(b'model="gemini-2.0-flash",\n    name="dice_agent"', b'model="other",\n    name="dice_agent"')
    assert [v.code for v in check_change({"dice/agent.py": raw}, {"dice/agent.py": model}, policy)] == [
        "protected-key"]
    safety = raw.replace(b"- Never give gambling advice.\n", b"- Never give gambling advice.\n    - Unless asked.\n")
    assert [v.code for v in check_change({"dice/agent.py": raw}, {"dice/agent.py": safety}, policy)] == [
        "protected-changed"]
    broken = raw.replace(b"tools=[roll_die],", b"tools=[roll_die,")
    assert [v.code for v in check_change({"dice/agent.py": raw}, {"dice/agent.py": broken}, policy)] == [
        "schema-invalid"]
    ok = raw.replace(b"- Say which die you rolled.\n", b"- Say which die you rolled.\n    - Add the total.\n")
    assert check_change({"dice/agent.py": raw}, {"dice/agent.py": ok}, policy) == []


def test_init_adopts_agent_py_and_says_why_it_leaves_one_whose_prompt_module_is_missing() -> None:
    imported = b"from google.adk import Agent\nfrom . import prompt\nroot_agent = Agent(name='x', instruction=prompt.P)\n"
    files = {"dice/agent.py": AGENT_PY.encode(), "other/agent.py": imported, "dice/tools.py": b"x = 1\n"}
    result = survey(files, Policy(), [])
    assert [(a.path, a.format, a.agents) for a in result.adopted] == [
        ("dice/agent.py", "google_adk", ["dice_agent", "helper"])]
    assert result.left == [("other/agent.py", "agent 'x': its `instruction` is `P` of other/prompt.py, which is "
                            "not a file of this repository")]


@pytest.mark.parametrize("quote", ['"', "'", '"""', "'''"])
@pytest.mark.parametrize("prefix", ["", "r", "u"])
def test_every_written_literal_reads_back_as_its_value(prefix: str, quote: str) -> None:
    pieces = ["a", " ", "\n", "\\", '"', "'", '""', "'''", "\t", "\x1b", "\r", "é", "\u2028", "{x}", "\\n"]
    rng = random.Random(7)
    for _ in range(400):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        written = encode(value, prefix, quote)
        if written is None:
            assert "r" in prefix
            continue
        assert ast.literal_eval(written) == value, (value, written)
        assert "\x1b" not in written and "\r" not in written
        assert written.startswith(prefix + quote) and written.endswith(quote)
        if len(quote) == 1:
            assert "\n" not in written


def test_a_crlf_file_keeps_its_line_ends_inside_the_string() -> None:
    text = AGENT_PY.replace("\n", "\r\n")
    doc = AdoptedDocument(ADK.parse(text, "agent.py"), "dice_agent", "dice")
    doc.add_rule("rules", "Add the total.")
    new = doc.dumps()
    assert new.count("\r\n") == new.count("\n") == text.count("\n") + 1
    assert "    - Say which die you rolled.\r\n    - Add the total.\r\n" in new


def test_two_agent_py_files_with_one_agent_name_are_told_apart_by_folder() -> None:
    one = b"from google.adk import Agent\nroot_agent = Agent(name='root_agent', instruction='- Be brief.')\n"
    result = survey({"billing/agent.py": one, "support/agent.py": one}, Policy(), [])
    assert sorted(a for r in result.adopted for a in r.agents) == ["billing-root_agent", "support-root_agent"]


@pytest.mark.parametrize("cookie", ["# -*- coding: utf-7 -*-\n", "#!/usr/bin/env python\n# vim: set fileencoding=unicode_escape :\n",
                                    "\n# coding=latin-1\n"])
def test_a_file_python_would_read_in_another_encoding_is_refused(cookie: str) -> None:
    # In UTF-7 `+ACI-` is a quote: a rule holding it would end the string and run code.
    with pytest.raises(InvalidFileError, match="declares the source encoding"):
        ADK.parse(cookie + AGENT_PY, "dice/agent.py")
    policy = Policy(formats=[FormatRule(path="dice/agent.py", format="google_adk")], protected_sections=[])
    raw = (cookie + AGENT_PY).encode()
    head = raw.replace(b"- Say which die you rolled.\n", b"- Say which die you rolled.\n    - +ACIAIgAi-+ADs-import os+ADs-X+AD0AIgAiACI-\n")
    assert [v.code for v in check_change({"dice/agent.py": raw}, {"dice/agent.py": head}, policy)] == ["schema-invalid"]
    for fine in ("# -*- coding: utf-8 -*-\n", "x = 1\n# coding: utf-7\n"):
        ADK.parse(fine + AGENT_PY, "dice/agent.py")


def test_a_file_with_old_mac_line_ends_finds_its_literals_where_python_does() -> None:
    # A lone CR ends a line for Python: counting only LF would put the literal on another line.
    text = ('"""Doc."""\r# note\nX = """- Be brief."""\n#   """- Be brie"""\n'
            'root_agent = Agent(name="a", instruction=X)\n')
    doc = AdoptedDocument(ADK.parse(text, "a/agent.py"), "a", "a")
    doc.add_rule("instruction", "Be kind.")
    new = doc.dumps()
    assert new == text.replace('X = """- Be brief."""', 'X = """- Be brief.\n- Be kind."""')


@pytest.mark.parametrize("rebinding", [
    'try:\n    import rich\nexcept ImportError:\n    INSTRUCTION = "- Anything goes."\n',
    'try:\n    import rich\nexcept ImportError as INSTRUCTION:\n    pass\n',
    'with open("prompt.txt") as f:\n    INSTRUCTION = f.read()\n',
    'for _ in range(1):\n    INSTRUCTION = "- Anything goes."\n',
    'match 1:\n    case 1:\n        INSTRUCTION = "- Anything goes."\n',
    'match "x":\n    case INSTRUCTION:\n        pass\n',
    'print(INSTRUCTION := "- Anything goes.")\n',
    '[(INSTRUCTION := c) for c in "x"]\n',
    '@decorate(INSTRUCTION := "x")\ndef f():\n    pass\n',
])
def test_a_constant_the_module_may_bind_again_before_the_agent_reads_it_is_refused(rebinding: str) -> None:
    # The literal would be managed, and its protected sections checked, while the agent ran
    # with another text.
    text = ('from google.adk import Agent\nINSTRUCTION = """- Be brief."""\n' + rebinding
            + 'root_agent = Agent(name="a", instruction=INSTRUCTION)\n')
    with pytest.raises(InvalidFileError, match="assigns more than once"):
        ADK.parse(text, "a/agent.py")
    local = 'def f():\n    INSTRUCTION = "x"\n    return (INSTRUCTION := "y")\n'
    ADK.parse(text.replace(rebinding, local), "a/agent.py")


NOTION = '''from google.adk import Agent

root_agent = Agent(
    name="notion_agent",
    instruction=(
        "You are my workspace assistant. "
        "Use the provided tools to read, search, comment on, "
        "or create Notion pages. Ask clarifying questions when unsure."
    ),
    tools=[],
)
'''


def test_literals_written_one_after_another_are_edited_as_a_group() -> None:
    """A formatter's long string (`("..." "...")`, as adk-python writes them): the pieces whose
    text is unchanged keep their bytes; new text becomes pieces of the same quotes, a line of
    the text per piece, broken before a space to end by column 80."""
    doc = AdoptedDocument(ADK.parse(NOTION, "agent.py"), "notion_agent", "notion")
    assert doc.agent.sections[0].text.startswith("You are my workspace assistant. Use the provided")
    doc.add_rule("instruction", "Name the page you changed, with its link, every time you change a page.")
    new = doc.dumps()
    assert new == NOTION.replace('unsure."\n', 'unsure."\n        "\\n\\n"\n'
                                 '        "- Name the page you changed, with its link, every time you change a"\n'
                                 '        " page."\n')
    root = ast.parse(new).body[1]
    assert isinstance(root, ast.Assign) and isinstance(root.value, ast.Call)
    assert ast.literal_eval(root.value.keywords[1].value).endswith("unsure.\n\n- Name the page you changed, "
                                                                   "with its link, every time you change a page.")
    policy = Policy(formats=[FormatRule(path="agent.py", format="google_adk")], protected_sections=[])
    assert check_change({"agent.py": NOTION.encode()}, {"agent.py": new.encode()}, policy) == []
    moved = NOTION.replace("tools=[],", "tools=[search],")
    assert [v.code for v in check_change({"agent.py": NOTION.encode()}, {"agent.py": moved.encode()}, policy)] == [
        "protected-key"]


def test_a_group_keeps_the_pieces_before_and_after_an_edit_in_its_middle() -> None:
    text = ("from google.adk import Agent\na = Agent(name='a', instruction=(\n    '- Be brief.\\n'\n"
            "    '- Be kind.\\n'\n    '- Say thanks.'\n))\n")
    doc = AdoptedDocument(ADK.parse(text, "agent.py"), "a", "a")
    doc.update_rule("instruction", 1, "Be kind, always.")
    assert doc.dumps() == text.replace("'- Be kind.\\n'", "'- Be kind, always.\\n'")


@pytest.mark.parametrize("sep", [" ", "\n    ", " \\\n  "])
def test_every_written_group_reads_back_as_its_value(sep: str) -> None:
    pieces = ["a", " ", "\n", "\\", '"', "'", "{x}", "é", "\x1b", "word ", "- rule\n"]
    rng = random.Random(11)
    for _ in range(300):
        parts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(2, 4))]
        group = "(" + sep.join(encode(p, "", '"') or "" for p in parts) + ")"
        text = f"from google.adk import Agent\na = Agent(name='a', instruction={group})\n"
        parsed = ADK.parse(text, "agent.py")
        literal = parsed.literals[("a", "instruction")]  # type: ignore[attr-defined]
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        for new in (value, "".join(parts) + value, value + "".join(parts[1:])):
            written = text[:literal.start] + literal.source(new) + text[literal.end:]
            tree = ast.parse(written)
            call = tree.body[1]
            assert isinstance(call, ast.Assign) and isinstance(call.value, ast.Call)
            assert ast.literal_eval(call.value.keywords[1].value) == new, (parts, new, written)


def test_init_adopts_a_star_agent_py_that_makes_an_agent_and_passes_over_the_others() -> None:
    made = b"from google.adk import Agent\nbooking = Agent(name='booking', instruction='- Be brief.')\n"
    fstring = b"from google.adk import Agent\nx = 1\nbooking = Agent(name='late', instruction=f'{x}')\n"
    files = {"trip/sub_agents/booking_agent.py": made, "scripts/run_agent.py": b"import sys\nprint(sys.argv)\n",
             "tests/test_agent.py": b"def test_it() -> None:\n    assert True\n",
             "trip/late_agent.py": fstring, "trip/broken_agent.py": b"def (:\n"}
    result = survey(files, Policy(), [])
    assert [(a.path, a.agents) for a in result.adopted] == [("trip/sub_agents/booking_agent.py", ["booking"])]
    assert result.left == [("trip/late_agent.py", "looks like google_adk but line 3: agent 'late': `instruction` "
                            "is an f-string with no text of its own, only replacement fields (code); gitimprove edits "
                            "only text written as one string literal")]


# As google/adk-samples writes it (e39b8067995c3df2d394d2c1a8ee332da621ffcc,
# python/agents/data-science/data_science/agent.py): a global_instruction f-string with the date.
DATED = '''import os
from datetime import date

from google.adk.agents import Agent

date_today = date.today()

root_agent = Agent(
    model=os.getenv("ROOT_AGENT_MODEL"),
    name="db_ds_multiagent",
    instruction="""
    You are a senior data scientist.
    - Answer from the schema when you can.
    """,
    global_instruction=(
        f"""
        You are a Data Science and Data Analytics Multi Agent System.
        Todays date: {date_today}
        """
    ),
)
'''


def _evaluated(text: str, field: str) -> str:
    """The global_instruction as Python builds it, with ``date_today`` bound to ``field``."""
    call = next(n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call) and ast.unparse(n.func) == "Agent")
    node = next(k.value for k in call.keywords if k.arg == "global_instruction")
    return str(eval(compile(ast.Expression(node), "<f>", "eval"), {"date_today": field}))


def _meant(words: str) -> str:
    """The text new words of an f-string stand for: as given, or, when every brace of theirs
    is one of a pair (as the value spells a brace of text: ``{{``), with each pair one brace."""
    if re.search(r"[{}]", re.sub(r"\{\{|\}\}", "", words)):
        return words
    return re.sub(r"\{\{|\}\}", lambda m: m.group(0)[0], words)


def test_an_f_string_is_edited_around_its_fields_and_a_brace_is_doubled() -> None:
    parsed = ADK.parse(DATED, "ds/agent.py")
    assert parsed.value(("db_ds_multiagent", "global_instruction")).strip().endswith("Todays date: {date_today}")
    doc = AdoptedDocument(parsed, "db_ds_multiagent", "ds")
    # words with a brace alone are text as given, every brace doubled; words whose braces all
    # come in pairs are spelled as the file spells text already (`{{`: one brace)
    doc.add_rule("global-instruction", 'Answer in JSON, {"date": "..."}, and }} as written.')
    doc.add_rule("global-instruction", "Open with {{, as JSON does.")
    new = doc.dumps()
    assert '        - Answer in JSON, {{"date": "..."}}, and }}}} as written.\n' in new
    assert "        - Open with {{, as JSON does.\n" in new
    assert "Todays date: {date_today}\n" in new
    built = _evaluated(new, "2025-01-01")
    assert '\n        - Answer in JSON, {"date": "..."}, and }} as written.\n' in built and "Todays date: 2025-01-01\n" in built
    assert "\n        - Open with {, as JSON does.\n" in built
    before, after = _outside(DATED, new, DATED[DATED.index('f"""'):DATED.index('"""\n    ),') + 3])
    assert before == after
    policy = Policy(formats=[FormatRule(path="ds/agent.py", format="google_adk")], protected_sections=[])
    assert check_change({"ds/agent.py": DATED.encode()}, {"ds/agent.py": new.encode()}, policy) == []


@pytest.mark.parametrize(("change", "new"), [
    ("an expression added in the field", "{date_today + ' (UTC)'}"),
    ("another expression", "{os.environ}"),
    ("a conversion", "{date_today!r}"),
])
def test_the_validator_refuses_a_changed_field_of_an_f_string(change: str, new: str) -> None:
    policy = Policy(formats=[FormatRule(path="ds/agent.py", format="google_adk")], protected_sections=[])
    changed = DATED.replace("{date_today}", new)
    assert "protected-key" in [v.code for v in check_change(
        {"ds/agent.py": DATED.encode()}, {"ds/agent.py": changed.encode()}, policy)], change


def test_the_validator_refuses_a_field_added_in_the_text_of_an_f_string() -> None:
    policy = Policy(formats=[FormatRule(path="ds/agent.py", format="google_adk")], protected_sections=[])
    added = DATED.replace("Todays date: {date_today}\n", "Todays date: {date_today}\n        - Say {os.getcwd()}.\n")
    assert [v.code for v in check_change({"ds/agent.py": DATED.encode()}, {"ds/agent.py": added.encode()},
                                         policy)] == ["protected-key"]
    # written with doubled braces, the same words are text
    text = DATED.replace("Todays date: {date_today}\n", "Todays date: {date_today}\n        - Say {{os.getcwd()}}.\n")
    assert check_change({"ds/agent.py": DATED.encode()}, {"ds/agent.py": text.encode()}, policy) == []


def test_an_edit_that_would_drop_or_split_a_field_is_refused() -> None:
    parsed = ADK.parse(DATED, "ds/agent.py")
    literal = parsed.literals[("db_ds_multiagent", "global_instruction")]  # type: ignore[attr-defined]
    with pytest.raises(EditError, match=r"removes, changes or splits the replacement field `\{date_today\}`"):
        literal.source(literal.value.replace("Todays date: {date_today}", "Todays date: today"))
    with pytest.raises(EditError, match="splits the replacement field"):
        literal.source(literal.value.replace("{date_today}", "{date_\n- A rule.\ntoday}"))


@pytest.mark.parametrize("prefix", ["f", "F", "rf", "fR"])
@pytest.mark.parametrize("quote", ['"', "'", '"""'])
def test_every_written_f_string_reads_back_with_its_fields_whole(prefix: str, quote: str) -> None:
    rng = random.Random(13)
    alphabet = ["a", " ", "{", "}", "{{", "\\", "'", '"', "\n", "\t", "é", "-", "{x}", ":"]
    for _ in range(60):
        head, tail = ("Say ", " then.") if quote != '"""' else ("\nSay ", "\n- Be brief.\n")
        source = f"{prefix}{quote}{head}{{name!r:>{{width}}}} and {{items[0]}}{tail}{quote}"
        node = ast.parse(source, mode="eval").body
        src = Source(f"X = {source}\n", "agent.py")
        literal = src.literal(ast.parse(src.text).body[0].value)  # type: ignore[attr-defined]
        assert isinstance(literal, FString)
        fields = [literal.value[a:b] for a, b in literal.fields]
        assert fields == ["{name!r:>{width}}", "{items[0]}"]
        cut = rng.choice([0, literal.fields[0][1], len(literal.value)])  # never inside a field
        added = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        # new words come in as the value spells them: a brace alone is text, doubled
        new = literal.value[:cut] + literal.as_written(added) + literal.value[cut:]
        try:
            written = literal.source(new)
        except EditError:
            assert "r" in prefix.lower()  # a raw string that cannot hold the text
            continue
        again = Source(f"X = {written}\n", "agent.py")
        back = again.literal(ast.parse(again.text).body[0].value)  # type: ignore[attr-defined]
        assert isinstance(back, FString) and back.value == new and back.code() == literal.code(), (source, new)
        scope = {"name": "N", "width": 3, "items": ["I"]}
        meant = _meant(added)
        expected = (literal.value[:cut] + meant + literal.value[cut:]).replace(
            "{name!r:>{width}}", "'N'").replace("{items[0]}", "I")
        assert eval(written, scope) == expected
        assert isinstance(node, ast.JoinedStr)


def test_a_hostile_rule_never_becomes_code_in_an_f_string() -> None:
    """Rules written to break out of the text (close the string, open a field, forge the
    field's own source) stay text: the fields after any edit are the fields before it, and
    Python builds the rule's words as they were given (:func:`_meant`)."""
    rng = random.Random(17)
    pieces = ['{date_today}', '{os.system("x")}', "{", "}", "}}", "{{", '"""', "'''", '"', "\\", "\\N{BULLET}",
              "{date_today!r}", "\x1b[31m", "word", " ", "{__import__('os')}", "f'", "\\n"]
    policy = Policy(formats=[FormatRule(path="ds/agent.py", format="google_adk")], protected_sections=[])
    for n in range(80):
        rule = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))).strip() or "x"
        parsed = ADK.parse(DATED, "ds/agent.py")
        doc = AdoptedDocument(parsed, "db_ds_multiagent", "ds")
        doc.add_rule("global-instruction", rule)
        new = doc.dumps()
        again = ADK.parse(new, "ds/agent.py")
        assert again.fixed() == parsed.fixed(), rule  # the same fields, the same code
        built = _evaluated(new, "DAY")
        meant = _meant(rule)
        assert f"- {meant}\n" in built and "Todays date: DAY\n" in built, (rule, built)
        if n % 10 == 0:  # the validator agrees (slower: it reads the policy and both files)
            assert "protected-key" not in [v.code for v in check_change(
                {"ds/agent.py": DATED.encode()}, {"ds/agent.py": new.encode()}, policy)], rule


@pytest.mark.parametrize("rule", ["Greet them as {{customer_name}}.", "Greet them as { customer_name }.",
                                  "Greet them as {{ customer_name? }}.", "Cite {profile.tier}."])
def test_a_rule_naming_a_state_variable_as_adk_reads_it_is_refused(rule: str) -> None:
    # ADK fills every `{+name}+` of a string instruction from the session state, spaces
    # stripped, and fails the run when the name is not there: no brace escapes it
    policy = Policy(formats=[FormatRule(path="ds/agent.py", format="google_adk")], protected_sections=[])
    doc = AdoptedDocument(ADK.parse(DATED, "ds/agent.py"), "db_ds_multiagent", "ds")
    doc.add_rule("instruction", rule)
    new = doc.dumps()
    assert rule in new
    assert "variable-added" in [v.code for v in check_change(
        {"ds/agent.py": DATED.encode()}, {"ds/agent.py": new.encode()}, policy)], rule
    doc = AdoptedDocument(ADK.parse(DATED, "ds/agent.py"), "db_ds_multiagent", "ds")
    doc.add_rule("instruction", 'Answer in JSON, {"tier": "..."}, never {os.getcwd()}.')  # not names
    assert check_change({"ds/agent.py": DATED.encode()}, {"ds/agent.py": doc.dumps().encode()}, policy) == []


def test_a_rule_writing_a_fields_name_as_text_in_an_f_string_adds_a_variable() -> None:
    # `{date_today}` in the rule is text (written `{{date_today}}`): Python leaves it for ADK,
    # which looks `date_today` up in the session state; the field beside it is no state variable
    policy = Policy(formats=[FormatRule(path="ds/agent.py", format="google_adk")], protected_sections=[])
    assert ADK.parse(DATED, "ds/agent.py").view(ADK.parse(DATED, "ds/agent.py").entries[0], "x").variables == []
    doc = AdoptedDocument(ADK.parse(DATED, "ds/agent.py"), "db_ds_multiagent", "ds")
    doc.add_rule("global-instruction", "Say the date as {date_today}.")
    new = doc.dumps()
    assert "- Say the date as {date_today}.\n" in _evaluated(new, "DAY")
    assert "variable-added" in [v.code for v in check_change(
        {"ds/agent.py": DATED.encode()}, {"ds/agent.py": new.encode()}, policy)]
    # a reworded line that writes the field's name as text beside it (`{{date_today}}`, as the
    # view spells text); written alone, it would be a second field, which no edit may add
    parsed = ADK.parse(DATED, "ds/agent.py")
    literal = parsed.literals[("db_ds_multiagent", "global_instruction")]  # type: ignore[attr-defined]
    with pytest.raises(EditError, match=r"adds a replacement field `\{date_today\}`"):
        literal.source(literal.value.replace("Todays date: {date_today}",
                                             "Say {date_today} first. Todays date: {date_today}"))
    moved = DATED.replace(DATED[literal.start:literal.end], literal.source(literal.value.replace(
        "Todays date: {date_today}", "Say {{date_today}} first. Todays date: {date_today}")))
    assert "Say {date_today} first. Todays date: DAY" in _evaluated(moved, "DAY")
    assert "variable-added" in [v.code for v in check_change(
        {"ds/agent.py": DATED.encode()}, {"ds/agent.py": moved.encode()}, policy)]


def test_the_data_and_the_rendered_prompt_are_the_text_as_python_builds_it() -> None:
    # the view spells a brace of the text doubled; the data (the rendered prompt, what load()
    # serves and an evaluation replays, and the version id) is the text Python builds
    braced = DATED.replace("Todays date: {date_today}", 'Todays date: {date_today}, as {{"d": 1}}')
    parsed = ADK.parse(braced, "ds/agent.py")
    entry = parsed.entries[0]
    assert parsed.data(entry)["global_instruction"].rstrip().endswith('Todays date: {date_today}, as {"d": 1}')
    assert 'Todays date: {date_today}, as {"d": 1}\n' in parsed.render(entry)
    section = next(s for s in parsed.view(entry, "ds").sections if s.id == "global-instruction")
    assert 'Todays date: {date_today}, as {{"d": 1}}' in (section.text or "")
