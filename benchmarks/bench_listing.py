"""Benchmark: ``gitimprove proposals`` (every open proposal, judged against main) beside the
code before it, in the same run.

The repository is bench_review's big one with 100 open proposals (10,000 commits on main,
each proposal one model commit adding a rule to product-writer). Three states of main:
``fresh`` (where the proposals forked), ``elsewhere`` (main moved on in another file: every
proposal stale), ``same-file`` (main changed the agent's own file: every proposal needs a real
merge, so both codes merge each). The old code ran ``git merge-tree`` and ``git diff-tree``
for every open proposal; the new one reads the branch's changes from the object store where
main has not touched its files since the fork. Both must give the same verdicts (checked).
Times are in-process library calls, each with a new repository object, the old and the new
code taking turns; the best of five each (the machine is shared: medians wander by 2x).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_review import AGENT, PATH, _env, _git, big_repo
from benchmarks.common import Row

PROPOSALS = 100
REPEAT = 5


def _old_statuses(repo: object) -> list[object]:
    """``statuses()`` as it was: a merge-tree and a diff-tree per open proposal."""
    from gitimprove import ledger
    from gitimprove.errors import GitImproveError, InvalidFileError
    from gitimprove.evaluation.check import evaluation_status
    from gitimprove.git import Oid, diff_trees, merge_tree
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.ledger import ProposalState
    from gitimprove.review.actions import Status, Verdict, _blob, _chosen
    from gitimprove.validate import Violation, check_change

    assert isinstance(repo, InstructionRepo)
    book = ledger.scan(repo.git, repo.main_ref)
    chosen = sorted(_chosen(book, False, None), key=lambda s: (s.time, s.id), reverse=True)
    found = book.select(s.id for s in chosen)
    tip = repo.main_tip()

    def check_merge(base: Oid, head: Oid) -> list[Violation]:
        try:
            policy = repo.policy_at(base)
        except InvalidFileError as exc:
            return [Violation("policy-unreadable",
                              f"the target's policy does not parse: {exc.problems[0]}")]
        tree, conflicts = merge_tree(repo.git, base, head)
        if conflicts:
            return [Violation("conflict", f"does not merge cleanly: conflict in {path}",
                              path=path) for path in conflicts]
        old: dict[str, bytes | None] = {}
        new: dict[str, bytes | None] = {}
        for path, a, b in diff_trees(repo.git, base, tree):
            old[path] = _blob(repo, a)
            new[path] = _blob(repo, b)
        return check_change(old, new, policy)

    def judge(info: ledger.Proposal) -> Verdict:
        try:
            violations = check_merge(tip, info.head)
        except GitImproveError as exc:
            violations = [Violation("error", exc.message)]
        forged = [Violation("forged-record", f"forged record on the proposal commit: {problem}")
                  for problem in info.problems]
        forged += [Violation("forged-record", problem)
                   for problem in ledger.riders_in(book, info.head, info.commit.oid)]
        return Verdict(tip, forged + violations, info.base_commit != tip,
                       not any(v.code == "conflict" for v in violations))

    return [Status(p, judge(p), evaluation_status(repo, tip, p.head, proposal=p.id,
                                                  agent=p.agent, book=book))
            if p.state == ProposalState.OPEN else Status(p, None) for p in found]


def _new_statuses(repo: object) -> list[object]:
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.review.actions import statuses

    assert isinstance(repo, InstructionRepo)
    return list(statuses(repo))


def _timed(path: Path, listing: Callable[[object], list[object]]) -> tuple[float, list[object]]:
    from gitimprove import InstructionRepo

    start = time.perf_counter()
    with InstructionRepo(path) as repo:
        rows = listing(repo)
    return time.perf_counter() - start, rows


def _time(path: Path) -> tuple[float, float, list[object], list[object]]:
    """Best of REPEAT calls each of the old and the new code, taking turns."""
    old, new = [], []
    for _ in range(REPEAT):
        seconds, old_rows = _timed(path, _old_statuses)
        old.append(seconds)
        seconds, new_rows = _timed(path, _new_statuses)
        new.append(seconds)
    return min(old), min(new), old_rows, new_rows


def _move_main(path: Path, file: str, text: str) -> None:
    """A person's commit on main changing ``file`` (the checkout is brought along)."""
    target = path / file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    _git(path, "add", file, env=_env())
    _git(path, "commit", "-qm", f"Edit {file}", env=_env())


def run() -> list[Row]:
    path = big_repo(10_000, PROPOSALS)
    rows: list[Row] = []
    try:
        for case in ("fresh", "elsewhere", "same-file"):
            if case == "elsewhere":
                _move_main(path, "log/changes.txt", "edited by hand\n")
            elif case == "same-file":
                _move_main(path, PATH, (path / PATH).read_text() + "# edited by hand\n")
            old_s, new_s, old_rows, new_rows = _time(path)
            assert len(new_rows) == PROPOSALS and new_rows == old_rows, \
                f"{case}: the listing differs from the old code's"
            print(f"proposals {case:<10} {new_s * 1000:8.1f} ms, was {old_s * 1000:8.1f} ms "
                  f"({old_s / new_s:.1f}x faster), {PROPOSALS} open {AGENT} proposals")
            note = f"was {old_s * 1000:.0f} ms with a merge-tree per proposal (same run)"
            rows += [Row("listing", f"proposals ({case}, {PROPOSALS} open)", new_s, "s",
                         note=note),
                     Row("listing", f"proposals ({case}) old/new", old_s / new_s, "x")]
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
