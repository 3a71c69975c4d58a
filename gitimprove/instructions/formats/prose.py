"""Sections and rules inside one string of instructions, edited line by line.

A Markdown heading starts a section, a bullet or numbered line is a rule (lines indented under
it belong to it), any other line is text. The text before the first heading is a section of
its own, named by the caller (``backstory``, ``intro``). Fenced code blocks are text whatever
they hold, and so is an output template: the headings deeper than their section's under a line
that announces a format ("Answer in this format:") or in a section titled so ("## Output
format"), up to a heading above the template's level (:func:`_template_start`).

A :class:`Lines` buffer holds the raw lines of a string as they are stored in the file (with
their indentation and line ends) and edits them in place: a line that no edit touches keeps its
bytes, a new line takes the indentation and line end of its neighbours.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.text import section_slug

HEADING_RE = re.compile(r"\A(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*\Z")
RULE_RE = re.compile(r"\A([ \t]*)([-*+]|\d{1,3}[.)])[ \t]+(\S.*)\Z")
FENCE_RE = re.compile(r"\A[ \t]*(```|~~~)")
# A setext heading's underline ("Safety" over "------", "Title" over "====="), as CommonMark
# reads it under a line of a paragraph.
UNDERLINE_RE = re.compile(r"\A {0,3}(=+|-+)[ \t]*\Z")
PROTECTED_MARK = "<!-- gitimprove: protected -->"
# A template's or markup's own line: `{% endif %}`, `{{#each x}}`, `{{/each}}`, `{{else}}`,
# `<message role="user">`, `</message>`. Never part of the rule above it.
_TEMPLATE_TAG = r"\{%|\{\{[#/^~]|\{\{-?\s*(?:else|end)\b"
_TEMPLATE_TAG_RE = re.compile(r"\A[ \t]*(?:" + _TEMPLATE_TAG + ")")
_MARKUP_RE = re.compile(r"\A[ \t]*(?:" + _TEMPLATE_TAG + r"|</?[A-Za-z][\w:-]*(?:[\s/>]|\Z))")
# A template's blocks: Jinja / Liquid `{% if %}` ... `{% endif %}` (for, unless, case, with,
# block, macro ...), Handlebars `{{#if x}}` ... `{{/if}}`. Text inside one is said only when
# its condition holds (or once per item).
_BLOCK_OPEN_RE = re.compile(r"\{%-?\s*(?:if|for|unless|case|with|block|macro|call|filter|raw|capture|"
                            r"tablerow|comment)\b|\{\{~?#\s*[\w>*-]")
_BLOCK_CLOSE_RE = re.compile(r"\{%-?\s*end\w*\b|\{\{~?/\s*[\w-]")
# A line that announces the output's shape, its headings under it: "Answer in this format:",
# "Use the following template:", "Structure your review like this:", "Your reply has these sections:".
_TEMPLATE_LEAD_RE = re.compile(
    r"(?:\b(?:format|formatted|template|structure|structured|layout|skeleton|as\s+follows|like\s+(?:this|so))\b"
    r"|\b(?:answers?|responses?|repl(?:y|ies)|outputs?|reports?|reviews?|summar(?:y|ies))\b.*"
    r"\b(?:sections|headings|headers|parts)\b)[^:：]*[:：][ \t*_]*\Z", re.IGNORECASE)
# A heading that names the output's shape: "Output format", "Response template", "Format".
_TEMPLATE_TITLE_RE = re.compile(
    r"(?:(?:expected|required)\s+)?(?:(?:output|response|answer|reply|report|review|result|message)s?\s+)?"
    r"(?:format|template)s?|(?:(?:expected|required)\s+)?(?:output|response|answer|reply|report|review)s?\s+"
    r"(?:structure|layout)")
# A line that a list finishes ("Focus on:", "Analyze the code for:", "with these sections:",
# "For each issue, provide:"): its items are topics or parts of an output, not rules.
_BREAK_RE = re.compile(r"\A {0,3}([-*_])(?:[ \t]*\1){2,}\s*\Z")
_LEAD_IN_RE = re.compile(
    r"(?:\b(?:on|for|of|with|about|by|like|as|into|from|include|includes|including|provide|cover|"
    r"covers|covering|contain|contains|containing|suggesting|these|sections|fields|placeholders|"
    r"criteria|areas|topics|items|format|given)|\bfollowing(?:\s+[\w-]+){0,2})"
    r"\s*+(?:\([^)]*\))?\s*+\**:\**\Z", re.IGNORECASE)  # (possessive: each run read once)
# A line that names the output and what it "should" do ("Your report should:", "Your responses
# should be:", "Each answer must:", "This tool will:"): its items finish that sentence, they are
# parts of the output, not rules for the agent ("You MUST:" and "Always:" introduce rules).
_OUTPUT_LEAD_IN_RE = re.compile(
    r"\b(?:your|the|each|every|an?|this|that)\s+(?:[\w-]+\s+){0,2}?(?:reports?|responses?|answers?|"
    r"repl(?:y|ies)|outputs?|summar(?:y|ies)|analys[ie]s|reviews?|emails?|messages?|posts?|articles?|"
    r"documents?|plans?|results?|recommendations?|briefs?|briefings?|descriptions?|outlines?|drafts?|"
    r"stor(?:y|ies)|explanations?|tools?|functions?|sections?|tables?|lists?|notes?)\s+"
    r"(?:should|must|will|shall|needs?\s+to|has\s+to|have\s+to|is\s+to|are\s+to)"
    r"(?:\s+(?:also|always|each|be|have|do))*\s*+(?:\([^)]*\))?\s*+\**:\**\Z", re.IGNORECASE)


# A line that announces worked examples, the rest of its section (and the sections under it)
# being examples: "Here are some examples of the task:", "Examples:", "Example 2:", "=== Example
# 1 ===", "**Few-shot examples**", "Sample conversation:". Never "Give examples." (a rule) nor
# "Example: 'Sure!'" (one example, on its line).
_EXAMPLES_LEAD_RE = re.compile(
    r"\A\W*here\s+(?:are|is)\s+(?:\w+\s+){0,3}?examples?\b"
    r"|\A\W*(?:(?:few[- ]shot|worked|sample|some|more|good|bad|further|other)\s+)?examples?"
    r"(?:\s*+#?\d+)?(?:\s*+\([^)]*\))?\s*+[:：][\s*_]*+\Z"
    r"|\A\W*examples?(?:\s*+#?\d+)?\s*+[.)]?\s*+\Z"
    r"|\A\W*(?:sample|example)\s+(?:conversation|dialogue|interaction|exchange|input|output|"
    r"response|answer|repl(?:y|ie)|session|transcript)s?\s*+[:：][\s*_]*+\Z", re.IGNORECASE)
# ... or a banner: "=== Example 1 ===", "**Example 2**", "--- Examples ---" (its end is read apart:
# one pattern for both ends would try every split of a long line of "=")
_EXAMPLES_BANNER_RE = re.compile(r"\A\s*[=#*_~-]{2,}+\s*(?:[\w-]+\s+)?examples?\b", re.IGNORECASE)
_BANNER_END = frozenset("=#*_~-")


def _announces_examples(line: str) -> bool:
    """Whether ``line`` announces worked examples (:data:`_EXAMPLES_LEAD_RE`, or a banner)."""
    if _EXAMPLES_LEAD_RE.search(line):
        return True
    end = line.rstrip()[-2:]
    return len(end) == 2 and _BANNER_END.issuperset(end) and bool(_EXAMPLES_BANNER_RE.match(line))


# A heading that names worked examples: "Examples", "Example 1: a refund", "Few-shot examples",
# "Examples of good answers", "Example conversation"; not "Example-driven tests".
_EXAMPLES_TITLE_RE = re.compile(
    r"(?:(?:few[- ]shot|worked|sample|some|more|good|bad|further|other|output|input|response|"
    r"answer|conversation|dialogue)\s+)*examples?(?:\s*#?\d+)?"
    r"(?:\s*[:(.].*|\s+[-\u2013\u2014]\s.*|\s+(?:of|for)\s.*)?"
    r"|(?:sample|example)\s+(?:conversation|dialogue|interaction|exchange|input|output|response|"
    r"answer|repl(?:y|ie)|session|transcript)s?\b.*", re.IGNORECASE)
# A line whose list is examples of what it says: "Ask when the request is unclear, for example:".
_FOR_EXAMPLE_RE = re.compile(r"\b(?:for\s+example|for\s+instance|e\.g\.?)\s*+[:：][\s*_]*+\Z",
                             re.IGNORECASE)


def names_examples(title: str | None) -> bool:
    """Whether a heading's title names worked examples (see :data:`_EXAMPLES_TITLE_RE`)."""
    return title is not None and bool(_EXAMPLES_TITLE_RE.fullmatch(title.strip(" \t*_`:#")))


