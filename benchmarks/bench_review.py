"""Benchmark: `validate` and `approve` against the raw git plumbing that does the same work.

Two repositories: the sample repo, and a big one (10,000 commits on main, 1,000 open
proposal branches) generated with ``git fast-import`` and cached under /tmp by parameters.
Times are in-process library calls (the CLI adds Python's start-up, printed separately).
Goal: gitimprove within 1.5x of the plumbing. Run: ``python -m benchmarks.bench_review``.
Beside them, the commands that read the ledger for one proposal or a few (``review`` of a
rejected proposal, ``proposals --agent``, the ``pre-receive`` duplicate check): figures in
docs/design.md. Plain ``proposals`` (every open proposal judged) is ``python -m benchmarks
listing``, beside the code before it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_repo"
GOAL = 1.5
AGENT = "product-writer"
PATH = f"agents/{AGENT}.yaml"
ANCHOR = "      - Use British English spelling.\n"


def _git(cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                          env={**os.environ, **(env or {})}, check=True)
    return proc.stdout.decode().strip()


def _env() -> dict[str, str]:
    return {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def _proposal_message(pid: str, base: str, base_blob: str, rule: str) -> bytes:
    # a whole proposal record, as propose writes it: approve refuses a forged one, and the
    # content block (what it adds) is what later proposals read instead of its files
    from gitimprove.ledger import ProposalContent

    content = ProposalContent(({"op": "add_rule", "section": "style", "text": rule,
                                "position": 2, "reason": "bench", "evidence": [f"fb-{pid}"]},),
                              (rule,)).render()
    return (f"{AGENT}: proposal {pid}\n\nBench.\n\n{content}\n\nGitimprove-Proposal: {pid}\n"
            f"Gitimprove-Agent: {AGENT}\nGitimprove-Base-Version: {base_blob}\n"
            f"Gitimprove-Base-Commit: {base}\nGitimprove-Evidence: fb-{pid}\n"
            "Gitimprove-Model: claude-test\nGitimprove-Proposer: bench\n").encode()


def _fast_import_stream(commits: int, proposals: int, base: tuple[str, str] | None = None) -> bytes:
    """main: the sample files, then ``commits`` commits to a log file; with ``base`` (main's
    tip and the agent's blob there, once main is imported), the proposals branching off it."""
    files = {p.relative_to(SAMPLE).as_posix(): p.read_bytes()
             for p in sorted(SAMPLE.rglob("*")) if p.is_file() and p.name != "feedback.jsonl"}
    agent = files[PATH].decode()
    out: list[bytes] = []
    when = 1_700_000_000

    def data(payload: bytes) -> None:
        out.append(b"data %d\n" % len(payload) + payload + b"\n")

    def commit(ref: str, mark: int, message: bytes, author: str, parent: int | str | None) -> None:
        nonlocal when
        when += 60
        out.append(f"commit {ref}\nmark :{mark}\nauthor {author} {when} +0000\n"
                   f"committer Bench <bench@example.com> {when} +0000\n".encode())
        data(message)
        if parent:
            out.append(f"from {parent if isinstance(parent, str) else f':{parent}'}\n".encode())

    if base is not None:
        when += 60 * commits
        for i in range(proposals):
            pid = f"b{i:05d}"
            new = agent.replace(ANCHOR, ANCHOR + f"      - Bench rule {i}.\n", 1).encode()
            commit(f"refs/heads/improve/{AGENT}/{pid}", commits + 1 + i,
                   _proposal_message(pid, *base, f"Bench rule {i}."),
                   "claude-test <model@gitimprove.invalid>", base[0])
            out.append(f"M 100644 inline {PATH}\n".encode())
            data(new)
        return b"".join(out)
    commit("refs/heads/main", 1, b"Initial instructions\n", "Bench <bench@example.com>", None)
    for path, content in files.items():
        out.append(f"M 100644 inline {path}\n".encode())
        data(content)
    for n in range(2, commits + 1):
        commit("refs/heads/main", n, f"Log entry {n}\n".encode(), "Bench <bench@example.com>", n - 1)
        out.append(b"M 100644 inline log/changes.txt\n")
        data(f"change {n}\n".encode())
    return b"".join(out)


def SAMPLE_FILES() -> list[Path]:
    root = Path(__file__).resolve().parent.parent / "sample_repo"
    return [p for p in root.rglob("*.yaml")]


def big_repo(commits: int = 10_000, proposals: int = 1_000) -> Path:
    """A cached repository; copied per run so that approvals do not change the cache."""
    # Keyed by the sample files too: a changed sample (or policy format) builds a new repo.
    sample = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(SAMPLE_FILES()))).hexdigest()[:8]
    cache = Path(tempfile.gettempdir()) / f"gitimprove-bench-{commits}c-{proposals}p-{sample}-3"
    if not (cache / ".done").exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        _git(cache, "init", "-q", "-b", "main", env=_env())
        _git(cache, "fast-import", "--quiet", input=_fast_import_stream(commits, proposals), env=_env())
        base = (_git(cache, "rev-parse", "main"), _git(cache, "rev-parse", f"main:{PATH}"))
        _git(cache, "fast-import", "--quiet", input=_fast_import_stream(commits, proposals, base),
             env=_env())
        _git(cache, "checkout", "-q", "main", env=_env())
        _git(cache, "gc", "-q", env=_env())
        (cache / ".done").write_text("ok\n")
    work = Path(tempfile.mkdtemp(prefix="gitimprove-bench-"))
    shutil.copytree(cache, work / "repo", symlinks=True)
    return work / "repo"


