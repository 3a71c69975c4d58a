"""Markdown agent definitions: Claude Code subagents (``.claude/agents/*.md``), Copilot custom
agents (``*.agent.md``) and chat modes (``*.chatmode.md``). Each opens with front matter (name,
description, tools, model, handoffs) that is never edited; its body is the agent's instructions."""

from __future__ import annotations

from gitimprove.instructions.adopt import survey
from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
from gitimprove.instructions.formats.catalog import agent_name
from gitimprove.instructions.policy import FormatRule, Policy
from gitimprove.validate import check_change

SUBAGENT = """---
name: code-reviewer
description: Reviews a diff. Use PROACTIVELY after every change.
tools: Read, Grep, Glob
model: inherit
---

You are a senior reviewer.

## Review checklist

- Read the whole diff first.
- Flag every unchecked error.
"""

COPILOT = """---
name: Planner
description: Plans before anyone writes code
tools:
  - search
handoffs:
  - label: Implement
    agent: implementer
    prompt: Implement the plan above.
---

You plan. You never write code.

## Steps

1. Read the issue.
2. List the files to change.
"""

NOTES = "# Our subagents\n\nEach file here is one subagent.\n"


def test_subagents_and_custom_agents_are_adopted_with_their_file_names() -> None:
    """As found in real repositories (1215-Labs/claude-code-templates: 20 subagents, some in a
    folder of their own as AGENT.md; Cavan/CoPilot_Agent_Template: six *.agent.md;
    Fidasek009/agents: .agents/agents/*.md, the layout several tools share); a note in
    the folder without front matter, or a template for new ones (`name: [agent-name]`), is not an
    agent, and is passed over without a word."""
    files = {".claude/agents/code-reviewer.md": SUBAGENT.encode(),
             ".claude/agents/type-checker/AGENT.md": SUBAGENT.replace("code-reviewer", "type-checker").encode(),
             ".claude/agents/README.md": NOTES.encode(),
             ".claude/agents/_template.md": SUBAGENT.replace("code-reviewer", "[agent-name]").encode(),
             ".github/agents/planner.agent.md": COPILOT.encode(),
             ".agents/agents/architect.md": SUBAGENT.replace("code-reviewer", "architect").encode(),
             ".github/chatmodes/explain.chatmode.md": COPILOT.replace("Planner", "Explain").encode()}
    result = survey(files, Policy(), [])
    assert {a.path: (a.format, a.agents) for a in result.adopted} == {
        ".claude/agents/code-reviewer.md": ("markdown", ["code-reviewer"]),
        ".claude/agents/type-checker/AGENT.md": ("markdown", ["type-checker"]),
        ".github/agents/planner.agent.md": ("markdown", ["planner"]),
        ".agents/agents/architect.md": ("markdown", ["architect"]),
        ".github/chatmodes/explain.chatmode.md": ("markdown", ["explain"])}
    assert result.left == []


def test_a_rule_goes_into_the_body_and_the_front_matter_is_protected() -> None:
    for path, text in ((".claude/agents/code-reviewer.md", SUBAGENT), (".github/agents/planner.agent.md", COPILOT)):
        parsed = ADAPTERS["markdown"].parse(text, path)
        doc = AdoptedDocument(parsed, parsed.entries[0].key, "agent")
        target = next(s for s in doc.agent.sections if s.rules)
        doc.add_rule(target.id, "Name the file and line of every finding.")
        new = doc.dumps()
        front = text[: text.index("---", 3) + 4]
        assert new.startswith(front) and "Name the file and line of every finding." in new[len(front):]
        policy = Policy(formats=[FormatRule(path=path, format="markdown")])
        assert check_change({path: text.encode()}, {path: new.encode()}, policy) == []
        tools = text.replace("tools:", "tools: Bash,", 1)
        assert "protected-key" in [v.code for v in check_change({path: text.encode()}, {path: tools.encode()},
                                                                 policy)]


