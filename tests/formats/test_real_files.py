"""The adapters on real agent files from public repositories (listed in real_files.tsv and the sweeps real_files_sweep*.tsv, fetched
by real_files.py, never committed). Runs when the folder exists: $GITIMPROVE_REAL_FILES, or
/work/data/agent-files."""

from __future__ import annotations

import ast
import difflib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument, ParsedFile
from gitimprove.instructions.formats.google_adk import PythonAgents
from gitimprove.instructions.formats.markdown import MarkdownParsed
from gitimprove.instructions.formats.prose import _depths
from gitimprove.instructions.formats.yamlfile import YamlParsed
from gitimprove.instructions.formats.yamlspan import Slot, split_lines
from gitimprove.instructions.init import OWN_AGENTS_DIR
from gitimprove.instructions.policy import Constant, FormatRule, Policy
from gitimprove.validate import check_change

from .real_files import DEFAULT_DEST, local_path, rows

FOLDER = Path(os.environ.get("GITIMPROVE_REAL_FILES") or DEFAULT_DEST)
ROWS = [r for r in rows() if r["expect"] in ("adopt", "refuse")]
PACKAGES = [r for r in rows() if r["expect"] in ("package", "module")]  # judged a package at a time

pytestmark = pytest.mark.skipif(
    not FOLDER.is_dir(),
    reason=f"no real agent files at {FOLDER}: fetch them with `python tests/formats/real_files.py` "
           "(or point $GITIMPROVE_REAL_FILES at the folder)")


def _read(row: dict[str, str]) -> tuple[str, str]:
    path = local_path(FOLDER, row)
    if not path.exists():
        pytest.skip(f"{path} is missing: run tests/formats/real_files.py")
    return path.read_bytes().decode("utf-8"), row["path"]


def _edited_lines(parsed: ParsedFile, paths: list[Any]) -> set[int]:
    """Line numbers (0-based) of the strings at ``paths`` in the original file."""
    if isinstance(parsed, MarkdownParsed):
        first = len(parsed.front)
        return set(range(first, first + len(parsed.body) + 1))
    if isinstance(parsed, PythonAgents):
        spans = [(parsed.literals[p].start, parsed.literals[p].end) for p in paths]
        return {n for start, end in spans
                for n in range(parsed.text.count("\n", 0, start), parsed.text.count("\n", 0, end) + 2)}
    assert isinstance(parsed, YamlParsed)
    out: set[int] = set()
    for path in paths:
        slot = Slot(parsed.doc, path, "x")
        first = parsed.text.count("\n", 0, slot.start)
        last = parsed.text.count("\n", 0, slot.end)
        out.update(range(first, last + 2))
    return out


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['repository']}:{r['path']}" for r in ROWS])
def test_real_file(row: dict[str, str]) -> None:
    text, source = _read(row)
    adapter = ADAPTERS[row["format"]]
    if row["expect"] == "refuse":
        with pytest.raises(InvalidFileError):
            adapter.parse(text, source)
        return
    parsed = adapter.parse(text, source)
    # Every agent listed: the keys a plain YAML reader sees (in Python, the agent calls).
    python = source.endswith(".py")
    data = yaml.safe_load(text) if row["format"] != "markdown" and not python else None
    if python:
        calls = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call) and ast.unparse(n.func)
                 .rsplit(".", 1)[-1] in ("Agent", "LlmAgent") and any(k.arg == "instruction" for k in n.keywords)]
        assert len(parsed.entries) == len(calls)
    elif row["format"] == "crewai":
        assert [e.key for e in parsed.entries] == [k for k, v in data.items() if isinstance(v, dict)
                                                   and ({"role", "goal", "backstory", "description"} & set(v))]
    elif row["format"] == "cagent":
        assert [e.key for e in parsed.entries] == list(data["agents"])
    else:
        assert len(parsed.entries) == 1
    for entry in parsed.entries:
        assert parsed.render(entry).strip()
        doc = AdoptedDocument(parsed, entry.key, "agent")
        assert doc.dumps() == text
        with_rules = [s for s in doc.agent.sections if s.rules]
        target = (with_rules or doc.agent.sections)[0]
        doc.add_rule(target.id, "Name the source of every figure.")
        # never into a template block (`{% if %}` ... `{% endif %}`) its section is not in
        buf, section, _ = doc._find(target.id)
        depth = _depths(buf.view)
        added = next(k for k, line in enumerate(buf.view) if "Name the source of every figure." in line)
        assert depth[added] == depth[section.start]
        if target.rules:
            doc.update_rule(target.id, 0, "A reworded first rule.")
        new = doc.dumps()  # itself refuses a change to any other agent or protected key
        if python:
            ast.parse(new)
        allowed = _edited_lines(parsed, [p for _, p in entry.fields])
        old_lines, new_lines = split_lines(text), split_lines(new)
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        for tag, i1, i2, _, _ in matcher.get_opcodes():
            if tag != "equal":
                assert set(range(i1, max(i2, i1 + 1))) <= allowed | {len(old_lines)}, (tag, i1, i2)
        again = adapter.parse(new, source)
        view = again.view(again.entry(entry.key), "agent")
        rules = view.section(target.id).rules  # type: ignore[union-attr]
        # at the end of the section's main list, which need not be its last rule
        assert rules is not None and rules.count("Name the source of every figure.") == 1
        if target.rules:
            assert rules[0] == "A reworded first rule."


