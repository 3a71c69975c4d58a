"""Markdown instruction files: ``AGENTS.md``, ``CLAUDE.md``, ``.github/copilot-instructions.md``,
``*.prompt.md``, ``*.instructions.md``, Cursor ``.mdc`` rules, Copilot custom agents and chat modes
(``*.agent.md``, ``*.chatmode.md``) and subagents (``.claude/agents/*.md``, ``.agents/agents/*.md``). The body is the prompt; a
front matter block (``---`` ... ``---``) is kept byte for byte and never edited."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats.base import Adapter, Entry, ParsedFile
from gitimprove.instructions.formats.prose import Lines
from gitimprove.instructions.formats.yamlfile import stem
from gitimprove.instructions.formats.yamlspan import Path_, split_lines

# Instruction files any folder may have (`billing/AGENTS.md`; AGENT.md is Amp's older name):
# ``init`` names an agent of one after its folder.
FOLDER_FILES = ("agent.md", "agents.md", "claude.md", "gemini.md")
_NAMES = (*FOLDER_FILES, "copilot-instructions.md")
BODY: Path_ = ("body",)
_FRONT_KEY = re.compile(r"([A-Za-z_][\w-]*)\s*:\s*(.*)")
_PLACEHOLDER = re.compile(r"""\A["']?[\[<{]""")  # `[agent-name]`, `<name>`, `{{name}}`
# A body that is only a path to another instruction file: a symbolic link (AGENTS.md ->
# CLAUDE.md) checked out where links are off, or read from git, where a link is its path.
_LINK_TEXT = re.compile(r"[\w./-]*[\w-]\.(?:md|mdc|markdown|txt)", re.I)


class MarkdownParsed(ParsedFile):
    def __init__(self, adapter: Adapter, text: str, source: str) -> None:
        self.adapter = adapter
        self.text = text
        self.source = source
        lines = split_lines(text)
        self.bom = "\ufeff" if text.startswith("\ufeff") else ""
        if lines and self.bom:
            lines[0] = lines[0][1:]
        self.front: list[str] = []
        # a fence may end in spaces ("--- " closes 0GiS0/demos-codemotion-2025's terraform
        # instructions), as front matter readers take it
        if lines and lines[0].rstrip() == "---":
            for i in range(1, len(lines)):
                if lines[i].rstrip() in ("---", "..."):
                    self.front = lines[: i + 1]
                    break
        self.body = lines[len(self.front):]
        self.eol = "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"
        self.entries = [Entry(stem(source).lower(), (), (("intro", BODY),))]

    def lines(self, path: Path_, first_id: str) -> Lines:
        return Lines(self.body, eol=self.eol, first_id=first_id, setext=True)

    def value(self, path: Path_) -> str:
        return "".join(self.body)

    def write(self, buffers: dict[Path_, Lines]) -> str:
        body = buffers[BODY].raw if BODY in buffers else self.body
        return self.bom + "".join(self.front) + "".join(body)

    def fixed(self) -> Any:
        return self.bom + "".join(self.front)

    def data(self, entry: Entry) -> Any:
        return {"front_matter": "".join(self.front), "body": "".join(self.body)}


class Markdown(Adapter):
    name = "markdown"
    summary = ("Markdown instructions (AGENTS.md, CLAUDE.md, copilot-instructions.md, *.prompt.md, .mdc, "
               "*.agent.md, .claude/agents/*.md)")
    variable_example = "{{name}} or ${input:name}"
    variable_re = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}|\$\{input:([A-Za-z_]\w*)[^}\n]*\}")

    def claims(self, path: str) -> bool:
        name = posixpath.basename(path).lower()
        return name in _NAMES or name.endswith((".prompt.md", ".instructions.md", ".mdc", ".agent.md",
                                                ".chatmode.md"))

    def hints(self, path: str) -> bool:
        """A subagent: a Markdown file under ``.claude/agents/`` (Claude Code) or
        ``.agents/agents/`` (the same files shared by several tools, in 185 public repositories
        and more); notes and templates are there too, and :meth:`claims_content` tells them apart."""
        folder = f"/{posixpath.dirname(path.lower())}/"
        return path.lower().endswith(".md") and ("/.claude/agents/" in folder or "/.agents/agents/" in folder)

    def claims_content(self, text: str) -> bool:
        """A subagent opens with front matter naming it or saying when to use it, as Claude
        Code reads it (``name:``, ``description:``), then its instructions; a template for new
        ones (``name: [agent-name]``) is not one."""
        parsed = MarkdownParsed(self, text, "")
        keys = [m for line in parsed.front[1:-1] if (m := _FRONT_KEY.match(line))]
        return (any(m[1] in ("name", "description") for m in keys) and bool("".join(parsed.body).strip())
                and not any(m[1] == "name" and _PLACEHOLDER.match(m[2]) for m in keys))

    def parse(self, text: str, source: str) -> ParsedFile:
        """A file with headings (``## Safety``, or ``Safety`` over ``------``) has a section per
        heading; one without (a system prompt written as a paragraph and a list, the commonest
        shape) is one section, ``intro``."""
        parsed = MarkdownParsed(self, text, source)
        if not "".join(parsed.body).strip():
            raise InvalidFileError([f"{source}: has no instructions: the file is empty"
                                    + (" but for its front matter" if parsed.front else "")],
                                   hint="write the agent's instructions in it, or leave this file "
                                        "out of `formats:` in gitimprove.yaml")
        body = "".join(parsed.body).strip()
        if _LINK_TEXT.fullmatch(body):
            raise InvalidFileError([f"{source}: holds only a path ({body}), as git writes a "
                                    "symbolic link where links are off"],
                                   hint="map the file it points to instead")
        return parsed

    def render(self, data: Any) -> str:
        return str(data["body"])
