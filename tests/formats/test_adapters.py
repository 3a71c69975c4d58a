"""Every adapter on hand-written files in each format's shape, with the byte-level quirks people's
files have: CRLF, a BOM, no final newline, trailing spaces, folded and chomped blocks, comments,
anchors, flow style, ``~`` and ``True``. Edits change only their lines."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument, EditError
from gitimprove.instructions.formats.catalog import agent_name
from gitimprove.instructions.policy import FormatRule, Limits, Policy
from gitimprove.validate import check_change

FIXTURES = Path(__file__).parent / "fixtures"

# file, format, agents in it, {agent: (section with rules, rule count)}
CASES = [
    ("crew_agents.yaml", "crewai", ["researcher", "reporting_analyst"],
     {"researcher": ("rules", 2), "reporting_analyst": ("style", 2)}),
    ("crew_tasks.yml", "crewai", ["research_task", "reporting_task"], {"research_task": ("description", 2)}),
    ("summarize.prompt.yml", "github_models", ["summarize"], {"summarize": ("rules", 2)}),
    ("story.yaml", "semantic_kernel", ["GenerateStory"], {"GenerateStory": ("guidelines", 1)}),
    ("sk_agent.yaml", "semantic_kernel", ["Assistant"], {"Assistant": ("rules", 2)}),
    ("cagent.yaml", "cagent", ["root", "researcher"], {"root": ("delegation", 2)}),
    ("root_agent.yaml", "google_adk", ["search_assistant"], {"search_assistant": ("answers", 2)}),
    ("typescript.mdc", "markdown", ["typescript"], {"typescript": ("style", 2)}),
    ("CLAUDE.md", "markdown", ["claude"], {"claude": ("conventions", 2)}),
    ("release.prompt.md", "markdown", ["release"], {"release": ("steps", 2)}),
]


def _parse(name: str, fmt: str):  # type: ignore[no-untyped-def]
    text = (FIXTURES / name).read_bytes().decode("utf-8")
    return text, ADAPTERS[fmt].parse(text, name)


@pytest.mark.parametrize(("name", "fmt", "agents", "targets"), CASES, ids=[c[0] for c in CASES])
def test_every_agent_listed_and_unedited_bytes_kept(name: str, fmt: str, agents: list[str],
                                                     targets: dict[str, tuple[str, int]]) -> None:
    text, parsed = _parse(name, fmt)
    assert [e.key for e in parsed.entries] == agents
    for entry in parsed.entries:
        doc = AdoptedDocument(parsed, entry.key, entry.key.lower())
        assert doc.dumps() == text  # nothing edited: the very same text
        assert parsed.render(entry).strip()


@pytest.mark.parametrize(("name", "fmt", "agents", "targets"), CASES, ids=[c[0] for c in CASES])
def test_add_and_update_rule_change_only_their_lines(name: str, fmt: str, agents: list[str],
                                                      targets: dict[str, tuple[str, int]]) -> None:
    text, parsed = _parse(name, fmt)
    for key, (section, count) in targets.items():
        doc = AdoptedDocument(parsed, key, key.lower())
        rules = doc.agent.section(section).rules  # type: ignore[union-attr]
        assert rules is not None and len(rules) == count
        doc.add_rule(section, "Say which sources you used.")
        doc.update_rule(section, 0, "Reworded first rule.")
        new = doc.dumps()
        old_lines = [line.rstrip("\r") for line in text.split("\n")]
        new_lines = [line.rstrip("\r") for line in new.split("\n")]
        diff = [d for d in difflib.ndiff(old_lines, new_lines) if d[:1] in "+-"]
        removed = [d[2:] for d in diff if d.startswith("-")]
        added = [d[2:] for d in diff if d.startswith("+")]
        assert len(removed) == 1, diff  # the reworded rule's line, nothing else
        assert rules[0] in removed[0]
        if name == "sk_agent.yaml":  # a one-line quoted string: that line is written again
            assert len(added) == 1 and "Reworded first rule." in added[0] and "Say which" in added[0]
            continue
        assert [a.strip(" \r") for a in added if a.strip(" \r")] == [
            removed[0].replace(rules[0], "Reworded first rule.").strip(" \r"),
            _like(removed[0], "Say which sources you used.", count)]
        again = ADAPTERS[fmt].parse(new, name)
        view = again.view(again.entry(key), key.lower())
        assert view.section(section).rules == ["Reworded first rule.", *rules[1:],  # type: ignore[union-attr]
                                               "Say which sources you used."]
        if "\r\n" in text:
            assert new.count("\r\n") == text.count("\r\n") + 1
        assert new.startswith("\ufeff") == text.startswith("\ufeff")
        assert new.endswith("\n") == text.endswith("\n")


def _like(line: str, text: str, count: int) -> str:
    marker = line.strip(" \r").split(" ", 1)[0]
    if marker[:-1].isdigit():
        marker = f"{count + 1}{marker[-1]}"
    return f"{marker} {text}"


@pytest.mark.parametrize(("name", "fmt", "key", "field", "value"), [
    ("crew_agents.yaml", "crewai", "reporting_analyst", "verbose: True", "verbose: False"),
    ("crew_agents.yaml", "crewai", "reporting_analyst", 'role: "Reporting Analyst"', 'role: "Boss"'),
    ("crew_agents.yaml", "crewai", "researcher", "tools: [search, scrape]", "tools: [search, shell]"),
    ("crew_tasks.yml", "crewai", "reporting_task", "output_file: report.md", "output_file: x.md"),
    ("summarize.prompt.yml", "github_models", "summarize", "temperature: 0.5", "temperature: 1.5"),
    ("summarize.prompt.yml", "github_models", "summarize", "expected: A short text.", "expected: x"),
    ("story.yaml", "semantic_kernel", "GenerateStory", "temperature: 0.6", "temperature: 0.9"),
    ("sk_agent.yaml", "semantic_kernel", "Assistant", "id: gpt-4o", "id: gpt-5"),
    ("cagent.yaml", "cagent", "root", "max_tokens: 64000", "max_tokens: 1"),
    ("root_agent.yaml", "google_adk", "search_assistant", "model: gemini-2.5-flash", "model: other"),
    ("typescript.mdc", "markdown", "typescript", "alwaysApply: false", "alwaysApply: true"),
])
def test_validator_refuses_an_edit_of_a_protected_key(name: str, fmt: str, key: str, field: str,
                                                       value: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    assert field.encode() in raw
    new = raw.replace(field.encode(), value.encode(), 1)
    policy = Policy(formats=[FormatRule(path=name, format=fmt)])
    violations = check_change({name: raw}, {name: new}, policy)
    assert [v.code for v in violations] == ["protected-key"], violations
    assert "never edits" in violations[0].message


def test_validator_judges_each_agent_of_a_file() -> None:
    raw = (FIXTURES / "crew_agents.yaml").read_bytes()
    policy = Policy(formats=[FormatRule(path="c/agents.yaml", format="crewai")],
                    protected_sections=["researcher/rules"])
    new = raw.replace(b"- Cite every source.", b"- Cite some sources.")
    codes = [v.code for v in check_change({"c/agents.yaml": raw}, {"c/agents.yaml": new}, policy)]
    assert codes == ["protected-changed"]
    dropped = raw.replace(b"  goal: 'Create detailed reports based on {topic} data analysis'",
                          b"  goal: 'Create detailed reports on {subject}'")
    codes = [v.code for v in check_change({"c/agents.yaml": raw}, {"c/agents.yaml": dropped}, policy)]
    assert codes == ["variable-dropped", "variable-added"]
    ok = raw.replace(b"- Prefer primary sources.", b"- Prefer primary sources.\n    - Date them.")
    open_policy = policy.model_copy(update={"protected_sections": []})
    assert check_change({"c/agents.yaml": raw}, {"c/agents.yaml": ok}, open_policy) == []


def test_a_declared_variable_survives_every_edit() -> None:
    raw = (FIXTURES / "crew_tasks.yml").read_bytes()
    policy = Policy(formats=[FormatRule(path="t.yml", format="crewai")],
                    limits=Limits(allow_remove_rules=True))
    new = raw.replace(b"    - The current year is {current_year}.\n", b"")
    codes = [v.code for v in check_change({"t.yml": raw}, {"t.yml": new}, policy)]
    assert codes == ["variable-dropped"]


def test_an_edit_through_an_alias_is_refused_clearly() -> None:
    _text, parsed = _parse("shared_backstory.yaml", "crewai")
    doc = AdoptedDocument(parsed, "second", "second")
    doc.add_rule("backstory", "Another rule.")
    with pytest.raises(EditError, match="shared through a YAML anchor"):
        doc.dumps()
    other = AdoptedDocument(parsed, "first", "first")
    other.add_rule("goal", "A rule.")  # the anchor elsewhere in the file is kept as it is
    assert "&shared" in other.dumps() and "*shared" in other.dumps()


def test_folded_block_edit_keeps_the_other_folds() -> None:
    _text, parsed = _parse("crew_agents.yaml", "crewai")
    doc = AdoptedDocument(parsed, "researcher", "researcher")
    doc.add_rule("goal", "Name the three most important.")
    new = doc.dumps()
    assert "    Uncover cutting-edge developments in {topic}\n    and explain why they matter.\n" in new
    value = ADAPTERS["crewai"].parse(new, "x").data(parsed.entry("researcher"))["goal"]
    assert value == ("Uncover cutting-edge developments in {topic} and explain why they matter.\n"
                     "- Name the three most important.\n")


def test_plain_and_quoted_strings_gain_lines_in_their_style() -> None:
    _, parsed = _parse("crew_agents.yaml", "crewai")
    doc = AdoptedDocument(parsed, "reporting_analyst", "reporting_analyst")
    doc.add_rule("goal", "Use {topic} in the title.")
    doc.update_rule("style", 1, "Use tables.")
    new = doc.dumps()
    assert "  goal: |-\n    Create detailed reports based on {topic} data analysis\n\n" \
           "    - Use {topic} in the title.\n" in new
    assert "You're a meticulous analyst.   \n" in new  # trailing spaces kept
    _text, parsed = _parse("sk_agent.yaml", "semantic_kernel")
    doc = AdoptedDocument(parsed, "Assistant", "assistant")
    doc.add_rule("rules", "Link the page.")
    new = doc.dumps()
    assert 'instructions: "You answer questions about {Local.Product}.\\n\\n## Rules\\n- Be short.\\n' \
           '- Quote the manual.\\n- Link the page."\n' in new
    assert "inputs: {Local.Product: ~}\n" in new  # flow style untouched


def test_add_section_set_text_and_remove_rule() -> None:
    _text, parsed = _parse("CLAUDE.md", "markdown")
    doc = AdoptedDocument(parsed, "claude", "claude")
    doc.add_section("testing", title="Testing", rules=["Run make test before a commit."])
    doc.remove_rule("conventions", 1)
    doc.set_text("commands", "Use the Makefile.")
    new = doc.dumps()
    assert new.endswith("* Use type hints.\r\n\r\n## Testing\r\n\r\n* Run make test before a commit.")  # its bullet
    assert "## Commands\r\n\r\nUse the Makefile.\r\n" in new
    view = ADAPTERS["markdown"].parse(new, "CLAUDE.md")
    assert [s.id for s in view.view(view.entries[0], "claude").sections] == [
        "claude-md", "commands", "conventions", "testing"]


def _agents_md(text: str) -> AdoptedDocument:
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    key = parsed.entries[0].key
    return AdoptedDocument(parsed, key, key.lower())


@pytest.mark.parametrize(("headings", "level"), [
    ("# Guide\n\n## Workflow\n\n### Commands\n\n- npm test\n", "##"),  # not under Commands
    ("## Style\n\n- Be short.\n\n### Lists\n\n- Use dashes.\n", "##"),
    ("# Rules\n\n- Be short.\n", "##"),
    ("## Rules\n\n- Be short.\n", "##"),
    ("# One\n\n- a\n\n# Two\n\n- b\n", "#"),
])
def test_a_new_section_is_a_sibling_of_the_top_sections(headings: str, level: str) -> None:
    doc = _agents_md(headings)
    doc.add_section("tools", title="Tools", rules=["run_tests: Run it before you say done."])
    assert doc.dumps().endswith(f"\n\n{level} Tools\n\n- run_tests: Run it before you say done.\n")


@pytest.mark.parametrize(("text", "expected"), [
    ("# Guide\n\n## Workflow\n\n- npm test\n", "# Guide\n\n- Run it.\n\n## Workflow\n"),
    ("# Guide\n## Workflow\n- npm test\n", "# Guide\n- Run it.\n## Workflow\n"),
])
def test_a_rule_under_a_heading_alone_keeps_the_files_spacing(text: str, expected: str) -> None:
    doc = _agents_md(text)
    doc.add_rule(doc.agent.sections[0].id, "Run it.")
    assert doc.dumps().startswith(expected)


def test_rendered_prompts_are_what_the_framework_sends() -> None:
    _, parsed = _parse("crew_tasks.yml", "crewai")
    assert parsed.render(parsed.entry("reporting_task")) == (
        "Review the context you got and expand each topic into a full section.\n\n"
        "This is the expected criteria for your final answer: A fully fledged report, formatted as "
        "markdown without '```'\nyou MUST return the actual complete content as the final answer, "
        "not a summary.")
    _, parsed = _parse("crew_agents.yaml", "crewai")
    assert parsed.render(parsed.entry("reporting_analyst")).startswith(
        "You are Reporting Analyst. You're a meticulous analyst.   \n## Style\n")
    _, parsed = _parse("typescript.mdc", "markdown")
    assert parsed.render(parsed.entries[0]).startswith("# TypeScript\n")  # front matter is not sent
    _, parsed = _parse("summarize.prompt.yml", "github_models")
    assert parsed.render(parsed.entries[0]).endswith("[user]\nSummarize this:\n\n{{input}}")


def test_variables_per_format() -> None:
    seen = {}
    for name, fmt, _, _ in CASES:
        _, parsed = _parse(name, fmt)
        entry = parsed.entries[0]
        seen[name] = parsed.view(entry, "x").variables
    assert seen["crew_agents.yaml"] == ["topic"]
    assert seen["summarize.prompt.yml"] == ["input", "max_words"]
    assert seen["story.yaml"] == ["length", "topic"]
    assert seen["sk_agent.yaml"] == ["Local.Product"]
    assert seen["root_agent.yaml"] == ["user:name"]
    assert seen["release.prompt.md"] == ["version"]


def test_agent_names_from_templates() -> None:
    rule = FormatRule(path="*/config/agents.yaml", format="crewai", name="{grandparent}-{key}")
    assert agent_name(rule, "src/research_crew/config/agents.yaml", "Researcher") == "research_crew-researcher"
    assert agent_name(FormatRule(path="*", format="markdown"), ".github/copilot-instructions.md",
                      "copilot-instructions") == "copilot-instructions"


@pytest.mark.parametrize(("fmt", "text", "message"), [
    ("crewai", "researcher: just a string\n", "neither role/goal/backstory"),
    ("crewai", "researcher:\n\trole: x\n", "a tab where YAML needs spaces"),
    ("github_models", "model: x\n", "expected `messages:`"),
    # a prompt format of one's own (cajias/custom-github-actions), and a placeholder
    ("github_models", "model: x\nsystem: |\n  You triage.\nuser: '{{input}}'\n",
     "it has none (its keys: model, system, user)"),
    ("github_models", "messages: []\n", "its `messages:` is empty"),
    ("github_models", "messages:\n  - role: system\n    content: Triage.\n  - role: user\n",
     "message 2 has no `content` string"),
    ("github_models", "messages:\n  - role: user\n    content: '{{input}}'\n", "no message holds instructions"),
    ("markdown", "---\ntitle: x\n---\n\n", "has no instructions: the file is empty but for its front matter"),
    ("cagent", "agents: {}\n", "expected `agents:`"),
    ("google_adk", "name: x\n", "expected an agent"),
    # mitrasan22/slo_recommendation_engine's root_agent.yaml: a pipeline, said to be one
    ("google_adk", "agent_class: SequentialAgent\nname: root_agent\nsub_agents:\n  - code: a.agent.root_agent\n",
     "; a SequentialAgent runs its sub_agents and has no instruction of its own"),
    ("semantic_kernel", "- a list\n", "expected `template:`"),
])
def test_bad_shapes_are_refused_with_a_clear_message(fmt: str, text: str, message: str) -> None:
    with pytest.raises(InvalidFileError) as info:
        ADAPTERS[fmt].parse(text, "f.yaml")
    assert message in str(info.value)


def test_a_section_marked_protected_in_its_heading() -> None:
    old = b"# Support\n\nYou help customers.\n\n## Safety <!-- gitimprove: protected -->\n\n- Never share data.\n"
    parsed = ADAPTERS["markdown"].parse(old.decode(), "AGENTS.md")
    view = parsed.view(parsed.entries[0], "agents")
    assert [(s.id, s.title, s.protected) for s in view.sections] == [
        ("support", "Support", False), ("safety", "Safety", True)]
    policy = Policy(formats=[FormatRule(path="AGENTS.md", format="markdown")], protected_sections=[])
    new = old.replace(b"- Never share data.\n", b"- Never share data.\n- Unless asked nicely.\n")
    assert [v.code for v in check_change({"AGENTS.md": old}, {"AGENTS.md": new}, policy)] == ["protected-changed"]
    unmarked = old.replace(b" <!-- gitimprove: protected -->", b"")
    assert [v.code for v in check_change({"AGENTS.md": old}, {"AGENTS.md": unmarked}, policy)] == [
        "protected-unflagged"]



@pytest.mark.parametrize(("old_heading", "new_heading", "section"), [
    (b"## Safety", b"### Safety", "safety"), (b"# Support", b"## Support", "support")])
def test_a_heading_level_may_not_change(old_heading: bytes, new_heading: bytes, section: str) -> None:
    """The view has no levels: "## Safety" made "### Safety" (or its parent's level changed)
    nests the protected section elsewhere without changing its words (taking it out from under
    "# Support" moves it, too)."""
    old = (b"# Support\n\nYou help customers.\n\n## Safety <!-- gitimprove: protected -->\n\n"
           b"- Never share data.\n")
    policy = Policy(formats=[FormatRule(path="AGENTS.md", format="markdown")], protected_sections=[])
    new = old.replace(old_heading, new_heading, 1)
    found = check_change({"AGENTS.md": old}, {"AGENTS.md": new}, policy)
    moved = [("protected-moved", "safety")] if section == "support" else []  # no longer under "Support"
    assert [(v.code, v.section) for v in found] == [*moved, ("heading-level", section)]

SEVERAL_LISTS = """\
# Assistant

Role: a research assistant.

Behavior
- Start with a short answer.
- Cite sources.
- Say when you are unsure.

Steps
1. Read the question.
2. Answer it.

Footer to add when relevant
- Sources: two or three links.
"""


def test_a_rule_joins_the_main_list_of_a_section_of_several() -> None:
    from gitimprove.proposals.operations import AddRule, UpdateRule, apply

    parsed = ADAPTERS["markdown"].parse(SEVERAL_LISTS, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    [section] = doc.agent.sections
    # the original rule 5 (the footer's) is still rule 5 after a rule is added before it
    apply(doc, [AddRule(section=section.id, text="Check every figure.", reason="r"),
                UpdateRule(section=section.id, index=5, text="Sources: three links.", reason="r")])
    assert doc.dumps() == SEVERAL_LISTS.replace(
        "- Say when you are unsure.\n", "- Say when you are unsure.\n- Check every figure.\n"
    ).replace("- Sources: two or three links.", "- Sources: three links.")


def test_a_heading_in_another_script_keeps_its_words_as_its_id() -> None:
    """A heading without a Latin letter ("## 安全規範", "## Правила", "## 3. Принцип") is named by its own
    words, not by its position: a section added before it does not move a protection from one
    section to another. Headings with Latin words keep the ids they always had."""
    old = ("# 專案\n\n說明。\n\n## 工作流程\n\n- 先讀檔案。\n\n## 安全規範\n\n- 不要分享資料。\n\n"
           "## Правила\n\n- Отвечай кратко.\n\n## Session Start（跨 AI 通用）\n\n- Read the log.\n\n"
           "## 3. Принцип «Никаких додумываний»\n\n- Не выдумывай.\n\n## 2024\n\n- Дата.\n")
    parsed = ADAPTERS["markdown"].parse(old, "CLAUDE.md")
    ids = [s.id for s in parsed.view(parsed.entries[0], "claude").sections]
    # a number alone would be the section's position ("3"), not its name
    assert ids == ["專案", "工作流程", "安全規範", "правила", "session-start-ai",
                   "3-принцип-никаких-додумываний", "2024"]
    policy = Policy(formats=[FormatRule(path="CLAUDE.md", format="markdown")],
                    protected_sections=["claude/安全規範"])
    inserted = old.replace("## 工作流程", "## 新的一節\n\n- 新規則。\n\n## 工作流程")
    assert [v.code for v in check_change({"CLAUDE.md": old.encode()}, {"CLAUDE.md": inserted.encode()},
                                         Policy(formats=policy.formats, protected_sections=policy.protected_sections,
                                                limits=Limits(allow_remove_rules=True)))] == []
    changed = old.replace("- 不要分享資料。", "- 可以分享資料。")
    assert [v.code for v in check_change({"CLAUDE.md": old.encode()}, {"CLAUDE.md": changed.encode()},
                                         policy)] == ["protected-changed"]


ENUMERATIONS = """\
research_task:
  description: >
    Conduct thorough research on {topic}. Focus on:
    1. Key concepts and definitions
    2. Recent trends

    Make sure to organize your findings in clear sections.
  expected_output: >
    A structured markdown profile with these sections:
    - Company Overview
    - Key Decision Maker
  agent: researcher
"""


def test_a_list_that_completes_its_lead_in_is_not_where_a_rule_goes() -> None:
    """"Focus on:" then a numbered list of topics, "with these sections:" then the sections of
    the output: the items finish the sentence above them. A new rule there would become a topic
    to research (rule 3) or a section to write, so it goes after them as a line of its own."""
    parsed = ADAPTERS["crewai"].parse(ENUMERATIONS, "tasks.yaml")
    doc = AdoptedDocument(parsed, "research_task", "research_task")
    doc.add_rule("description", "Name the source of every figure.")
    doc.add_rule("expected-output", "Keep it under a page.")
    assert doc.dumps() == ENUMERATIONS.replace(
        "in clear sections.\n", "in clear sections.\n\n    - Name the source of every figure.\n"
    ).replace("    - Key Decision Maker\n", "    - Key Decision Maker\n\n    - Keep it under a page.\n")
    again = ADAPTERS["crewai"].parse(doc.dumps(), "tasks.yaml")
    view = again.view(again.entry("research_task"), "research_task")
    assert view.section("description").rules[-1] == "Name the source of every figure."  # type: ignore[union-attr]


@pytest.mark.parametrize("lead_in", ["Your report should:", "Your responses should be:", "Each answer must:",
                                     "**The final summary should also:**", "This tool will:", "You will be given:"])
def test_a_list_that_finishes_a_sentence_about_the_output_is_not_where_a_rule_goes(lead_in: str) -> None:
    """"Your report should:" then what the report does: a rule added to that list would read
    as one more thing the report does ("Your report should: never guess"); it goes after the
    list as a rule of its own."""
    text = f"# Agent\n\nYou analyse stocks.\n\n{lead_in}\n- be one page long\n- end with a verdict\n"
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    doc.add_rule("agent", "Check every figure.")
    assert doc.dumps() == text + "\n- Check every figure.\n"


@pytest.mark.parametrize("lead_in", ["When a user asks about the weather:", "If the city is not known:",
                                     "Before you reply:", "After performing your search:",
                                     "For each option, document:",
                                     "You are a research coordinator. When the user asks a question:",
                                     "Default to LIKELY. For each finding:", "Follow these steps:",
                                     "First, carefully analyze the prompt step-by-step:", "Steps:",
                                     "Do it in this order:"])
def test_a_list_of_what_to_do_in_one_case_is_not_where_a_rule_goes(lead_in: str) -> None:
    """ADK's first agent: "When a user asks about the weather:" then three steps. A rule for
    every answer added as step 4 would hold in that case alone; it goes after the list. So
    after a procedure's steps ("Follow these steps:"), and after a case a line's last
    sentence names (a cagent coordinator's "... When the user asks a question:")."""
    text = f"# Agent\n\nYou help.\n\n{lead_in}\n1. Call the tool.\n2. Answer kindly.\n"
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    doc.add_rule("agent", "Check every figure.")
    assert doc.dumps() == text + "\n- Check every figure.\n"


@pytest.mark.parametrize("lead_in", ["Key behaviors:", "Rules:", "You MUST:", "Always", "Rules for tool use:",
                                     "**Guidelines for answers**:"])
def test_a_list_under_a_label_still_takes_the_rule(lead_in: str) -> None:
    text = f"# Agent\n\n{lead_in}\n- Be brief.\n- Cite sources.\n\nThanks.\n"
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    doc.add_rule("agent", "Check every figure.")
    assert doc.dumps() == text.replace("- Cite sources.\n", "- Cite sources.\n- Check every figure.\n")


@pytest.mark.parametrize("label", ["General Guidelines:", "Rules:", "**Important rules**", "Constraints"])
def test_a_list_labelled_as_rules_takes_the_rule_before_a_longer_unlabelled_one(label: str) -> None:
    """A cagent example's instruction: the tool-use list after the workflow is as long as the
    list under "General Guidelines:", or longer; a rule for every answer goes with the
    guidelines."""
    text = ("# Agent\n\n<WORKFLOW>\n1. Search.\n</WORKFLOW>\n\n- Call one agent at a time.\n"
            "- Wait for each result.\n- Never batch tool calls.\n\n"
            f"{label}\n- Use tables to display data\n- Always include sources\n\nThanks.\n")
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    doc.add_rule(doc.agent.sections[0].id, "Check every figure.")
    assert doc.dumps() == text.replace("- Always include sources\n",
                                       "- Always include sources\n- Check every figure.\n")


ROUTER = """\
name: classify_prompt
template: |
  You route each user message to a model.

  Use the following logic:

  1. If the user input is long, route to the large model.
  2. Otherwise route to the small one.

  ---

  User input:
  {{prompt}}
template_format: handlebars
"""


def test_a_rule_of_its_own_goes_before_the_input_the_template_ends_with() -> None:
    """A template that ends with the user's input ("{{prompt}}", under a label or a `---`):
    a rule added after it would read as part of what the user wrote."""
    parsed = ADAPTERS["semantic_kernel"].parse(ROUTER, "router.yaml")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "classify_prompt")
    doc.add_rule(doc.agent.sections[0].id, "Answer with the model's name only.")
    assert doc.dumps() == ROUTER.replace(
        "  2. Otherwise route to the small one.\n",
        "  2. Otherwise route to the small one.\n\n  - Answer with the model's name only.\n")


TEMPLATED = """\
name: support
template: |
  <message role="system">
  You are a support agent.
  {% if premium %}
  - Offer priority support.
  - Mention the premium hotline.
  {% endif %}
  Be polite.
  </message>
  <message role="user">{{question}}</message>
template_format: liquid
"""


def test_a_template_tag_under_a_rule_is_not_part_of_it() -> None:
    """`{% endif %}`, `{{/each}}` or `</message>` right under a rule is the template's, not the
    rule's: rewording the rule used to replace those lines too, leaving an `{% if %}` open and
    the text after it gone."""
    parsed = ADAPTERS["semantic_kernel"].parse(TEMPLATED, "support.yaml")
    doc = AdoptedDocument(parsed, "support", "support")
    [section] = doc.agent.sections
    assert section.rules == ["Offer priority support.", "Mention the premium hotline."]
    doc.update_rule(section.id, 1, "Mention the premium hotline number.")
    assert doc.dumps() == TEMPLATED.replace("hotline.", "hotline number.")


IF_ONLY = """\
messages:
  - role: user
    content: |
      You review pull requests.

      {% if strict %}
      Strict mode:
      - Flag every warning.
      - Reject on any error.
      {% endif %}

      Diff:
      {{diff}}
"""
IF_AFTER = """\
name: writer
template: |
  ## Rules
  - Be brief.
  {{#if lang}}
  - Answer in {{lang}}.
  - Use its date format.
  {{/if}}
template_format: handlebars
"""
IF_SECTION = """\
research_task:
  description: |
    Research {topic}.

    {% if deep %}
    ## Depth
    - Read every paper.
    {% endif %}
  expected_output: A report.
"""


@pytest.mark.parametrize(("fmt", "text", "section", "expected"), [
    # the only list is said in strict mode only: the rule goes after the block, above the input
    ("github_models", IF_ONLY, "user", IF_ONLY.replace(
        "      {% endif %}\n", "      {% endif %}\n\n      - Check every figure.\n")),
    # the longer list is inside {{#if lang}}: the rule joins the one every answer gets
    ("semantic_kernel", IF_AFTER, "rules", IF_AFTER.replace("  - Be brief.\n", "  - Be brief.\n  - Check every figure.\n")),
    # a section that is itself inside the block takes the rule inside it
    ("crewai", IF_SECTION, "depth", IF_SECTION.replace("    - Read every paper.\n",
                                                       "    - Read every paper.\n    - Check every figure.\n")),
])
def test_a_rule_never_goes_into_a_template_block_its_section_is_not_in(fmt: str, text: str, section: str,
                                                                       expected: str) -> None:
    """A list inside `{% if strict %}` ... `{% endif %}` (or `{{#if}}` ... `{{/if}}`) is said
    only when the condition holds; a rule for every answer goes into a list the section always
    says, or after the block, and the template stays whole."""
    parsed = ADAPTERS[fmt].parse(text, "file.prompt.yml" if fmt == "github_models" else "tasks.yaml")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agent")
    doc.add_rule(section, "Check every figure.")
    assert doc.dumps() == expected


CHAT = """\
name: support
template: |
  <message role="system">
  You are a support agent for {{company}}.
  {{#if premium}}
  Offer the premium hotline.
  {{/if}}
  </message>
  {{#each history}}
  <message role="{{role}}">{{content}}</message>
  {{/each}}
  <message role="user">{{request}}</message>
template_format: handlebars
"""


def test_in_a_chat_template_a_rule_goes_into_the_system_message() -> None:
    """A Semantic Kernel chat template: the instructions are the system message; a rule added
    at the end of the template would follow the user's message, outside any message."""
    parsed = ADAPTERS["semantic_kernel"].parse(CHAT, "support.yaml")
    doc = AdoptedDocument(parsed, "support", "support")
    doc.add_rule(doc.agent.sections[0].id, "Answer in two sentences.")
    with_rules = CHAT.replace("  {{/if}}\n  </message>", "  {{/if}}\n\n  - Answer in two sentences.\n  </message>")
    assert doc.dumps() == with_rules
    parsed = ADAPTERS["semantic_kernel"].parse(with_rules, "support.yaml")
    doc = AdoptedDocument(parsed, "support", "support")
    doc.add_rule(doc.agent.sections[0].id, "Name the product.")
    assert doc.dumps() == with_rules.replace("two sentences.\n", "two sentences.\n  - Name the product.\n")


def test_a_quoted_string_folded_over_lines_is_folded_again_the_same_way() -> None:
    """A GitHub Models file written by a YAML library: the system prompt is one double-quoted
    string folded at 80 columns with `\\` continuations. A new rule rewrites those lines in the
    same layout, not the whole prompt as one line of thousands of characters."""
    import yaml

    prompt = ("You review pull requests for a payments service and answer in short paragraphs.\n\n"
              "## Rules\n" + "".join(f"- Rule number {i}: check the diff for problem kind {i} and say where.\n"
                                      for i in range(12)) + "\n## Output\nA list of findings, most severe first.")
    parsed = ADAPTERS["github_models"].parse(_with_double_quoted_prompt(prompt), "review.prompt.yml")
    doc = AdoptedDocument(parsed, "review", "review")
    doc.add_rule("rules", "Name the file and line of every finding.")
    new = doc.dumps()
    added = prompt.replace("problem kind 11 and say where.\n", "problem kind 11 and say where.\n"
                           "- Name the file and line of every finding.\n")
    assert yaml.safe_load(new)["messages"][0]["content"] == added
    assert new == _with_double_quoted_prompt(added)  # folded as the library folds it
    changed = [line for line in difflib.unified_diff(_with_double_quoted_prompt(prompt).splitlines(),
                                                     new.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 4


def _with_double_quoted_prompt(prompt: str) -> str:
    """A prompt file as PyYAML writes it with the prompt double-quoted (width 80)."""
    import yaml

    class Quoted(str):
        pass

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style='"'))
    return yaml.dump({"name": "review", "model": "openai/gpt-4o",
                      "messages": [{"role": "system", "content": Quoted(prompt)}]},
                     Dumper=Dumper, sort_keys=False, width=80)


def test_template_syntax_mentioned_in_prose_opens_no_block() -> None:
    text = ("# Agent\n\nWrite templates with `{% if %}` and `{{#each}}` tags.\n\n```jinja\n{% if x %}\n```\n\n"
            "Rules:\n- Be brief.\n- Cite sources.\n")
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    doc.add_rule("agent", "Check every figure.")
    assert doc.dumps() == text + "- Check every figure.\n"


def test_a_rule_of_its_own_goes_above_the_break_that_closes_its_section() -> None:
    """A section ending in "---" (a divider before the next heading): the rule goes above it,
    not under it, where it reads as the start of the next section. "---" under a line of text
    makes that line a heading and is left alone."""
    text = ("# Agent\n\n## Escalation\n\n**Escalate for:**\n\n- Refund over $500\n- Legal mentions\n\n"
            "**Then use the escalation template**\n\n---\n\n## Learning\n\nNote what worked.\n")
    parsed = ADAPTERS["markdown"].parse(text, "AGENTS.md")
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "agents")
    doc.add_rule("escalation", "Hand it to a human when asked.")
    assert doc.dumps() == text.replace("template**\n\n", "template**\n\n- Hand it to a human when asked.\n\n", 1)