class Examples:
    """Where worked examples are among a section's lines, read line by line (the lines of its
    text, blank ones left out): after a line that announces them (:data:`_EXAMPLES_LEAD_RE`),
    every line to the section's end, unless a code block comes first (then it is the example,
    and the lines after it are read as usual: "Examples:" over a fenced config, then more
    rules); after "..., for example:", the list under it. Their list items are examples, not
    rules: :func:`parse` reads them as text, and a new rule is compared with none of them
    (:func:`gitimprove.proposals.rules.file_statements`)."""

    def __init__(self, *, lead: int | None = None) -> None:
        """``lead``: the section is examples from that line (its heading) on."""
        self.block = lead is not None
        self.listed = False
        self.fresh = False  # announced, and nothing of them read yet
        self.lead = lead  # the line that announced them (see :meth:`read`)

    def holds(self, line: str) -> bool:
        """Whether ``line`` (a line of text or a list item, or a code fence) is part of an
        example."""
        if self.fresh and FENCE_RE.match(line):
            self.block = self.fresh = False  # the code block is the example
            self.lead = None
            return False
        self.fresh = False
        if self.block:
            return True
        if self.listed and (RULE_RE.match(line) or line[:1].isspace()):
            return True
        if self.listed:
            self.listed, self.lead = False, None
        return False

    def read(self, line: str, at: int | None = None) -> None:
        """Note a line of the section's own text (line number ``at``): it may announce
        examples."""
        if _announces_examples(line):
            self.block = self.fresh = True
            self.lead = at
        elif _FOR_EXAMPLE_RE.search(line):
            self.listed = True
            self.lead = at

    def tail(self) -> int | None:
        """Where the examples that run to the section's end begin (the line that announced
        them), if they do."""
        return self.lead if self.block or self.listed else None


