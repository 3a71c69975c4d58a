"""Bad input, driven through the installed command as a hostile-but-realistic user would.

The project's standard: bad input gets a clear error and loses nothing. A refusal is exit 1
with a one-line ``error: ...`` on stderr (a mistake on the command line: exit 2, with a hint
pointing to the command's ``--help``), never
a traceback, never exit 3 (an internal error), and git and the feedback database are exactly
as they were before the command. Cases that misbehave today are ``xfail(strict=True)`` with
the bug in the reason: fix the bug, then remove the marker.

Runs in well under a minute: the shared repositories are built once per module and copied per
test; the one slow case (an unreachable Anthropic endpoint, retried with backoff) runs in the
background from the start of the module.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE, commit_file, git
from tests.fakes.anthropic_server import FakeAnthropicServer, tool_use

FEEDBACK = SAMPLE / "feedback.jsonl"
PW = "product-writer"


# -- running the command ----------------------------------------------------------------------

@dataclass
class State:
    """Everything a refused command must leave as it was."""

    refs: str
    status: str
    commits: int
    feedback_rows: int | None
    files: list[str]


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "ANTHROPIC_", "GITIMPROVE_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               AGNO_TELEMETRY="false")
    env.update(extra)
    return env


def _make_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / ".gitconfig").write_text(
        "[user]\n\tname = Test Reviewer\n\temail = reviewer@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    return path


_HOME: Path | None = None


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        prefix: list[str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m gitimprove ARGS`` in ``cwd``, with a fixed HOME and git identity."""
    assert _HOME is not None
    return subprocess.run([*(prefix or []), sys.executable, "-m", "gitimprove", *args], cwd=cwd,
                          capture_output=True, text=True, input=stdin, timeout=timeout,
                          env={**_env(_HOME), **(env or {})})


def feedback_rows(repo: Path) -> int | None:
    db = repo / ".gitimprove" / "feedback.db"
    if not db.is_file():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(con.execute("select count(*) from feedback").fetchone()[0])
    except sqlite3.DatabaseError:
        return -1
    finally:
        con.close()


def state(repo: Path) -> State:
    def g(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                              env=_env(_HOME or repo)).stdout

    # NOTE: SQLite's -wal/-shm files come and go with every connection; they are not state.
    files = sorted(str(p.relative_to(repo)) for p in repo.rglob("*")
                   if ".git" not in p.relative_to(repo).parts[:1]
                   and not p.name.endswith(("-wal", "-shm")))
    return State(g("for-each-ref"), g("status", "--porcelain", "--ignored"),
                 len(g("log", "--all", "--oneline").splitlines()), feedback_rows(repo), files)


def assert_clean_refusal(proc: subprocess.CompletedProcess[str], *, usage_ok: bool = False,
                         hint: bool = False) -> None:
    """Exit 1 and ``error: ...`` (or exit 2 for a usage error), no traceback, never exit 3."""
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both, both
    assert "internal error" not in both, both
    assert proc.returncode != 3, both
    if usage_ok and proc.returncode == 2:
        assert proc.stderr.startswith("error: gitimprove") and "Usage:" not in both, both
        assert proc.stderr.endswith(" --help`\n"), both
        return
    assert proc.returncode == 1, both
    assert proc.stderr.startswith("error: "), both
    if hint:
        assert "hint:" in proc.stderr, both


