"""Pure per-item work shared with a second process, in a forked child.

Analysis reads every distinct feedback text in Python (tokens, lexicon matches, product
topics), reads every cluster, and names, quotes and parts every pattern: of 100,000 texts, a
few seconds of one core while the machine's second core idles.
:func:`in_two` gives half of such work to a child process forked for it, which inherits all
the parent has loaded (no start-up, no second copy of the tables), computes its half while
the parent computes the other, and sends its results back through a pipe, pickled. Work of
uneven items (scripts, clusters, patterns) is :func:`shared` instead: each process takes the
next item whenever it is free, so neither waits long for the other.

It is used only where it is safe and pays:

- the work is pure: a function of its items, whose results do not depend on which process
  computed them, so the output is the same on one process or two;
- the list is long (``least`` items): forking and pickling cost a few milliseconds per
  thousand items, more than a short list takes;
- the process may use a second core, on Linux: Windows has no ``fork``, and macOS's system
  libraries are not safe to use in a forked child (``multiprocessing`` spawns there);
- the process runs one thread: a child forked beside other threads may inherit a lock one
  of them held.

The child writes nothing but its pipe and leaves with ``os._exit``: no ``atexit`` handler, no
buffered output of the parent's, no database or git handle is touched in it. Whatever goes
wrong in it (an exception, a signal, running out of memory), the parent computes the child's
half itself, so a failure costs time, never a result. If the parent is killed, the child's
write fails on the closed pipe and it exits."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_ENABLED = [True]
# The embedding's tokenizer (Hugging Face ``tokenizers``) runs threads of its own; in a child
# forked after it has, it prints a warning and runs on one thread, unless this variable says
# how many to run. The child is told "false" (one thread: the parent's threads are not in
# it); the parent's own setting is left as it was.
_TOKENIZERS = "TOKENIZERS_PARALLELISM"


@contextlib.contextmanager
def one_process() -> Iterator[None]:
    """:func:`in_two` does all the work in this process inside the block (a benchmark's peer:
    the same work on one core)."""
    was = _ENABLED[0]
    _ENABLED[0] = False
    try:
        yield
    finally:
        _ENABLED[0] = was


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on macOS or Windows
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether :func:`in_two` would fork now (see the module doc)."""
    return (_ENABLED[0] and sys.platform.startswith("linux") and threading.active_count() == 1
            and cores() >= 2)


def in_two(work: Callable[[Sequence[T]], list[R]], items: Sequence[T], *,
           least: int) -> tuple[list[R], list[R]]:
    """``work`` of the first half of ``items`` and of the second half (see :func:`both`), in
    two processes when ``items`` has at least ``least`` of them."""
    half = len(items) // 2
    first, second = items[:half], items[half:]
    if len(items) < least:
        return work(first), work(second)
    return both(work, first, second)


def both(work: Callable[[Sequence[T]], list[R]], first: Sequence[T],
         second: Sequence[T]) -> tuple[list[R], list[R]]:
    """``work(first)`` and ``work(second)`` (a list of results per item each), the second
    computed in a forked child at the same time when :func:`can_fork`; else both here, one
    after the other. ``work`` must be pure and its results picklable."""
    if not first or not second or not can_fork():  # nothing to share
        return work(first), work(second)
    forked = _with_child(lambda: work(first), lambda: work(second))
    if forked is None:
        return work(first), work(second)
    mine, theirs = forked
    if not isinstance(theirs, list) or len(theirs) != len(second):
        return mine, work(second)
    return mine, theirs


def shared(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``work(item)`` for each of ``items``, in their order, with a forked child when
    :func:`can_fork`: each process takes the next item not yet taken whenever it is done with
    one, so items of uneven cost (put the costliest first) keep both busy to the end, where
    halves fixed in advance leave one waiting. ``work`` must be pure and its results
    picklable. An item the child took and did not send back is worked here."""
    if len(items) < 2 or not can_fork():
        return [work(item) for item in items]
    # NOTE: every block's number is in the pipe before the fork, and its write end closed:
    # each process reads 4 bytes at a time (a pipe's reads are atomic), and the end of the
    # pipe says that all are taken. A block is one item, or a few where there are more items
    # than a pipe's buffer holds numbers.
    size = -(-len(items) // _MAX_BLOCKS)
    take, ready = os.pipe()
    os.write(ready, b"".join(b.to_bytes(4, "little")
                             for b in range(-(-len(items) // size))))
    os.close(ready)

    def mine() -> dict[int, R]:
        done = {}
        while len(claim := os.read(take, 4)) == 4:
            start = int.from_bytes(claim, "little") * size
            for n in range(start, min(start + size, len(items))):
                done[n] = work(items[n])
        return done

    try:
        forked = _with_child(mine, mine)
    finally:
        os.close(take)
    done: dict[int, R] = {}
    if forked is not None:
        done, theirs = forked
        if isinstance(theirs, dict):
            done.update((n, r) for n, r in theirs.items()
                        if isinstance(n, int) and 0 <= n < len(items))
    return [done[n] if n in done else work(items[n]) for n in range(len(items))]


_MAX_BLOCKS = 16_000  # numbers of 4 bytes: at most a pipe's 64 KiB buffer, written at once


def _with_child(here: Callable[[], R], there: Callable[[], object]) -> tuple[R, object] | None:
    """``here()`` in this process while a forked child computes ``there()``; both results,
    the child's None when it failed (see the module doc), or None when no child could be
    forked."""
    parent = os.getpid()
    read_end, write_end = os.pipe()
    told = os.environ.get(_TOKENIZERS)
    if told is None:  # see _TOKENIZERS
        os.environ[_TOKENIZERS] = "false"
    try:
        pid = os.fork()
    except OSError:  # no memory or no process slot for a child: all here
        os.close(read_end)
        os.close(write_end)
        return None
    finally:
        if told is None and os.getpid() == parent:
            del os.environ[_TOKENIZERS]
    if pid == 0:  # pragma: no cover - the child (its work is checked in the parent's result)
        code = 1
        try:
            os.close(read_end)
            # the parent's Ctrl-C handling is the parent's: the child only stops
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            data = pickle.dumps(there(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    done = False
    try:
        with os.fdopen(read_end, "rb") as src:
            mine = here()
            data = src.read()
        done = True
    finally:
        if not done:  # interrupted here: the child's work is not wanted
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return mine, None
    try:
        theirs: object = pickle.loads(data)
    except Exception:  # a truncated write: the child was cut off
        return mine, None
    return mine, theirs