class EditError(GitImproveError):
    """An edit that cannot apply to this file (unknown section, rule index out of range)."""


def slug(text: str, fallback: str = "section") -> str:
    """A section id from a heading (see :func:`gitimprove.text.section_slug`)."""
    return section_slug(text, fallback)


@dataclass
class Rule:
    start: int  # first line (index into the buffer)
    end: int  # one past the last line
    text: str
    marker: str
    indent: str


@dataclass
class ProseSection:
    """One section of a string: its heading (None before the first), text lines and rules."""

    id: str
    title: str | None
    level: int
    start: int  # the heading's first line, or the first line of the string
    end: int
    head: int = 0  # the heading's last line (a setext heading's underline), else ``start``
    text_lines: list[int] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    protected: bool = False  # the heading carries ``<!-- gitimprove: protected -->``
    # the section whose heading this one's is under (a higher level; among `#` headings, the
    # `#` section an underlined heading is written in, whatever its level)
    parent: str | None = None
    # the first line of the worked examples the section ends with (the line that announces
    # them, or its first line when the whole section is examples): a rule goes above them
    examples: int | None = None
    # the first line of the output template the section ends with: the line that announces it
    # ("Answer in this format:"), or the template's first heading under a heading that names a
    # format ("## Output format"); the template's headings and bullets are the section's text
    template: int | None = None

    def last_content(self, lines: list[str]) -> int | None:
        """The last non-blank line of the section (its heading counts)."""
        for i in range(self.end - 1, self.start - 1, -1):
            if lines[i].strip():
                return i
        return None