def refused(repo: Path, *args: str, usage_ok: bool = False, hint: bool = False,
            cwd: Path | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command that must be refused, and check that it changed nothing."""
    before = state(repo)
    proc = run(cwd or repo, *args, **kw)
    assert_clean_refusal(proc, usage_ok=usage_ok, hint=hint)
    assert state(repo) == before, f"state changed by {args}: {proc.stderr}"
    return proc


def refused_table(cases: dict[str, Callable[[], None]]) -> None:
    """Run independent cases side by side (each one CLI call) and report every failure.

    NOTE: Python's start-up is most of each call; running a table in a few threads keeps the
    module under a minute."""
    def one(item: tuple[str, Callable[[], None]]) -> str | None:
        try:
            item[1]()
        except AssertionError as exc:
            return f"[{item[0]}] {exc}"
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [f for f in pool.map(one, cases.items()) if f]
    assert not failures, "\n\n".join(failures)


def expect_refusal(repo: Path, args: list[str], expected: str = "", *, hint: bool = False,
                   usage_ok: bool = False) -> Callable[[], None]:
    def case() -> None:
        proc = refused(repo, *args, hint=hint, usage_ok=usage_ok)
        assert expected in proc.stderr, proc.stderr
    return case


def no_crash(repo: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command that may succeed or refuse, but must not crash."""
    proc = run(repo, *args, **kw)
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both and proc.returncode in (0, 1), both
    return proc


# -- shared repositories ----------------------------------------------------------------------

@dataclass
class Bases:
    plain: Path         # `gitimprove init --from sample_repo`
    with_feedback: Path  # + the sample feedback imported
    proposed: Path      # + one open proposal per agent
    ids: dict[str, str]  # agent -> open proposal id in `proposed`


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> Bases:
    global _HOME
    _HOME = _make_home(tmp_path_factory.mktemp("cli-home"))
    root = tmp_path_factory.mktemp("bases")
    plain = root / "plain"
    proc = run(root, "init", str(plain), "--from", str(SAMPLE))
    assert proc.returncode == 0, proc.stderr
    with_feedback = root / "with_feedback"
    shutil.copytree(plain, with_feedback, symlinks=True)
    assert run(with_feedback, "feedback", "import", str(FEEDBACK)).returncode == 0
    proposed = root / "proposed"
    shutil.copytree(with_feedback, proposed, symlinks=True)
    assert run(proposed, "propose", "--all").returncode == 0
    listing = json.loads(run(proposed, "proposals", "--json").stdout)["proposals"]
    ids = {p["agent"]: p["id"] for p in listing}
    assert len(ids) == 3, listing
    return Bases(plain, with_feedback, proposed, ids)


def copy(src: Path, tmp_path: Path, name: str = "repo") -> Path:
    dest = tmp_path / name
    shutil.copytree(src, dest, symlinks=True)
    return dest


@pytest.fixture
def repo(bases: Bases, tmp_path: Path) -> Path:
    return copy(bases.plain, tmp_path)


@pytest.fixture
def fb_repo(bases: Bases, tmp_path: Path) -> Path:
    return copy(bases.with_feedback, tmp_path)


@pytest.fixture
def prop_repo(bases: Bases, tmp_path: Path) -> Path:
    return copy(bases.proposed, tmp_path)


# The one slow case starts when the module does, and is judged by the last test.
@dataclass
class Background:
    proc: subprocess.Popen[str]
    started: float
    repo: Path
    ended: float = 0.0
    out: str = ""
    err: str = ""


@pytest.fixture(scope="module", autouse=True)
def unreachable_api(bases: Bases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    repo = tmp_path_factory.mktemp("unreachable") / "repo"
    shutil.copytree(bases.with_feedback, repo, symlinks=True)
    assert _HOME is not None
    env = _env(_HOME, ANTHROPIC_API_KEY="x", ANTHROPIC_BASE_URL="http://127.0.0.1:9")
    proc = subprocess.Popen([sys.executable, "-m", "gitimprove", "propose", PW], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    bg = Background(proc, time.monotonic(), repo)

    def wait() -> None:
        bg.out, bg.err = proc.communicate()
        bg.ended = time.monotonic()

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    yield bg
    if proc.poll() is None:
        proc.kill()
    waiter.join(5)


# -- arguments --------------------------------------------------------------------------------

def test_usage_errors(repo: Path) -> None:
    refused_table({" ".join(a): expect_refusal(repo, a, usage_ok=True) for a in [
        ["show", "a", "b", "c"], ["diff", PW, "v1"], ["feedback", "record"],
        ["propose", PW, "--proposer", "bogus"]]})


def test_a_name_that_is_not_utf8_is_a_clear_refusal(repo: Path) -> None:
    refused(repo, "show", "\udcff")  # argv's byte 0xff: was an internal error (exit 3)


@pytest.mark.parametrize("args", [["push"]], ids=lambda a: " ".join(a))
def test_missing_target_is_a_clear_refusal(repo: Path, args: list[str]) -> None:
    refused(repo, *args, hint=True)


# -- where it runs ----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["feedback", "list"]], ids=lambda a: a[0])
def test_outside_a_git_repository(tmp_path: Path, bases: Bases, args: list[str]) -> None:
    proc = run(tmp_path, *args)
    assert_clean_refusal(proc, hint=True)
    assert "not inside a git repository" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_repo_option_pointing_nowhere(repo: Path) -> None:
    proc = refused(repo, "--repo", str(repo / "missing"), "agents", hint=True)
    assert "missing" in proc.stderr


@pytest.mark.parametrize(("bare", "args"), [
    (False, ["feedback", "record", "--agent", PW, "--rating", "up"]),
    (True, ["agents"]),
], ids=["empty-record", "bare-empty-agents"])
def test_repository_without_commits(tmp_path: Path, bases: Bases, bare: bool,
                                    args: list[str]) -> None:
    target = tmp_path / "r"
    git(tmp_path, "init", "-q", *(["--bare"] if bare else []), str(target))
    proc = refused(target, *args, hint=True)
    assert "no main branch" in proc.stderr


def test_bare_repository_with_commits_works(bases: Bases, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(bases.plain), str(bare))
    # NOTE: run from outside the bare repository: see the pre-receive test below for why.
    assert run(tmp_path, "--repo", str(bare), "agents").returncode == 0
    refused(bare, "--repo", str(bare), "rollback", f"{PW}@v2", cwd=tmp_path)  # already current


def test_pre_receive_hook_survives_the_version_cache(bases: Bases, tmp_path: Path) -> None:
    server = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--bare", str(bases.plain), str(server))
    assert run(server, "hooks", "install").returncode == 0
    assert run(tmp_path, "--repo", str(server), "agents").returncode == 0  # an admin looks
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server), str(clone))
    commit_file(clone, "README.md", "a human edit\n", "human edit")
    push = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=clone,
                          capture_output=True, text=True)
    assert "Traceback" not in push.stderr
    assert push.returncode == 0, push.stderr