BUG_REVIEW = """messages:
  - role: system
    content: |
      You review bug reports.

      Check for:
      1. Steps to reproduce.
      2. Expected and actual behaviour.
  - role: user
    content: '{{input}}'
model: openai/gpt-4o-mini
"""


def test_a_message_that_is_only_a_variable_is_never_edited() -> None:
    """strata-game-library/core's bug-review.prompt.yml: its user message is `'{{input}}'`; a
    rule was added there (`{{input}}` then `- Answer in the language of the user.`), into what
    the user says. Such a message holds no instructions: no section, and a change to it is a
    change of a protected key."""
    parsed = ADAPTERS["github_models"].parse(BUG_REVIEW, "bug-review.prompt.yml")
    assert [name for name, _ in parsed.entries[0].fields] == ["system"]
    doc = AdoptedDocument(parsed, "bug-review", "bug-review")
    for section in doc.agent.sections:
        doc.add_rule(section.id, "Answer in the language of the report.")
    assert "content: '{{input}}'\n" in doc.dumps()
    assert "[user]\n{{input}}" in ADAPTERS["github_models"].render(parsed.data(parsed.entries[0]))
    policy = Policy(formats=[FormatRule(path="bug-review.prompt.yml", format="github_models")])
    changed = BUG_REVIEW.replace("'{{input}}'", "'{{input}} Answer in French.'")
    assert "protected-key" in [v.code for v in check_change({"bug-review.prompt.yml": BUG_REVIEW.encode()},
                                                             {"bug-review.prompt.yml": changed.encode()}, policy)]