def parse(lines: list[str], first_id: str, taken: set[str] | None = None, *,
          folded: bool = False, setext: bool = False) -> list[ProseSection]:
    """Sections of ``lines`` (text without line ends or block indentation).

    ``first_id`` names the text before the first heading (omitted when blank); ``taken`` holds
    ids used elsewhere in the agent, so that every id is unique. In a folded (``>``) block a
    ``#`` line right under a line of text is folded into it ("... reply with STOP. ### POST:
    {{discussion}}", as crewAI-examples' screenplay tasks read): text, not a heading. With
    ``setext`` (a Markdown file) a paragraph over ``===`` or ``---`` is a heading too (level 1
    or 2), as CommonMark reads it; in the strings of other formats it stays text."""
    used = set() if taken is None else taken
    sections: list[ProseSection] = []

    def unique(base: str) -> str:
        sid, n = base, 2
        while sid in used:
            sid, n = f"{base}-{n}", n + 1
        used.add(sid)
        return sid

    current = ProseSection(first_id, None, 0, 0, len(lines))
    preamble = current
    fenced = False
    rule: Rule | None = None
    template: int | None = None  # inside an output template: the level of its headings
    examples = Examples()
    shown: int | None = None  # inside worked examples: the level of the section they began in
    para: list[int] = []  # the lines of text right above: a paragraph an underline makes a heading
    for i, line in enumerate(lines):
        above, para = para, []
        if FENCE_RE.match(line):
            if not fenced:
                examples.holds(line)  # a code block right under "Examples:" is the example
            fenced = not fenced
            rule = None
            current.text_lines.append(i)
            continue
        if fenced:
            current.text_lines.append(i)
            continue
        underline = UNDERLINE_RE.match(line) if setext and above else None
        heading = HEADING_RE.match(line)
        if heading and folded and i > 0 and lines[i - 1].strip() and not lines[i - 1][:1].isspace():
            heading = None
        opened: tuple[str, int, int] | None = None  # a heading's title, level and first line
        if underline and _paragraph(lines, above):
            opened = " ".join(lines[k].strip() for k in above), 1 if underline.group(1)[0] == "=" else 2, above[0]
        elif heading:
            opened = heading.group(2), len(heading.group(1)), i
        if opened is not None:
            title, level, start = opened
            if template is not None and (level < template or PROTECTED_MARK in title):
                template = None
            elif template is None and level > current.level and PROTECTED_MARK not in title:
                lead = _template_start(lines, current, start)
                if lead is not None:
                    template, current.template = level, lead
            if template is not None:  # a heading of the output's: text of the section
                current.text_lines.append(i)
                rule = None
                continue
            if start < i:
                del current.text_lines[-len(above):]
            if examples.block and shown is None:
                # the section ended in examples: so do the sections under it (none under the
                # text before the first heading: every heading ends that)
                shown = current.level if current.title is not None else 6
            current.examples = examples.tail()
            current.end = start
            current = _section(title, level, start, i, len(lines))
            sections.append(current)
            rule = None
            if shown is not None and level <= shown:
                shown = None
            if shown is None and names_examples(title):
                shown = level
            examples = Examples(lead=start if shown is not None else None)
            continue
        if not line.strip():
            continue
        if template is not None or examples.holds(line):
            # the output's own lines, its bullets too, are text; so are worked examples
            current.text_lines.append(i)
            rule = None
            if not RULE_RE.match(line):
                para = [*above, i]
            continue
        bullet = RULE_RE.match(line)
        if rule is not None and _MARKUP_RE.match(line):
            rule = None
        if rule is not None and (len(line) - len(line.lstrip(" \t")) > len(rule.indent)
                                 and (bullet is None or len(bullet.group(1)) > len(rule.indent))):
            # A line indented under a rule (a continuation or a nested list) belongs to it.
            gap_blank = all(not lines[k].strip() for k in range(rule.end, i))
            if gap_blank:
                rule.end = i + 1
                continue
        if bullet:
            rule = Rule(i, i + 1, bullet.group(3).strip(), bullet.group(2), bullet.group(1))
            current.rules.append(rule)
            continue
        if rule is not None and i == rule.end and not bullet:
            # A lazy continuation line right under a rule.
            rule.end = i + 1
            continue
        rule = None
        current.text_lines.append(i)
        para = [*above, i]
        examples.read(line, i)
    current.examples = examples.tail()
    has_preamble = any(lines[k].strip() for k in range(preamble.start, preamble.end))
    # the headings above with the level each nests at, each higher than the next
    open_headings: list[tuple[ProseSection, int]] = []
    for section in sections:
        section.id = unique(slug(section.title or "", "section"))
        level = section.level
        while open_headings and open_headings[-1][1] >= level:
            outer = open_headings[-1][0]
            if section.head > section.start and outer.head == outer.start:
                # NOTE: among `#` headings, a line over `---` inside `## Safety` reads as a
                # heading of Safety's level, yet its author wrote it in Safety: it stays nested
                # there, so that Safety's protection keeps covering what follows it
                level = open_headings[-1][1] + 1
                break
            open_headings.pop()
        section.parent = open_headings[-1][0].id if open_headings else None
        open_headings.append((section, level))
    if has_preamble:
        preamble.id = unique(first_id)
        return [preamble, *sections]
    return sections


def _section(title: str, level: int, start: int, head: int, end: int) -> ProseSection:
    """The section a heading opens (its id is given once every heading is read)."""
    return ProseSection("", title.replace(PROTECTED_MARK, "").strip(), level, start, end, head=head,
                        protected=PROTECTED_MARK in title)


def _template_start(lines: list[str], section: ProseSection, start: int) -> int | None:
    """Where the output template that a heading opening at line ``start`` belongs to begins,
    when it is one: the heading is deeper than ``section``'s and follows a line of the section
    that announces a format ("Answer in this format:", "Use this template:", "Your reply has
    these sections:"), or the section's own title names one ("## Output format"). None: the
    heading opens a section."""
    k = next((k for k in range(start - 1, section.start - 1, -1) if lines[k].strip()), None)
    if k is not None and k in section.text_lines and _TEMPLATE_LEAD_RE.search(lines[k]):
        return k
    title = (section.title or "").strip(" \t*_`:").lower()
    return start if _TEMPLATE_TITLE_RE.fullmatch(title) else None


def _paragraph(lines: list[str], para: list[int]) -> bool:
    """Whether the lines of text ``para`` are a paragraph an underline under them makes a
    heading: not indented code (four spaces), a quote (``>``) or markup (``<div>``, ``{% if %}``)."""
    first = lines[para[0]]
    return (len(first) - len(first.lstrip(" ")) < 4 and not first.lstrip().startswith(">")
            and not any(_MARKUP_RE.match(lines[k]) for k in para))


def rule_text(lines: list[str], rule: Rule) -> str:
    """The rule's words: its first line and continuation lines, joined by single spaces."""
    parts = [rule.text] + [lines[k].strip() for k in range(rule.start + 1, rule.end)]
    return " ".join(p for p in parts if p)


def section_text(lines: list[str], section: ProseSection) -> str | None:
    if not section.text_lines:
        return None
    out: list[str] = []
    prev = None
    for k in section.text_lines:
        if prev is not None and k != prev + 1 and any(not lines[j].strip() for j in range(prev + 1, k)):
            out.append("")
        out.append(lines[k].rstrip())
        prev = k
    return "\n".join(out)


