"""The pre-merge validator: what a change may never do to the main branch.

:func:`check_change` is pure: base files, proposed files and the policy in, violations out.
The policy and the base always come from the *target* branch, never from the proposal, and
the check fails closed: a file it cannot parse, or a policy it cannot read, is a violation.
The same check runs in ``gitimprove propose`` (before a branch exists), ``approve``, the git
hooks and the pull-request check.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, replace

from gitimprove.dataclass import dataclass
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.agentfile import (
    HEADING_RE,
    AgentFile,
    Section,
    parse_agent,
    protected_itself,
    render,
)
from gitimprove.instructions.agentfile import protected_ids as nested_protected_ids
from gitimprove.instructions.formats.catalog import adapter_for, agent_name, parse_file, rule_for
from gitimprove.instructions.policy import POLICY_PATH, FormatRule, Policy
from gitimprove.safetext import describe_char, fold, fold_words, hidden_chars
from gitimprove.text import rule_number


@dataclass(frozen=True)
class Violation:
    """One reason a change may not reach the main branch."""

    code: str
    message: str
    path: str | None = None
    agent: str | None = None
    section: str | None = None
    rule: int | None = None

    def __str__(self) -> str:
        where = self.path or ""
        if self.section:
            where += f" [{self.section}" + (f" {rule_number(self.rule)}" if self.rule is not None else "") + "]"
        return f"{where}: {self.message}" if where else self.message

    def to_json(self) -> dict[str, object]:
        return asdict(self)


# path -> file content (None: absent on that side). Only paths that differ need to be given.
Files = Mapping[str, bytes | None]


def check_change(base: Files, proposed: Files, policy: Policy, *,
                 operations: int | None = None, repair: bool = False) -> list[Violation]:
    """Every violation in changing ``base`` into ``proposed`` under ``policy``.

    ``operations`` is the number of operations of a proposal, when known (scope limit).
    ``repair``: a base file that does not parse may be replaced by a valid one (a rollback
    from a broken tip); without it such a base is a violation (fail closed)."""
    out: list[Violation] = []
    limits = policy.limits
    if operations is not None and operations > limits.max_operations:
        out.append(Violation("too-many-operations",
                             f"{operations} operations; the policy allows {limits.max_operations}"))
    for path in sorted(set(base) | set(proposed)):
        old, new = base.get(path), proposed.get(path)
        if old == new:
            continue
        if path == POLICY_PATH:
            out.append(Violation("policy-changed", "the policy file may not be changed by a proposal",
                                 path=path))
            continue
        agent = _agent_name(path, policy)
        try:
            rule = rule_for(policy, path) if agent is None else None
        except InvalidFileError as exc:
            out += [Violation("format-ambiguous", p, path=path) for p in exc.problems]
            continue
        if rule is not None:
            out += check_adopted(path, old, new, policy, rule, repair=repair)
            continue
        if agent is None:
            out.append(Violation("path-outside-agents",
                                 f"changes a path outside {policy.agents_dir}/", path=path))
            continue
        if not any(fnmatch.fnmatchcase(path, pat) for pat in limits.allowed_paths):
            out.append(Violation("path-not-allowed",
                                 f"the policy's allowed_paths ({', '.join(limits.allowed_paths)}) "
                                 "do not include it", path=path, agent=agent))
            continue
        if new is None:
            out.append(Violation("file-deleted", "deletes an agent file", path=path, agent=agent))
            continue
        try:
            new_file = parse_agent(new, path, expected_name=agent)
        except InvalidFileError as exc:
            out += [Violation("schema-invalid", p, path=path, agent=agent) for p in exc.problems]
            continue
        if old is None:
            if not limits.allow_new_agents:
                out.append(Violation("file-added", "adds an agent; the policy does not allow new agents",
                                     path=path, agent=agent))
            out += _size(new_file, path, agent, policy)
            continue
        try:
            old_file = parse_agent(old, path, expected_name=agent)
        except InvalidFileError as exc:
            if repair:
                continue  # the new file parses (checked above): nothing to compare it with
            out.append(Violation("base-unreadable",
                                 f"the target branch's version does not parse ({exc.problems[0]}); "
                                 "refusing to judge a change against it", path=path, agent=agent))
            continue
        out += check_agent(old_file, new_file, policy, path=path)
    return out


def check_adopted(path: str, old: bytes | None, new: bytes | None, policy: Policy,
                  rule: FormatRule, *, repair: bool = False) -> list[Violation]:
    """Violations in changing a file of an adopted format: only its instruction strings may
    change, and each agent in it is judged like a native one. With ``repair``, a base that
    does not parse is not compared against (the new file must parse)."""
    out: list[Violation] = []
    if new is None:
        return [Violation("file-deleted", "deletes an adopted agent file", path=path)]
    try:
        adapter = adapter_for(rule.format, rule.constants)
        new_p = parse_file(adapter, new, path)
    except InvalidFileError as exc:
        return [Violation("schema-invalid", p, path=path) for p in exc.problems]
    if old is None:
        if not policy.limits.allow_new_agents:
            out.append(Violation("file-added", "adds an agent file; the policy does not allow new agents",
                                 path=path))
        return out
    try:
        old_p = parse_file(adapter, old, path)
    except InvalidFileError as exc:
        if repair:
            return out  # the new file parses (checked above): nothing to compare it with
        return [Violation("base-unreadable", f"the target branch's version does not parse ({exc.problems[0]}); "
                          "refusing to judge a change against it", path=path)]
    from gitimprove.instructions.formats.yamlspan import differences, dotted

    for where in differences(old_p.fixed(), new_p.fixed()):
        what = "the front matter" if rule.format == "markdown" else f"`{dotted(where)}`"
        out.append(Violation("protected-key", f"changes {what}, which gitimprove never edits: in a "
                             f"{rule.format} file only the instruction text is editable", path=path))
    old_keys = [e.key for e in old_p.entries]
    new_keys = [e.key for e in new_p.entries]
    for key in old_keys:
        if key not in new_keys:
            out.append(Violation("agent-removed", f"removes the agent {key!r} from the file", path=path,
                                 agent=agent_name(rule, path, key)))
    for key in new_keys:
        if key not in old_keys:
            out.append(Violation("agent-added", f"adds an agent {key!r} to the file", path=path,
                                 agent=agent_name(rule, path, key)))
    for entry in old_p.entries:
        if entry.key not in new_keys:
            continue
        name = agent_name(rule, path, entry.key)
        before = old_p.view(entry, name)
        after = new_p.view(new_p.entry(entry.key), name)
        if before == after and old_p.data(entry) == new_p.data(new_p.entry(entry.key)):
            continue
        out += check_agent(before, after, policy, path=path)
        # NOTE: a section's heading level is not in the agent's view; "## Safety" made
        # "### Safety", or the heading above it made "#", would nest it under another section.
        levels = {s.id: s.level for _, _, s in new_p.sections(new_p.entry(entry.key))}
        for _, _, s in old_p.sections(entry):
            if s.id in levels and levels[s.id] != s.level:
                out.append(Violation("heading-level", f"changes the level of the heading of "
                                     f"section {s.id!r} (from {s.level} to {levels[s.id]}): it "
                                     "would nest the sections under it differently",
                                     path=path, agent=name, section=s.id))
        for var in sorted(set(after.variables) - set(before.variables)):
            out.append(Violation("variable-added", f"uses the variable {var!r}, which {rule.format} "
                                 "would not fill: the agent did not use it before", path=path, agent=name))
    return out


def _agent_name(path: str, policy: Policy) -> str | None:
    folder, name = posixpath.split(path)
    if folder != policy.agents_dir or not name.endswith(".yaml"):
        return None
    return name[:-5]


def protected_ids(agent: AgentFile, policy: Policy) -> list[str]:
    """Sections protected by their mark (``protected: true``), by the policy's patterns, or by
    a section they are nested under."""
    return nested_protected_ids(agent, policy.is_protected)


def _protected_above(agent: AgentFile, sid: str, policy: Policy) -> str:
    """`` (nested under the protected 'x')`` for a section protected only by the section it
    sits under (a ``###`` under a protected ``##``): the policy does not name it, so the
    message says which protection it falls under."""
    section = agent.section(sid)
    if section is None or protected_itself(agent.name, section, policy.is_protected):
        return ""
    seen: set[str] = set()
    while section is not None and section.parent is not None and section.parent not in seen:
        seen.add(section.parent)
        section = agent.section(section.parent)
        if section is not None and protected_itself(agent.name, section, policy.is_protected):
            return f" (nested under the protected {section.id!r})"
    return ""


def check_agent(old: AgentFile, new: AgentFile, policy: Policy, *, path: str) -> list[Violation]:
    """Violations in changing one agent file from ``old`` to ``new``."""
    agent = old.name
    out: list[Violation] = []

    def v(code: str, message: str, section: str | None = None, rule: int | None = None) -> None:
        out.append(Violation(code, message, path=path, agent=agent, section=section, rule=rule))

    if new.name != old.name:
        v("renamed", f"renames the agent from {old.name!r} to {new.name!r}")
    old_ids, new_ids = old.section_ids, new.section_ids
    surviving = [i for i in new_ids if i in old_ids]
    old_order = [i for i in old_ids if i in new_ids]
    for sid in protected_ids(old, policy):
        before = old.section(sid)
        after = new.section(sid)
        if after is None:
            v("protected-removed", f"removes the protected section {sid!r}"
              f"{_protected_above(old, sid, policy)}", sid)
            continue
        if before is not None and after != before:
            if replace(after, parent=before.parent) == before:
                v("protected-moved", f"moves the protected section {sid!r} from under "
                  f"{before.parent or 'no heading'!r} to under {after.parent or 'no heading'!r}", sid)
            elif before.protected and not after.protected:
                v("protected-unflagged", f"removes `protected: true` from section {sid!r}", sid)
            else:
                v("protected-changed", f"changes the protected section {sid!r}"
                  f"{_protected_above(old, sid, policy)}", sid)
        if old_order.index(sid) != surviving.index(sid):
            v("protected-moved", f"moves the protected section {sid!r} relative to the others", sid)
    guarded = set(protected_ids(old, policy))
    parents = {s.id: s.parent for s in new.sections}
    for section in new.sections:
        if section.id in guarded:
            continue
        above, steps = section.parent, len(parents)
        while above is not None and above not in guarded and steps:
            above, steps = parents.get(above), steps - 1
        if above is not None:
            # a heading added, demoted or underlined under a protected one: the reader takes
            # what it holds for protected text that a human wrote
            # NOTE: the violation is the protected section's (audit names what a change
            # touched): the new section only says where in it
            v("protected-extended", f"puts the section {section.id!r} inside the protected section "
              f"{above!r}; only humans may add to it", above)
    for section in new.sections:
        # named by the policy under its id or a former one (see former_ids)
        if section.id not in old_ids and protected_itself(agent, replace(section, protected=False),
                                                          policy.is_protected):
            v("protected-shadowed", f"adds a section {section.id!r} whose id the policy "
              "protects; only humans may add it", section.id)
    out += _lookalikes(old, new, policy, path)
    out += _hidden(old, new, path)
    out += _headings(old, new, path)
    out += _open_blocks(old, new, path)
    for var in old.variables:
        if var not in new.variables:
            v("variable-dropped", f"drops the declared variable {{{{{var}}}}}")
    if not policy.limits.allow_remove_rules:
        for section in old.sections:
            kept = new.section(section.id)
            if kept is None:
                v("section-removed", f"removes the section {section.id!r}; the policy does not "
                  "allow removing rules or sections", section.id)
                continue
            lost = len(section.rules or []) - len(kept.rules or [])
            if lost > 0:
                v("rule-removed", f"removes {lost} rule{'s' if lost > 1 else ''} from {section.id!r}; "
                  "the policy does not allow removing rules", section.id)
    old_text, new_text = render(old), render(new)
    added = added_chars(old_text, new_text)
    if added > policy.limits.max_added_chars:
        v("too-much-text", f"adds {added} characters; the policy allows {policy.limits.max_added_chars}")
    out += _size(new, path, agent, policy, rendered=new_text)
    return out


def _hidden(old: AgentFile, new: AgentFile, path: str) -> list[Violation]:
    """Invisible characters the change adds. A file keeps those its author wrote (an emoji's
    selector doubled; an adopted file is not refused for what it holds), but a change may not
    add one: a model could hide text from the reviewer in them."""
    def counted(agent: AgentFile) -> dict[str | None, Counter[str]]:  # None: the description
        return {None: Counter(hidden_chars(agent.description)),
                **{section.id: Counter(c for _, text in section.pieces() for c in hidden_chars(text))
                   for section in agent.sections}}

    before, after = counted(old), counted(new)
    added = sum(after.values(), Counter()) - sum(before.values(), Counter())
    if not added:
        return []
    where = next((sid for sid, chars in after.items() if chars - before.get(sid, Counter())), None)
    char = next(iter(after.get(where, Counter()) - before.get(where, Counter()) or added))
    return [Violation("hidden-character", f"adds the character {describe_char(char)}, which "
                      "shows as nothing: instructions are plain text a reviewer can read",
                      path=path, agent=old.name, section=where)]


def _names(section: Section) -> list[str]:
    return [section.id] + ([section.title] if section.title else [])


def _takes_name(candidate: str, protected: str) -> bool:
    """Does ``candidate`` spell ``protected``, folded, or hold it as a run of words?"""
    words, inner = fold_words(candidate), fold_words(protected)
    if not inner:
        return False
    if fold(candidate) == fold(protected):
        return True
    return any(words[i:i + len(inner)] == inner for i in range(len(words) - len(inner) + 1))


def _lookalikes(old: AgentFile, new: AgentFile, policy: Policy, path: str) -> list[Violation]:
    """A new or renamed section may not take a protected section's id or title: "Safety
    (updated)", "ＳＡＦＥＴＹ" or a Cyrillic "Sаfety" would read as the real one."""
    ids = protected_ids(old, policy)
    protected = [s for s in old.sections if s.id in ids]
    out: list[Violation] = []
    for section in new.sections:
        before = old.section(section.id)
        if before is not None and before.id in ids:
            continue  # the protected section itself (its changes are judged above)
        if before is not None and before.title == section.title:
            continue  # neither new nor renamed
        candidates = [section.id] if before is None else []
        if section.title and (before is None or before.title != section.title):
            candidates.append(section.title)
        for name in candidates:
            hit = next((p for p in protected for n in _names(p) if _takes_name(name, n)), None)
            if hit is not None:
                what = "id" if name == section.id else "title"
                # the protected section's violation (audit lists what a change touched): the
                # new section's name is in the message
                out.append(Violation(
                    "protected-lookalike",
                    f"section {section.id!r} takes the {what} {name!r}, which reads as the "
                    f"protected section {hit.id!r}; only humans may name a section like it",
                    path=path, agent=old.name, section=hit.id))
                break
    return out


def _headings(old: AgentFile, new: AgentFile, path: str) -> list[Violation]:
    """Lines of text that the prompt would show as a heading, added by the change: in a
    section's text, or a rule's (``- # Safety`` is a heading inside a list item)."""
    def lines(agent: AgentFile) -> set[str]:
        texts = [agent.description] + [s.text or "" for s in agent.sections] + [
            rule for s in agent.sections for rule in s.rules or []]
        return {line for text in texts for line in text.splitlines() if HEADING_RE.match(line)}

    added = sorted(lines(new) - lines(old))
    return [Violation("heading-in-text", f"adds text that would read as a heading in the prompt: "
                      f"{line.strip()[:80]!r}", path=path, agent=old.name) for line in added[:3]]


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
# Raw HTML a Markdown renderer (or a model reading the prompt) takes as one block until its
# closer, blank lines and headings included: a comment, CDATA, and the four elements CommonMark
# keeps open to their end tag. (name, opener, closer)
_RAW_BLOCKS = (("<!--", re.compile(r"<!--"), re.compile(r"-->")),
               ("<![CDATA[", re.compile(r"<!\[CDATA\["), re.compile(r"\]\]>")),
               *((f"<{tag}>", re.compile(rf"<{tag}(?=[\s>/]|$)", re.IGNORECASE),
                  re.compile(rf"</{tag}\s*>", re.IGNORECASE))
                 for tag in ("script", "pre", "style", "textarea")))


def unclosed_block(text: str) -> str | None:
    """What in ``text`` would run on past its end in the rendered prompt (a code fence or an
    HTML comment left open, or the closer of one opened elsewhere), or None."""
    fence: str | None = None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if m is None:
            continue
        if fence is None:
            fence = m.group(1)
        elif m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
            fence = None
    if fence is not None:
        return f"a code fence {fence!r} left open"
    for name, opener, closer in _RAW_BLOCKS:
        at = 0
        while True:
            o = opener.search(text, at)
            stray = closer.search(text, at, o.start() if o else len(text))
            if stray is not None:
                return f"{stray.group(0)!r} closing what it did not open"
            if o is None:
                break
            c = closer.search(text, o.end())
            if c is None:
                return f"{name!r} left open"
            at = c.end()
    return None


def _open_blocks(old: AgentFile, new: AgentFile, path: str) -> list[Violation]:
    """Pieces of prose the change adds that would swallow what follows them in the rendered
    prompt: a ``` fence or a ``<!--`` opened in the section before a protected one and closed
    in a section after it hides that section without touching it."""
    def pieces(agent: AgentFile) -> set[str]:
        return {agent.description} | {text for s in agent.sections for _, text in s.pieces()}

    out = []
    for text in sorted(pieces(new) - pieces(old)):
        problem = unclosed_block(text)
        if problem is not None:
            out.append(Violation("open-block", f"adds text with {problem}: it would run on into "
                                 f"what follows it in the prompt ({text.strip()[:60]!r})",
                                 path=path, agent=old.name))
    return out[:3]


def _size(agent: AgentFile, path: str, name: str, policy: Policy, rendered: str | None = None) -> list[Violation]:
    size = len(rendered if rendered is not None else render(agent))
    if size > policy.limits.max_agent_chars:
        return [Violation("too-large", f"the instructions would be {size} characters; the policy "
                          f"allows {policy.limits.max_agent_chars}", path=path, agent=name)]
    return []


def added_chars(old: str, new: str) -> int:
    """Characters on lines the change adds to the rendered prompt."""
    import difflib  # only where a file changed (audit and validate of nothing need none)

    sm = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    new_lines = new.splitlines()
    return sum(len(line) for tag, _, _, j1, j2 in sm.get_opcodes() if tag in ("insert", "replace")
               for line in new_lines[j1:j2])
