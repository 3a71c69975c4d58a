"""The one door to git.

Every git call in gitimprove goes through this module. It runs git with a clean environment
(no terminal prompts, none of the ``GIT_DIR``-style variables a hook leaks, no replace
refs), raises a single
:class:`~gitimprove.errors.GitCommandError` carrying the command, exit code and stderr, and
moves refs only by compare-and-swap. Reads that sit on hot paths (refs, objects) avoid
subprocesses: refs are read from their files, objects through one long-lived
``git cat-file --batch`` process.

GitPython discovers the repository (worktrees, ``.git`` files, ``GIT_DIR``); commands run
through :mod:`subprocess` because GitPython cannot remove inherited environment variables.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from gitimprove.dataclass import dataclass
from gitimprove.errors import (
    GitCommandError,
    GitImproveError,
    GitVersionError,
    NotARepositoryError,
    RefRaceError,
    StaleLockError,
)

MIN_GIT_VERSION = (2, 38)

_HEX = re.compile(r"\A(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_RUNS = [0]  # git subprocesses this process started (see git_runs())


def git_runs() -> int:
    """How many git commands this process has run: a cache of what refs point at that was
    filled before the last of them must be read again (any of them may have moved a ref)."""
    return _RUNS[0]

# NOTE: these would point git at another repository or index than the one we discovered.
# Object-directory variables are kept on purpose: inside a pre-receive hook they point at the
# quarantine holding the pushed objects, which the validator must be able to read.
_LEAKY_VARS = frozenset(
    {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR",
     "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR"}
)


class Oid(str):
    """A full hexadecimal git object id (SHA-1 or SHA-256). Construction validates it."""

    __slots__ = ()

    def __new__(cls, value: str) -> Oid:
        if not _HEX.match(value):
            raise ValueError(f"not a full object id: {value!r}")
        return super().__new__(cls, value)

    @property
    def short(self) -> str:
        return self[:10]


ZERO_OID = Oid("0" * 40)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every git subprocess runs with."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    # NOTE: objects are read as they are. A `refs/replace/*` ref (anyone may push one) would
    # otherwise make every reader, the hooks included, see another commit than the one that
    # lands: the validator would judge a harmless stand-in for the proposal it lets in.
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    if extra:
        env.update(extra)
    return env


_version_checked = False


def check_git_version() -> tuple[int, int]:
    """Refuse to run on a git older than :data:`MIN_GIT_VERSION` (needs ``merge-tree --write-tree``)."""
    global _version_checked
    try:
        proc = subprocess.run(["git", "--version"], capture_output=True, text=True,
                              env=clean_env())
    except OSError:
        raise GitVersionError("could not run `git --version`", hint="install git >= 2.38") from None
    match = re.search(r"(\d+)\.(\d+)", proc.stdout)
    if proc.returncode != 0 or not match:
        raise GitVersionError("could not run `git --version`", hint="install git >= 2.38")
    found = (int(match.group(1)), int(match.group(2)))
    if found < MIN_GIT_VERSION:
        raise GitVersionError(
            f"gitimprove needs git >= {MIN_GIT_VERSION[0]}.{MIN_GIT_VERSION[1]}, found {proc.stdout.strip()}",
            hint="upgrade git (merge-tree --write-tree appeared in 2.38)",
        )
    _version_checked = True
    return found


def _blame_an_old_git() -> None:
    """Raise :class:`GitVersionError` if a git command failed because git is too old."""
    # NOTE: checked when a git command fails, not when gitimprove starts (a subprocess on
    # every start): what an older git lacks fails, and the failure is where it is named.
    if not _version_checked:
        check_git_version()


def _work_tree_of(git_dir: Path) -> Path:
    """The working tree of a non-bare repository asked from inside its git directory (a
    pre-receive hook runs there): ``core.worktree``, a linked worktree's ``gitdir`` file, or
    the folder holding ``.git``."""
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "config", "core.worktree"],
                          capture_output=True, text=True, env=clean_env())
    if proc.returncode == 0 and proc.stdout.strip():
        return (git_dir / proc.stdout.strip()).resolve()
    pointer = git_dir / "gitdir"
    if pointer.is_file():
        return Path(pointer.read_text().strip()).resolve().parent
    return git_dir.parent


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    name: str
    oid: Oid

    @property
    def is_tree(self) -> bool:
        return self.mode == "40000"

    @property
    def is_link(self) -> bool:
        return self.mode == SYMLINK_MODE


SYMLINK_MODE = "120000"  # a tree entry that is a symbolic link: its blob is the path it points to


@dataclass(frozen=True)
class Commit:
    """A commit object: its tree, parents, author and message."""

    oid: Oid
    tree: Oid
    parents: list[Oid]
    author: str
    author_time: int
    message: str


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @classmethod
    def parse(cls, text: str) -> Identity:
        match = re.fullmatch(r"\s*([^<>]*?)\s*<([^<>\s]+)>\s*", text)
        if not match or not match.group(1) or any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise ValueError(f"not an identity of the form 'Name <email>' on one line: {text!r}")
        return cls(match.group(1), match.group(2))


# Who commits when git has no identity configured (a proposal branch, an approval).
FALLBACK_COMMITTER = Identity("gitimprove", "gitimprove@localhost")


class _CatFile:
    """One long-lived ``git cat-file --batch`` process, shared under a lock."""

    def __init__(self, repo: Repository) -> None:
        self._repo = repo
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["git", "--git-dir", str(self._repo.git_dir), "cat-file", "--batch"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env=clean_env(),
            )
        return self._proc

    def read(self, name: str) -> tuple[Oid, str, bytes] | None:
        """Object id, type and content of ``name`` (any object name, e.g. ``<commit>:<path>``)."""
        if "\n" in name or "\r" in name:
            return None
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                # NOTE: a name from argv holds what was not UTF-8 as surrogates (PEP 383)
                proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
                proc.stdin.flush()
                header = proc.stdout.readline().decode("utf-8", "replace").split()
                if len(header) != 3 or not _HEX.match(header[0]) or not header[2].isdigit():
                    return None  # "<name> missing" / "ambiguous" (a name may hold spaces)
                size = int(header[2])
                data = proc.stdout.read(size + 1)[:size]
            except (BrokenPipeError, ValueError, OSError):
                self.close()
                raise
        return Oid(header[0]), header[1], data

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            proc.wait()


class Repository:
    """A git repository, bare or with a working tree."""

    # NOTE: not a valid module name on purpose: a folder called `gitimprove` in a bare
    # repository would shadow the package for `python -m gitimprove` run from there (hooks).
    STATE_DIR = "gitimprove-state"

    @property
    def state_dir(self) -> Path:
        """gitimprove's own files inside the git directory (caches, locks)."""
        return self.common_dir / self.STATE_DIR

    @property
    def shallow(self) -> bool:
        """Whether this is a shallow clone: its history ends where it was cut, and goes on
        from the same tips once `git fetch --unshallow` (or `--deepen`) brings more of it, so
        nothing read from history may be kept on disk by a tip."""
        return any((d / "shallow").exists() for d in (self.git_dir, self.common_dir))

    def __init__(self, git_dir: Path, common_dir: Path, work_tree: Path | None) -> None:
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.work_tree = work_tree
        self._cat = _CatFile(self)
        self._packed: tuple[tuple[int, int, int], dict[str, Oid]] | None = None
        self._loose: dict[str, tuple[tuple[int, int, int, int], str]] = {}
        self._direct: dict[str, tuple[str, tuple[int, int, int, int], Oid]] = {}
        self._reftable = (common_dir / "reftable").exists()
        self._identity: tuple[str, str] | None = None
        # NOTE: as text once: read_ref runs on every load() and every record written, and a
        # Path joined and turned into text costs more than the stat it is for
        self._dirs = (str(git_dir), str(common_dir))
        self._packed_path = f"{common_dir}/packed-refs"

    @classmethod
    def discover(cls, path: str | os.PathLike[str] = ".") -> Repository:
        """Find the repository containing ``path``, the way git does."""
        # NOTE: `git rev-parse` in the folder, with the hook-leaked GIT_* variables stripped,
        # finds the repository exactly as git would from there (worktrees, `.git` files,
        # parent folders), in one subprocess and without importing GitPython.
        where = Path(os.fspath(path))
        try:
            proc = subprocess.run(
                ["git", "rev-parse", "--is-bare-repository", "--is-inside-work-tree",
                 "--absolute-git-dir", "--git-common-dir", "--show-toplevel"],
                cwd=where, capture_output=True, text=True, env=clean_env())
            out = proc.stdout.splitlines()
        except (NotADirectoryError, FileNotFoundError):
            out = []
        if len(out) < 4:
            _blame_an_old_git()
            raise NotARepositoryError(
                f"{os.path.abspath(path)} is not inside a git repository",
                hint="cd into your instruction repository, or pass --repo PATH "
                     "(`gitimprove init PATH` makes one)",
            ) from None
        bare, inside, git_dir = out[0] == "true", out[1] == "true", Path(out[2]).resolve()
        common_dir = (where / out[3]).resolve()
        work: Path | None = None
        if inside and len(out) > 4:
            work = Path(out[4]).resolve()
        elif not bare:
            work = _work_tree_of(git_dir)
        return cls(git_dir, common_dir, work)

    @property
    def is_bare(self) -> bool:
        return self.work_tree is None

    def close(self) -> None:
        self._cat.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._cat.close()

    # -- commands -----------------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        cwd_worktree: bool = False,
    ) -> str:
        """Run ``git ARGS`` in this repository and return stdout as text."""
        return self.run_bytes(*args, input=input, env=env, check=check,
                              cwd_worktree=cwd_worktree).decode("utf-8", "replace")

    def run_bytes(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        cwd_worktree: bool = False,
    ) -> bytes:
        argv = ["git", "--git-dir", str(self.git_dir)]
        if self.work_tree is not None and cwd_worktree:
            argv += ["--work-tree", str(self.work_tree)]
        argv += list(args)
        data = input.encode() if isinstance(input, str) else input
        try:
            proc = subprocess.run(
                argv, input=data, capture_output=True, env=clean_env(env),
                cwd=str(self.work_tree if cwd_worktree and self.work_tree else self.git_dir),
            )
        except OSError as exc:
            raise GitCommandError(["git", *args], -1, str(exc)) from None
        finally:  # once it ended, whether or not it succeeded: it may have moved refs
            _RUNS[0] += 1
        if check and proc.returncode != 0:
            raise command_error(["git", *args], proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc.stdout

    # -- refs ---------------------------------------------------------------------------

    def read_ref(self, refname: str) -> Oid | None:
        """The object a full ref name points at, or None. No subprocess: reads the ref files.

        Symbolic refs are followed; reftable repositories fall back to ``git rev-parse``."""
        if self._reftable:
            out = self.run("rev-parse", "--verify", "--quiet", refname + "^{}", check=False).strip()
            return Oid(out) if out else None
        direct = self._direct.get(refname)
        if direct is not None:  # the hot path: a loose ref read before, one stat
            try:
                st = os.stat(direct[0])
            except OSError:
                st = None
            if st is not None and (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size) == direct[1]:
                return direct[2]
        asked = refname
        for _ in range(5):  # symbolic ref chain
            path = f"{self._dirs[0] if _per_worktree(refname) else self._dirs[1]}/{refname}"
            try:
                # NOTE: git replaces a ref file (write a lock file, rename it), so a file with
                # the same inode, times and size holds the same value: one stat, no read, on
                # the hot path of every recorded feedback and every load().
                st = os.stat(path)
                key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
                hit = self._loose.get(path)
                if hit is not None and hit[0] == key:
                    content = hit[1]
                else:
                    with open(path, "rb") as fh:
                        content = fh.read().decode("utf-8", "replace").strip()
                    self._loose[path] = (key, content)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return self._packed_refs().get(refname)
            if content.startswith("ref: "):
                refname = content[5:].strip()
                continue
            if not _HEX.match(content):
                return None
            oid = Oid(content)
            if refname == asked:
                self._direct[asked] = (path, key, oid)
            return oid
        return None

    def symbolic_ref(self, name: str = "HEAD") -> str | None:
        """The ref a symbolic ref points at (``refs/heads/main``), or None when detached."""
        if name == "HEAD" and not self._reftable:  # hot path (every command, every hook): no subprocess
            with contextlib.suppress(OSError):
                content = (self.git_dir / "HEAD").read_text().strip()
                if content.startswith("ref: refs/"):
                    return content[5:].strip()
                if _HEX.match(content):
                    return None
        out = self.run("symbolic-ref", "--quiet", name, check=False).strip()
        return out or None

    def _packed_refs(self) -> dict[str, Oid]:
        path = self._packed_path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._packed is None or self._packed[0] != key:
            refs: dict[str, Oid] = {}
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for line in text.splitlines():
                if not line or line[0] in "#^":
                    continue
                oid, _, name = line.partition(" ")
                if _HEX.match(oid):  # NOTE: checked: not again by Oid() (a thousand branches)
                    refs[name] = str.__new__(Oid, oid)
            self._packed = (key, refs)
        return self._packed[1]

    def update_ref(self, refname: str, new: Oid, old: Oid | None, message: str, *,
                   env: Mapping[str, str] | None = None) -> None:
        """Move ``refname`` to ``new`` only if it still points at ``old`` (None: must not exist).

        ``env`` reaches git's hooks (``GITIMPROVE_VALIDATED=1`` after the validator passed)."""
        expected = old if old is not None else ZERO_OID
        try:
            self.run("update-ref", "-m", message, refname, new, expected, env=env)
        except GitCommandError as exc:
            current = self.read_ref(refname)
            if current != expected and not (old is None and current is None):
                what = "already exists" if old is None else f"moved to {current}"
                raise RefRaceError(
                    f"{refname} {what} (expected {'nothing' if old is None else old})",
                    hint="someone else changed it meanwhile; run the command again",
                ) from exc
            raise

    def update_refs(self, updates: Sequence[tuple[str, Oid | None, Oid | None]], message: str, *,
                    env: Mapping[str, str] | None = None) -> None:
        """Several compare-and-swaps in one atomic transaction: all move, or none does.

        Each update is ``(ref, new, old)``: ``new`` None deletes, ``old`` None means the ref
        must not exist yet. Raises :class:`RefRaceError` naming the first ref that moved."""
        lines = []
        for ref, new, old in updates:
            if new is None:
                lines.append(f"delete {ref} {old or ZERO_OID}")
            else:
                lines.append(f"update {ref} {new} {old or ZERO_OID}")
        try:
            self.run("update-ref", "-m", message, "--stdin", input="\n".join(lines) + "\n", env=env)
        except GitCommandError as exc:
            for ref, _, old in updates:
                current = self.read_ref(ref)
                if current != old:
                    raise RefRaceError(
                        f"{ref} {'already exists' if old is None else f'moved to {current}'} "
                        f"(expected {old or 'nothing'})",
                        hint="someone else changed it meanwhile; run the command again") from exc
            raise

    def delete_ref(self, refname: str, old: Oid, message: str) -> None:
        self.run("update-ref", "-m", message, "-d", refname, old)

    def match_refs(self, pattern: str) -> list[tuple[str, Oid]]:
        """Refs whose full name matches a glob (``refs/heads/improve/*/x``), read from the ref
        files and ``packed-refs`` without a subprocess; loose refs win over packed ones."""
        if self._reftable:
            return self.for_each_ref(pattern)
        found = {name: oid for name, oid in self._packed_refs().items()
                 if fnmatch.fnmatchcase(name, pattern)}
        for path in self.common_dir.glob(pattern):
            if path.is_file():
                name = path.relative_to(self.common_dir).as_posix()
                oid = self.read_ref(name)
                if oid is not None:
                    found[name] = oid
        return sorted(found.items())

    def for_each_ref(self, prefix: str) -> list[tuple[str, Oid]]:
        """Refs matching ``prefix`` as ``git for-each-ref`` matches it, sorted by name."""
        # NOTE: a folder of refs that holds nothing (no trials yet, say) is answered from the
        # ref files and packed-refs, without a git process: audit and status ask for several.
        if (not self._reftable and prefix.endswith("/") and not _per_worktree(prefix)
                and not (self.common_dir / prefix).exists()
                and not any(name.startswith(prefix) for name in self._packed_refs())):
            return []
        out = self.run("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        pairs = []
        for line in out.splitlines():
            name, _, oid = line.rpartition(" ")
            pairs.append((name, Oid(oid)))
        return pairs

    def rev_parse(self, rev: str) -> Oid | None:
        """Resolve any revision to a commit id, or None."""
        if rev.startswith("-"):
            return None
        # NOTE: asked of the object reader that is already running: `git rev-parse --verify`
        # resolves names the same way, in a process of its own.
        got = self._cat.read(rev + "^{commit}")
        return got[0] if got is not None and got[1] == "commit" else None

    # -- objects ------------------------------------------------------------------------

    def read_object(self, name: str) -> tuple[Oid, str, bytes] | None:
        return self._cat.read(name)

    def read_blob(self, name: str) -> tuple[Oid, bytes] | None:
        got = self._cat.read(name)
        if got is None or got[1] != "blob":
            return None
        return got[0], got[2]

    def read_tree(self, name: str) -> list[TreeEntry] | None:
        got = self._cat.read(name)
        if got is None or got[1] != "tree":
            return None
        return list(_parse_tree(got[2], len(got[0]) // 2))

    def read_commit(self, name: str) -> Commit:
        """A commit, parsed, read through the object reader (no subprocess)."""
        got = self._cat.read(name)
        if got is None or got[1] != "commit":
            raise GitCommandError(["git", "cat-file", "commit", name], 128, f"not a commit: {name}")
        header, _, message = got[2].decode("utf-8", "replace").partition("\n\n")
        tree, parents, author, when = None, [], "", 0
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = Oid(value)
            elif key == "parent":
                parents.append(Oid(value))
            elif key == "author":
                match = re.match(r"(.*) (\d+) [+-]\d{4}$", value)
                if match:
                    author, when = match.group(1), int(match.group(2))
        assert tree is not None
        return Commit(got[0], tree, parents, author, when, message)

    def tree_of(self, commit: str) -> Oid:
        """The root tree of a commit."""
        return self.read_commit(commit).tree

    def write_blob(self, data: bytes) -> Oid:
        return Oid(self.run("hash-object", "-w", "--stdin", input=data).strip())

    def write_tree(self, entries: Sequence[TreeEntry]) -> Oid:
        lines = "".join(
            f"{e.mode.rjust(6, '0')} {'tree' if e.is_tree else 'blob'} {e.oid}\t{e.name}\0"
            for e in entries
        )
        return Oid(self.run("mktree", "-z", input=lines).strip())

    def commit_tree(
        self,
        tree: Oid,
        parents: Sequence[Oid],
        message: str,
        *,
        author: Identity | None = None,
        committer: Identity | None = None,
    ) -> Oid:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env: dict[str, str] = {}
        if author:
            env |= {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email}
        if committer:
            env |= {"GIT_COMMITTER_NAME": committer.name, "GIT_COMMITTER_EMAIL": committer.email}
        return Oid(self.run(*args, input=message, env=env).strip())

    def user_identity(self) -> Identity | None:
        """``user.name``/``user.email`` from git config (or the environment), if set."""
        if self._identity is None:
            out = self.run("config", "--get-regexp", r"^user\.(name|email)$", check=False)
            found = dict(line.partition(" ")[::2] for line in out.splitlines())
            self._identity = (found.get("user.name", "").strip(), found.get("user.email", "").strip())
        name = os.environ.get("GIT_COMMITTER_NAME") or self._identity[0]
        email = os.environ.get("GIT_COMMITTER_EMAIL") or self._identity[1]
        return Identity(name, email) if name and email else None



def _per_worktree(refname: str) -> bool:
    return "/" not in refname or refname.startswith(("refs/bisect/", "refs/worktree/"))


def _parse_tree(data: bytes, hash_len: int) -> Iterator[TreeEntry]:
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = data[pos:space].decode()
        name = data[space + 1:nul].decode("utf-8", "surrogateescape")
        oid = data[nul + 1:nul + 1 + hash_len].hex()
        yield TreeEntry(mode, name, Oid(oid))
        pos = nul + 1 + hash_len


def replace_path(repo: Repository, tree: Oid, path: str, blob: Oid | None, mode: str = "100644") -> Oid:
    """A new tree like ``tree`` with the file at ``path`` set to ``blob`` (None: removed).

    Only the trees along the path are rewritten; everything else is shared."""
    head, _, rest = path.partition("/")
    entries = {e.name: e for e in (repo.read_tree(tree) or [])}
    if rest:
        sub = entries.get(head)
        base = sub.oid if sub is not None and sub.is_tree else _empty_tree(repo)
        new_sub = replace_path(repo, base, rest, blob, mode)
        entries[head] = TreeEntry("40000", head, new_sub)
    elif blob is None:
        entries.pop(head, None)
    else:
        entries[head] = TreeEntry(mode, head, blob)
    return repo.write_tree(list(entries.values()))


def _empty_tree(repo: Repository) -> Oid:
    return repo.write_tree([])


def merge_tree(repo: Repository, ours: Oid, theirs: Oid) -> tuple[Oid, list[str]]:
    """A real three-way merge in the object store (``git merge-tree --write-tree``).

    Returns the merged tree and the conflicted paths (empty when it merges cleanly)."""
    proc = repo.run("merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs,
                    check=False)
    lines = proc.splitlines()
    if not lines or not _HEX.match(lines[0]):
        _blame_an_old_git()
        raise GitCommandError(["git", "merge-tree", "--write-tree", ours, theirs], 1,
                              "could not merge (unrelated histories?)")
    return Oid(lines[0]), [line for line in lines[1:] if line]


def diff_trees(repo: Repository, old: Oid, new: Oid) -> list[tuple[str, Oid | None, Oid | None]]:
    """Files that differ between two trees (or commits): path, old blob, new blob."""
    out = repo.run("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", old, new)
    fields = out.split("\0")
    changes: list[tuple[str, Oid | None, Oid | None]] = []
    for i in range(0, len(fields) - 1, 2):
        meta, path = fields[i], fields[i + 1]
        parts = meta.lstrip(":").split()
        if len(parts) < 5:
            continue
        a, b = parts[2], parts[3]
        changes.append((path, None if set(a) == {"0"} else Oid(a), None if set(b) == {"0"} else Oid(b)))
    return changes


def read_changes(repo: Repository, old: Oid, new: Oid
                 ) -> list[tuple[str, Oid | None, Oid | None]] | None:
    """:func:`diff_trees` of two trees (or commits) through the object reader, without a
    process: the same files in the same order (a file whose mode alone changed included),
    reading only the subtrees that differ. None where the answer would need more than files
    and blobs: a path that is a file on one side and a folder on the other, an object
    missing."""
    try:
        trees = [o if repo.read_tree(o) is not None else repo.tree_of(o) for o in (old, new)]
    except GitCommandError:
        return None
    out: list[tuple[str, Oid | None, Oid | None]] = []
    return out if _changes(repo, trees[0], trees[1], "", out) else None


def _changes(repo: Repository, old: Oid | None, new: Oid | None, prefix: str,
             out: list[tuple[str, Oid | None, Oid | None]]) -> bool:
    """Add what differs under ``prefix`` between two trees (None: absent) to ``out``."""
    sides: list[dict[str, TreeEntry]] = []
    for tree in (old, new):
        entries = repo.read_tree(tree) if tree is not None else []
        if entries is None:
            return False  # a tree missing: git's own diff says so
        sides.append({e.name: e for e in entries})
    # NOTE: git's order: a folder sorts as its name with "/"
    names = sorted(sides[0].keys() | sides[1].keys(), key=lambda n: next(
        n + "/" if e.is_tree else n for e in (sides[0].get(n), sides[1].get(n)) if e))
    for name in names:
        a, b = sides[0].get(name), sides[1].get(name)
        if a is not None and b is not None and (a.mode, a.oid) == (b.mode, b.oid):
            continue
        if a is not None and b is not None and a.is_tree != b.is_tree:
            return False
        before, after = (a.oid if a else None), (b.oid if b else None)
        if (a is not None and a.is_tree) or (b is not None and b.is_tree):
            if not _changes(repo, before, after, f"{prefix}{name}/", out):
                return False
        else:
            out.append((prefix + name, before, after))
    return True


@dataclass(frozen=True)
class Worktree:
    path: Path
    branch: str | None

    def index_lock(self) -> Path:
        """Where git's index lock of this checkout lives (it exists while git writes the index)."""
        dotgit = self.path / ".git"
        if dotgit.is_file():  # a linked worktree: "gitdir: <path>"
            target = dotgit.read_text().strip().removeprefix("gitdir:").strip()
            return (self.path / target).resolve() / "index.lock"
        return dotgit / "index.lock"


def worktrees(repo: Repository) -> list[Worktree]:
    """Checkouts of this repository (the bare entry of a bare repository excluded)."""
    if not (repo.common_dir / "worktrees").is_dir():
        # The common case, read from files: one checkout (or none), no linked worktrees.
        if repo.work_tree is None:
            return []
        head = (repo.git_dir / "HEAD").read_text().strip()
        return [Worktree(repo.work_tree, head[5:].strip() if head.startswith("ref: ") else None)]
    out = repo.run("worktree", "list", "--porcelain")
    found: list[Worktree] = []
    for block in out.strip().split("\n\n"):
        info = dict(line.partition(" ")[::2] for line in block.splitlines())
        if "worktree" in info and "bare" not in info:
            found.append(Worktree(Path(info["worktree"]), info.get("branch")))
    return found


def run_in(path: Path, *args: str, check: bool = True,
           env: Mapping[str, str] | None = None) -> str:
    """Run git inside a checkout (for the few commands that must see its index)."""
    proc = subprocess.run(["git", *args], cwd=str(path), capture_output=True, env=clean_env(env))
    if check and proc.returncode != 0:
        raise command_error(["git", *args], proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode("utf-8", "replace")


_LOCK_RE = re.compile(r"Unable to create '([^']+\.lock)': File exists")


def command_error(argv: list[str], returncode: int, stderr: str) -> GitCommandError:
    """The error for a failed git command; a lock file in the way gets a message naming it."""
    _blame_an_old_git()
    found = _LOCK_RE.search(stderr)
    if found:
        lock = found.group(1)
        return StaleLockError(argv, returncode, stderr, lock=lock, holder=lock_holder(Path(lock)))
    return GitCommandError(argv, returncode, stderr)


def lock_holder(lock: Path) -> str:
    """Who holds a git lock file, as far as this machine can tell: a process that has it open,
    or its age when none has (a lock left by a killed git is never removed by git itself)."""
    try:
        age = max(0.0, time.time() - lock.stat().st_mtime)
    except OSError:
        return "it is gone now (another command finished meanwhile)"
    for pid in _processes_holding(lock):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            name = "?"
        return f"process {pid} ({name}) has it open: another command is running"
    return (f"no process has it open (it is {age:.0f} s old): it was most likely left by a git "
            "command that was killed")


def _processes_holding(path: Path) -> Iterator[int]:
    target = str(path.resolve()) if path.exists() else str(path)
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                for fd in os.scandir(f"/proc/{entry.name}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(fd.path) == target:
                            yield int(entry.name)
                            break


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock held for the block (released when the process dies, too)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("a")
    except OSError as exc:
        raise GitImproveError(f"cannot create the lock {path}: {exc.strerror}",
                              hint="check that you may write to the repository's git directory") from None
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_json(path: Path, data: object) -> None:
    """Write a cache file (under :attr:`Repository.state_dir`) as JSON: see :func:`write_cache`."""
    import json  # only here: most commands never write a cache

    write_cache(path, json.dumps(data, separators=(",", ":")).encode())  # one C-encoded write


def write_cache(path: Path, data: bytes) -> None:
    """Write a cache file (under :attr:`Repository.state_dir`) whole or not at all: a
    temporary file renamed over it, so a SIGKILL never leaves half a file."""
    # NOTE: a cache only; a read-only repository (or a full disk) simply goes without it.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # only here: most commands never write a cache

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
