"""Work shared with a forked child (gitimprove.forked): the same results as on one process,
and the parent's own work whenever the child fails."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from gitimprove import forked
from gitimprove.feedback.models import FeedbackRecord, make_record
from gitimprove.patterns import analysis
from gitimprove.patterns.analysis import Themer, analyze_records
from gitimprove.patterns.text import script

needs_fork = pytest.mark.skipif(not sys.platform.startswith("linux") or forked.cores() < 2,
                                reason="forks on Linux with two cores only")
SAMPLE = Path(__file__).resolve().parents[1] / "sample_repo" / "feedback.jsonl"


def doubled(items: Sequence[int]) -> list[tuple[int, int]]:
    return [(os.getpid(), 2 * i) for i in items]


@needs_fork
def test_second_half_is_computed_in_a_child() -> None:
    first, second = forked.in_two(doubled, list(range(101)), least=1)
    assert [v for _, v in first + second] == [2 * i for i in range(101)]
    assert {pid for pid, _ in first} == {os.getpid()}
    (child,) = {pid for pid, _ in second}
    assert child != os.getpid()


def test_short_lists_and_one_process_stay_here() -> None:
    for least, ctx in ((1000, None), (1, forked.one_process())):
        if ctx is None:
            first, second = forked.in_two(doubled, list(range(10)), least=least)
        else:
            with ctx:
                first, second = forked.in_two(doubled, list(range(10)), least=least)
        assert {pid for pid, _ in first + second} == {os.getpid()}
        assert [v for _, v in first + second] == [2 * i for i in range(10)]


@needs_fork
def test_no_fork_beside_another_thread() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not forked.can_fork()
        _, second = forked.in_two(doubled, list(range(10)), least=1)
    finally:
        stop.set()
        other.join()
    assert {pid for pid, _ in second} == {os.getpid()}


@needs_fork
@pytest.mark.parametrize("how", ["raises", "killed", "exits"])
def test_a_failing_child_costs_time_not_results(how: str) -> None:
    parent = os.getpid()

    def work(items: Sequence[int]) -> list[int]:
        if os.getpid() != parent:
            if how == "raises":
                raise RuntimeError("boom")
            if how == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(0)  # leaves without writing
        return [3 * i for i in items]

    first, second = forked.in_two(work, list(range(50)), least=1)
    assert first + second == [3 * i for i in range(50)]


def _calls_here(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """The calls of ``module.name`` made in this process from now on (a child's calls are
    counted in the child, and never seen here). Each takes 20 ms more: work shared item by
    item (forked.shared) would all be done here before a child started, on a busy machine."""
    calls: list[int] = []
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(os.getpid())
        time.sleep(0.02)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _records() -> list[FeedbackRecord]:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    return [make_record(r) for r in rows if r.get("agent") == "product-writer"]


@needs_fork
def test_analysis_is_the_same_on_two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records()
    with forked.one_process():
        alone = [p.model_dump() for p in analyze_records(records)]
    monkeypatch.setattr(analysis, "WARM_IN_TWO", 10)
    themer = Themer()
    texts = sorted({r.reason for r in records if r.reason})
    themer.warm(texts)
    here = Themer()
    for text in texts:
        assert here(text).plain_topic == themer(text).plain_topic
        assert here(text).state() == themer(text).state()
    assert [p.model_dump() for p in analyze_records(records)] == alone


@needs_fork
def test_patterns_are_made_the_same_on_two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patterns are named, quoted and parted in a child too: the same patterns, with the
    suggestions that corrections give failures and the states of cited evidence."""
    records = _records()
    assert any(r.correction for r in records)
    with forked.one_process():
        first = analyze_records(records)[0]  # its evidence all cited by an open proposal
    states = {r.id: "pending" if r.id in first.feedback_ids else "open" for r in records}
    asked: list[int] = []

    def state(fid: str) -> Any:
        asked.append(os.getpid())
        return states[fid]

    with forked.one_process():
        alone = [p.model_dump() for p in analyze_records(records, evidence_state=state)]
    assert any(p["suggestion"] for p in alone) and any(p["state"] != "open" for p in alone)
    monkeypatch.setattr(analysis, "PATTERNS_IN_TWO", 1)
    made = _calls_here(monkeypatch, analysis, "_pattern")
    asked.clear()
    assert [p.model_dump() for p in analyze_records(records, evidence_state=state)] == alone
    assert 0 < len(made) < len(alone)  # the parent's share: the child's were made there
    assert set(asked) == {os.getpid()}  # the caller's function is asked here only