def test_front_matter_whose_closing_fence_ends_in_a_space_is_front_matter() -> None:
    """0GiS0/demos-codemotion-2025's terraform.instructions.md closes its front matter with
    "--- " (CRLF): read as text, its "---" under `applyTo:` was refused as a setext heading."""
    text = "---\r\napplyTo: '**/*.tf'\r\n--- \r\nCoding standards for Terraform.\r\n\r\n- Pin provider versions.\r\n"
    path = ".github/instructions/terraform.instructions.md"
    parsed = ADAPTERS["markdown"].parse(text, path)
    doc = AdoptedDocument(parsed, parsed.entries[0].key, "terraform")
    doc.add_rule(doc.agent.sections[0].id, "Tag every resource.")
    assert doc.dumps() == text + "- Tag every resource.\r\n"
    changed = text.replace("**/*.tf", "**/*")
    policy = Policy(formats=[FormatRule(path=path, format="markdown")])
    assert "protected-key" in [v.code for v in check_change({path: text.encode()}, {path: changed.encode()}, policy)]


def test_an_instruction_file_of_a_folder_is_named_after_its_folder() -> None:
    """`billing/AGENTS.md` was agent `agents`, like the one at the root (a clash, widened to
    `billing-agents` at best) and `billing/AGENT.md` agent `agent`: each is its folder's. Two of
    one folder take their own names too; files alike up to their folder are told apart as any
    clash is; and the entries init writes say so, while an entry without a name (a repository
    adopted before) keeps the name its feedback is recorded under."""
    body = b"You answer billing questions.\n\n- Quote the invoice number.\n"
    files = {"AGENTS.md": body, "billing/AGENT.md": body, "support/CLAUDE.md": body, "support/AGENTS.md": body,
             "eu/shipping/GEMINI.md": body, "us/shipping/GEMINI.md": body, ".github/copilot-instructions.md": body,
             # llxxgg/crewai_mas_demo: a workspace per lesson, an agent.md per role
             "m4l25/workspace/pm/agent.md": body, "m4l26/workspace/pm/agent.md": body}
    result = survey(files, Policy(), [])
    assert {a.path: a.agents for a in result.adopted} == {
        "AGENTS.md": ["agents"], "billing/AGENT.md": ["billing"], "support/CLAUDE.md": ["support-claude"],
        "support/AGENTS.md": ["support-agents"], "eu/shipping/GEMINI.md": ["eu-shipping-gemini"],
        "us/shipping/GEMINI.md": ["us-shipping-gemini"], "m4l25/workspace/pm/agent.md": ["m4l25-pm"],
        "m4l26/workspace/pm/agent.md": ["m4l26-pm"],
        ".github/copilot-instructions.md": ["copilot-instructions"]}
    assert {r.path: r.name for r in result.rules}["billing/AGENT.md"] == "{parent}"
    # a tool's own folder holds the repository's file; a folder of the file's name names it alike
    alike = survey({".gemini/GEMINI.md": body, "agents/AGENTS.md": body}, Policy(), [])
    assert {a.path: a.agents for a in alike.adopted} == {".gemini/GEMINI.md": ["gemini"],
                                                           "agents/AGENTS.md": ["agents"]}
    assert result.left == []
    before = FormatRule(path="billing/AGENT.md", format="markdown")  # as written by an earlier init
    assert agent_name(before, "billing/AGENT.md", "agent") == "agent"


def test_a_list_whose_last_item_ends_with_a_colon_is_not_joined() -> None:
    """llxxgg/crewai_mas_demo's manager agent.md lists a message's fields, the last one
    `- **内容格式**（...）：` over the code block it introduces: a rule added there went between
    the two, and read as part of the message."""
    text = ("# Manager\n\n## Assign the task\n\nSend a message:\n\n- **To**: pm\n- **Type**: task_assign\n"
            "- **Body** (paths and acceptance criteria only):\n\n```\nPlease design the product spec.\n```\n\n"
            "## Review\n\n- Check every criterion.\n")
    for colon in (":", "："):
        source = text.replace("only):", f"only){colon}")
        parsed = ADAPTERS["markdown"].parse(source, "m4l26/workspace/manager/agent.md")
        doc = AdoptedDocument(parsed, parsed.entries[0].key, "manager")
        doc.add_rule("assign-the-task", "Name the output path.")
        assert doc.dumps() == source.replace("```\n\n## Review", "```\n\n- Name the output path.\n\n## Review")