def test_detached_head_works(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "HEAD")
    assert run(repo, "validate").returncode == 0


# -- a broken policy committed on main --------------------------------------------------------

@pytest.mark.parametrize(("text", "where"), [
    ("version: 1\nmain_branch: [main\n", "gitimprove.yaml:3:1"),
    ("version: 1\nbogus_key: 3\n", "bogus_key"),
    ("version: 1\nlimits:\n  max_operations: lots\n", "limits.max_operations"),
    ("version: 1\nagents_dir: ../../etc\n", "agents_dir"),
], ids=["syntax", "unknown-key", "wrong-type", "agents-dir-escape"])
def test_broken_policy_on_main(repo: Path, text: str, where: str) -> None:
    commit_file(repo, "gitimprove.yaml", text, "break the policy")
    # two ways in per variant, a different pair each time
    ways = [["agents"], ["feedback", "record", "--agent", PW, "--rating", "up"], ["propose", PW],
            ["audit"]]
    first = len(text) % len(ways)
    pair = [ways[first], ways[(first + 1) % len(ways)]]
    refused_table({" ".join(a): expect_refusal(repo, a, where) for a in pair})


def test_policy_not_utf8(repo: Path) -> None:
    (repo / "gitimprove.yaml").write_bytes(b"\xff\xfe bad")
    git(repo, "commit", "-qam", "binary policy")
    proc = refused(repo, "agents", hint=True)
    assert "UTF-8" in proc.stderr


def test_validate_fails_closed_on_a_broken_policy(repo: Path) -> None:
    commit_file(repo, "gitimprove.yaml", "version: 1\nbogus: 1\n", "break")
    proc = run(repo, "validate")
    assert proc.returncode == 1 and "policy does not parse" in proc.stdout


def test_import_with_a_broken_policy_creates_nothing(repo: Path) -> None:
    commit_file(repo, "gitimprove.yaml", "version: 1\nlimits: 5\n", "break")
    refused(repo, "feedback", "import", str(FEEDBACK))


# -- broken agent files committed on main -----------------------------------------------------

BAD_AGENTS: dict[str, tuple[bytes, str]] = {
    "tag": (b"name: tag\nsections:\n  - id: role\n    text: !!python/object:os.system ls\n",
            "tag"),
    "anchor": (b"name: anchor\nsections:\n  - &a\n    id: role\n    text: hi\n  - *a\n", "anchor"),
    "dupkey": (b"name: dupkey\nname: dupkey\nsections:\n  - id: role\n    text: hi\n",
               "duplicate key"),
    "badslug": (b"name: badslug\nsections:\n  - id: Bad Slug!\n    text: hi\n", "slug"),
    "mismatch": (b"name: other-name\nsections:\n  - id: role\n    text: hi\n", "file name"),
    "nonstr": (b"name: nonstr\nsections:\n  - id: role\n    rules:\n      - 42\n      - yes\n",
               "rules[0]"),
    "multidoc": (b"name: multidoc\nsections:\n  - id: role\n    text: hi\n---\nname: x\n",
                 "more than one YAML document"),
    "nosections": (b"name: nosections\nsections: []\n", "at least one section"),
    "undeclared": (b"name: undeclared\nsections:\n  - id: role\n    text: hi {{who}}\n", "{{who}}"),
    "dupid": (b"name: dupid\nsections:\n  - id: role\n    text: a\n  - id: role\n    text: b\n",
              "duplicate section id"),
    "scalar": (b"just a string\n", "mapping"),
    "empty": (b"", "mapping"),
    "unknown": (b"name: unknown\nfoo: 1\nsections:\n  - id: role\n    text: hi\n", "foo"),
    "syntax": (b"name: syntax\nsections:\n  - id: role\n    text: [unclosed\n", "syntax"),
    "binary": (bytes(range(256)) * 4, "UTF-8"),
    "badutf8": (b"name: badutf8\nsections:\n  - id: role\n    text: caf\xe9\n", "UTF-8"),
}


@pytest.fixture(scope="module")
def bad_agents_repo(bases: Bases, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("bad-agents") / "repo"
    shutil.copytree(bases.plain, dest, symlinks=True)
    for name, (raw, _) in BAD_AGENTS.items():
        (dest / "agents" / f"{name}.yaml").write_bytes(raw)
    big = "name: big\nsections:\n  - id: role\n    rules:\n" + "".join(
        f"      - rule number {i} {'x' * 80}\n" for i in range(55_000))
    (dest / "agents" / "big.yaml").write_text(big)  # about 5.8 MB
    env = _env(_HOME or dest)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "bad agents"], cwd=dest, check=True, env=env)
    return dest