class Lines:
    """The raw lines of one string in a file, edited in place.

    ``raw`` keeps each line as stored (indentation and line end included); ``view`` is the text
    an edit and the parser see. ``indent`` is the block indentation a new line gets; ``eol`` its
    line end; ``folded`` marks a YAML ``>`` block, where a new line needs a blank line around it
    to stay a line of its own; ``setext`` a Markdown file, where an underlined paragraph is a
    heading (:func:`parse`)."""

    def __init__(self, raw: list[str], *, indent: str = "", eol: str = "\n", folded: bool = False,
                 first_id: str = "intro", setext: bool = False) -> None:
        self.raw = list(raw)
        self.indent = indent
        self.eol = eol
        self.folded = folded
        self.setext = setext
        self.first_id = first_id
        self.modified = False

    @property
    def view(self) -> list[str]:
        return [self._strip(line) for line in self.raw]

    def _strip(self, line: str) -> str:
        body = line.rstrip("\r\n")
        if body.startswith(self.indent):
            return body[len(self.indent):]
        return body.lstrip(" ") if not body.strip() or self.indent else body

    def _make(self, text: str) -> str:
        return (self.indent + text if text else "") + self.eol

    def _insert(self, at: int, texts: list[str]) -> None:
        if at > 0 and not self.raw[at - 1].endswith("\n"):
            # NOTE: the file ended on this line without a line end: the new lines go after it
            # and the last one ends the file the same way.
            self.raw[at - 1] += self.eol
            made = [self._make(t) for t in texts]
            made[-1] = made[-1].rstrip("\r\n")
        else:
            made = [self._make(t) for t in texts]
        self.raw[at:at] = made
        self.modified = True

    def sections(self, taken: set[str] | None = None) -> list[ProseSection]:
        return parse(self.view, self.first_id, taken, folded=self.folded, setext=self.setext)

    # -- edits ----------------------------------------------------------------------------

    def add_rule(self, section: ProseSection, text: str, position: int | None = None) -> int:
        """Add a rule before the rule at ``position``, or (None) at the end of the section's
        main list; returns the new rule's index among the section's rules."""
        text = _one_line(text)
        view = self.view
        if position is not None and position < len(section.rules):
            like = section.rules[position]
            marker = _next_marker(like.marker, section.rules, position)
            line = f"{like.indent}{marker} {_like(text, next(r for r in _runs(view, section.rules) if like in r))}"
            self._insert(like.start, [line, ""] if self.folded else [line])
            return position
        close = _system_close(view, section)
        depth = _depths(view)
        run = _main_list(view, section.rules, close, depth, depth[section.start]) if section.rules else None
        if run is not None:
            like = run[-1]
            block = [f"{like.indent}{_next_marker(like.marker, run, None)} {_like(text, run)}"]
            self._insert(like.end, ["", *block] if self.folded else block)
            return section.rules.index(like) + 1
        # No list to join (none, or each one finishes the line above it): a line of its own at
        # the end of the section.
        last = section.last_content(view)
        if last is None:  # an empty string: the rule is its first line
            self._insert(section.start, [f"{self._bullet()} {text}"])
            return 0
        ahead = min((k for k in (section.template, section.examples) if k is not None),
                    default=None)
        if ahead is not None:
            # above the output template or the worked examples it ends with, not in them
            if ahead == section.start and section.title is not None:
                raise EditError(f"section {section.id!r} holds worked examples: a rule there "
                                "would read as part of one; add it to another section")
            above = [k for k in range(section.start, ahead) if view[k].strip()]
            if not above:
                self._insert(ahead, [f"{self._bullet()} {text}", ""])
                return len(section.rules)
            last = above[-1]
        elif close is not None and last > close:  # a chat template: into its system message
            last = max(k for k in range(section.start, close) if view[k].strip())
        else:
            last = _before_input(view, section, last)
        # a thematic break ("---") closing the section divides it from the next: above it
        # (under a line of text, "---" makes that line a heading: left alone)
        while last - 1 > section.head and _BREAK_RE.match(view[last]) and not view[last - 1].strip():
            last = max((k for k in range(section.head, last) if view[k].strip()), default=section.head)
        # never inside a block the section does not itself sit in: after the line that leaves
        # the text at the section's own depth (and never between a title and its underline)
        while last > section.head and depth[last + 1] != depth[section.start]:
            last -= 1
        is_heading = section.title is not None and last == section.head
        tight = is_heading and not self.folded and not _spaced_headings(view, self.sections())
        bullet = self._bullet()
        block = [f"{bullet} {text}"] if tight else ["", f"{bullet} {text}"]
        if self.folded and last + 1 < len(view) and view[last + 1].strip():
            block.append("")  # in a folded (`>`) block the next line would join the rule's
        self._insert(last + 1, block)
        return len(section.rules)

    def update_rule(self, section: ProseSection, index: int, text: str) -> None:
        rule = _rule(section, index)
        run = next(r for r in _runs(self.view, section.rules) if rule in r)
        self.raw[rule.start:rule.end] = [self._make(f"{rule.indent}{rule.marker} {_like(_one_line(text), run)}")
                                         .rstrip("\r\n") + _line_end(self.raw[rule.end - 1])]
        self.modified = True

    def remove_rule(self, section: ProseSection, index: int) -> None:
        rule = _rule(section, index)
        was_last = rule.end == len(self.raw) and not self.raw[-1].endswith("\n")
        del self.raw[rule.start:rule.end]
        if was_last and self.raw:
            self.raw[-1] = self.raw[-1].rstrip("\r\n")  # the file ends without a line end again
        self.modified = True

    def set_text(self, section: ProseSection, text: str) -> None:
        new = text.strip("\n").split("\n")
        if section.text_lines:
            first = section.text_lines[0]
            for k in reversed(section.text_lines[1:]):
                del self.raw[k]
            end = _line_end(self.raw[first])
            self.raw[first:first + 1] = [self._make(t) for t in new[:-1]] + [
                (self.indent + new[-1] if new[-1] else "") + end]
        else:
            at = section.head + 1 if section.title is not None else section.start
            self._insert(at, ([""] if section.title is not None else []) + new + [""])
        self.modified = True

    def _bullet(self) -> str:
        """The bullet a rule of its own takes: the one the file's lists use most ("*" in a
        file written with "*"), else "-"."""
        used = Counter(r.marker for s in self.sections() for r in s.rules if r.marker in "-*+")
        return min(used, key=lambda m: (-used[m], "-*+".index(m))) if used else "-"

    def add_section(self, sections: list[ProseSection], *, title: str, text: str | None,
                    rules: list[str] | None, position: int | None) -> None:
        titled = [s for s in sections if s.title is not None]
        level = _new_level([s.level for s in titled])
        title = _one_line(title)
        block = [f"{'#' * level} {title}"]
        if titled and level <= 2 and all(s.head > s.start for s in titled):
            # a file whose headings are all underlined gets one more of them, when the title
            # reads as a paragraph ("- Notes" or "> Notes" over a line would not be a heading)
            underlined = [title, ("=" if level == 1 else "-") * max(3, len(title))]
            if [(s.start, s.head) for s in parse(underlined, "", setext=True)] == [(0, 1)]:
                block = underlined
        if text:
            block += ["", *text.strip("\n").split("\n")]
        if rules:
            bullet = self._bullet()
            block += [""] + [f"{bullet} {_one_line(r)}" for r in rules]
        view = self.view
        if position is not None and position < len(sections):
            at = sections[position].start
            self._insert(at, [*block, ""])
            return
        last = max((i for i, line in enumerate(view) if line.strip()), default=None)
        if last is None:
            self._insert(0, block)
        else:
            self._insert(last + 1, ["", *block])