def _protected_edit(row: dict[str, str], text: str) -> str | None:
    """The file with one protected value changed, or None when the file has none."""
    if row["format"] == "markdown":
        lines = split_lines(text)
        if not lines or lines[0].strip() != "---":
            return None
        return "".join([lines[0], "changed-by-a-proposal: true\n", *lines[1:]])
    parsed = ADAPTERS[row["format"]].parse(text, row["path"])
    if isinstance(parsed, PythonAgents):  # the first string that is not an instruction (a model, a name)
        masked = {(lit.start, lit.end) for lit in parsed.literals.values()}
        for node in ast.walk(parsed.src.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value \
                    and parsed.src.span(node) not in masked:
                start, end = parsed.src.span(node)
                return text[:start] + repr("changed-by-a-proposal") + text[end:]
        return None
    assert isinstance(parsed, YamlParsed)
    instruction = {p for e in parsed.entries for _, p in e.fields}
    for path, node in parsed.doc.nodes.items():
        if (isinstance(node, yaml.ScalarNode) and path and path[-1] != "\x00key" and path not in instruction
                and node.style is None and node.value and "\n" not in node.value and path not in parsed.doc.shared):
            start, end = node.start_mark.index, node.end_mark.index
            return text[:start] + "changed-by-a-proposal" + text[end:]
    return None


@pytest.mark.parametrize("row", [r for r in ROWS if r["expect"] == "adopt"],
                         ids=[f"{r['repository']}:{r['path']}" for r in ROWS if r["expect"] == "adopt"])
def test_real_file_protected_keys(row: dict[str, str]) -> None:
    text, source = _read(row)
    changed = _protected_edit(row, text)
    if changed is None:
        pytest.skip("no protected key in this file (a Markdown file without front matter)")
    policy = Policy(formats=[FormatRule(path=source, format=row["format"])])
    if policy.is_native_path(source):  # a cagent team in agents/: init moves gitimprove's own agents
        policy = Policy(formats=policy.formats, agents_dir=OWN_AGENTS_DIR)
    codes = [v.code for v in check_change({source: text.encode()}, {source: changed.encode()}, policy)]
    assert "protected-key" in codes


def test_figures() -> None:
    """How many real files are managed, by format (printed with -s)."""
    managed: dict[str, list[int]] = {}
    agents = 0
    for row in ROWS:
        path = local_path(FOLDER, row)
        if not path.exists():
            continue
        counts = managed.setdefault(row["format"], [0, 0])
        counts[1] += 1
        try:
            parsed = ADAPTERS[row["format"]].parse(path.read_bytes().decode("utf-8"), row["path"])
        except InvalidFileError:
            continue
        counts[0] += 1
        agents += len(parsed.entries)
    total = sum(c[1] for c in managed.values())
    ok = sum(c[0] for c in managed.values())
    print(f"\nreal files managed: {ok} of {total} ({agents} agents); by format: "
          + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(managed.items())))
    assert ok == sum(1 for r in ROWS if r["expect"] == "adopt" and local_path(FOLDER, r).exists())


# What `init` makes of google/adk-samples' Python agents (every agent.py and *_agent.py with the
# modules their prompts are in), and why the rest is left.
ADK_SAMPLES = {
    # customer-service's GLOBAL_INSTRUCTION = f"...{Customer.get_customer("123").to_json()}",
    # an f-string whose text is managed around its field, is adopted with its INSTRUCTION
    "adopted agent files": 37, "agents": 51, "agents in prompt modules": 51,
    "left": {
        # instruction=return_instructions_bigquery(): a function that picks its text from an
        # environment variable and returns an f-string (RAG's, analytics' and bqml's return
        # one literal: adopted)
        "a function doing more": 1,
        # data-science's root: instruction=return_instructions_root() of prompts.py, and a
        # global_instruction=f"..." in agent.py; gitimprove keeps an agent in one file
        "texts in two files": 1,
        # instruction=transit_coordination (in_trip's day_of_agent), which returns one of two
        # constants of prompt.py, the second through .format(...)
        "an InstructionProvider": 1,
        "no instruction": 1,  # a SequentialAgent (llm-auditor's root): no text of its own
    },
    "*_agent.py adopted": 5,  # fomc-research's sub_agents/*_agent.py, with their *_prompt.py
}


def _package_files() -> dict[str, bytes]:
    found = {r["path"]: local_path(FOLDER, r) for r in PACKAGES if r["repository"] == "google/adk-samples"}
    if not found or not all(p.exists() for p in found.values()):
        pytest.skip("google/adk-samples is not fetched: run tests/formats/real_files.py --mirrors DIR")
    return {path: p.read_bytes() for path, p in found.items()}


