"""A proposal's change under another name: what a person's commit carries of a model's.

An identity in git is what whoever wrote the commit says it is: ``git commit --amend
--reset-author`` (or ``git commit-tree`` with ``GIT_AUTHOR_*`` set) turns a model-authored
proposal commit into one authored by anyone, and dropping its trailers leaves nothing in the
message that names the proposal. What such a commit cannot drop is the change itself. So a
commit that is not a proposal commit by its marks (not model-authored, naming no proposal) is
still the proposal when it holds a *hunk* (the lines a commit removes and adds at one place
of a file, ``git diff -U0``) of a model-authored proposal commit this repository holds (on a
proposal branch, under a rejection record, or brought by the same update): every line the
hunk adds and removes, whatever the whitespace, order or hunks they are in
(:meth:`_Change.carries`; a merge, by what it holds beyond git's merge of its parents).
The hooks judge it as that proposal, whoever its author and
committer claim to be.

What this cannot see (docs/safety.md, "What an identity proves"): a change the repository
never held as a model's commit (a server that was never pushed the proposal's branch), or one
changed again by hand at every place it touches beyond its whitespace (a different change: a
person's, by what git can show). Only signatures could tell more.
"""

from __future__ import annotations

from collections import Counter
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
_OWN = "--diff-merges=remerge"  # a merge's own change: what it holds beyond git's merge
_DIFF = ("-p", "-U0", "--text", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
         "--src-prefix=a/", "--dst-prefix=b/", f"--format={_HEADER.decode()}%H %ae")


def suspects(brought: Iterable[LoggedCommit]) -> list[LoggedCommit]:
    """The commits among ``brought`` that no mark makes proposal commits: people's commits
    (not model-authored, naming no proposal), merges included: what a merge holds of its own
    (the change between git's merge of its parents and the merge recorded, ``--remerge-diff``:
    an "evil" merge, or a conflict resolved) is a change like any other."""
    return [c for c in brought if c.parents and not claims_proposal(c)]


def carried(git: Repository, brought: Iterable[LoggedCommit], revs: Sequence[str],
            spans: Sequence[tuple[Oid, Oid]] = ()) -> tuple[dict[Oid, Oid], dict[Oid, Oid]]:
    """Each of ``brought`` that carries a proposal's change under another name (see the
    module), with the model-authored proposal commit whose hunk it carries; and each tip of
    ``spans`` ((base, tip): what an update brings, as one change) that carries one of a model's
    commit ``brought`` does not hold: a change split over people's commits, none of which holds
    a whole hunk of it. ``revs``: what else to look for proposal commits in (``^old`` excludes
    main's; the proposal branches and rejection records are always looked in). Three git calls
    (and one per span when two people's commits hold none alone), only when a person's commit
    is among ``brought``."""
    brought = list(brought)
    people = suspects(brought)
    if not people:
        return {}, {}
    # NOTE: commit ids on stdin: a push may bring thousands (an argument list has a limit)
    ids = "".join(f"{c.oid}\n" for c in people)
    theirs = {oid: _Change(hunks) for oid, hunks in _hunks(git.run_bytes(
        "log", "--no-walk=unsorted", _OWN, *_DIFF, "--stdin", "--", input=ids),
        model_only=False).items()}
    paths = _paths(git, ids)
    spans = spans if len(people) > 1 else ()
    whole: dict[Oid, _Change] = {}
    for base, tip in spans:
        out = git.run_bytes("diff", *_DIFF[:-1], base, tip, "--")
        # NOTE: its files are the people's or the update's model commits' (judged themselves)
        whole[tip] = _Change(_hunks(_HEADER + f"{tip} -\n".encode() + out, model_only=False)
                             .get(tip, []))
    wanted = sorted({line for change in [*theirs.values(), *whole.values()]
                     for line in change.lines})
    if not paths or not wanted:
        return {}, {}
    args = ["log", "--no-merges", "--regexp-ignore-case", *_DIFF,
            f"--author={MODEL_EMAIL_SUFFIX.replace('.', '[.]')}>",
            f"--glob={BRANCH_PREFIX}*", f"--glob={REJECTED_PREFIX}*", *revs]
    spec = ["--", *[f":(literal){p}" for p in sorted(paths)]]
    # NOTE: a model's hunk a person's commit carries removes or adds one of its lines: `-G`
    # lets git pass over the other model commits without printing them (what it lets through
    # is compared here); past a few hundred lines, or a pattern longer than an argument may
    # be, the files alone narrow the search
    pattern = _lines_of(wanted) if len(wanted) <= _MOST_LINES else ""
    narrow = [f"-G{pattern}"] if pattern and len(pattern) <= _MOST_CHARS else []
    models = _hunks(git.run_bytes(*args, *narrow, *spec), model_only=True)
    found: dict[Oid, Oid] = {}
    for commit in people:
        change = theirs.get(commit.oid)
        match = None if change is None else _owner(change, models)
        if match is not None:
            found[commit.oid] = match
    spanned: dict[Oid, Oid] = {}
    if whole and len(found) < len(people):
        held = {c.oid for c in brought}  # the update's own model commits: judged themselves
        others = {model: hunks for model, hunks in models.items() if model not in held}
        for tip, change in whole.items():
            match = _owner(change, others)
            if match is not None:
                spanned[tip] = match
    return found, spanned