def _spaced_headings(lines: list[str], sections: list[ProseSection]) -> bool:
    """Whether the file leaves a blank line under its headings (most of them), as the rule put
    under a heading alone should then."""
    below = [not lines[s.head + 1].strip() for s in sections if s.title is not None and s.head + 1 < len(lines)]
    return sum(below) * 2 > len(below)


def _new_level(levels: list[int]) -> int:
    """The heading level of a section added at the end: a sibling of the file's top sections,
    not of the last one (a ``###`` subsection there would put it under its parent); a lone
    ``#`` that opens the file is the document's title, and the new one goes under it."""
    if not levels:
        return 2
    if levels[0] == 1 and levels.count(1) == 1:
        return min(levels[1:], default=2)
    return min(levels)


# The input a template ends with: "{{prompt}}", "Question: {{$question}}", "{input}" alone on
# its line, and above it a label ("User input:") or a break ("---").
_INPUT_RE = re.compile(r"\A[ \t]*(?:[^{}:]{1,40}:[ \t]*)?(?:\{\{[^{}]*\}\}|\{[\w.:?$]+\}|\$\{[\w:.-]+\})[ \t]*\Z")
_ABOVE_INPUT_RE = re.compile(r"\A[ \t]*(?:-{3,}|\*{3,}|_{3,}|[^:]{1,40}:)[ \t]*\Z")


def _before_input(lines: list[str], section: ProseSection, last: int) -> int:
    """The line a rule of its own goes after: the section's last line, unless the section ends
    with the input the template is filled with; then the last line above that input (a rule
    after it would read as part of what the user wrote)."""
    k, found = last, False
    while k > section.head:
        line = lines[k]
        if not line.strip() or _INPUT_RE.match(line):
            found = found or bool(line.strip())
        elif not (found and _ABOVE_INPUT_RE.match(line) and not RULE_RE.match(line)):
            break
        elif UNDERLINE_RE.match(line) and k - 1 > section.head and lines[k - 1].strip():
            k -= 1  # "Instructions" over "------------": a heading over the input, the label too
        k -= 1
    return k if found and lines[k].strip() else last


