"""No feedback, model text or commit message reaches the terminal with raw control,
escape or bidi characters: every printer goes through one sanitising function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitimprove.safetext import printable
from tests.review.conftest import add_rule, commit_tree_change, make_proposal, out, run

from .conftest import gi, ok, refused

ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\u202eevil\x9b31m\r"
RAW = ["\x1b", "\x07", "\u202e", "\x9b", "\r"]


def clean(text: str) -> None:
    for ch in RAW:
        assert ch not in text, (repr(ch), text)


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    assert printable("a\x1b[2Jb\tc\nd\u202e") == "a\\x1b[2Jb\tc\nd\\u202e"
    assert printable("a\nb", multiline=False) == "a\\x0ab"


def test_one_table_serves_the_line_writers_and_the_guards() -> None:
    from gitimprove import ledger
    from gitimprove.errors import GitImproveError
    from gitimprove.safetext import one_line, unsafe_char
    from gitimprove.text import CONTROL, RECORD_CONTROL, shorten

    hidden = "Too\u2060long\u200b\ufeff"  # a word joiner, a zero-width space, a BOM
    assert shorten(hidden, 80) == one_line(hidden) == "Too long"
    assert unsafe_char(hidden) == "\u2060"
    with pytest.raises(GitImproveError):
        ledger.trailer_block([(ledger.REJECTED, "fine\u2060")])
    # joiners glue Persian and emoji: text keeps them, on one line as in instructions
    persian, family = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\U0001f469\u200d\U0001f467"
    assert shorten(f"{persian} {family}", 80) == f"{persian} {family}"
    assert unsafe_char(persian) is None
    # every character a reader of records refuses, every writer refuses too
    assert all(CONTROL.match(chr(c)) for c in range(0x10000) if RECORD_CONTROL.match(chr(c)))


@pytest.fixture
def hostile_repo(sample_repo: Path) -> Path:
    repo = sample_repo
    # a proposal whose commit message (summary and body) carries escapes
    pw = out(repo, "show", "main:agents/product-writer.yaml") + "\n"
    base = out(repo, "rev-parse", "main")
    commit = commit_tree_change(repo, base, {
        "agents/product-writer.yaml": add_rule("Use short sentences.")(pw)},
        f"product-writer: {ESC}\n\nBody {ESC}\n\nGitimprove-Proposal: p1\n"
        "Gitimprove-Agent: product-writer\n")
    run(repo, "update-ref", "refs/heads/improve/product-writer/p1", commit)
    # a human commit with escapes in its subject
    run(repo, "commit", "-q", "--allow-empty", "-m", f"human {ESC}")
    ok(gi(repo, "feedback", "record", "--agent", "product-writer", "--rating", "negative",
          "--reason", f"too long {ESC}", "--correction", f"shorter {ESC}"))
    return repo


@pytest.mark.parametrize("args", [["proposals"], ["proposals", "--all"], ["review", "p1"],
                                  ["audit"], ["feedback", "list"], ["history", "product-writer"],
                                  ["proposals", "--json"], ["feedback", "list", "--json"]])
def test_printers_never_pass_raw_escapes(hostile_repo: Path, args: list[str]) -> None:
    proc = gi(hostile_repo, *args)
    assert proc.returncode in (0, 1), proc.stderr
    clean(proc.stdout)
    clean(proc.stderr)
    if "--json" in args:
        json.loads(proc.stdout)  # still valid JSON
    if args[0] == "review":
        assert "\\x1b" in proc.stdout, "the text is shown, escaped"


def test_error_messages_are_sanitised(sample_repo: Path) -> None:
    err = refused(gi(sample_repo, "show", f"agent{ESC}"))
    clean(err)
    err = refused(gi(sample_repo, "approve", f"id{ESC}"))
    clean(err)
    make_proposal(sample_repo, "p2", add_rule("Be kind."))
    err = refused(gi(sample_repo, "reject", "p2", "--reason", "x", "--by", f"Eve{ESC} <e@x>"))
    clean(err)

