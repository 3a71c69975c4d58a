"""Adoption: find the agent files a repository already has and map them to formats.

``gitimprove init`` in an existing repository calls :func:`survey` on its files: every YAML
file (``.yaml`` and ``.yml``), every file a format claims by its name (ADK ``agent.py``) and
every Markdown file of a known instruction name is a candidate; each one is either adopted (a format reads it and its agents get names that collide
with nothing) or left, with the reason. Nothing is skipped without a word."""

from __future__ import annotations

import fnmatch
import re

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.agentfile import render
from gitimprove.instructions.formats import ADAPTERS, Adapter, ParsedFile
from gitimprove.instructions.formats.catalog import build, decode
from gitimprove.instructions.policy import POLICY_PATH, FormatRule, Policy

# Never candidates: CI and tool configuration, lock files, gitimprove's own files.
_IGNORED = (".github/workflows/*", ".github/dependabot.y*ml", ".pre-commit-config.y*ml", "*lock.y*ml",
            ".gitlab-ci.y*ml", "docker-compose*.y*ml", "compose.y*ml", ".readthedocs.y*ml", "mkdocs.y*ml",
            "codecov.y*ml", ".codecov.y*ml", "pnpm-workspace.yaml", ".gitimprove/*", "node_modules/*",
            "*/node_modules/*", ".venv/*", "*/.venv/*")
# Tried in this order on a YAML file that no format claims by its name.
_SNIFF = ("crewai", "cagent", "github_models", "semantic_kernel", "google_adk")


@dataclass(frozen=True)
class Adopted:
    path: str
    format: str
    agents: list[str]


@dataclass
class Survey:
    adopted: list[Adopted] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    rules: list[FormatRule] = field(default_factory=list)
    largest: tuple[int, str] = (0, "")  # the largest adopted agent: (rendered characters, name)


def candidates(paths: list[str], policy: Policy) -> list[str]:
    out = []
    for path in sorted(paths):
        if path == POLICY_PATH or path.startswith(policy.agents_dir + "/"):
            continue
        if any(fnmatch.fnmatchcase(path, pat) for pat in _IGNORED):
            continue
        if path.lower().endswith((".yaml", ".yml")) or any(a.claims(path) for a in ADAPTERS.values()):
            out.append(path)
    return out


def _try(adapter: Adapter, text: str, path: str) -> tuple[bool, str]:
    try:
        adapter.parse(text, path)
    except InvalidFileError as exc:
        return False, re.sub(rf"\A{re.escape(path)}(?::(\d+)(?::\d+)?)?:?\s*",
                             lambda m: f"line {m[1]}: " if m[1] else "", exc.problems[0])
    return True, ""


def survey(files: dict[str, bytes], policy: Policy, native: list[str]) -> Survey:
    """Which of ``files`` (path -> bytes) to adopt, with a ``formats:`` entry for each."""
    out = Survey()
    chosen: dict[str, str] = {}
    for path in candidates(list(files), policy):
        try:
            text = decode(files[path], path)
        except InvalidFileError as exc:
            out.left.append((path, exc.problems[0].removeprefix(f"{path}: ")))
            continue
        claiming = [a for a in ADAPTERS.values() if a.claims(path)]
        if claiming:
            adapter = claiming[0]
            ok, why = _try(adapter, text, path)
            if not ok:
                out.left.append((path, f"looks like {adapter.name} but {why}"))
                continue
            chosen[path] = adapter.name
            continue
        fits = [name for name in _SNIFF if _try(ADAPTERS[name], text, path)[0]]
        if not fits:
            out.left.append((path, "not an agent file: no format recognises its shape"))
        elif len(fits) > 1:
            out.left.append((path, f"fits several formats ({', '.join(fits)}); map it by hand"))
        else:
            chosen[path] = fits[0]
    rules = [FormatRule(path=_escape(p), format=f) for p, f in chosen.items()]
    parsed: dict[str, ParsedFile] = {}

    def read(path: str, fmt: str) -> ParsedFile:
        if path not in parsed:
            parsed[path] = ADAPTERS[fmt].parse(decode(files[path], path), path)
        return parsed[path]

    # Names that collide are widened, shortest first (file stem, then folders); what still
    # collides once every way is tried is left, with the reason.
    while True:
        trial = policy.model_copy(update={"formats": rules})
        cat = build(trial, list(chosen), read, taken=native)
        clashing = {p for p, msgs in cat.problems.items() if any("is used by" in m for m in msgs)}
        wider = [r.model_copy(update={"name": _wider(r.name)})
                 if _unescape(r.path) in clashing and _wider(r.name) != r.name else r for r in rules]
        if not clashing or wider == rules:
            break
        rules = wider
    for path, msgs in cat.problems.items():
        out.left.append((path, msgs[0].removeprefix(f"{path}: ")))
        chosen.pop(path, None)
    out.rules = [r for r in rules if _unescape(r.path) in chosen]
    by_path: dict[str, list[str]] = {}
    for name, place in sorted(cat.agents.items()):
        by_path.setdefault(place.path, []).append(name)
        if place.path in chosen:
            file = read(place.path, place.format)
            out.largest = max(out.largest, (len(render(file.view(file.entry(place.key), name))), name))
    out.adopted = [Adopted(p, chosen[p], by_path.get(p, [])) for p in chosen]
    out.left.sort()
    return out


# How a colliding agent's name is widened, one step at a time: "" is the format's default.
_LADDER = ("", "{stem}-{key}", "{parent}-{key}", "{parent}-{stem}-{key}",
           "{grandparent}-{parent}-{key}", "{grandparent}-{parent}-{stem}-{key}")


def _wider(name: str) -> str:
    """The next name template after ``name`` (the last one stays)."""
    at = _LADDER.index(name) if name in _LADDER else len(_LADDER) - 1
    return _LADDER[min(at + 1, len(_LADDER) - 1)]


def _escape(path: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def _unescape(glob: str) -> str:
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
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
