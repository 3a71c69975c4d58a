"""Small text helpers every layer uses: one safe line of bounded length, and "did you mean"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Agent and section ids: lowercase letters, digits, ``-``, ``_`` and ``.``.
SLUG_RE = re.compile(r"\A[a-z0-9](?:[a-z0-9_]|-(?!-)|\.(?!\.))*\Z")
# The one table of characters that text from outside (a model, a user, a commit message) may
# not carry into what gitimprove writes or prints as a line: C0 controls except tab and line
# feed, DEL, C1 controls (U+0085 NEL among them), bidirectional marks, embeddings, overrides
# and isolates, line and paragraph separators, and the invisible ones (zero-width space, word
# joiner, byte order mark). Zero-width (non-)joiners are not in it: Persian, the Indic scripts
# and emoji sequences need them, and they neither move nor hide text. The invisible operators
# (U+2061-2064) and the tag characters (U+E0000-E007F) are invisible too, and tags spell out
# ASCII a model reads and a reviewer never sees ("ignore the rules above" hidden after a rule).
# So do the variation selectors 17-256 (U+E0100-E01EF), one a byte after any letter (ASCII
# bytes all fall there); only a Han ideograph's rare registered variant takes one.
UNSAFE_RANGES = ((0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F), (0x061C, 0x061C), (0x200B, 0x200B),
                 (0x200E, 0x200F), (0x202A, 0x202E), (0x2028, 0x2029), (0x2060, 0x2064),
                 (0x2066, 0x2069), (0xFEFF, 0xFEFF), (0xE0000, 0xE007F), (0xE0100, 0xE01EF))
UNSAFE_CHARS = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in UNSAFE_RANGES)  # a regex class's body
# Variation selectors 1-16 two or more in a row: a character takes one selector (an emoji its
# U+FE0F, a symbol its U+FE0E), while a run carries bytes, four bits a selector. Each one of a
# run is as unsafe as the table's characters (a pattern, not a range of them).
SELECTOR_RUN = "[\ufe00-\ufe0f](?=[\ufe00-\ufe0f])|(?<=[\ufe00-\ufe0f])[\ufe00-\ufe0f]"
# One line: the table, tab and line feed. What writers strip (:func:`shorten`) or refuse (a
# trailer's value, an evaluation record) and what :mod:`gitimprove.safetext` refuses in a name.
CONTROL = re.compile(f"[{UNSAFE_CHARS}\t\n]|{SELECTOR_RUN}")
# A terminal's escape sequence whole (CSI, as ``ESC [`` or C1 ``\x9b``, and OSC): what is left of
# one when only its ESC is taken out ("[31mwarranty") is noise in a line.
ESCAPE_SEQUENCE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
# NOTE: what a *reader* of records refuses, fixed for good: the characters every version of
# CONTROL has held. A character added to CONTROL later (U+2060 was) must not hide a record
# an earlier version wrote with it; what CONTROL leaves out (the joiners, once in it) only
# lets more through. New records pass it, as CONTROL holds all of it.
RECORD_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
                            r"\u2028\u2029\u2066-\u2069\ufeff]")


def percent(share: float) -> str:
    """A share for people: a decimal under 10% (42 complaints among 10,000 records are 0.4%, not
    the 0% of none), whole numbers above."""
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"


def spent(requests: int, input_tokens: int, output_tokens: int, *, cache_read: int = 0,
          cache_write: int = 0) -> str:
    """What model calls cost, as every command says it: ``1 request, 3,069 input and 400 output
    tokens``; with the prompt cache, ``60 requests, 90,000 input (80,000 read from the cache,
    4,000 written to it) and 3,000 output tokens``."""
    cached = [f"{n:,} {what}" for n, what in ((cache_read, "read from the cache"),
                                               (cache_write, "written to it" if cache_read
                                                else "written to the cache")) if n]
    return (f"{requests} request{'' if requests == 1 else 's'}, {input_tokens:,} input"
            + (f" ({', '.join(cached)})" if cached else "") + f" and {output_tokens:,} output "
            "tokens")


def usd(amount: float, about: str = "") -> str:
    """Dollars to the cent; an amount that rounds to no cent is "under $0.01", not "$0.00"."""
    return "under $0.01" if amount < 0.005 else f"{about}${amount:.2f}"


def shorten(text: str, limit: int, *, words: bool = True) -> str:
    """``text`` on one line (control characters and runs of whitespace become one space),
    cut to ``limit`` characters with an ellipsis, at the end of a word where one ends in its
    last third ("a second rule would…", not "a second rule would contradict it, s…").
    ``words=False`` cuts anywhere: a list of ids shows as many as fit."""
    flat = " ".join(CONTROL.sub(" ", text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if words and flat[limit - 1] != " ":
        space = cut.rfind(" ")
        if space >= limit * 2 // 3:
            cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def did_you_mean(name: str, names: Sequence[str], *, what: str, none: str) -> str:
    """A hint for an unknown ``name``: the closest of ``names``, else all of them, else ``none``."""
    import difflib  # only for a mistake

    close = difflib.get_close_matches(name, list(names), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"{what}: {', '.join(names)}" if names else none


def fold(items: Sequence[str], shown: int, *, more: str = "") -> str:
    """``a, b, c and 12 more`` (the rest: ``more``)."""
    if len(items) <= shown:
        return ", ".join(items)
    tail = f" ({more})" if more else ""
    return f"{', '.join(items[:shown])} and {len(items) - shown:,} more{tail}"


def rule_number(index: int) -> str:
    """A rule as people count it: ``rule 3`` is the third, index 2. Indices stay 0-based in
    data (the model's operations, records, ``--json``); only text for a person adds one, and
    nothing reads such a number back."""
    return f"rule {index + 1}"


def is_slug(value: str) -> bool:
    """Lowercase letters, digits, ``-``, ``_`` and ``.``; no ``..``, no leading punctuation."""
    return bool(SLUG_RE.match(value)) and len(value) <= 64


def section_slug(text: str, fallback: str = "section", *, fold: bool = True) -> str:
    """A section id from a heading: lowercase words joined by ``-``, the marks off its Latin
    letters ("Réponses" -> ``reponses``, "Straße" -> ``strasse``; ``fold=False``: dropped with
    their letter, ``r-ponses``, as ids were made before).

    Latin letters and digits make the id; a heading with none of them ("## 安全規範",
    "## Правила") keeps its own words (NFKC, lowercase), so that its id does not depend on its
    position: a numbered fallback would hand a protection to another section when one is
    added before it. So does a heading whose only Latin characters are its number
    ("## 3. Принцип"): "3" would name its position, not the section."""
    latin = latin_folded(text) if fold else text
    out = _SLUG_CHARS.sub("-", latin.lower()).strip("-")[:48].strip("-")
    if not any("a" <= c <= "z" for c in out) and any(c.isalpha() and not c.isascii() for c in text):
        words = "".join(c if c.isalnum() else "-" for c in unicodedata.normalize("NFKC", text).lower())
        out = re.sub("-+", "-", words).strip("-")[:48].strip("-")
    return out or fallback


_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
# Latin letters that carry no mark to take off, each as it is written without its stroke
_LATIN_LETTERS = str.maketrans({"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                                "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
                                "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i"})


def latin_folded(text: str) -> str:
    """``text`` with the marks off its Latin letters and their ligatures spelled out
    ("Réponses" -> "Reponses", "Straße" -> "Strasse"); letters of other scripts as they are."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_LATIN_LETTERS))
    return unicodedata.normalize("NFC", marks_off_latin(decomposed))


def marks_off_latin(decomposed: str) -> str:
    """An NFKD text without the marks on Latin letters, all of a letter's marks ("việt" has
    two): "viet". Marks on letters of other scripts stay. A mark is a character of a nonzero
    combining class; a Latin letter, one up to U+024F.

    Each character is classed by one ``str.translate`` (see :class:`_MarkClass`) and the marks
    to drop are found by a regular expression on the classes: no Python call per character
    (Thai, Devanagari and accented Latin feedback has marks in nearly every word)."""
    classes = decomposed.translate(_MARK_CLASS)
    if "m" not in classes:
        return decomposed
    pieces, at = [], 0
    for run in _LATIN_MARKS.finditer(classes):
        pieces.append(decomposed[at:run.start()])
        at = run.end()
    pieces.append(decomposed[at:])
    return "".join(pieces)


class _MarkClass(dict[int, str]):
    """Code point -> its class as one character: ``m`` a mark, ``l`` a Latin letter (or any
    other character up to U+024F), ``o`` any other; worked out the first time it is met."""

    def __missing__(self, point: int) -> str:
        if len(self) >= 100_000:  # a text of random code points: bounded all the same
            self.clear()
        found = self[point] = ("m" if unicodedata.combining(chr(point)) else
                               "l" if point <= 0x24F else "o")
        return found


_MARK_CLASS = _MarkClass()
_LATIN_MARKS = re.compile(r"(?<=l)m+")
