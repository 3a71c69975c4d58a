"""Bringing checkouts of main up to date after main moved, so that a kill cannot leave a trap.

When ``approve`` or ``rollback`` moves main, every clean checkout of main must follow (its
index and files still hold the old text). A process killed between the two steps would leave
the old agent file staged, and an ordinary ``git commit`` would then silently undo the
approval. So :func:`landing` writes a small journal under the git directory *before* main
moves and removes it only once every checkout is updated. Whoever comes next finishes the
step (:func:`recover`: every gitimprove command), or refuses to build on it (the
``pre-commit`` and ``reference-transaction`` hooks, :func:`pending_refusal`).

All landings in one repository take turns under a file lock, which also makes two approvals
in one checkout safe: the second one starts after the first one's checkout update is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from gitimprove.dataclass import dataclass
from gitimprove.errors import GitCommandError, GitImproveError
from gitimprove.git import Oid, Repository, Worktree, file_lock, lock_holder, run_in

JOURNAL_DIR = "pending-checkout"
LOCK_NAME = "land.lock"
INDEX_LOCK_WAIT = 5.0  # seconds to wait for a user's git command to release a checkout's index


class CheckoutBehind(GitImproveError):
    """Main moved but a checkout of it could not be updated; says exactly what to run."""


@dataclass(frozen=True)
class Journal:
    """One landing in progress: main is moving from ``old`` to ``new``."""

    path: Path
    ref: str
    old: Oid
    new: Oid
    checkouts: list[Path]

    def command(self, checkout: Path) -> str:
        return f"git -C '{checkout}' read-tree -m -u {self.old} {self.new}"


def _dir(git: Repository) -> Path:
    return git.state_dir / JOURNAL_DIR


@contextlib.contextmanager
def landing_lock(git: Repository) -> Iterator[None]:
    """Landings (and recoveries) in one repository take turns; a dead holder frees it."""
    with file_lock(git.state_dir / "locks" / LOCK_NAME):
        yield


def write_journal(git: Repository, ref: str, old: Oid, new: Oid,
                  checkouts: Sequence[Worktree]) -> Journal:
    """Record a landing before main moves (written atomically, synced)."""
    directory = _dir(git)
    directory.mkdir(parents=True, exist_ok=True)
    journal = Journal(directory / f"{new}.json", ref, old, new, [w.path for w in checkouts])
    tmp = directory / f".{new}.{os.getpid()}.tmp"
    data = {"ref": ref, "old": old, "new": new, "checkouts": [str(p) for p in journal.checkouts]}
    with tmp.open("w") as fh:
        fh.write(json.dumps(data))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, journal.path)
    return journal


def read_journals(git: Repository) -> list[Journal]:
    found = []
    with contextlib.suppress(FileNotFoundError):
        for path in sorted(_dir(git).glob("*.json")):
            try:
                raw = json.loads(path.read_text())
                found.append(Journal(path, str(raw["ref"]), Oid(raw["old"]), Oid(raw["new"]),
                                     [Path(p) for p in raw["checkouts"]]))
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)  # half-written: its landing never moved main
    return found


def update_checkouts(git: Repository, journal: Journal) -> None:
    """Bring every checkout named in ``journal`` from ``old`` to ``new``, then drop the journal.

    Raises :class:`CheckoutBehind` (journal kept) when a checkout cannot be updated."""
    for checkout in journal.checkouts:
        _update_one(git, journal, checkout)
    journal.path.unlink(missing_ok=True)


def _update_one(git: Repository, journal: Journal, checkout: Path) -> None:
    if not checkout.is_dir():
        return  # the worktree was removed meanwhile
    head = run_in(checkout, "symbolic-ref", "--quiet", "HEAD", check=False).strip()
    if head != journal.ref:
        return  # switched to another branch meanwhile: git keeps that checkout consistent
    deadline = time.monotonic() + INDEX_LOCK_WAIT
    while True:
        try:
            # NOTE: a two-tree merge: files the user changed meanwhile are kept or refused, never
            # overwritten; a checkout already at `new` is left as it is.
            run_in(checkout, "read-tree", "-m", "-u", journal.old, journal.new)
            return
        except GitCommandError as exc:
            lock = Worktree(checkout, head).index_lock()
            if lock.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            why = (f"{lock} is in the way: {lock_holder(lock)}" if lock.exists()
                   else exc.stderr.splitlines()[-1] if exc.stderr else str(exc))
            raise CheckoutBehind(
                f"{journal.ref.removeprefix('refs/heads/')} moved to {journal.new.short}, but the "
                f"checkout at {checkout} still holds the files of {journal.old.short} ({why})",
                hint=f"run: {journal.command(checkout)}   (or any gitimprove command, once "
                     "nothing else is using the checkout); until then, a commit there would "
                     "undo the change") from None


def recover(git: Repository, *, locked: bool = False) -> list[str]:
    """Finish every interrupted landing; returns one note per landing finished or dropped.

    Called at the start of every gitimprove command (``locked``: the caller holds
    :func:`landing_lock` already). Raises :class:`CheckoutBehind` when a checkout still cannot
    be updated (nothing else is changed then)."""
    if not _dir(git).is_dir():
        return []
    if not locked:
        with landing_lock(git):
            return recover(git, locked=True)
    notes: list[str] = []
    for journal in read_journals(git):
        current = git.read_ref(journal.ref)
        if current == journal.old or current is None:
            journal.path.unlink(missing_ok=True)  # main never moved: nothing happened
            continue
        if current != journal.new:
            journal.path.unlink(missing_ok=True)
            notes.append(f"an interrupted update of {journal.ref} to {journal.new.short} was "
                         f"followed by other commits ({current.short}); check `git status`")
            continue
        update_checkouts(git, journal)
        notes.append(f"finished an interrupted update: the checkout now matches "
                     f"{journal.ref.removeprefix('refs/heads/')} at {journal.new.short}")
    return notes


def pending_refusal(git: Repository, ref: str) -> CheckoutBehind | None:
    """For the hooks: a landing of ``ref`` whose checkout update is still pending, if any.

    A commit made on top of it would carry the old files back into main."""
    for journal in read_journals(git):
        if journal.ref == ref and git.read_ref(ref) == journal.new:
            here = git.work_tree
            return CheckoutBehind(
                f"gitimprove moved {ref.removeprefix('refs/heads/')} to {journal.new.short} but was "
                "interrupted before it updated this checkout: what is staged here would undo "
                "that change, so this commit is refused",
                hint=f"run: {journal.command(here) if here else 'gitimprove recover'}   "
                     "(or `gitimprove recover`), check `git status`, then commit again")
    return None
