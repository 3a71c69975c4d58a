"""``gitimprove init``: make (or adopt) a git repository of agent instructions."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gitimprove.errors import GitImproveError, InvalidFileError
from gitimprove.git import Repository, check_git_version, clean_env
from gitimprove.instructions.adopt import Adopted, formats_yaml, survey
from gitimprove.instructions.agentfile import parse_agent
from gitimprove.instructions.policy import POLICY_PATH, parse_policy

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


def _copy_template(src: Path, dest: Path) -> list[str]:
    files = sorted(p for p in src.rglob("*") if p.is_file() and ".git" not in p.relative_to(src).parts)
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
        try:
            parse_agent(agent_file.read_bytes(), rel, expected_name=agent_file.stem)
        except InvalidFileError as exc:
            problems += exc.problems
    if problems:
        raise InvalidFileError(problems, hint="fix these files, then run `gitimprove init` again")


def init(path: str | Path = ".", *, template: str | Path | None = None) -> InitResult:
    """Create or adopt a repository at ``path`` and commit the instruction layout.

    On any refusal nothing is left behind: a folder or repository it created is removed again,
    and so is every file it wrote."""
    check_git_version()
    dest = Path(path).resolve()
    source = Path(template).resolve() if template is not None else None
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
    written: list[str] = []
    try:
        return _init(dest, source, created, written)
    except BaseException:
        if made_dir:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for rel in written:
                with contextlib.suppress(OSError):
                    if rel == ".gitignore" and gitignore_before is not None:
                        gitignore.write_bytes(gitignore_before)  # it was only appended to
                    else:
                        (dest / rel).unlink()
            if created:
                shutil.rmtree(dest / ".git", ignore_errors=True)
        raise


def _init(dest: Path, source: Path | None, created: bool, written: list[str]) -> InitResult:
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
    if not (dest / POLICY_PATH).exists():
        head = repo.symbolic_ref("HEAD") or "refs/heads/main"
        branch = head.removeprefix("refs/heads/")
        text = DEFAULT_POLICY.replace("main_branch: main", f"main_branch: {branch}")
        if not created and source is None:  # an existing repository: adopt the agent files it has
            listed = repo.run("ls-files", "-z", "-co", "--exclude-standard", cwd_worktree=True).split("\0")
            files = {p: (dest / p).read_bytes() for p in listed if p and (dest / p).is_file()}
            policy = parse_policy(text, POLICY_PATH)
            found = survey(files, policy, [p.stem for p in (dest / policy.agents_dir).glob("*.yaml")])
            if found.rules:
                text += formats_yaml(found.rules)
        (dest / POLICY_PATH).write_text(text)
        written.append(POLICY_PATH)
    policy = parse_policy((dest / POLICY_PATH).read_bytes(), POLICY_PATH)
    agents_dir = dest / policy.agents_dir
    adopted_paths: list[str] = []
    if found is not None and found.adopted:
        tracked = set(repo.run("ls-files", "-z", cwd_worktree=True).split("\0"))
        adopted_paths = [a.path for a in found.adopted if a.path not in tracked]
    elif not agents_dir.exists() or not any(agents_dir.glob("*.yaml")):
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
    repo.run("add", "--", *paths, cwd_worktree=True)
    staged = repo.run("diff", "--cached", "--name-only", "--", *paths, cwd_worktree=True).strip()
    commit = None
    if staged:
        env = None if repo.user_identity() else FALLBACK_IDENTITY
        repo.run("commit", "-q", "-m", "Initialise gitimprove instruction repository", "--", *paths,
                 env=env, cwd_worktree=True)
        commit = repo.run("rev-parse", "HEAD").strip()
    repo.close()
    return InitResult(dest, created, written, commit, adopted=found.adopted if found else [],
                      left=found.left if found else [])
