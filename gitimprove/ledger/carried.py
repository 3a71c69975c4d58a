"""A proposal's change under another name: what a person's commit carries of a model's.

An identity in git is what whoever wrote the commit says it is: ``git commit --amend
--reset-author`` (or ``git commit-tree`` with ``GIT_AUTHOR_*`` set) turns a model-authored
proposal commit into one authored by anyone, and dropping its trailers leaves nothing in the
message that names the proposal. What such a commit cannot drop is the change itself. So a
commit that is not a proposal commit by its marks (not model-authored, naming no proposal) is
still the proposal when one of its *hunks* (the lines it removes and adds at one place of a
file, ``git diff -U0``) is a hunk of a model-authored proposal commit this repository holds
(on a proposal branch, under a rejection record, or brought by the same update): the hooks
judge it as that proposal, whoever its author and committer claim to be.

What this cannot see (docs/safety.md, "What an identity proves"): a change the repository
never held as a model's commit (a server that was never pushed the proposal's branch), or one
changed again by hand at every place it touches (a different change: a person's, by what git
can show). Only signatures could tell more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gitimprove.git import Oid, Repository
from gitimprove.ledger import (
    BRANCH_PREFIX,
    MODEL_EMAIL_SUFFIX,
    REJECTED_PREFIX,
    LoggedCommit,
    claims_proposal,
    is_model_email,
)

Hunk = tuple[bytes, tuple[bytes, ...]]  # (the file as git names it, its -/+ lines, in order)

_HEADER = b"\x01"  # starts the line naming each commit in the diff output (no diff line does)
_DIFF = ("-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
         "--src-prefix=a/", "--dst-prefix=b/", f"--format={_HEADER.decode()}%H %ae")


def suspects(brought: Iterable[LoggedCommit]) -> list[LoggedCommit]:
    """The commits among ``brought`` that no mark makes proposal commits: people's commits
    (not model-authored, naming no proposal) that are not merges."""
    return [c for c in brought if len(c.parents) == 1 and not claims_proposal(c)]


def carried(git: Repository, brought: Iterable[LoggedCommit], revs: Sequence[str]
            ) -> dict[Oid, Oid]:
    """Each of ``brought`` that carries a proposal's change under another name (see the
    module), with the model-authored proposal commit whose hunk it carries. ``revs``: what
    else to look for proposal commits in (``^old`` excludes main's; the proposal branches and
    rejection records are always looked in). Three git calls, only when a person's commit is
    among ``brought``."""
    people = suspects(brought)
    if not people:
        return {}
    # NOTE: commit ids on stdin: a push may bring thousands (an argument list has a limit)
    ids = "".join(f"{c.oid}\n" for c in people)
    theirs = _hunks(git.run_bytes("log", "--no-walk=unsorted", *_DIFF, "--stdin", "--",
                                  input=ids), model_only=False)
    paths = sorted(_paths(git, people))
    if not paths or not any(theirs.values()):
        return {}
    wanted = sorted({h for c in people for h in theirs.get(c.oid, ())})
    args = ["log", "--no-merges", "--regexp-ignore-case", *_DIFF,
            f"--author={MODEL_EMAIL_SUFFIX.replace('.', '[.]')}>",
            f"--glob={BRANCH_PREFIX}*", f"--glob={REJECTED_PREFIX}*", *revs]
    spec = ["--", *[f":(literal){p}" for p in paths]]
    # NOTE: a commit with a hunk of theirs removes or adds each of its lines: `-G` lets git
    # pass over the others without printing them (what it lets through is compared here)
    owner: dict[Hunk, Oid] = {}
    for part in _parts(wanted):  # a regular expression is one argument: at most MAX_PATTERN
        models = _hunks(git.run_bytes(*args, f"-G{_lines_of(part)}", *spec), model_only=True)
        for model, hunks in models.items():
            for hunk in hunks:
                owner.setdefault(hunk, model)
    found: dict[Oid, Oid] = {}
    for commit in people:
        match = next((owner[h] for h in theirs.get(commit.oid, ()) if h in owner), None)
        if match is not None:
            found[commit.oid] = match
    return found


_SPECIAL = {c: f"[{c}]" for c in ".[(){}*+?$|"} | {"]": "[]]", "^": "[\\^]", "\\": "[\\]"}


def _lines_of(hunks: Sequence[Hunk]) -> str:
    """An extended regular expression (what ``git log -G`` takes) matching the longest line
    of each of ``hunks`` whole, and perhaps more (never less: a bracket per special
    character)."""
    longest = {max((line[1:] for line in lines), key=len) for _, lines in hunks}
    # a line longer than LINE_CAP is matched by its start alone (more lines, never fewer)
    alternatives = sorted("".join(_SPECIAL.get(c, c) for c in line[:LINE_CAP].decode(
        "utf-8", "surrogateescape")) + ("$" if len(line) <= LINE_CAP else "") for line in longest)
    return "^(" + "|".join(alternatives) + ")"


MAX_PATTERN = 64 * 1024  # characters of the -G pattern of one `git log` (Linux takes 128 KiB)
LINE_CAP = 2000          # characters of a line matched whole; a longer one, by its start


def _parts(hunks: Sequence[Hunk]) -> list[list[Hunk]]:
    """``hunks`` in runs whose :func:`_lines_of` pattern fits :data:`MAX_PATTERN` (a person's
    rewrite of a long file has thousands of hunks; one pattern of all of them would be more
    than the system lets an argument be, and the hook would fail)."""
    parts: list[list[Hunk]] = [[]]
    size = 0
    for hunk in hunks:
        # each character at most four (a bracket per special one), and "|" between
        cost = 4 * min(LINE_CAP, max((len(line) for line in hunk[1]), default=0)) + 2
        if parts[-1] and size + cost > MAX_PATTERN:
            parts.append([])
            size = 0
        parts[-1].append(hunk)
        size += cost
    return parts


def _paths(git: Repository, people: Sequence[LoggedCommit]) -> set[str]:
    """The files ``people`` change (one ``log``; names as they are, never quoted)."""
    out = git.run("log", "--no-walk=unsorted", "-z", "--name-only", "--no-renames",
                  "--format=", "--stdin", "--", input="".join(f"{c.oid}\n" for c in people))
    return {p.strip("\n") for p in out.split("\0") if p.strip("\n")}


def _hunks(out: bytes, *, model_only: bool) -> dict[Oid, list[Hunk]]:
    """The hunks of each commit in ``git log`` output made with :data:`_DIFF` (``model_only``:
    of model-authored commits alone). A hunk whose lines are all blank counts for nothing:
    too common to tell a change by."""
    found: dict[Oid, list[Hunk]] = {}
    hunks: list[Hunk] | None = None
    path = b""
    lines: list[bytes] = []
    in_header = False

    def flush() -> None:
        if hunks is not None and lines and any(line[1:].strip() for line in lines):
            hunks.append((path, tuple(lines)))
        lines.clear()

    for line in out.split(b"\n"):
        if line.startswith(_HEADER):
            flush()
            oid, _, email = line[1:].decode("utf-8", "replace").partition(" ")
            keep = not model_only or is_model_email(email)
            hunks = found.setdefault(Oid(oid), []) if keep else None
            in_header = False
        elif line.startswith(b"diff --git "):
            flush()
            path, in_header = line[len(b"diff --git "):], True
        elif line.startswith(b"@@"):
            flush()
            in_header = False
        elif not in_header and line[:1] in (b"+", b"-"):
            lines.append(line)
    flush()
    return found