def sample_repo() -> Path:
    from gitimprove.instructions.init import init

    target = Path(tempfile.mkdtemp(prefix="gitimprove-bench-sample-")) / "repo"
    init(target, template=SAMPLE)
    agent = (target / PATH).read_text()
    base = _git(target, "rev-parse", "main")
    base_blob = _git(target, "rev-parse", f"main:{PATH}")
    for i in range(20):
        blob = _git(target, "hash-object", "-w", "--stdin",
                    input=agent.replace(ANCHOR, ANCHOR + f"      - Bench rule {i}.\n").encode())
        index = target / ".git" / "bench-index"
        env = {**_env(), "GIT_INDEX_FILE": str(index)}
        _git(target, "read-tree", base, env=env)
        _git(target, "update-index", "--cacheinfo", f"100644,{blob},{PATH}", env=env)
        tree = _git(target, "write-tree", env=env)
        index.unlink()
        pid = f"b{i:05d}"
        commit = _git(target, "commit-tree", tree, "-p", base, input=_proposal_message(pid, base, base_blob, f"Bench rule {i}."),
                      env={**_env(), "GIT_AUTHOR_NAME": "claude-test",
                           "GIT_AUTHOR_EMAIL": "model@gitimprove.invalid"})
        _git(target, "update-ref", f"refs/heads/improve/{AGENT}/{pid}", commit)
    return target


def _best(samples: list[float]) -> float:
    return statistics.median(samples)


def _time(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return _best(samples)


def bench(name: str, repo_path: Path, repeat: int = 7) -> list[dict[str, object]]:
    from gitimprove import InstructionRepo
    from gitimprove.review.actions import approve, validate_merge

    env = _env()
    base = _git(repo_path, "rev-parse", "main")
    head = _git(repo_path, "rev-parse", f"improve/{AGENT}/b00000")

    def raw_validate() -> None:
        tree = _git(repo_path, "merge-tree", "--write-tree", base, head).splitlines()[0]
        diff = _git(repo_path, "diff-tree", "-r", "--no-commit-id", base, tree)
        blobs = "".join(f"{line.split()[2]}\n{line.split()[3]}\n" for line in diff.splitlines())
        _git(repo_path, "cat-file", "--batch", input=blobs.encode())
        _git(repo_path, "cat-file", "blob", f"{base}:gitimprove.yaml")

    def ours_validate() -> None:
        # A new InstructionRepo each time: no warm cache from the previous iteration.
        with InstructionRepo(repo_path) as repo:
            _, violations = validate_merge(repo, repo.main_tip(), repo.git.rev_parse(head) or base)
            assert not violations, violations

    raw_v = _time(raw_validate, repeat)
    ours_v = _time(ours_validate, repeat)

    counter = iter(range(1, 10_000))

    def reset_main() -> None:
        _git(repo_path, "reset", "-q", "--hard", base, env=env)

    def raw_approve() -> None:
        pid = f"improve/{AGENT}/b{next(counter):05d}"
        tip = _git(repo_path, "rev-parse", "main")
        tree = _git(repo_path, "merge-tree", "--write-tree", tip, pid).splitlines()[0]
        _git(repo_path, "diff-tree", "-r", "--no-commit-id", tip, tree)
        new = _git(repo_path, "commit-tree", tree, "-p", tip, "-p", pid, input=b"approve\n", env=env)
        _git(repo_path, "update-ref", "refs/heads/main", new, tip)
        _git(repo_path, "read-tree", "-m", "-u", tip, new, env=env)

    def ours_approve() -> None:
        pid = f"b{next(counter):05d}"
        with InstructionRepo(repo_path) as repo:
            approve(repo, pid, by="Bench <bench@example.com>")

    raw_samples, ours_samples = [], []
    for _ in range(min(repeat, 9)):
        reset_main()
        start = time.perf_counter()
        raw_approve()
        raw_samples.append(time.perf_counter() - start)
        reset_main()
        start = time.perf_counter()
        ours_approve()
        ours_samples.append(time.perf_counter() - start)
    reset_main()
    raw_a, ours_a = _best(raw_samples), _best(ours_samples)
    rows = _ledger_readers(name, repo_path, repeat)
    cli = _time(lambda: subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(repo_path),
                                        "validate", "--base", base, "--head", head],
                                       capture_output=True, check=True), 3)
    return [
        {"repo": name, "op": "validate", "ours_s": ours_v, "git_s": raw_v, "ratio": ours_v / raw_v,
         "cli_s": cli},
        {"repo": name, "op": "approve", "ours_s": ours_a, "git_s": raw_a, "ratio": ours_a / raw_a},
        *rows,
    ]


