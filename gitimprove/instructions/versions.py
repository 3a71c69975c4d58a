"""Versions of an agent: git blob ids, numbered along the first-parent history of a branch.

An agent's version *is* the blob id of its file: the same text is the same version, so a
rollback to v5's text shows as v5 again. Display numbers come from the first-parent history of
the branch: each commit that changed the file is an entry; a blob seen before keeps its number,
a new blob takes the next one.

Walking history is the one expensive read, so each (branch, agent) history is kept in a small
JSON file under ``<git-common-dir>/gitimprove-state/versions/`` and extended incrementally when the
branch moves forward; a history that was rewritten is rebuilt. Next to it, a tiny summary of
the version at the branch's tip lets a new process answer :meth:`VersionIndex.version_of` (what
``load()`` needs) without reading the whole history, whatever its length.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from gitimprove.dataclass import dataclass
from gitimprove.git import SYMLINK_MODE, ZERO_OID, Oid, Repository, write_json

_FORMAT = "--format=%x01%H%x00%P%x00%ct%x00%an <%ae>%x00%s"
_CACHE_VERSION = 4  # 3: a symbolic link is no version; 4: an emoji's doubled selector breaks no file

# Whether the file at a path, with a given blob, is a valid agent file (a broken commit on main
# is not a version: no agent could load it).
Checker = Callable[[str, Oid], bool]


@dataclass(frozen=True)
class Change:
    """A first-parent commit that changed an agent file (``blob`` None: deleted)."""

    commit: Oid
    blob: Oid | None
    timestamp: int
    author: str
    subject: str
    file_blob: Oid | None = None  # the file's blob when ``blob`` is one agent's version in it


@dataclass(frozen=True)
class Version:
    """One entry of an agent's history."""

    number: int
    blob: Oid
    commit: Oid
    timestamp: int
    author: str
    subject: str
    file_blob: Oid | None = None  # the file's blob, when it holds several agents

    @property
    def date(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)

    @property
    def label(self) -> str:
        return f"v{self.number}"


def number_changes(changes: list[Change], broken: Iterable[str] = ()) -> list[Version]:
    """Oldest-first changes to numbered versions (deletions and ``broken`` blobs, files that do
    not parse, are dropped, not numbered)."""
    numbers: dict[str, int] = {}
    out: list[Version] = []
    skip = set(broken)
    for ch in changes:
        if ch.blob is None or ch.blob in skip:
            continue
        number = numbers.setdefault(ch.blob, len(numbers) + 1)
        out.append(Version(number, ch.blob, ch.commit, ch.timestamp, ch.author, ch.subject,
                           ch.file_blob or ch.blob))
    return out


def per_agent(changes: list[Change], fingerprint: Callable[[Oid], Oid | None]) -> list[Change]:
    """Changes of a file holding several agents, seen from one of them: a commit that left the
    agent as it was is no change of it, and its version is its own fingerprint."""
    out: list[Change] = []
    last: Oid | None = None
    for ch in changes:
        mine = fingerprint(ch.blob) if ch.blob is not None else None
        if mine == last and out:
            continue
        out.append(Change(ch.commit, mine, ch.timestamp, ch.author, ch.subject, ch.blob))
        last = mine
    return out


def _parse_log(text: str, path: str) -> tuple[list[Change], list[tuple[Oid, list[str]]]]:
    """Changes to ``path`` (newest first) and every listed commit with its parents."""
    changes: list[Change] = []
    commits: list[tuple[Oid, list[str]]] = []
    current: tuple[Oid, int, str, str] | None = None
    for line in text.split("\n"):
        if line.startswith("\x01"):
            fields = line[1:].split("\x00")
            commit = Oid(fields[0])
            commits.append((commit, fields[1].split()))
            current = (commit, int(fields[2]), fields[3], fields[4] if len(fields) > 4 else "")
        elif line.startswith(":") and current is not None:
            meta, _, changed = line.partition("\t")
            if changed != path:
                continue
            parts = meta.split()
            blob = Oid(parts[3])
            # NOTE: a symbolic link's blob is the path it points to, never a version (read as
            # a Markdown file, "notes/payload" was one): the file is not there, as if deleted
            gone = blob == ZERO_OID or set(blob) == {"0"} or parts[1] == SYMLINK_MODE
            changes.append(Change(current[0], None if gone else blob, current[1], current[2], current[3]))
    return changes, commits