def test_show_an_invalid_agent_file(bad_agents_repo: Path) -> None:
    def case(name: str) -> Callable[[], None]:
        def check() -> None:
            proc = refused(bad_agents_repo, "show", name)
            assert f"agents/{name}.yaml" in proc.stderr, proc.stderr  # where
            assert BAD_AGENTS[name][1] in proc.stderr, proc.stderr   # what
        return check

    refused_table({name: case(name) for name in BAD_AGENTS
                   if name not in ("scalar", "empty", "unknown", "syntax", "dupid", "multidoc")})


def test_invalid_agents_do_not_break_the_others(bad_agents_repo: Path) -> None:
    assert run(bad_agents_repo, "show", PW).returncode == 0
    refused(bad_agents_repo, "agents")  # one broken file: refused, clearly


def test_a_5mb_agent_file(bad_agents_repo: Path) -> None:
    proc = no_crash(bad_agents_repo, "history", "big")
    assert proc.returncode == 0


# -- feedback import --------------------------------------------------------------------------

def _jl(*records: Any) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


OK = {"agent": PW, "rating": "negative", "reason": "too long"}
IMPORTS: dict[str, tuple[str, bytes, str]] = {
    "bad-json": ("f.jsonl", _jl(OK, "{bad json"), "line 2: bad JSON"),
    "not-object": ("f.jsonl", _jl("[1,2]", "42"), "JSON object"),
    "meh": ("f.jsonl", _jl({**OK, "rating": "meh"}), "'meh' is not a rating"),
    "unknown-agent": ("f.jsonl", _jl({**OK, "agent": "support"}), "did you mean 'support-agent'"),
    "huge-reason": ("f.jsonl", _jl({**OK, "reason": "x" * 20_000}), "limit is 10,000"),
    "huge-line": ("f.jsonl", _jl({**OK, "input": "x" * 3_000_000}), "2 MiB"),
    "unknown-field": ("f.jsonl", _jl({**OK, "foo": 1}), "unknown field 'foo'"),
    "empty-record": ("f.jsonl", _jl({"agent": PW}), "empty feedback"),
    "bad-signal": ("f.jsonl", _jl({**OK, "signals": {"regenerated": "maybe"}}), "maybe"),
    "nan-signal": ("f.jsonl", _jl('{"agent":"product-writer","signals":{"x":NaN}}'), "finite"),
    "bad-date": ("f.jsonl", _jl({**OK, "created_at": "yesterday"}), "ISO 8601"),
    "dup-id": ("f.jsonl", _jl({**OK, "id": "a"}, {**OK, "id": "a", "reason": "other"}),
               "different content"),
    "nul": ("f.jsonl", _jl({**OK, "reason": "a\u0000b"}), "NUL"),
    "metadata-list": ("f.jsonl", _jl({**OK, "metadata": [1, 2]}), "must be an object"),
    "deep-json": ("f.jsonl", _jl('{"agent":"product-writer","metadata":' + "[" * 100_000
                                 + "]" * 100_000 + "}"), "nested too deeply"),
    "bad-utf8": ("f.jsonl", b'{"agent":"product-writer","rating":"up","reason":"caf\xe9"}\n',
                 "not valid UTF-8"),
    "utf16": ("f.jsonl", '{"agent":"product-writer","rating":"up"}\n'.encode("utf-16"), "UTF-8"),
    "csv-missing-agent": ("f.csv", b"rating,reason\nup,nice\n", "missing column(s) 'agent'"),
    "csv-no-content-column": ("f.csv", b"agent,user_id\nproduct-writer,u\n", "missing column"),
    "csv-unknown-column": ("f.csv", b"agent,rating,bogus\nproduct-writer,up,1\n", "bogus"),
    "csv-repeated-column": ("f.csv", b"agent,rating,rating\nproduct-writer,up,down\n", "twice"),
    "csv-meh": ("f.csv", b"agent,rating\nproduct-writer,meh\n", "'meh' is not a rating"),
    "csv-field-count": ("f.csv", b"agent,rating\nproduct-writer,up,extra\n", "expected 2 fields"),
    "csv-bad-signals": ("f.csv", b"agent,signals\nproduct-writer,regenerated\n", "name=value"),
    "csv-huge-field": ("f.csv", b'agent,rating,reason\nproduct-writer,up,"' + b"x" * 3_000_000
                       + b'"\n', "field limit"),
    "csv-bad-utf8": ("f.csv", b"agent,rating,reason\nproduct-writer,up,caf\xe9\n", "UTF-8"),
    "binary": ("f.bin", bytes(range(256)), "unknown CSV column"),
}


IMPORT_CASES = ["bad-json", "not-object", "meh", "unknown-agent", "huge-line", "unknown-field",
                "empty-record", "nan-signal", "dup-id", "bad-utf8", "csv-missing-agent",
                "csv-repeated-column", "csv-field-count", "csv-huge-field"]


def test_import_refuses_bad_files_and_imports_nothing(bases: Bases, tmp_path: Path) -> None:
    cases = {}
    for case in IMPORT_CASES:
        name, data, expected = IMPORTS[case]
        repo = copy(bases.with_feedback, tmp_path, case)
        src = tmp_path / f"{case}-{name}"
        src.write_bytes(data)
        cases[case] = expect_refusal(repo, ["feedback", "import", str(src)], expected)
    refused_table(cases)