REJECTED = "b00017"  # not approved by `bench` (it takes 1-14)


def _ledger_readers(name: str, repo_path: Path, repeat: int) -> list[dict[str, object]]:
    """The commands that read the ledger for one proposal or a few, beside the git that
    reads that proposal alone: ``review`` of a rejected proposal (no branch names it, so it
    is looked up among all), ``proposals --agent`` of an agent without proposals, and the
    ``pre-receive`` hook's duplicate check of a pushed proposal branch."""
    from gitimprove import InstructionRepo
    from gitimprove.git import ZERO_OID
    from gitimprove.review.actions import reject, statuses
    from gitimprove.review.hooks import duplicate_proposals
    from gitimprove.review.view import review_data

    with InstructionRepo(repo_path) as repo:
        reject(repo, REJECTED, reason="bench", by="Bench <bench@example.com>")
    rejected = f"refs/gitimprove/rejected/{AGENT}/{REJECTED}"
    pushed = _git(repo_path, "rev-parse", f"improve/{AGENT}/b00019")
    _git(repo_path, "update-ref", "-d", f"refs/heads/improve/{AGENT}/b00019")
    line = f"{ZERO_OID} {pushed} refs/heads/improve/{AGENT}/b00019"

    def ours_review() -> None:
        with InstructionRepo(repo_path) as repo:
            assert review_data(repo, REJECTED).id == REJECTED

    def raw_review() -> None:
        _git(repo_path, "log", "-1", "--format=%B", f"{rejected}^")
        _git(repo_path, "diff", f"{rejected}^^", f"{rejected}^", "--", PATH)

    def ours_listing() -> None:
        with InstructionRepo(repo_path) as repo:
            assert statuses(repo, agent="research-assistant") == []

    def raw_listing() -> None:
        _git(repo_path, "for-each-ref", "refs/heads/improve/research-assistant/")

    def ours_duplicates() -> None:
        with InstructionRepo(repo_path) as repo:
            assert duplicate_proposals(repo, [line]) == []

    def raw_duplicates() -> None:
        _git(repo_path, "log", "--format=%B", pushed, "^main")

    # A pushed proposal citing feedback an open proposal here cites (b00018's): the commits
    # naming it are found, so the ledger is read; the whole scan from git (before) beside.
    from gitimprove import ledger
    from gitimprove.review.hooks import clashes

    tip = _git(repo_path, "rev-parse", "main")
    message = _proposal_message("b99999", tip, _git(repo_path, "rev-parse", f"main:{PATH}"),
                                "Bench rule again.").replace(b"fb-b99999", b"fb-b00018")
    again = _git(repo_path, "commit-tree", f"{tip}^{{tree}}", "-p", tip, input=message,
                 env={**_env(), "GIT_AUTHOR_NAME": "claude-test",
                      "GIT_AUTHOR_EMAIL": "model@gitimprove.invalid"})
    again_ref = f"refs/heads/improve/{AGENT}/b99999"
    again_line = f"{ZERO_OID} {again} {again_ref}"

    def ours_named() -> None:
        with InstructionRepo(repo_path) as repo:
            assert len(duplicate_proposals(repo, [again_line])) == 1

    def whole_named() -> None:
        with InstructionRepo(repo_path) as repo:
            p = ledger.proposal_at(repo.git, repo.main_ref, again_ref, ledger.Oid(again))
            assert p is not None
            book = ledger.scan(repo.git, repo.main_ref, kept=False)
            assert len(clashes(book, [(again_ref, p)])) == 1

    # A person's commit to the agent's file that the hooks check against every model commit
    # here (is it a proposal's change under another name? see ledger/carried.py); beside it,
    # git printing the diff of every proposal commit of that file, the most it could read.
    from gitimprove.ledger.carried import carried

    text = _git(repo_path, "show", f"main:{PATH}")
    blob = _git(repo_path, "hash-object", "-w", "--stdin", input=text.encode() + b"\n# a note\n")
    index_env = {**_env(), "GIT_INDEX_FILE": str(repo_path / ".git" / "bench-index")}
    _git(repo_path, "read-tree", tip, env=index_env)
    _git(repo_path, "update-index", "--cacheinfo", f"100644,{blob},{PATH}", env=index_env)
    tree = _git(repo_path, "write-tree", env=index_env)
    person = _git(repo_path, "commit-tree", tree, "-p", tip, input=b"A person's edit\n",
                  env=_env())

    def ours_carried() -> None:
        with InstructionRepo(repo_path) as repo:
            brought = ledger.read_commits(repo.git, person, f"^{tip}")
            assert carried(repo.git, brought.values(), [f"^{tip}"]) == ({}, {})

    def raw_carried() -> None:
        _git(repo_path, "log", "--no-merges", "-p", "-U0", "--glob=refs/heads/improve/*",
             f"^{tip}", "--", PATH)

    out = []
    for op, ours, raw in (("review", ours_review, raw_review),
                          ("proposals --agent", ours_listing, raw_listing),
                          ("dup-check", ours_duplicates, raw_duplicates),
                          # "git" here: the check as it was, the whole ledger scanned
                          ("dup-named", ours_named, whole_named),
                          # "git": every proposal commit's diff of the file, printed
                          ("carried", ours_carried, raw_carried)):
        ours_s, raw_s = _time(ours, repeat), _time(raw, repeat)
        out.append({"repo": name, "op": op, "ours_s": ours_s, "git_s": raw_s,
                    "ratio": ours_s / raw_s})
    return out


