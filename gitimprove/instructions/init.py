"""``gitimprove init``: make (or adopt) a git repository of agent instructions."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError, InvalidFileError
from gitimprove.git import Repository, check_git_version, clean_env
from gitimprove.instructions.adopt import (
    NOT_AN_AGENT_FILE,
    Adopted,
    Survey,
    add_formats,
    candidates,
    foreign_agents,
    formats_yaml,
    survey,
    unescape,
)
from gitimprove.instructions.agentfile import parse_agent
from gitimprove.instructions.formats import ParsedFile
from gitimprove.instructions.formats.catalog import adapter_for, build, decode, rule_for
from gitimprove.instructions.policy import POLICY_PATH, FormatRule, Policy, parse_policy
from gitimprove.text import shorten

DEFAULT_POLICY = """\
# gitimprove policy. The validator reads it from the main branch, never from a proposal.
version: 1
main_branch: main
agents_dir: agents
# Sections no proposal may change, move or remove (besides those marked `protected: true`).
# "safety": that section in every agent; "my-agent/tone": one agent's section.
protected_sections:
  - safety
limits:
  max_operations: 5          # operations in one proposal
  max_added_chars: 2000      # characters a proposal may add
  allow_remove_rules: false  # proposals may add and reword rules, not delete them
  max_agent_chars: 20000     # largest rendered size of one agent's instructions
  allowed_paths:
    - agents/*.yaml
proposer:
  default: auto              # anthropic when ANTHROPIC_API_KEY is set, else heuristic
feedback:
  url: sqlite:///.gitimprove/feedback.db
analysis:
  min_support: 3
"""

_PROTECTED = "protected_sections:\n  - safety\n"
_NONE_PROTECTED = ("protected_sections: []  # none yet: add a section's id (`gitimprove show AGENT` "
                   "lists them)\n")
_SIZE_LINE = "  max_agent_chars: 20000     # largest rendered size of one agent's instructions"

EXAMPLE_AGENT = """\
# An example agent. The system prompt is rendered from these sections, in order.
name: assistant
description: A helpful assistant for {{company}}.
variables: [company]
sections:
  - id: role
    title: Role
    text: |
      You answer questions from {{company}}'s customers.
  - id: style
    title: Style
    rules:
      - Answer in plain language.
  - id: safety
    title: Safety
    protected: true   # no proposal may change this section
    rules:
      - Never share personal data about other customers.
"""

GITIGNORE_LINE = ".gitimprove/"
# Where gitimprove's own agents go when the repository's agents/ holds agent files of another format.
OWN_AGENTS_DIR = "gitimprove-agents"
FALLBACK_IDENTITY = {"GIT_AUTHOR_NAME": "gitimprove", "GIT_AUTHOR_EMAIL": "gitimprove@localhost",
                     "GIT_COMMITTER_NAME": "gitimprove", "GIT_COMMITTER_EMAIL": "gitimprove@localhost"}


@dataclass(frozen=True)
class InitResult:
    path: Path
    created_repo: bool
    written: list[str]
    commit: str | None
    adopted: list[Adopted] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


HISTORY_FILE = "history.json"
HISTORY_DIR = "history"


def _template_files(src: Path) -> list[Path]:
    """The files a template puts into the repository (its replayed history stays behind)."""
    replays = (src / HISTORY_FILE).is_file()
    out = []
    for p in sorted(src.rglob("*")):
        parts = p.relative_to(src).parts
        if not p.is_file() or ".git" in parts:
            continue
        if replays and parts[0] in (HISTORY_FILE, HISTORY_DIR):
            continue
        out.append(p)
    return out


@dataclass(frozen=True)
class _PastCommit:
    date: str
    author: str
    message: str
    files: dict[str, str]


def _read_history(src: Path) -> list[_PastCommit]:
    """A template's ``history.json``: past commits to replay, oldest first.

    Each commit is the template's files with ``files`` (repository path: template path)
    swapped in; the last one is usually the template as it is. It lets a sample repository
    come with versions whose dates its sample feedback spans."""
    path = src / HISTORY_FILE
    if not path.is_file():
        return []
    problem = f"{path}: expected {{\"commits\": [{{\"date\", \"author\", \"message\", \"files\"}}, ...]}}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        commits = []
        for c in raw["commits"]:
            files = {str(k): str(v) for k, v in dict(c.get("files", {})).items()}
            for rel in files.values():
                if not (src / rel).is_file() or ".." in Path(rel).parts:
                    raise ValueError(rel)
            datetime.fromisoformat(str(c["date"]))
            commits.append(_PastCommit(str(c["date"]), str(c["author"]), str(c["message"]), files))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise GitImproveError(problem, hint="fix the template's history.json, or remove it") from None
    return commits


def _replay(repo: Repository, src: Path, dest: Path, commits: list[_PastCommit],
            paths: list[str]) -> str:
    """Commit the template's history with its dates and authors; the tree ends as the template."""
    for past in commits:
        for target, rel in past.files.items():
            (dest / target).write_bytes((src / rel).read_bytes())
        repo.run("add", "--", *paths, cwd_worktree=True)
        name, _, email = past.author.partition("<")
        env = {"GIT_AUTHOR_NAME": name.strip(), "GIT_AUTHOR_EMAIL": email.rstrip(">").strip(),
               "GIT_COMMITTER_NAME": name.strip(), "GIT_COMMITTER_EMAIL": email.rstrip(">").strip(),
               "GIT_AUTHOR_DATE": past.date, "GIT_COMMITTER_DATE": past.date}
        repo.run("commit", "-q", "--allow-empty", "-m", past.message, "--", *paths, env=env,
                 cwd_worktree=True)
        for target in past.files:
            if (src / target).is_file():
                (dest / target).write_bytes((src / target).read_bytes())
            else:
                (dest / target).unlink()
    return repo.run("rev-parse", "HEAD").strip()


def _copy_template(src: Path, dest: Path) -> list[str]:
    files = _template_files(src)
    for file in files:  # every conflict is found before anything is copied
        target = dest / file.relative_to(src)
        if target.exists() and target.read_bytes() != file.read_bytes():
            raise GitImproveError(f"{target} exists and differs from the template's "
                                  f"{file.relative_to(src)}",
                                  hint="init into an empty folder, or move the file away")
    written = []
    for file in files:
        rel = file.relative_to(src)
        target = dest / rel
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
        written.append(rel.as_posix())
    return written


def _check_files(dest: Path) -> None:
    policy_file = dest / POLICY_PATH
    policy = parse_policy(policy_file.read_bytes(), POLICY_PATH)
    problems: list[str] = []
    for agent_file in sorted((dest / policy.agents_dir).glob("*.yaml")):
        rel = agent_file.relative_to(dest).as_posix()
        if agent_file.is_symlink():  # read through, it could be a cycle or a file elsewhere
            problems.append(f"{rel}: a symbolic link to {os.readlink(agent_file)}, not a file: git "
                            "keeps the path it points to, which no agent can load")
            continue
        try:
            parse_agent(agent_file.read_bytes(), rel, expected_name=agent_file.stem)
        except InvalidFileError as exc:
            other = foreign_agents({rel: agent_file.read_bytes()}, policy).get(rel)
            problems += [f"{rel}: a {other} file among gitimprove's agent files in {policy.agents_dir}/: move "
                         f"it out of {policy.agents_dir}/ to have it adopted"] if other else exc.problems
    if problems:
        raise InvalidFileError(problems, hint="fix these files, then run `gitimprove init` again")


SAMPLE_NAME = "sample_repo"


def find_sample_repo() -> Path:
    """The bundled ``sample_repo/``: beside the package (a source checkout or an editable
    install), else in the current folder."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = base / SAMPLE_NAME
        if (candidate / POLICY_PATH).is_file():
            return candidate
    raise GitImproveError(f"{SAMPLE_NAME}/ not found",
                          hint="run from a gitimprove checkout, or pass the template's path")


def resolve_template(template: str | Path) -> Path:
    """A template folder: the path given, or the bundled sample for ``sample_repo`` when no
    such folder exists here (so ``init --from sample_repo`` works from anywhere)."""
    given = Path(template)
    if not given.exists() and given.as_posix().rstrip("/") == SAMPLE_NAME:
        return find_sample_repo()
    if not given.exists():
        raise GitImproveError(f"template {given} does not exist",
                              hint=f"pass a folder holding {POLICY_PATH} and agents/, or `{SAMPLE_NAME}`")
    return given


def init(path: str | Path = ".", *, template: str | Path | None = None,
         replay_history: bool = True, adopt_new: bool = False) -> InitResult:
    """Create or adopt a repository at ``path`` and commit the instruction layout.

    A new repository made from a template with a ``history.json`` gets that history replayed
    (``replay_history=False``: one commit of the template as it is). In a repository adopted
    before, the agent files its ``formats:`` does not map are listed; ``adopt_new`` maps them
    (one commit of ``gitimprove.yaml`` and those files).

    On any refusal nothing is left behind: a folder or repository it created is removed again,
    and so is every file it wrote."""
    check_git_version()
    dest = Path(path).resolve()
    source = resolve_template(template).resolve() if template is not None else None
    if source is not None and not (source / POLICY_PATH).is_file():
        raise GitImproveError(f"{source} has no {POLICY_PATH}: not an instruction repository template",
                              hint="pass a folder like sample_repo/ that holds gitimprove.yaml and agents/")
    if dest.exists() and not dest.is_dir():
        raise GitImproveError(f"{dest} is a file, not a folder", hint="pass a folder for the repository")
    if (dest / "HEAD").is_file() and (dest / "objects").is_dir() and not (dest / ".git").exists():
        raise GitImproveError(f"{dest} is a bare repository: it has no working tree to put files in",
                              hint=f"clone it (git clone {dest} DIR), then run `gitimprove init DIR`")
    made_dir = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GitImproveError(f"cannot create {dest}: {exc.strerror}",
                              hint="pick a folder you may write to") from None
    created = not (dest / ".git").exists()
    gitignore = dest / ".gitignore"
    gitignore_before = gitignore.read_bytes() if gitignore.is_file() else None
    policy_file = dest / POLICY_PATH
    policy_before = policy_file.read_bytes() if policy_file.is_file() else None
    written: list[str] = []
    try:
        return _init(dest, source, created, written, replay_history, adopt_new)
    except BaseException:
        if made_dir:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for rel in written:
                with contextlib.suppress(OSError):
                    if rel == ".gitignore" and gitignore_before is not None:
                        gitignore.write_bytes(gitignore_before)  # it was only appended to
                    elif rel == POLICY_PATH and policy_before is not None:
                        policy_file.write_bytes(policy_before)  # new files were mapped in it
                    else:
                        (dest / rel).unlink()
            if created:
                shutil.rmtree(dest / ".git", ignore_errors=True)
        raise


def _init(dest: Path, source: Path | None, created: bool, written: list[str],
          replay_history: bool, adopt_new: bool) -> InitResult:
    if created:
        proc = subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], capture_output=True,
                              text=True, env=clean_env())
        if proc.returncode != 0:
            raise GitImproveError(f"git init failed: {proc.stderr.strip()}")
    repo = Repository.discover(dest)
    if repo.is_bare or repo.work_tree != dest:
        raise GitImproveError(f"{dest} is inside the repository {repo.work_tree or repo.git_dir}, not its top",
                              hint="run `gitimprove init` at the repository's top folder")
    if source is not None:
        written += _copy_template(source, dest)
    found = None
    notes: list[str] = []
    if not (dest / POLICY_PATH).exists():
        head = repo.symbolic_ref("HEAD") or "refs/heads/main"
        branch = head.removeprefix("refs/heads/")
        text = DEFAULT_POLICY.replace("main_branch: main", f"main_branch: {branch}")
        if not created and source is None:  # an existing repository: adopt the agent files it has
            listed = repo.run("ls-files", "-z", "-co", "--exclude-standard", cwd_worktree=True).split("\0")
            files = {p: (dest / p).read_bytes() for p in listed
                     if p and (dest / p).is_file() and not (dest / p).is_symlink()}
            policy = parse_policy(text, POLICY_PATH)
            foreign = foreign_agents(files, policy)
            if foreign and not (dest / OWN_AGENTS_DIR).exists():
                # NOTE: docker/cagent-action keeps its cagent teams in agents/, gitimprove's
                # own folder: read as gitimprove agents they stopped `init` with "required
                # field 'name' is missing". gitimprove's agents go elsewhere; those are adopted.
                text = (text.replace(f"agents_dir: {policy.agents_dir}", f"agents_dir: {OWN_AGENTS_DIR}")
                        .replace(f"    - {policy.agents_dir}/*.yaml", f"    - {OWN_AGENTS_DIR}/*.yaml"))
                notes.append(f"{policy.agents_dir}/ holds {', '.join(sorted(set(foreign.values())))} files, "
                             f"not gitimprove agent files: gitimprove's own agents go to {OWN_AGENTS_DIR}/ "
                             f"(agents_dir in {POLICY_PATH})")
                policy = parse_policy(text, POLICY_PATH)
            native = [p.stem for p in (dest / policy.agents_dir).glob("*.yaml")]
            found = survey(files, policy, native)
            found.left += _links(dest, [p for p in listed if p], policy)
            if found.rules:
                text += formats_yaml(found.rules)
            if found.sections and not native and policy.unmatched_protections(found.sections):
                # NOTE: adopted files rarely have a `safety` section; the default would protect
                # nothing and every command would say so. The team names its own.
                text = text.replace(_PROTECTED, _NONE_PROTECTED)
            size, name = found.largest
            if size > policy.limits.max_agent_chars:
                # NOTE: a file larger than the default limit is the team's to keep: without
                # room above it, no proposal for that agent could pass the validator.
                limit = (size * 5 // 4 // 1000 + 1) * 1000
                text = text.replace(_SIZE_LINE, f"  max_agent_chars: {limit}     # raised at adoption: "
                                                f"{name} is {size} characters")
                notes.append(f"raised limits.max_agent_chars to {limit}: {name} is {size} characters")
        (dest / POLICY_PATH).write_text(text)
        written.append(POLICY_PATH)
    policy = parse_policy((dest / POLICY_PATH).read_bytes(), POLICY_PATH)
    agents_dir = dest / policy.agents_dir
    adopted_paths: list[str] = []
    unmapped: list[tuple[str, str]] = []
    later_adopted: list[Adopted] = []  # files mapped by --adopt-new
    # NOTE: a repository that began with gitimprove's own files maps no format, and is
    # surveyed all the same: an AGENTS.md or a crew added since is news to say
    if found is None and source is None and not created:
        later = _added_since_adopted(repo, dest, policy)
        if adopt_new and later.rules:
            if repo.run("status", "--porcelain", "--", POLICY_PATH, cwd_worktree=True).strip():
                raise GitImproveError(f"{POLICY_PATH} has changes that are not committed: "
                                      "--adopt-new commits it",
                                      hint=f"commit or undo the changes to {POLICY_PATH} first")
            text = add_formats((dest / POLICY_PATH).read_bytes().decode(), later.rules)
            policy = parse_policy(text, POLICY_PATH)  # refused here, nothing written yet
            _replace_whole(repo.git_dir, dest / POLICY_PATH, text.encode())
            written.append(POLICY_PATH)
            found, later_adopted = later, later.adopted
            found.left = _notable(later)
        else:
            unmapped = _unmapped(later) + _notable(later)
    if found is not None and found.adopted:
        tracked = set(repo.run("ls-files", "-z", cwd_worktree=True).split("\0"))
        adopted_paths = [a.path for a in found.adopted if a.path not in tracked]
    elif not policy.formats and (not agents_dir.exists() or not any(agents_dir.glob("*.yaml"))):
        agents_dir.mkdir(parents=True, exist_ok=True)
        (agents_dir / "assistant.yaml").write_text(EXAMPLE_AGENT)
        written.append(f"{policy.agents_dir}/assistant.yaml")
    gitignore = dest / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.exists() else []
    if GITIGNORE_LINE not in lines:
        with gitignore.open("a") as fh:
            if lines and lines[-1] != "":
                fh.write("\n")
            fh.write("# gitimprove's local state (feedback database, caches)\n" + GITIGNORE_LINE + "\n")
        written.append(".gitignore")
    _check_files(dest)
    paths = [p for p in [POLICY_PATH, policy.agents_dir, ".gitignore", *written, *adopted_paths]
             if (dest / p).exists()]
    paths = list(dict.fromkeys(paths))
    commit = None
    history = _read_history(source) if source is not None and created and replay_history else []
    if history:
        assert source is not None
        for past in history:
            for target, rel in past.files.items():
                parse_agent((source / rel).read_bytes(), target, expected_name=Path(target).stem)
        commit = _replay(repo, source, dest, history, paths)
    repo.run("add", "--", *paths, cwd_worktree=True)
    staged = repo.run("diff", "--cached", "--name-only", "--", *paths, cwd_worktree=True).strip()
    if staged:
        env = None if repo.user_identity() else FALLBACK_IDENTITY
        message = ("Initialise gitimprove instruction repository" if not later_adopted else
                   # one line: a path may hold a line break, and a line a trailer
                   "gitimprove: adopt " + shorten(", ".join(a.path for a in later_adopted), 200))
        repo.run("commit", "-q", "-m", message, "--", *paths, env=env, cwd_worktree=True)
        commit = repo.run("rev-parse", "HEAD").strip()
    repo.close()
    return InitResult(dest, created, written, commit, adopted=found.adopted if found else [],
                      left=found.left if found else unmapped, notes=notes)


def _links(dest: Path, listed: list[str], policy: Policy) -> list[tuple[str, str]]:
    """Agent-like files that are symbolic links (``AGENTS.md`` -> ``CLAUDE.md``): git keeps the
    path they point to, not instructions, so only their target is adopted."""
    links = [p for p in listed if (dest / p).is_symlink()]
    return [(p, f"a symbolic link to {os.readlink(dest / p)}, not a file: only the file it "
                "points to is adopted") for p in candidates(links, policy)]


def _replace_whole(git_dir: Path, path: Path, data: bytes) -> None:
    """``path`` replaced by ``data`` whole or not at all: a file written in the repository's
    git directory and renamed over it, so a kill at any point leaves the old file, and no
    stray file in the working tree (one written there would be left behind by a kill, and
    show in ``git status``). Where the git directory is on another file system, or may not be
    written, a file beside ``path`` is renamed instead."""
    for folder in (git_dir, path.parent):
        tmp = folder / f"gitimprove-{path.name}.new"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            if folder != git_dir:
                raise
        else:
            return


def _added_since_adopted(repo: Repository, dest: Path, policy: Policy) -> Survey:
    """Agent files of a repository adopted before that its ``formats:`` does not map (added
    since), named apart from its agents: a second ``init`` says how to map them, and
    ``init --adopt-new`` maps them."""
    def mapped(path: str) -> bool:
        try:
            return rule_for(policy, path) is not None
        except InvalidFileError:
            return True  # claimed twice: `gitimprove agents` says so

    listed = repo.run("ls-files", "-z", "-co", "--exclude-standard", cwd_worktree=True).split("\0")
    files = {p: (dest / p).read_bytes() for p in listed
             if p and (dest / p).is_file() and not (dest / p).is_symlink()}
    native = [p.stem for p in (dest / policy.agents_dir).glob("*.yaml")]
    known = [p for p in files if mapped(p)]

    def read(path: str, rule: FormatRule) -> ParsedFile:
        return adapter_for(rule.format, rule.constants).parse(decode(files[path], path), path)

    taken = native + list(build(policy, known, read, taken=native).agents)
    mapped_paths = set(known)
    return survey({p: raw for p, raw in files.items() if p not in mapped_paths}, policy, taken,
                  beside=known)


def _notable(found: Survey) -> list[tuple[str, str]]:
    """The files a second ``init`` found that look like agent files but cannot be adopted, with
    the reason ("looks like crewai but ..."); not the YAML files no format recognises, which the
    first ``init`` listed once."""
    return [(path, why) for path, why in found.left if not why.startswith(NOT_AN_AGENT_FILE)]


def _unmapped(found: Survey) -> list[tuple[str, str]]:
    """What a second ``init`` says of each file it found unmapped."""
    listing = {unescape(r.path) for r in found.rules if r.constants}
    names = {unescape(r.path): r.name for r in found.rules if r.name}
    return [(a.path, f"a {a.format} file that {POLICY_PATH} does not map; add `- path: "
                     f"'{a.path}'` with `format: {a.format}`"
                     + (f" and `name: '{names[a.path]}'`" if a.path in names else "")
                     + (" and the `constants:` its agents use (`gitimprove docs file-formats`)" if a.path in listing else "")
                     + " under its `formats:` to adopt it, or run `gitimprove init --adopt-new`")
            for a in found.adopted]