@needs_fork
def test_clusters_are_read_the_same_on_two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clusters' product splits and namings are shared with a child; the names, unique
    per kind, are given in the parent, in order: the same patterns."""
    records = _records() + [make_record({
        "id": f"p{n}", "agent": "product-writer", "rating": "down", "reason": text})
        for n, text in enumerate(f"{what} since the update, {n} times today"
                                 for what in ("the app crashes", "I cannot log in",
                                              "I hit the message limit")
                                 for n in range(4))]
    monkeypatch.setattr(analysis, "CLUSTERS_IN_TWO", 1)
    calls = _calls_here(monkeypatch, analysis, "_read_cluster")
    with forked.one_process():
        alone = [p.model_dump() for p in analyze_records(records)]
    assert any(p["triage"] == "product" for p in alone)
    here = len(calls)  # one per cluster
    calls.clear()
    assert [p.model_dump() for p in analyze_records(records)] == alone
    assert 0 < len(calls) < here  # the child's were read there


MIXED = (
    "too long, please make it shorter", "the answer is far too long", "way too wordy",
    "sources are made up", "the citations are fake", "cited a paper that does not exist",
    "回答太长了，请简短一点", "答案不准确，引用的来源是假的", "回答太长了", "引用的来源是假的",
    "Ответ слишком длинный, сократите", "Источники выдуманы", "Ответ слишком длинный",
    "Источники выдуманы полностью", "الإجابة طويلة جدا، اختصر من فضلك", "المصادر غير صحيحة",
)


@needs_fork
def test_scripts_are_clustered_the_same_on_two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from gitimprove.patterns import grouping

    texts = sorted({f"{a} {b}" for a in MIXED for b in MIXED if a != b})
    weights = [1 + (i % 4 == 0) for i in range(len(texts))]
    with forked.one_process():
        alone = grouping.cluster_levels(texts, weights=weights)
    monkeypatch.setattr(grouping, "LEVELS_IN_TWO", 10)
    seen = _calls_here(monkeypatch, grouping, "_levels")
    assert grouping.cluster_levels(texts, weights=weights) == alone
    assert len(alone[0]) == len(texts) and len(set(alone[0])) > 3
    # the parent's own scripts only: the child's were counted in the child
    assert 0 < len(seen) < len({script(t) for t in texts})


@needs_fork
def test_the_tokenizer_does_not_warn_in_the_child(capfd: pytest.CaptureFixture[str]) -> None:
    from gitimprove.patterns import grouping

    grouping.embed([f"word{i} another{i} text{i}" for i in range(2000)])  # its threads ran
    capfd.readouterr()
    forked.in_two(lambda items: grouping.embed(list(items)).tolist(), ["a b", "c d"], least=1)
    # (versions that warn print it to standard output, where it would break --json)
    out, err = capfd.readouterr()
    assert "tokenizers" not in out + err


def test_nothing_to_share_is_done_here() -> None:
    first, second = forked.both(doubled, list(range(5)), [])
    assert second == [] and {pid for pid, _ in first} == {os.getpid()}
    first, second = forked.both(doubled, [], list(range(5)))
    assert first == [] and {pid for pid, _ in second} == {os.getpid()}


def slow_double(i: int) -> tuple[int, int]:
    time.sleep(0.01)
    return os.getpid(), 2 * i


@needs_fork
def test_shared_items_go_to_whichever_process_is_free() -> None:
    got = forked.shared(slow_double, list(range(40)))
    assert [v for _, v in got] == [2 * i for i in range(40)]  # in the items' order
    pids = [pid for pid, _ in got]
    assert os.getpid() in pids and len(set(pids)) == 2  # each took its share
    assert 0 < pids.count(os.getpid()) < 40


@needs_fork
def test_a_costly_first_item_leaves_the_rest_to_the_other() -> None:
    def work(i: int) -> int:
        time.sleep(0.3 if i == 0 else 0.01)
        return os.getpid()

    pids = forked.shared(work, list(range(12)))
    # who took the costly one took nothing or little else: halves fixed in advance gave it 5
    assert pids[1:].count(pids[0]) <= 2


@needs_fork
@pytest.mark.parametrize("how", ["raises", "killed", "exits"])
def test_items_a_failing_child_took_are_worked_here(how: str) -> None:
    parent = os.getpid()

    def work(i: int) -> int:
        if os.getpid() != parent and i >= 3:
            if how == "raises":
                raise RuntimeError("boom")
            if how == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(0)  # leaves without writing
        time.sleep(0.005)
        return 3 * i

    assert forked.shared(work, list(range(30))) == [3 * i for i in range(30)]


def test_shared_on_one_process_stays_here() -> None:
    with forked.one_process():
        got = forked.shared(slow_double, list(range(5)))
    assert got == [(os.getpid(), 2 * i) for i in range(5)]
    assert forked.shared(slow_double, [7]) == [(os.getpid(), 14)]


@needs_fork
def test_more_items_than_a_pipe_holds_numbers_are_shared_in_blocks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "_MAX_BLOCKS", 7)
    got = forked.shared(slow_double, list(range(50)))
    assert [v for _, v in got] == [2 * i for i in range(50)]
    assert len({pid for pid, _ in got}) == 2