_SYSTEM_OPEN_RE = re.compile(r"""\A[ \t]*<message\s+role\s*=\s*["']?(?:system|developer)\b[^>]*>[ \t]*\Z""",
                             re.IGNORECASE)
_MESSAGE_CLOSE_RE = re.compile(r"\A[ \t]*</message>[ \t]*\Z", re.IGNORECASE)


def _system_close(lines: list[str], section: ProseSection) -> int | None:
    """In a chat template (Semantic Kernel's ``<message role="system">`` ... ``</message>``),
    the line that closes the system message: the instructions end there, not at the end of
    the template, which is the user's message."""
    for i in range(section.start, section.end):
        if _SYSTEM_OPEN_RE.match(lines[i]):
            return next((j for j in range(i + 1, section.end) if _MESSAGE_CLOSE_RE.match(lines[j])), None)
    return None


def _depths(lines: list[str]) -> list[int]:
    """How many template blocks are open before each line (and after the last). A tag counts
    on a line of its own, outside code fences: "use `{% if %}` tags" in prose opens nothing."""
    out = [0]
    fenced = False
    for line in lines:
        depth = out[-1]
        if FENCE_RE.match(line):
            fenced = not fenced
        elif not fenced and _TEMPLATE_TAG_RE.match(line) and line.rstrip().endswith(("%}", "}}")):
            depth += len(_BLOCK_OPEN_RE.findall(line)) - len(_BLOCK_CLOSE_RE.findall(line))
        out.append(max(0, depth))
    return out


def _main_list(lines: list[str], rules: list[Rule], close: int | None = None,
               depth: list[int] | None = None, base: int = 0) -> list[Rule] | None:
    """The section's main list: the longest run of rules of one kind and indentation with only
    blank lines between them (the first of the longest; a run under a label that says it holds
    rules, "General Guidelines:", counts twice), a bulleted one if there is any: a
    numbered list is more often steps than rules. A section can hold several lists, each under
    a line of text ("Behavior", then "Outputs", then "Example footer"): a new rule belongs with
    the most rules of its kind, not in whichever list happens to come last. A list that
    finishes the line above it ("Focus on:") holds topics, not rules, and one whose last item
    ends with a colon introduces what follows it: None when every list is such."""
    runs = _runs(lines, rules)
    # a list that something other than a blank line follows (a code fence under its last
    # rule, a closing tag) would be split by a rule added under it; the end of a chat
    # template's system message is not
    # a list inside a template block (`{% if premium %}` ... `{% endif %}`) is said only when
    # the block's condition holds: a rule for every answer does not go there; a template's tag
    # right under a list at the section's own depth ends it, as a blank line does
    if depth is not None:
        runs = [run for run in runs if depth[run[0].start] == base]
        if not runs:
            return None
    ends = [run for run in runs if run[-1].end >= len(lines) or not lines[run[-1].end].strip()
            or run[-1].end == close or (depth is not None and bool(_TEMPLATE_TAG_RE.match(lines[run[-1].end])))]
    lists = [run for run in ends or runs[-1:]
             if not _finishes_lead_in(lines, run[0]) and not _introduces(lines, run[-1])]
    if not lists:
        return None
    bulleted = [run for run in lists if run[0].marker in "-*+"]
    # a list under a label that says it holds rules ("General Guidelines:") counts twice: it
    # takes the rule before one as long, or up to twice as long, that says nothing ("- DO NOT
    # transfer to multiple members at once" after a workflow), but not before five rules when
    # it holds one ("Constraints:" then "- DO NOT use lists")
    return max(bulleted or lists, key=lambda run: len(run) * (2 if _names_rules(lines, run[0]) else 1))


# A short label over a list that says the list holds rules: "General Guidelines:", "Rules:",
# "**Important rules**", "Constraints". Its words, with markup and the colon off.
_RULES_LABEL_RE = re.compile(
    r"\A[\w' -]{0,40}\b(?:guidelines?|rules|instructions|requirements|constraints|principles|"
    r"policies|best practices|do's and don'ts|dos and don'ts)\Z", re.IGNORECASE)


def _names_rules(lines: list[str], first: Rule) -> bool:
    """Whether the line above a list's ``first`` rule is a label saying the list holds rules."""
    above = next((lines[k] for k in range(first.start - 1, -1, -1) if lines[k].strip()), "")
    if RULE_RE.match(above):
        return False
    label = above.strip().lstrip("#").strip().strip("*_").rstrip(":：").strip("*_ ")
    return len(label.split()) <= 5 and bool(_RULES_LABEL_RE.match(label))


def _introduces(lines: list[str], last: Rule) -> bool:
    """Whether a list's last item ends with a colon (``- **Body** (paths only):``, ``：`` in
    Chinese): it introduces what comes under the list (a code block, a table), and a rule
    after it would read as that."""
    return rule_text(lines, last).rstrip().rstrip("*").endswith((":", "："))


