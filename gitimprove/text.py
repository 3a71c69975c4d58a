"""Small text helpers every layer uses: one safe line of bounded length, and "did you mean"."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Agent and section ids: lowercase letters, digits, ``-``, ``_`` and ``.``.
SLUG_RE = re.compile(r"\A[a-z0-9](?:[a-z0-9_]|-(?!-)|\.(?!\.))*\Z")
# C0 and C1 controls, zero-width and bidirectional marks that can reorder what a terminal shows.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


def percent(share: float) -> str:
    """A share for people: a decimal under 10% (42 complaints among 10,000 records are 0.4%, not
    the 0% of none), whole numbers above."""
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"


def spent(requests: int, input_tokens: int, output_tokens: int) -> str:
    """What model calls cost, as every command says it: ``1 request, 3,069 input and 400 output
    tokens``."""
    return (f"{requests} request{'' if requests == 1 else 's'}, {input_tokens:,} input and "
            f"{output_tokens:,} output tokens")


def shorten(text: str, limit: int) -> str:
    """``text`` on one line (control characters and runs of whitespace become one space),
    cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def did_you_mean(name: str, names: Sequence[str], *, what: str, none: str) -> str:
    """A hint for an unknown ``name``: the closest of ``names``, else all of them, else ``none``."""
    import difflib  # only for a mistake

    close = difflib.get_close_matches(name, list(names), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"{what}: {', '.join(names)}" if names else none


def rule_number(index: int) -> str:
    """A rule as people count it: ``rule 3`` is the third, index 2. Indices stay 0-based in
    data (the model's operations, records, ``--json``); only text for a person adds one, and
    nothing reads such a number back."""
    return f"rule {index + 1}"


def is_slug(value: str) -> bool:
    """Lowercase letters, digits, ``-``, ``_`` and ``.``; no ``..``, no leading punctuation."""
    return bool(SLUG_RE.match(value)) and len(value) <= 64