def _reason(why: str) -> str:
    for short, said in (("a function doing more", "a function that does more"), ("an f-string", "an f-string"),
                        ("an InstructionProvider", "InstructionProvider"),
                        ("texts in two files", "keeps an agent in one file")):
        if said in why:
            return short
    return "no instruction" if "expected an `Agent(...)`" in why else why


def test_adk_samples_packages() -> None:
    """Every adk-samples agent whose prompt is a plain constant of a module of its package is
    adopted; each one takes an edit that changes only its literal, and the validator refuses
    code changes in the prompt module and a re-pointed instruction in agent.py."""
    from gitimprove.instructions.adopt import survey
    from gitimprove.instructions.formats.catalog import adapter_for, build

    files = _package_files()
    result = survey(files, Policy(), [])
    adopted = [a for a in result.adopted if a.path.endswith("agent.py")]  # and *_agent.py
    agents = [n for a in result.adopted for n in a.agents]
    in_modules = [n for a in result.adopted if not a.path.endswith("agent.py") for n in a.agents]
    left = [(p, w) for p, w in result.left if p.endswith("agent.py")]
    reasons: dict[str, int] = {}
    for _, why in left:
        reasons[_reason(why)] = reasons.get(_reason(why), 0) + 1
    named = [a.path for a in adopted if a.path.endswith("_agent.py")]
    print(f"\nadk-samples: {len(adopted)} of {sum(1 for p in files if p.endswith('agent.py'))} agent files adopted "
          f"({len(named)} *_agent.py), {len(agents)} agents ({len(in_modules)} in prompt modules); left: {reasons}")
    assert {"adopted agent files": len(adopted), "agents": len(agents), "agents in prompt modules": len(in_modules),
            "left": reasons, "*_agent.py adopted": len(named)} == ADK_SAMPLES
    policy = Policy(formats=result.rules, protected_sections=[])
    cat = build(policy, list(files), lambda path, rule: adapter_for(rule.format, rule.constants).parse(
        files[path].decode(), path))
    assert sorted(cat.agents) == sorted(agents) and not cat.problems
    for name, place in cat.agents.items():
        if not place.constants:
            continue
        text = files[place.path].decode()
        rule = next(r for r in result.rules if r.matches(place.path))
        parsed = adapter_for(rule.format, rule.constants).parse(text, place.path)
        doc = AdoptedDocument(parsed, place.key, name)
        target = next((s for s in doc.agent.sections if s.rules), doc.agent.sections[0])
        doc.add_rule(target.id, "Name the source of every figure.")
        new = doc.dumps()
        ast.parse(new)
        literal = parsed.literals[(place.key, "instruction")]  # type: ignore[attr-defined]
        tail = len(text) - literal.end
        assert new[:literal.start] == text[:literal.start] and new[len(new) - tail:] == text[literal.end:]
        assert check_change({place.path: text.encode()}, {place.path: new.encode()}, policy) == []
        # code of the module outside the agents' constants: never edited
        coded = text + "\nMODEL = 'other'\n"
        assert "protected-key" in [v.code for v in check_change(
            {place.path: text.encode()}, {place.path: coded.encode()}, policy)]
    # agent.py pointing an agent at another constant: a change of code the validator refuses
    booking = "python/agents/travel-concierge/travel_concierge/sub_agents/booking/agent.py"
    old = files[booking].decode()
    repointed = old.replace("prompt.PAYMENT_CHOICE_INSTR", "prompt.PROCESS_PAYMENT_INSTR", 1)
    assert repointed != old
    assert "protected-key" in [v.code for v in check_change(
        {booking: old.encode()}, {booking: repointed.encode()}, policy)]
    # fomc-research's sub_agents/*_agent.py, mapped by hand with a glob, read the same way
    fomc = "python/agents/fomc-research/fomc_research/sub_agents/"
    subs = [p.removeprefix(fomc).removesuffix(".py") for p in named]
    by_hand = Policy(formats=[FormatRule(path=f"{fomc}*_agent.py", format="google_adk")] + [
        FormatRule(path=f"{fomc}{n}_prompt.py", format="google_adk", constants=[Constant(agent=n, constant="PROMPT")])
        for n in subs])
    cat = build(by_hand, list(files), lambda path, rule: adapter_for(rule.format, rule.constants).parse(
        files[path].decode(), path))
    assert sorted(cat.agents) == sorted(subs) and not cat.problems
    # and the catalog of the tree that has it no longer lists the agent whose constant moved
    moved = {**files, booking: repointed.encode()}
    cat = build(policy, list(moved), lambda path, rule: adapter_for(rule.format, rule.constants).parse(
        moved[path].decode(), path))
    assert "payment_choice" not in cat.agents and any("PAYMENT_CHOICE_INSTR" in m for m in cat.problem_list())