@pytest.mark.parametrize(("description", "expected"), [
    # crewAI-examples' game-builder-crew: the input under a heading underlined with dashes; the
    # rule went between "Instructions" and its underline, and the fold joined it to "{game}"
    ("You will create a game using python, these are the instructions:\n\n"
     "    Instructions\n    ------------\n    {game}\n",
     "You will create a game using python, these are the instructions:\n- Name the source of every figure.\n"
     "Instructions ------------ {game}\n"),
    # a label right under the text: folded, a rule put just above it would take it in
    ("Review the code.\n    Code to review:\n    {code}\n",
     "Review the code.\n- Name the source of every figure.\nCode to review: {code}\n"),
])
def test_in_a_folded_block_a_rule_before_the_input_keeps_the_input_whole(description: str, expected: str) -> None:
    import yaml

    text = f"code_task:\n  description: >\n    {description}  expected_output: The code.\n"
    parsed = ADAPTERS["crewai"].parse(text, "tasks.yaml")
    doc = AdoptedDocument(parsed, "code_task", "code_task")
    doc.add_rule(doc.agent.sections[0].id, "Name the source of every figure.")
    assert yaml.safe_load(doc.dumps())["code_task"]["description"] == expected


def test_an_adk_config_is_claimed_by_its_name() -> None:
    """`root_agent.yaml` is ADK's name for an agent config: read as one, so that one that is not
    an agent with an instruction is left with the reason, not as "no format recognises its shape"."""
    assert ADAPTERS["google_adk"].claims("app/root_agent.yaml") and ADAPTERS["google_adk"].claims("root_agent.yml")
    assert not ADAPTERS["google_adk"].claims("app/research_agent.yaml")


