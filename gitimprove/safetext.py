"""Text from outside (models, feedback, commit messages) as data, never as structure.

Two jobs, one table of characters:

- :func:`unsafe_char` finds a character that has no place in instructions or proposals:
  C0 controls (a line break only where the field may hold several lines), DEL, C1 controls,
  bidirectional overrides and isolates, line and paragraph separators, and invisible
  zero-width marks. Agent files and model drafts are refused when they hold one.
- :func:`printable` is the one function every printer passes such text through before it
  reaches a terminal: escape sequences, carriage returns and the rest become visible
  ``\\x1b``-style escapes, so no feedback, model text or commit message can move the cursor,
  recolour the screen or hide a line.
- :func:`plain` makes users' words text a rule or a suggestion may hold: escape sequences and
  invisible characters gone, one line, no letter buried under a flood of combining marks.
- :func:`fold` normalises a title or id for comparison (case, Unicode compatibility forms,
  common lookalike letters, spacing and punctuation), so "Ｓafety", "SAFETY" and "Sаfety"
  with a Cyrillic a are the same name as "safety".
"""

from __future__ import annotations

import re
import unicodedata

from gitimprove.text import CONTROL, ESCAPE_SEQUENCE, SELECTOR_RUN, UNSAFE_CHARS

# The one table (gitimprove.text): in a field of several lines, and on one line.
_UNSAFE_RE = re.compile(f"[{UNSAFE_CHARS}]|{SELECTOR_RUN}")
_UNSAFE_ONE_LINE_RE = CONTROL


def unsafe_char(text: str, *, multiline: bool = False, written: bool = False) -> str | None:
    """The first character of ``text`` that instructions may not hold, or None.

    With ``multiline`` a line break (``\\n``) and a tab are allowed; never anything else.
    ``written``: see :func:`unsafe_at`."""
    at = unsafe_at(text, multiline=multiline, written=written)
    return None if at is None else text[at]


def unsafe_at(text: str, *, multiline: bool = False, written: bool = False) -> int | None:
    """Where the first character :func:`unsafe_char` finds is, or None.

    ``written``: text a person wrote, a file as it stands. One variation selector repeated
    after a symbol (an emoji's U+FE0F doubled by an editor or a keyboard: "⚠\\ufe0f\\ufe0f")
    passes there: a run of one selector carries nothing but its length, while a run that
    hides text needs several (four bits each). A change may still not add one
    (:func:`hidden_chars`, which the validator counts on both sides)."""
    for found in (_UNSAFE_RE if multiline else _UNSAFE_ONE_LINE_RE).finditer(text):
        if not (written and _repeated_selector(text, found.start())):
            return found.start()
    return None


_SELECTORS = frozenset(map(chr, range(0xFE00, 0xFE10)))  # variation selectors 1-16


def _repeated_selector(text: str, at: int) -> bool:
    """Whether ``text[at]`` is in a run of U+FE0E or U+FE0F, one of them repeated, after a
    symbol (an emoji such as ⚠ or ❤ is one; a letter takes no selector)."""
    if text[at] not in "\ufe0e\ufe0f":
        return False
    start, end = at, at
    while start > 0 and text[start - 1] in _SELECTORS:
        start -= 1
    while end < len(text) and text[end] in _SELECTORS:
        end += 1
    return (start > 0 and set(text[start:end]) == {text[at]}
            and unicodedata.category(text[start - 1]).startswith("S"))


def hidden_chars(text: str) -> list[str]:
    """Every character of ``text`` that :func:`unsafe_char` finds with ``multiline`` (each
    selector of a run), but carriage returns (a file's line ends): what a change may not add."""
    return [found.group() for found in _UNSAFE_RE.finditer(text) if found.group() != "\r"]


def one_line(text: str) -> str:
    """``text`` on one line: each character :func:`unsafe_char` finds, and each run of
    whitespace, made one space (for model text that becomes a name or a label)."""
    return " ".join(_UNSAFE_ONE_LINE_RE.sub(" ", text).split())


# What :func:`plain` removes outright rather than spaces: the invisible characters of the
# table, which sit inside words ("war\u200branty"), and the soft hyphen.
_INVISIBLE = re.compile("[\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
                        "\ufeff\U000e0000-\U000e007f\U000e0100-\U000e01ef]|" + SELECTOR_RUN)
MAX_MARKS = 8  # combining marks on one letter: Tibetan and Hebrew stack a few, "Zalgo" a thousand


# NOTE: a mark is never a word character nor a space, so a text without a run of more than
# MAX_MARKS of neither (nearly every text) has no flood, and the loop below is not run.
_MAYBE_FLOOD = re.compile(rf"[^\w\s]{{{MAX_MARKS + 1},}}")


def capped_marks(text: str, limit: int = MAX_MARKS) -> str:
    """``text`` with no more than ``limit`` combining marks on any one character."""
    if text.isascii() or (limit == MAX_MARKS and not _MAYBE_FLOOD.search(text)):
        return text
    out: list[str] = []
    run = 0
    for c in text:
        if unicodedata.category(c)[0] == "M":
            run += 1
            if run > limit:
                continue
        else:
            run = 0
        out.append(c)
    return "".join(out)


def plain(text: str) -> str:
    """Users' words as text to write (a suggested rule): escape sequences and invisible
    characters (bidi controls, zero-width spaces, tags, soft hyphens) removed, other controls
    and runs of whitespace one space (:func:`one_line`), marks capped (:func:`capped_marks`)."""
    if "\x1b" in text or "\x9b" in text:
        text = ESCAPE_SEQUENCE.sub("", text)
    return one_line(capped_marks(_INVISIBLE.sub("", text)))


def describe_char(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: how a refusal names a character."""
    name = unicodedata.name(char, "")
    if not name:
        name = {"\n": "LINE FEED", "\t": "TAB", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE"}.get(
            char, "control character")
    return f"U+{ord(char):04X} ({name})"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, *, multiline: bool = True) -> str:
    """``text`` made safe to print: control, escape and bidi characters shown as ``\\xNN``.

    Line breaks and tabs stay when ``multiline`` (a message body); otherwise they are escaped
    too."""
    value = str(text)
    return (_UNSAFE_RE if multiline else _UNSAFE_ONE_LINE_RE).sub(_escape, value)


# Latin lookalikes among Cyrillic and Greek letters (after NFKC and casefold).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g", "ı": "i",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c", "ϳ": "j",
})


def fold_words(text: str) -> list[str]:
    """The words of a title or id, folded: NFKC, casefold, lookalikes, no marks or spacing."""
    value = unicodedata.normalize("NFKC", text).casefold().translate(_CONFUSABLES)
    value = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", value)


def fold(text: str) -> str:
    """:func:`fold_words` joined: the name two spellings must not share."""
    return "".join(fold_words(text))
