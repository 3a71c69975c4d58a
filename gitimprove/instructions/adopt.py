"""Adoption: find the agent files a repository already has and map them to formats.

``gitimprove init`` in an existing repository calls :func:`survey` on its files: every YAML
file (``.yaml`` and ``.yml``), every file a format claims by its name (ADK ``agent.py``, with
the modules of its package that hold its agents' prompts) and
every Markdown file of a known instruction name is a candidate; each one is either adopted (a format reads it and its agents get names that collide
with nothing) or left, with the reason. Nothing is skipped without a word."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.agentfile import parse_agent, render
from gitimprove.instructions.formats import ADAPTERS, Adapter, ParsedFile
from gitimprove.instructions.formats.catalog import adapter_for, build, decode
from gitimprove.instructions.formats.markdown import FOLDER_FILES
from gitimprove.instructions.policy import POLICY_PATH, Constant, FormatRule, Policy

# Never candidates: CI and tool configuration, lock files, gitimprove's own files. (`*` also
# matches `/`: "*/action.y*ml" is a GitHub Action's metadata in any folder.)
_IGNORED = (".github/workflows/*", ".github/dependabot.y*ml", ".pre-commit-config.y*ml", "*lock.y*ml",
            ".gitlab-ci.y*ml", "docker-compose*.y*ml", "*/docker-compose*.y*ml", "compose.y*ml", "*/compose.y*ml",
            ".readthedocs.y*ml", "mkdocs.y*ml", "codecov.y*ml", ".codecov.y*ml", "pnpm-workspace.yaml",
            ".github/ISSUE_TEMPLATE/*", ".github/DISCUSSION_TEMPLATE/*", ".github/settings.y*ml",
            ".github/labeler.y*ml", ".github/release-drafter.y*ml", ".github/FUNDING.y*ml", "action.y*ml",
            "*/action.y*ml", ".yamllint*", ".golangci.y*ml", ".goreleaser.y*ml",
            ".gitimprove/*", "node_modules/*", "*/node_modules/*", ".venv/*", "*/.venv/*")
# A Kubernetes manifest: `apiVersion:` and `kind:` at the top level.
_MANIFEST_KEYS = (re.compile(r"^apiVersion:", re.MULTILINE), re.compile(r"^kind:", re.MULTILINE))
NOT_AN_AGENT_FILE = "not an agent file"  # the reason a file no format recognises is left
# Tried in this order on a YAML file that no format claims by its name.
_SNIFF = ("crewai", "cagent", "github_models", "semantic_kernel", "google_adk")


@dataclass(frozen=True)
class Adopted:
    path: str
    format: str
    agents: list[str]
    texts_in: list[str] = field(default_factory=list)  # modules holding its agents' texts


@dataclass
class Survey:
    adopted: list[Adopted] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    rules: list[FormatRule] = field(default_factory=list)
    largest: tuple[int, str] = (0, "")  # the largest adopted agent: (rendered characters, name)
    sections: dict[str, list[str]] = field(default_factory=dict)  # adopted agent -> its section ids


def candidates(paths: list[str], policy: Policy) -> list[str]:
    out = []
    for path in sorted(paths):
        if path == POLICY_PATH or policy.is_native_path(path):
            continue
        if any(fnmatch.fnmatchcase(path, pat) for pat in _IGNORED):
            continue
        if path.lower().endswith((".yaml", ".yml")) or _markdown_agent(path, policy) or any(
                a.claims(path) or a.hints(path) for a in ADAPTERS.values()):
            out.append(path)
    return out


def _markdown_agent(path: str, policy: Policy) -> bool:
    """A Markdown file directly in the agents folder: where agents live, so an agent's
    instructions whatever its name (``agents/order-support.md``)."""
    folder, _, name = path.rpartition("/")
    return folder == policy.agents_dir and name.lower().endswith(".md")


def foreign_agents(files: dict[str, bytes], policy: Policy) -> dict[str, str]:
    """The files where gitimprove's own agents live (``agents/*.yaml``), each with the format
    that reads it, when none of them is a gitimprove agent file and another format reads each
    one (a cagent team in ``agents/``); else nothing."""
    out: dict[str, str] = {}
    for path in sorted(p for p in files if policy.is_native_path(p)):
        try:
            parse_agent(files[path], path, expected_name=path.rpartition("/")[2].removesuffix(".yaml"))
            return {}
        except InvalidFileError:
            pass
        try:
            text = decode(files[path], path)
        except InvalidFileError:
            return {}
        fits = [name for name in _SNIFF if _try(ADAPTERS[name], text, path)[0]]
        if not fits:
            return {}
        out[path] = fits[0]
    return out


def _try(adapter: Adapter, text: str, path: str) -> tuple[bool, str]:
    try:
        adapter.parse(text, path)
    except InvalidFileError as exc:
        return False, _local(exc.problems[0], path)
    return True, ""


def _local(problem: str, path: str) -> str:
    """A problem of the file at ``path`` without its path (``path:12:`` is ``line 12:``)."""
    return re.sub(rf"\A{re.escape(path)}(?::(\d+)(?::\d+)?)?:?\s*", lambda m: f"line {m[1]}: " if m[1] else "",
                  problem)


def survey(files: dict[str, bytes], policy: Policy, native: list[str],
           beside: Sequence[str] = ()) -> Survey:
    """Which of ``files`` (path -> bytes) to adopt, with a ``formats:`` entry for each.
    ``native`` holds the names taken; ``beside`` the files already adopted (a second ``init``):
    a file that must be named apart from one of them of its own file name is named by the
    folder their paths part at (a second crew's ``crews/valuation/config/agents.yaml`` beside
    ``crews/analysis/...``: ``valuation-<key>``, where its file name, ``agents-<key>``, would
    say nothing)."""
    out = Survey()
    chosen: dict[str, str] = {}
    texts: dict[str, ParsedFile] = {}
    for path in candidates(list(files), policy):
        try:
            text = decode(files[path], path)
        except InvalidFileError as exc:
            out.left.append((path, exc.problems[0].removeprefix(f"{path}: ")))
            continue
        hinting = [a for a in ADAPTERS.values() if a.hints(path)]
        if hinting and not any(a.claims_content(text) for a in hinting):
            continue  # a name agent files have, but this file is not one (`run_agent.py`)
        claiming = [a for a in ADAPTERS.values() if a.claims(path) or a in hinting] or (
            [ADAPTERS["markdown"]] if _markdown_agent(path, policy) else [])
        if claiming:
            adapter = claiming[0]
            ok, why = _try(adapter, text, path)
            if not ok:
                out.left.append((path, f"looks like {adapter.name} but {why}"))
                continue
            chosen[path] = adapter.name
            texts[path] = adapter.parse(text, path)
            continue
        if all(key.search(text) for key in _MANIFEST_KEYS):
            continue  # a Kubernetes manifest (a deployment's k8s/*.yaml), as CI files are passed over
        fits = [name for name in _SNIFF if _try(ADAPTERS[name], text, path)[0]]
        if not fits:
            out.left.append((path, f"{NOT_AN_AGENT_FILE}: no format recognises its shape"))
        elif len(fits) > 1:
            out.left.append((path, f"fits several formats ({', '.join(fits)}); map it by hand"))
        else:
            chosen[path] = fits[0]
    constants = _prompt_modules(files, texts, chosen, out)
    rules = [FormatRule(path=_escape(p), format=f, constants=constants.get(p, []), name=_first_name(p, f))
             for p, f in chosen.items()]
    parsed: dict[str, ParsedFile] = {}

    def read(path: str, rule: FormatRule) -> ParsedFile:
        if path not in parsed:
            parsed[path] = adapter_for(rule.format, rule.constants).parse(decode(files[path], path), path)
        return parsed[path]

    # Names that collide are widened, shortest first (file stem, then folders); what still
    # collides once every way is tried is left, with the reason.
    while True:
        trial = policy.model_copy(update={"formats": rules})
        cat = build(trial, list(chosen), read, taken=native)
        clashing = {p for p, msgs in cat.problems.items() if any("is used by" in m for m in msgs)}
        wider = [r.model_copy(update={"name": _wider(r.name)})
                 if unescape(r.path) in clashing and _wider(r.name) != r.name else r for r in rules]
        if not clashing:
            break
        if wider == rules:
            # every template tried: files alike to their grandparent (crewAI-examples' crews/
            # marketing_strategy/... and integrations/nvidia_models/marketing_strategy/...) are
            # told apart by the first folder where their paths part, written into the name
            marked = _by_first_difference(rules, clashing)
            if marked == rules:
                break
            rules = marked
            continue
        rules = wider
    if beside:
        def clashes(trial_rules: list[FormatRule]) -> bool:
            got = build(policy.model_copy(update={"formats": trial_rules}), list(chosen), read,
                        taken=native)
            return any("is used by" in m for msgs in got.problems.values() for m in msgs)

        named = _by_folder(rules, list(beside), clashes)
        if named != rules:
            rules = named
            cat = build(policy.model_copy(update={"formats": rules}), list(chosen), read, taken=native)
    for path, msgs in cat.problems.items():
        out.left.append((path, msgs[0].removeprefix(f"{path}: ")))
        chosen.pop(path, None)
    out.rules = [r for r in rules if unescape(r.path) in chosen]
    by_path: dict[str, list[str]] = {}
    for name, place in sorted(cat.agents.items()):
        by_path.setdefault(place.path, []).append(name)
        if place.path in chosen:
            file = parsed[place.path]
            agent = file.view(file.entry(place.key), name)
            out.largest = max(out.largest, (len(render(agent)), name))
            out.sections[name] = [s.id for s in agent.sections]
    out.adopted = [Adopted(p, chosen[p], by_path.get(p, []),
                           sorted({f for u in getattr(texts.get(p), "uses", ()) for f in (u.path, *u.also)
                                   if f in chosen}))
                   for p in chosen]
    out.left.sort()
    return out


def _prompt_modules(files: dict[str, bytes], texts: dict[str, ParsedFile], chosen: dict[str, str],
                    out: Survey) -> dict[str, list[Constant]]:
    """The modules whose constants hold the texts of adopted agent.py files' agents, each with
    the constants it holds (added to ``chosen``); an agent whose constant is not one string
    literal of a module of its package is left, with the reason, and so is an agent.py none of
    whose agents could be adopted."""
    found: dict[str, list[Constant]] = {}
    for path, parsed in texts.items():
        uses = list(getattr(parsed, "uses", ()))
        agents = {u.key for u in uses}
        for key in sorted(agents, key=lambda k: next(u.line for u in uses if u.key == k)):
            mine = [u for u in uses if u.key == key]
            listed = [Constant(agent=key, constant=u.constant, field=u.field) for u in mine]
            why = None
            try:
                modules = [u.module_of(files) for u in mine]
            except InvalidFileError as exc:
                out.left.append((path, f"agent {key!r}: its `{mine[0].field}` is `{mine[0].constant}`: "
                                 f"{exc.problems[0]}"))
                agents.discard(key)
                continue
            module = modules[0]
            if any(m != module for m in modules):
                why = "its texts are in two modules"
            elif module in texts:
                why = f"its `{mine[0].field}` is `{mine[0].constant}` of {module}, another agent file"
            elif module not in files:
                why = f"its `{mine[0].field}` is `{mine[0].constant}` of {module}, which is not a file of this repository"
            else:
                try:
                    adapter_for("google_adk", listed).parse(decode(files[module], module), module)
                except InvalidFileError as exc:
                    why = f"its `{mine[0].field}` is in {module}: {_local(exc.problems[0], module)}"
            if why is not None:
                out.left.append((path, f"agent {key!r}: {why}"))
                agents.discard(key)
                continue
            found.setdefault(module, []).extend(c for c in listed if c not in found.get(module, []))
        if not parsed.entries and not agents:
            chosen.pop(path)
    for module in found:
        chosen[module] = "google_adk"
    return found


# How a colliding agent's name is widened, one step at a time: "" is the format's default.
_LADDER = ("", "{stem}-{key}", "{parent}-{key}", "{parent}-{stem}-{key}",
           "{grandparent}-{parent}-{key}", "{grandparent}-{parent}-{stem}-{key}")
_FOLDER = "{parent}"  # an agent of a folder's own instruction file (`billing/AGENTS.md`)


def _first_name(path: str, fmt: str) -> str:
    """The name template ``init`` first writes for a file: its folder's name for a Markdown
    instruction file of a folder's own name (an ``AGENTS.md`` of every folder would otherwise be
    one more ``agents``), else the format's default. Only for new adoption: an entry already in
    gitimprove.yaml keeps the name its feedback and history are recorded under. A tool's own
    folder (``.claude/CLAUDE.md``, ``.gemini/GEMINI.md``) holds the repository's file, not a
    part's, and a folder of the file's own name (``agents/AGENTS.md``) would name it the same."""
    folder, _, name = path.rpartition("/")
    parent = folder.rpartition("/")[2]
    return _FOLDER if (fmt == "markdown" and folder and name.lower() in FOLDER_FILES and not parent.startswith(".")
                       and parent.lower() != name.lower().removesuffix(".md")) else ""


def _wider(name: str) -> str:
    """The next name template after ``name`` (the last one stays, and so does a name that
    spells out a folder); a file named after its folder then takes its own name too
    (``billing-agents`` and ``billing-claude``)."""
    if name == _FOLDER:
        return "{parent}-{key}"
    if name not in _LADDER:
        return name
    at = _LADDER.index(name)
    return _LADDER[min(at + 1, len(_LADDER) - 1)]


def _by_first_difference(rules: list[FormatRule], clashing: set[str]) -> list[FormatRule]:
    """``rules`` with each clashing file's agents named by the first folder of its path that the
    nearest clashing file of its name does not share, then its file name: ``crews-agents-{key}``
    (or, for a folder's own instruction file, its folder: ``m4l25-manager``)."""
    paths = sorted(clashing)
    out = []
    for rule in rules:
        path = unescape(rule.path)
        if path not in clashing or rule.name not in _LADDER:  # not yet named by its folder
            out.append(rule)
            continue
        parts = path.split("/")
        # its namesakes: once every template is tried, a clash is of files of one name
        shared = max((_common(parts, q.split("/")) for q in paths
                      if q != path and q.rpartition("/")[2] == parts[-1]), default=len(parts))
        if shared >= len(parts) - 1:
            out.append(rule)
            continue
        folder = parts[shared].replace("{", "{{").replace("}", "}}")
        # a folder's own instruction file keeps its folder's name: `m4l25-manager`
        own = "{parent}" if _first_name(path, rule.format) == _FOLDER else "{stem}-{key}"
        out.append(rule.model_copy(update={"name": f"{folder}-{own}"}))
    return out


def _by_folder(rules: list[FormatRule], beside: list[str],
               clashes: Callable[[list[FormatRule]], bool]) -> list[FormatRule]:
    """``rules``, each whose file's agents took a wider name to stay apart from an adopted file
    of the same file name (``beside``) named instead by the first folder their paths do not
    share, where that keeps every name apart (``clashes(rules)`` says when it does not)."""
    for n, rule in enumerate(rules):
        parts = unescape(rule.path).split("/")
        namesakes = [q.split("/") for q in beside if q.rpartition("/")[2] == parts[-1]]
        if not rule.name or rule.name not in _LADDER or not namesakes:
            continue
        shared = max(_common(parts, q) for q in namesakes)
        if shared >= len(parts) - 1:
            continue
        folder = parts[shared].replace("{", "{{").replace("}", "}}")
        trial = [*rules[:n], rule.model_copy(update={"name": f"{folder}-{{key}}"}), *rules[n + 1:]]
        if not clashes(trial):
            rules = trial
    return rules


def _common(a: list[str], b: list[str]) -> int:
    """How many leading path components ``a`` and ``b`` share."""
    n = 0
    while n < min(len(a), len(b)) - 1 and a[n] == b[n]:
        n += 1
    return n


def _escape(path: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def unescape(glob: str) -> str:
    out, i = "", 0
    while i < len(glob):
        if glob[i] == "[" and i + 2 < len(glob) and glob[i + 2] == "]":
            out += glob[i + 1]
            i += 3
        else:
            out += glob[i]
            i += 1
    return out


def formats_yaml(rules: list[FormatRule]) -> str:
    """The ``formats:`` block of gitimprove.yaml for these entries."""
    lines = ["# Files of other formats that gitimprove manages in place (`gitimprove docs file-formats`).",
             "formats:"]
    for r in rules:
        lines.append(f"  - path: {_quote(r.path)}")
        lines.append(f"    format: {r.format}")
        if r.name:
            lines.append(f"    name: {_quote(r.name)}")
        if r.constants:
            lines.append("    constants:  # the texts of agents an agent.py defines")
        for c in r.constants:
            lines.append(f"      - agent: {_quote(c.agent)}")
            lines.append(f"        constant: {c.constant}")
            if c.field != "instruction":
                lines.append(f"        field: {c.field}")
    return "\n".join(lines) + "\n"


def add_formats(text: str, rules: list[FormatRule]) -> str:
    """gitimprove.yaml's ``text`` with entries for ``rules`` added at the end of its
    ``formats:`` list (indented as the list's own entries), or a ``formats:`` block added
    at the end. Every other line, comments included, stays as it was."""
    entries = formats_yaml(rules).splitlines()[2:]  # the entries, below the comment and key
    eol = "\r\n" if "\r\n" in text else "\n"  # the file's own line end
    lines = text.splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith("formats:")), None)
    if at is None:
        block = formats_yaml(rules).replace("\n", eol)
        return text + ("" if text.endswith("\n") or not text else eol) + block
    if not _BLOCK_KEY.match(lines[at]):  # `formats: []`, or a flow list
        raise InvalidFileError([f"{POLICY_PATH}:{at + 1}: `formats:` is written on one line"],
                               hint="write its entries one per line (`  - path: ...`), "
                                    "or add the new ones by hand")
    end = at + 1
    indent: str | None = None
    for i in range(at + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() and not line.startswith("-"):
            break  # the next top-level key
        if indent is None and line.lstrip().startswith("- "):
            indent = line[:len(line) - len(line.lstrip())]
        end = i + 1
    shift = indent if indent is not None else "  "
    added = [shift + entry[2:] for entry in entries]  # formats_yaml indents entries by two
    return eol.join(lines[:end] + added + lines[end:]) + eol


_BLOCK_KEY = re.compile(r"^formats:[ \t]*(#.*)?$")  # its entries on the lines below


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