def _owner(change: _Change, models: dict[Oid, list[Hunk]]) -> Oid | None:
    """The first of ``models`` a hunk of which ``change`` holds."""
    return next((model for model, hunks in models.items() if any(map(change.carries, hunks))),
                None)


_MOST_LINES = 300
_MOST_CHARS = 64 * 1024  # of the -G pattern, one argument (Linux takes 128 KiB)
_SPECIAL = {c: f"[{c}]" for c in ".[(){}*+?$|"} | {"]": "[]]", "^": "[\\^]", "\\": "[\\]"}


def _lines_of(lines: Sequence[bytes]) -> str:
    """An extended regular expression (what ``git log -G`` takes) matching each of ``lines``
    (as :func:`_essential` spells them) whole, whatever its whitespace, and perhaps more (never
    less: a bracket per special character)."""
    alternatives = sorted("[[:space:]]+".join(
        "".join(_SPECIAL.get(c, c) for c in word)
        for word in line.decode("utf-8", "surrogateescape").split(" ")) for line in lines)
    return "^[[:space:]]*(" + "|".join(alternatives) + ")[[:space:]]*$"


def _essential(lines: Iterable[bytes]) -> tuple[Counter[bytes], Counter[bytes]]:
    """The lines a hunk removes and adds, each with its whitespace made one space (a line
    whose indentation, line ending or spacing alone changed is the same line), blank lines and
    lines removed and added again (a change of whitespace alone) left out."""
    minus: Counter[bytes] = Counter()
    plus: Counter[bytes] = Counter()
    for line in lines:
        text = b" ".join(line[1:].split())
        if text:
            (minus if line[:1] == b"-" else plus)[text] += 1
    same = minus & plus
    return minus - same, plus - same


class _Change:
    """A person's commit's hunks, as :meth:`carries` compares a model's hunk with them."""

    def __init__(self, hunks: Iterable[Hunk]) -> None:
        self.removed: dict[bytes, Counter[bytes]] = {}
        self.added: dict[bytes, Counter[bytes]] = {}
        self.removals: set[tuple[bytes, frozenset[tuple[bytes, int]]]] = set()
        self.lines: set[bytes] = set()
        for path, lines in hunks:
            minus, plus = _essential(lines)
            self.removed.setdefault(path, Counter()).update(minus)
            self.added.setdefault(path, Counter()).update(plus)
            if not plus:
                self.removals.add((path, frozenset(minus.items())))
            self.lines.update(minus, plus)

    def carries(self, hunk: Hunk) -> bool:
        """Whether this change holds ``hunk`` of a model's: every line it adds, and every line
        it removes, in the same file, whatever the whitespace, the order or the hunks they are
        in (a hunk joined to a neighbouring edit, split, or reordered is still carried). A hunk
        that only removes lines is carried only as a hunk removing those lines and adding
        nothing: a person who rewrites lines a model removed wrote a change of their own."""
        path, lines = hunk
        minus, plus = _essential(lines)
        if plus:
            return minus <= self.removed.get(path, Counter()) and \
                plus <= self.added.get(path, Counter())
        return bool(minus) and (path, frozenset(minus.items())) in self.removals


def _paths(git: Repository, ids: str) -> set[str]:
    """The files the commits ``ids`` (one a line) change (one ``log``; names as they are,
    never quoted)."""
    out = git.run("log", "--no-walk=unsorted", _OWN, "-z", "--name-only", "--no-renames",
                  "--format=", "--stdin", "--", input=ids)
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