def _runs(lines: list[str], rules: list[Rule]) -> list[list[Rule]]:
    """``rules`` in lists: runs of one kind (bulleted or numbered) and indentation with only
    blank lines between them."""
    runs: list[list[Rule]] = [[rules[0]]]
    for before, rule in pairwise(rules):
        if any(lines[k].strip() for k in range(before.end, rule.start)) \
                or (before.marker in "-*+") != (rule.marker in "-*+") or before.indent != rule.indent:
            runs.append([rule])
        else:
            runs[-1].append(rule)
    return runs


# An item that opens with a bold label: `**Be brief**: ...`, `**Be brief:** ...`, `**Be brief.** ...`
_LABELLED_RE = re.compile(r"\A\*\*(?P<label>[^*]*[^*\s:.])(?P<inner>[:.]?)\*\*(?P<outer>:?)[ \t]+\S")
# A rule that opens with a label of its own words: "Use plain language: explain ...", "Be brief. Say ..."
_LEAD_RE = re.compile(r"\A(?P<label>[^\W_](?:[\w'’ -]{0,38}[^\W_])?)(?P<stop>[:.])[ \t]+(?P<rest>\S.*)\Z")
# words of three letters or more a period follows that end no sentence ("Ask Prof. Lee")
_ABBREVIATIONS = frozenset(("mrs", "prof", "etc", "inc", "ltd", "dept", "approx", "fig", "nos", "vol"))


def _like(text: str, run: list[Rule]) -> str:
    """A new rule's words for a list whose every item opens with a bold label of one style:
    labelled the same way when the rule opens with a label of its own (up to five words before
    a colon, or a short first sentence); else as written. The label is the rule's own words,
    never more markup than the list has: it cannot open a heading or carry a ``*``."""
    items = [_LABELLED_RE.match(r.text) for r in run]
    styles = {(m["inner"], m["outer"]) for m in items if m is not None}
    if None in items or len(styles) != 1 or ("", "") in styles or _LABELLED_RE.match(text):
        return text
    ((inner, outer),) = styles
    lead = _LEAD_RE.match(text)
    if lead is None:
        return text
    words = lead["label"].split()
    if len(words) > 5 or (lead["stop"] == "." and (not lead["rest"][0].isupper() or len(words[-1]) < 3
                                                   or words[-1].lower() in _ABBREVIATIONS)):
        return text
    rest = lead["rest"]
    first = rest.split(" ", 1)[0]
    if inner == "." and first.isalpha() and first.islower():
        rest = rest[0].upper() + rest[1:]  # "Use plain language: explain ..." -> "... language.** Explain"
    return f"**{lead['label']}{inner}**{outer} {rest}"


def _finishes_lead_in(lines: list[str], first: Rule) -> bool:
    above = next((lines[k] for k in range(first.start - 1, -1, -1) if lines[k].strip()), "")
    if HEADING_RE.match(above) or RULE_RE.match(above):
        return False
    above = above.rstrip()
    if _LEAD_IN_RE.search(above) or _OUTPUT_LEAD_IN_RE.search(above):
        return True
    # the line's last sentence: "You are a research coordinator. When the user asks a question:"
    return above.endswith((":", "：")) and names_case_or_steps(_SENTENCE_END_RE.split(above)[-1])


# A line that says when the list under it applies ("When the coordinator provides a summary:",
# "If the user asks for a refund:", "Before you reply:"): its items are that case's steps, and
# a rule for every answer put among them would hold in that case alone.
_CONDITION_LEAD_RE = re.compile(r"\W*(?:when|whenever|if|before|after|once|upon|while|"
                                r"for (?:each|every))\b", re.IGNORECASE)


# A line that says the list under it is a procedure ("Follow these steps:", "First, analyze
# the prompt step-by-step:", "Do it in this order:", "Workflow:"): a rule for every answer is
# no next step.
_STEPS_LEAD_RE = re.compile(r"\b(?:steps|step[- ]by[- ]step|in (?:this|the following) order|"
                            r"workflow|procedure)\b", re.IGNORECASE)


def names_case_or_steps(text: str) -> bool:
    """Whether a line (or a heading's title) says when what follows it applies ("When the user
    asks a question:", "Before Acting") or that it is a procedure ("Follow these steps:",
    "Build It In This Order"): what follows is that case's steps, no rule for every answer."""
    return bool(_CONDITION_LEAD_RE.match(text) or _STEPS_LEAD_RE.search(text))
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _rule(section: ProseSection, index: int) -> Rule:
    if not 0 <= index < len(section.rules):
        raise EditError(f"section {section.id!r} has {len(section.rules)} rules; there is no rule at index {index}")
    return section.rules[index]


def _line_end(line: str) -> str:
    return line[len(line.rstrip("\r\n")):]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _next_marker(marker: str, rules: list[Rule], position: int | None) -> str:
    number = re.match(r"(\d+)([.)])", marker)
    if not number:
        return marker
    if position is None or position >= len(rules):
        return f"{int(number.group(1)) + 1}{number.group(2)}"
    return marker