class VersionIndex:
    """Histories of agents along the first-parent chain of a tip, cached in memory and on disk."""

    def __init__(self, repo: Repository, valid: Checker | None = None) -> None:
        self._repo = repo
        self._valid = valid
        self._memory: dict[tuple[str, str], list[Version]] = {}
        self._lock = threading.Lock()
        self._dir = repo.state_dir / "versions"

    def history(self, path: str, tip: Oid, refname: str | None = None, *,
                fingerprint: Callable[[Oid], Oid | None] | None = None, tag: str = "") -> list[Version]:
        """Oldest-first versions of the file at ``path`` along ``tip``'s first-parent history.

        ``refname`` (``refs/heads/main``) lets the result be kept on disk and extended when the
        ref moves forward. For one agent of a file holding several, ``fingerprint`` maps a blob
        of the file to that agent's version, and ``tag`` names the agent."""
        key = (tip, path + "\0" + tag)
        with self._lock:
            hit = self._memory.get(key)
        if hit is not None:
            return hit
        changes, broken = self._changes(path, tip, refname)
        if fingerprint is not None:
            changes = per_agent([c for c in changes if c.blob not in broken], fingerprint)
        versions = number_changes(changes, broken)
        with self._lock:
            if len(self._memory) > 4096:
                self._memory.clear()
            self._memory[key] = versions
        return versions

    def version_of(self, path: str, tip: Oid, refname: str | None, blob: Oid, *,
                   fingerprint: Callable[[Oid], Oid | None] | None = None,
                   tag: str = "") -> tuple[int, Oid] | None:
        """Number and commit of the newest version of ``path`` along ``tip`` whose content is
        ``blob`` (None: not in that history).

        With ``refname``, a summary kept on disk for the tip answers without the history."""
        suffix = f".{quote(tag, safe='')}.tip.json" if tag else ".tip.json"
        head_file = self._cache_file(refname, path, suffix) if refname and not self._repo.shallow else None
        if head_file is not None:
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                raw = json.loads(head_file.read_bytes())
                if raw["v"] == _CACHE_VERSION and raw["tip"] == tip and raw["blob"] == blob:
                    return int(raw["number"]), Oid(raw["commit"])
        versions = self.history(path, tip, refname, fingerprint=fingerprint, tag=tag)
        found = next((v for v in reversed(versions) if v.blob == blob), None)
        if found is None:
            return None
        if head_file is not None:
            write_json(head_file, {"v": _CACHE_VERSION, "tip": tip, "blob": blob,
                                    "number": found.number, "commit": found.commit})
        return found.number, found.commit

    def _cache_file(self, refname: str, path: str, suffix: str = ".json") -> Path:
        return self._dir / quote(refname, safe="") / (quote(path, safe="") + suffix)

    def _changes(self, path: str, tip: Oid, refname: str | None) -> tuple[list[Change], set[str]]:
        cached_tip: Oid | None = None
        cached: list[Change] = []
        broken: set[str] = set()
        cache_file = self._cache_file(refname, path) if refname and not self._repo.shallow else None
        if cache_file is not None:
            cached_tip, cached, broken = _read_cache(cache_file)
            if cached_tip == tip:
                return cached, broken
        changes: list[Change] | None = None
        if cached_tip is not None:
            changes = self._extend(path, cached_tip, cached, tip)
        if changes is None:
            out = self._repo.run("log", "--first-parent", "--raw", "--no-abbrev", "--no-renames",
                                 _FORMAT, tip, "--", path)
            newest_first, _ = _parse_log(out, path)
            changes = newest_first[::-1]
            broken = set()
            cached = []
        if self._valid is not None:
            # NOTE: each blob is checked once, when it first appears; the answer is kept with
            # the history, so a new process does not parse old versions again.
            seen = {c.blob for c in cached}
            for ch in changes[len(cached):]:
                if ch.blob is not None and ch.blob not in seen and ch.blob not in broken:
                    seen.add(ch.blob)
                    if not self._valid(path, ch.blob):
                        broken.add(ch.blob)
        if cache_file is not None:
            _write_cache(cache_file, tip, changes, broken)
        return changes, broken

    def _extend(self, path: str, old: Oid, cached: list[Change], tip: Oid) -> list[Change] | None:
        """Append what ``old..tip`` changed, if ``old`` is on ``tip``'s first-parent chain."""
        out = self._repo.run("log", "--first-parent", "--raw", "--no-abbrev", "--no-renames",
                             _FORMAT, f"{old}..{tip}", check=False)
        newest_first, commits = _parse_log(out, path)
        if not commits or not commits[-1][1] or commits[-1][1][0] != old:
            return None  # history was rewritten (or tip is behind): rebuild
        return cached + newest_first[::-1]


def _read_cache(path: Path) -> tuple[Oid | None, list[Change], set[str]]:
    try:
        raw = json.loads(path.read_text())
        if raw.get("v") != _CACHE_VERSION:
            return None, [], set()
        changes = [Change(Oid(c), Oid(b) if b else None, t, a, s) for c, b, t, a, s in raw["changes"]]
        return Oid(raw["tip"]), changes, {str(b) for b in raw["broken"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None, [], set()


def _write_cache(path: Path, tip: Oid, changes: list[Change], broken: set[str]) -> None:
    write_json(path, {"v": _CACHE_VERSION, "tip": tip, "broken": sorted(broken),
                       "changes": [[c.commit, c.blob, c.timestamp, c.author, c.subject] for c in changes]})