def test_in_a_folded_block_a_heading_folded_into_the_line_above_is_text() -> None:
    """crewAI-examples' screenplay tasks: `description: >` with "... reply with STOP." over
    "### NEWGROUP POST:" over "{{discussion}}", which crewAI reads as one line. Read as a
    section, a rule for it went between the label and the input and broke that line in two."""
    import yaml

    text = ("task0:\n  description: >\n    Read the post. If it is spam reply with STOP.\n    ### NEWGROUP POST:\n"
            "    {{discussion}}\n  expected_output: >\n    STOP or nothing.\n")
    parsed = ADAPTERS["crewai"].parse(text, "tasks.yaml")
    doc = AdoptedDocument(parsed, "task0", "task0")
    assert [s.id for s in doc.agent.sections] == ["description", "expected-output"]
    doc.add_rule("description", "Quote the line that decided it.")
    assert yaml.safe_load(doc.dumps())["task0"]["description"] == (
        "Read the post. If it is spam reply with STOP.\n- Quote the line that decided it.\n"
        "### NEWGROUP POST: {{discussion}}\n")
    # in a literal (`|`) block the same line is a heading
    literal = text.replace("description: >", "description: |", 1)
    doc = AdoptedDocument(ADAPTERS["crewai"].parse(literal, "tasks.yaml"), "task0", "task0")
    assert "newgroup-post" in [s.id for s in doc.agent.sections]