def run() -> list[dict[str, object]]:
    """Print the table; return the rows (for benchmarks/__main__.py)."""
    rows = []
    start = time.perf_counter()
    big = big_repo()
    print(f"big repo ready in {time.perf_counter() - start:.1f}s: {big}")
    for name, path in (("sample", sample_repo()), ("10k commits/1k proposals", big)):
        rows += bench(name, path)
        shutil.rmtree(path.parent, ignore_errors=True)
    print(f"{'repo':<26} {'op':<17} {'gitimprove':>11} {'raw git':>9} {'vs git':>7}")
    for r in rows:
        extra = f"   (CLI incl. start-up: {float(r['cli_s']) * 1000:.0f} ms)" if "cli_s" in r else ""  # type: ignore[arg-type]
        print(f"{r['repo']:<26} {r['op']:<17} {float(r['ours_s']) * 1000:>9.1f}ms "  # type: ignore[arg-type]
              f"{float(r['git_s']) * 1000:>7.1f}ms {float(r['ratio']):>6.2f}x{extra}")  # type: ignore[arg-type]
    # The goal: `validate` and `approve` on the big repository within 1.5x of the sample one
    # (raw git alongside, same run). The listings and the duplicate check have none: what they
    # read grows with the branches (figures in docs/design.md). For dup-named the "raw git"
    # column is the duplicate check as it was (the whole ledger scanned from git); for carried,
    # git printing the diff of every proposal commit of the file a person's commit changes.
    for op in ("validate", "approve", "review", "proposals --agent", "dup-check", "dup-named",
               "carried"):
        small, large = (next(r for r in rows if r["op"] == op and r["repo"] == repo)
                        for repo in ("sample", "10k commits/1k proposals"))
        ours = float(large["ours_s"]) / float(small["ours_s"])  # type: ignore[arg-type]
        raw = float(large["git_s"]) / float(small["git_s"])  # type: ignore[arg-type]
        goal = ((f"goal <= {GOAL}x  " + ("ok" if ours <= GOAL else "MISSED"))
                if op in ("validate", "approve") else "no goal")
        print(f"big/small {op:<17} gitimprove {ours:.2f}x  raw git {raw:.2f}x  {goal}")
        rows.append({"repo": "big/small", "op": op, "ratio": round(ours, 3), "git_ratio": round(raw, 3)})
    return rows


if __name__ == "__main__":
    run()