def test_import_missing_file(fb_repo: Path, tmp_path: Path) -> None:
    proc = refused(fb_repo, "feedback", "import", str(tmp_path / "missing.jsonl"))
    assert "No such file" in proc.stderr


def test_import_a_directory(fb_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    proc = refused(fb_repo, "feedback", "import", str(tmp_path / "dir.jsonl"))
    assert "directory" in proc.stderr


@pytest.mark.parametrize("content", [b""], ids=["empty"])
def test_import_an_empty_file_adds_nothing(fb_repo: Path, tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_bytes(content)
    before = state(fb_repo)
    no_crash(fb_repo, "feedback", "import", str(src))
    assert state(fb_repo) == before


def test_import_agent_of_the_wrong_type_says_so(fb_repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "f.jsonl"
    src.write_bytes(_jl({**OK, "agent": 5}))
    proc = refused(fb_repo, "feedback", "import", str(src))
    assert "missing" not in proc.stderr


def test_import_unterminated_csv_quote(fb_repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "f.csv"
    src.write_bytes(b'agent,rating,reason\nproduct-writer,up,"never closed\n')
    refused(fb_repo, "feedback", "import", str(src))


def test_import_out_of_range_date(fb_repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "f.jsonl"
    src.write_bytes(_jl({**OK, "created_at": "9999-12-31T23:59:59-05:00"}))
    refused(fb_repo, "feedback", "import", str(src))


# -- feedback record --------------------------------------------------------------------------

REC = ["feedback", "record", "--agent", PW]


RECORD_CASES: list[tuple[list[str], str]] = [
    ([], "empty feedback"),
    (["--reason", ""], "empty feedback"),
    (["--rating", "meh"], "'meh' is not a rating"),
    (["--signal", "regenerated"], "NAME=VALUE"),
    (["--signal", "a b=1"], "signal name"),
    (["--signal", "x=nan"], "finite"),
    (["--rating", "up", "--metadata", "{bad"], "not JSON"),
    (["--rating", "up", "--created-at", "yesterday"], "is not a date"),
    (["--rating", "up", "--version", "../../etc"], "not a version"),
    (["--rating", "up", "--run-id", "x" * 300], "run_id"),
    (["--reason", "x" * 20_000], "limit is 10,000"),
]


def test_record_refuses(bases: Bases, tmp_path: Path) -> None:
    cases = {}
    for n, (args, expected) in enumerate(RECORD_CASES):
        repo = copy(bases.with_feedback, tmp_path, f"r{n}")
        cases[" ".join(args)[:40]] = expect_refusal(repo, [*REC, *args], expected)
    refused_table(cases)


@pytest.mark.parametrize("agent", ["supprt-agent"])
def test_record_unknown_agent(fb_repo: Path, agent: str) -> None:
    refused(fb_repo, "feedback", "record", "--agent", agent, "--rating", "up", hint=True)


@pytest.mark.parametrize("metadata", ["[1]", "[]"])
def test_record_metadata_not_an_object(fb_repo: Path, metadata: str) -> None:
    refused(fb_repo, *REC, "--rating", "up", "--metadata", metadata)


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+05:00"])
def test_record_created_at_out_of_range(fb_repo: Path, created_at: str) -> None:
    refused(fb_repo, *REC, "--rating", "up", "--created-at", created_at)


def test_record_reused_id_with_other_content(fb_repo: Path) -> None:
    assert run(fb_repo, *REC, "--rating", "up", "--id", "dup1").returncode == 0
    refused(fb_repo, *REC, "--rating", "down", "--id", "dup1")


# -- dates ------------------------------------------------------------------------------------

def test_bad_since(fb_repo: Path) -> None:
    cases = {}
    for cmd, since in ((["feedback", "list"], "garbage"), (["feedback", "list"], "-5d"),
                       (["feedback", "stats"], "2026-13-01"), (["audit"], "garbage"),
                       (["audit"], "7x"), (["analyze", PW], "")):
        cases[f"{cmd[-1]} {since!r}"] = expect_refusal(
            fb_repo, [*cmd, "--since", since], "is not a date", hint=True)
    refused_table(cases)


@pytest.mark.parametrize("since", ["10000000000d"])
def test_since_out_of_range(fb_repo: Path, since: str) -> None:
    refused(fb_repo, "feedback", "list", "--since", since)


def test_list_unknown_version(fb_repo: Path) -> None:
    refused(fb_repo, "feedback", "list", "--version", "garbage")


def test_analyze_unknown_version(fb_repo: Path) -> None:
    refused(fb_repo, "analyze", PW, "--version", "v999", hint=True)


@pytest.mark.parametrize("cmd", [["feedback", "stats", "--agent", "nope"]], ids=lambda c: c[-2])
def test_unknown_agent_in_reads(fb_repo: Path, cmd: list[str]) -> None:
    refused(fb_repo, *cmd, hint=True)


# -- the feedback database ---------------------------------------------------------------------

def test_broken_feedback_databases(bases: Bases, tmp_path: Path) -> None:
    def repo_with(name: str) -> Path:
        repo = copy(bases.plain, tmp_path, name)
        (repo / ".gitimprove").mkdir(exist_ok=True)
        return repo

    directory = repo_with("directory")
    (directory / ".gitimprove" / "feedback.db").mkdir()
    not_sqlite = repo_with("not-sqlite")
    (not_sqlite / ".gitimprove" / "feedback.db").write_text("not sqlite at all")
    foreign = repo_with("foreign")
    con = sqlite3.connect(foreign / ".gitimprove" / "feedback.db")
    con.execute("create table x(a)")
    con.commit()
    con.close()
    mysql = repo_with("mysql")

    def unsupported_url() -> None:
        proc = refused(mysql, *REC, "--rating", "up", env={"GITIMPROVE_FEEDBACK_URL": "mysql://x"},
                       hint=True)
        assert "unsupported feedback URL" in proc.stderr

    refused_table({
        "directory": expect_refusal(directory, ["feedback", "list"], "directory", hint=True),
        "not-sqlite": expect_refusal(not_sqlite, [*REC, "--rating", "up"],
                                     "not a SQLite database", hint=True),
        "foreign": expect_refusal(foreign, ["feedback", "list"],
                                  "not a gitimprove feedback database", hint=True),
        "unsupported-url": unsupported_url,
    })
    assert (not_sqlite / ".gitimprove" / "feedback.db").read_text() == "not sqlite at all"


def test_locked_database(fb_repo: Path) -> None:
    db = fb_repo / ".gitimprove" / "feedback.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1]); "
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        url = "sqlite:///.gitimprove/feedback.db?timeout=1"
        started = time.monotonic()
        proc = refused(fb_repo, *REC, "--rating", "up", env={"GITIMPROVE_FEEDBACK_URL": url},
                       hint=True)
        assert "locked by another process" in proc.stderr
        assert time.monotonic() - started < 15
    finally:
        holder.kill()
        holder.wait()


def _without_dac_override() -> list[str] | None:
    """A prefix under which file permissions apply, even to root (or None when impossible)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    probe = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search",
                            "--inh-caps=-all", "true"], capture_output=True)
    if probe.returncode != 0:
        return None
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


@pytest.mark.parametrize("folder_too", [True], ids=["file-and-folder"])
def test_read_only_database(fb_repo: Path, folder_too: bool) -> None:
    prefix = _without_dac_override()
    if prefix is None:
        pytest.skip("cannot drop root's permission override here (no setpriv)")
    folder = fb_repo / ".gitimprove"
    db = folder / "feedback.db"
    db.chmod(0o444)
    if folder_too:
        folder.chmod(0o555)
    try:
        proc = refused(fb_repo, *REC, "--rating", "up", prefix=prefix, hint=True)
        assert "read-only" in proc.stderr
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)


# -- show, diff, history, validate -------------------------------------------------------------

def test_bad_versions_and_revisions(repo: Path) -> None:
    table: list[tuple[list[str], str]] = [
        (["show", PW, "--at", "nonsense"], "not a branch, tag or commit"),
        (["show", PW, "--at", "v0"], "no version v0"),
        (["show", PW, "--at", "v999"], "no version v999"),
        (["show", PW, "--at", "main:gitimprove.yaml"], "not a branch"),
        (["show", "../gitimprove"], "no agent"),
        (["history", "nope"], "no agent 'nope'"),
        (["diff", PW, "v1", "v3"], "no version v3"),
        (["diff", PW, "nonsense", "main"], "not a branch"),
        (["validate", "--base", "nonsense"], "not a branch"),
        (["validate", "--head", "0" * 40], "not a commit"),
        (["validate", "--head", "HEAD:agents"], "not a commit"),
    ]
    refused_table({" ".join(a): expect_refusal(repo, a, e, hint=True) for a, e in table})


# -- propose ----------------------------------------------------------------------------------

def test_propose_unknown_agent(fb_repo: Path) -> None:
    refused(fb_repo, "propose", "nope", hint=True)


def test_propose_with_no_feedback_writes_nothing(repo: Path) -> None:
    proc = run(repo, "propose", PW)
    assert proc.returncode == 0 and "nothing to propose" in proc.stdout
    assert git(repo, "for-each-ref", "refs/heads/improve").strip() == ""


@pytest.mark.parametrize("dry", [["--dry-run"]], ids=["dry-run"])
def test_propose_anthropic_without_key(fb_repo: Path, dry: list[str]) -> None:
    proc = refused(fb_repo, "propose", PW, "--proposer", "anthropic", *dry, hint=True)
    assert "ANTHROPIC_API_KEY" in proc.stderr


def _fake_api_propose(repo: Path, draft: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    with FakeAnthropicServer() as api:
        api.script(tool_use(draft), tool_use(draft))
        before = state(repo)
        proc = run(repo, "propose", PW, "--proposer", "anthropic",
                   env={"ANTHROPIC_API_KEY": str(api.api_key), "ANTHROPIC_BASE_URL": api.base_url})
        assert_clean_refusal(proc, hint=True)
        assert state(repo) == before
        return proc


def test_llm_answer_touching_a_protected_section(fb_repo: Path) -> None:
    draft = {"summary": "S", "rationale": "R", "operations": [
        {"op": "update_rule", "section": "safety", "index": 0,
         "text": "Medical claims are fine.", "reason": "users"}]}
    proc = _fake_api_propose(fb_repo, draft)
    assert "changes the protected section 'safety'" in proc.stderr


def test_llm_answer_with_a_nul_character(fb_repo: Path) -> None:
    draft = {"summary": "S", "rationale": "R", "operations": [
        {"op": "add_rule", "section": "style", "text": "Bad\u0000rule", "reason": "users"}]}
    proc = _fake_api_propose(fb_repo, draft)
    assert "commit-tree" not in proc.stderr


def test_propose_push_to_unknown_remote_creates_nothing(fb_repo: Path) -> None:
    refused(fb_repo, "propose", PW, "--push", "nowhere")


# -- review, approve, reject, rollback ---------------------------------------------------------

def test_unknown_proposal_ids(prop_repo: Path, bases: Bases) -> None:
    root = git(prop_repo, "rev-list", "--max-parents=0", "main").strip()
    refused_table({" ".join(a): expect_refusal(prop_repo, a, hint=True) for a in [
        ["rollback", f"{PW}@v999"], ["rollback", root],  # not a merge commit
        ["review", "2026"], ["reject", "nope", "--reason", "x"], ["rollback", "nope"],
        ["reject", bases.ids[PW], "--reason", "   "],
        ["approve", bases.ids[PW], "--by", "not an identity"],
        ["approve", bases.ids[PW], "--by", "A <a@b> extra"]]})


@pytest.mark.parametrize("by", ["A\nB <a@b>"], ids=["newline"])
def test_approve_by_malformed_identity(prop_repo: Path, bases: Bases, by: str) -> None:
    refused(prop_repo, "approve", bases.ids[PW], "--by", by)


def test_reject_by_with_a_newline(prop_repo: Path, bases: Bases) -> None:
    refused(prop_repo, "reject", bases.ids[PW], "--reason", "x", "--by", "R\nS <r@s>")


def test_lifecycle_refusals(prop_repo: Path, bases: Bases) -> None:
    pw, ra = bases.ids[PW], bases.ids["research-assistant"]
    assert run(prop_repo, "approve", pw).returncode == 0
    refused(prop_repo, "approve", pw)
    refused(prop_repo, "rollback", "research-assistant@v1")  # already at v1
    assert run(prop_repo, "rollback", pw).returncode == 0
    refused(prop_repo, "rollback", pw)
    assert run(prop_repo, "reject", ra, "--reason", "too vague").returncode == 0
    refused(prop_repo, "approve", ra)
    refused(prop_repo, "rollback", ra, hint=True)


def test_approve_with_a_broken_policy_is_refused(prop_repo: Path, bases: Bases) -> None:
    commit_file(prop_repo, "gitimprove.yaml", "version: 1\nbogus: 1\n", "break")
    proc = refused(prop_repo, "approve", bases.ids[PW])
    assert "policy does not parse" in proc.stderr


def test_approve_with_a_locked_index_changes_nothing(prop_repo: Path, bases: Bases) -> None:
    (prop_repo / ".git" / "index.lock").touch()
    try:
        refused(prop_repo, "approve", bases.ids[PW])
    finally:
        (prop_repo / ".git" / "index.lock").unlink()


def test_approve_with_main_locked_names_the_lock(prop_repo: Path, bases: Bases) -> None:
    lock = prop_repo / ".git" / "refs" / "heads" / "main.lock"
    lock.touch()
    try:
        proc = refused(prop_repo, "approve", bases.ids[PW])
        assert "main.lock" in proc.stderr
    finally:
        lock.unlink()


# -- hooks ------------------------------------------------------------------------------------

def test_hooks_install_twice_and_a_foreign_hook(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    assert run(repo, "hooks", "install").returncode == 0
    assert run(repo, "hooks", "install").returncode == 0
    assert run(repo, "hooks", "uninstall").returncode == 0
    foreign = hooks / "pre-merge-commit"
    foreign.write_text("#!/bin/sh\necho foreign\n")
    foreign.chmod(0o755)
    proc = refused(repo, "hooks", "install", hint=True)
    assert "not gitimprove's" in proc.stderr
    assert foreign.read_text() == "#!/bin/sh\necho foreign\n"
    assert not (hooks / "reference-transaction").exists()


def test_hooks_path_is_a_file(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", str(repo / "gitimprove.yaml"))
    refused(repo, "hooks", "install")


def test_hook_path_is_a_directory(repo: Path) -> None:
    (repo / ".git" / "hooks" / "reference-transaction").mkdir()
    refused(repo, "hooks", "install")


# -- push -------------------------------------------------------------------------------------

def test_push_without_a_remote(prop_repo: Path, bases: Bases) -> None:
    proc = refused(prop_repo, "push", "--all", hint=True)
    assert "no remote named 'origin'" in proc.stderr


def test_push_remote_that_looks_like_an_option(prop_repo: Path, bases: Bases, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    refused(prop_repo, "push", bases.ids[PW], "--remote", f"--upload-pack=touch {marker}")
    assert not marker.exists()


def test_push_to_a_missing_repository_says_why(prop_repo: Path, bases: Bases, tmp_path: Path) -> None:
    git(prop_repo, "remote", "add", "origin", str(tmp_path / "does-not-exist"))
    proc = refused(prop_repo, "push", bases.ids[PW])
    assert "does-not-exist" in proc.stderr


# -- init and demo ----------------------------------------------------------------------------

def test_init_and_demo_on_a_file(tmp_path: Path, bases: Bases) -> None:
    afile = tmp_path / "afile"
    afile.write_text("hi")
    assert_clean_refusal(run(tmp_path, "init", str(afile)), usage_ok=True)
    assert_clean_refusal(run(tmp_path, "demo", "--dir", str(afile)), usage_ok=True)
    assert_clean_refusal(run(tmp_path, "init", "x", "--from", str(tmp_path / "missing")),
                         usage_ok=True)
    assert afile.read_text() == "hi"


def test_demo_into_a_non_empty_folder(sample_repo: Path, bases: Bases) -> None:
    refused(sample_repo, "demo", "--dir", str(sample_repo), hint=True)


def test_init_from_a_folder_that_is_not_a_template(tmp_path: Path, bases: Bases) -> None:
    (tmp_path / "tpl").mkdir()
    proc = run(tmp_path, "init", str(tmp_path / "new"), "--from", str(tmp_path / "tpl"))
    assert_clean_refusal(proc, hint=True)
    assert not (tmp_path / "new" / ".git").exists()


@pytest.mark.parametrize("cmd", [["init"]], ids=["init"])
def test_init_below_a_file(tmp_path: Path, bases: Bases, cmd: list[str]) -> None:
    (tmp_path / "afile").write_text("hi")
    assert_clean_refusal(run(tmp_path, *cmd, str(tmp_path / "afile" / "sub")))


def test_init_on_a_bare_repository(tmp_path: Path, bases: Bases) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(bases.plain), str(bare))
    before = sorted(p.name for p in bare.iterdir())
    proc = run(tmp_path, "init", str(bare))
    assert proc.returncode in (0, 1), proc.stderr
    assert sorted(p.name for p in bare.iterdir()) == before


def test_init_adopts_a_repository_on_another_branch(tmp_path: Path, bases: Bases) -> None:
    target = tmp_path / "adopt"
    target.mkdir()
    git(target, "init", "-q")
    git(target, "checkout", "-q", "-b", "feature")
    commit_file(target, "a.txt", "a\n", "first")
    assert run(target, "init", ".").returncode == 0
    proc = run(target, "agents")
    assert proc.returncode == 0 or "gitimprove init" not in proc.stderr, proc.stderr


def test_init_adopting_keeps_unrelated_staged_changes_out(tmp_path: Path, bases: Bases) -> None:
    target = tmp_path / "adopt"
    target.mkdir()
    git(target, "init", "-q")
    commit_file(target, "a.txt", "a\n", "first")
    (target / "s.txt").write_text("staged\n")
    git(target, "add", "s.txt")
    assert run(target, "init", ".").returncode == 0
    assert "s.txt" not in git(target, "show", "--stat", "HEAD")
    assert "A  s.txt" in git(target, "status", "--porcelain")


# -- check-regressions and audit ---------------------------------------------------------------

def test_check_regressions_with_no_feedback(repo: Path) -> None:
    proc = run(repo, "check-regressions")
    assert proc.returncode == 4 and "Nothing to judge" in proc.stdout  # not a green light




# -- the slow one: an unreachable Anthropic endpoint (started at the top of the module) ---------

def test_unreachable_anthropic_api_fails_clearly(unreachable_api: Background) -> None:
    bg = unreachable_api
    # It ends by itself: the retries' backoff is bounded (about 15 s on an idle machine, plus
    # the analysis before the first request). The bound here only tells "ends" from "hangs";
    # how fast it ends is not a test's business (a loaded machine can take twice as long).
    deadline = bg.started + 180
    while bg.ended == 0.0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert bg.ended, "propose against a refused connection still runs after 180 s"
    assert bg.proc.returncode == 1, bg.err
    # each retry is a note saying why and how long it waits; then one error and its hint
    *notes, error, hint = bg.err.splitlines()
    assert notes and all(n.startswith("note: ") and "retrying in" in n for n in notes), bg.err
    assert error.startswith("error: ") and hint.startswith("  hint: "), bg.err
    assert "Traceback" not in bg.err + bg.out
    assert "cannot reach the Anthropic API" in bg.err
    assert git(bg.repo, "for-each-ref", "refs/heads/improve").strip() == ""
