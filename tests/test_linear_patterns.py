"""Text that users, models and files write is read by regular expressions in one pass.

Each case below once tried a pattern from every place of a long run of one character (a
courtesy's spaces and commas, a run of digits, of braces, of "=", of spaces around an optional
mark), and 10,000 characters took seconds: a feedback reason may be that long, and a file or a
model's answer longer. Each is now read in one pass; the guard fails a case that takes a
minute (it takes milliseconds), rather than letting the suite hang."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from gitimprove.instructions.formats import ADAPTERS, AdoptedDocument
from gitimprove.instructions.formats.google_adk import GoogleADK
from gitimprove.patterns import analysis
from gitimprove.patterns.text import normalize, tokens
from gitimprove.proposals import support
from gitimprove.proposals.rules import facts, own_text, steering

N = 100_000


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"still reading after {seconds} s: a pattern backtracks")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _prompt(line: str) -> list[str] | None:
    parsed = ADAPTERS["markdown"].parse(f"# Bot\n\n{line}\n\n- Be brief.\n", "AGENTS.md")
    return AdoptedDocument(parsed, parsed.entries[0].key, "agent").agent.sections[0].rules


CASES: dict[str, Callable[[], object]] = {
    "a correction's courtesy after spaces and commas":
        lambda: support._COURTESY.sub("", ", " * (N // 2) + "x"),
    "a rule's courtesy after spaces and commas":
        lambda: analysis._COURTESY_END.sub("", " ," * (N // 2) + "x"),
    "a run of digits read for an address": lambda: steering("1" * N),
    "a run of digits read for a limit": lambda: facts("Keep it " + "1" * N + " x"),
    "a long word beside a look-alike letter": lambda: normalize("tl;dr " + "a" * N + " lоgin"),
    "... and its tokens": lambda: tokens("tl;dr " + "a" * N + " lоgin"),
    "a run of braces in an ADK instruction":
        lambda: GoogleADK.variable_re.findall("a" + "{{" * (N // 2) + "x"),
    "a lead-in's spaces": lambda: _prompt("Focus on" + " " * N + "x"),
    "an output lead-in's spaces": lambda: _prompt("Your report should" + " " * N + "x"),
    "a banner of dashes": lambda: _prompt("--" * (N // 2) + "x"),
    "a banner's two ends": lambda: _prompt("== example " + "=" * N + "x"),
    "spaces around an example's number": lambda: own_text("Examples" + " " * N + "x"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_read_in_one_pass(case: str) -> None:
    with at_most(60):
        CASES[case]()
