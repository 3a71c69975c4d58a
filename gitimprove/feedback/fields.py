"""The values a feedback record is made of, and how each is checked: limits, ratings, statuses,
timestamps, ids. Plain functions without pydantic: reading records back needs them too, and
every read-only command must start fast (the validation schema is in :mod:`.validation`)."""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

Rating = Literal["positive", "negative"]
SignalValue = bool | int | float

# -- limits (documented in docs/feedback.md) ---------------------------------------------------
MAX_TEXT_CHARS = 10_000        # reason, correction: a few pages is plenty for a comment
MAX_RUN_TEXT_CHARS = 200_000   # input, output: a whole agent run, but not a data dump
MAX_ID_CHARS = 200             # id, run_id, user_id
MAX_SIGNALS = 32
MAX_METADATA_BYTES = 16_384    # metadata as compact JSON
MAX_TOOL_CALLS = 1_000         # tool calls in one record (one run)
MAX_TOOL_ARGUMENT_CHARS = 4_000  # a call's arguments as stored (the policy's limit is lower)
MAX_TOOL_DURATION_MS = 7 * 24 * 3600 * 1000

FIELDS = ("id", "agent", "version", "run_id", "rating", "reason", "correction", "signals",
          "user_id", "input", "output", "metadata", "created_at", "tool_calls")
FIELDS_NOTE = f"(fields: {', '.join(FIELDS)})"
TEXT_FIELDS = ("reason", "correction")
# Names other tools give a field (an app store's review export, a spreadsheet): said beside
# an unknown field, so a user converting a file knows where its column goes.
_FIELD_GUESSES = {
    "text": "reason", "review": "reason", "comment": "reason", "comments": "reason",
    "feedback": "reason", "message": "reason", "content": "reason", "body": "reason",
    "date": "created_at", "time": "created_at", "timestamp": "created_at",
    "created": "created_at", "at": "created_at", "updated": "created_at",
    "reviewid": "id", "review_id": "id", "stars": "rating", "score": "rating", "thumbs": "rating",
    "user": "user_id", "username": "user_id", "author": "user_id",
    "prompt": "input", "question": "input", "response": "output", "answer": "output",
    "run": "run_id", "session_id": "run_id",
}


def map_hint(names: list[str]) -> str | None:
    """``--map text=reason --map date=created_at``: the options that give the names other tools
    use their field, for those :data:`_FIELD_GUESSES` knows; None when it knows none."""
    known = [(n, _FIELD_GUESSES[n.lower()]) for n in names if n.lower() in _FIELD_GUESSES]
    taken: set[str] = set()
    parts: list[str] = []
    for name, field_ in known:
        if field_ not in taken:  # "review" and "text" cannot both be the reason
            taken.add(field_)
            parts.append(f"--map {name}={field_}")
    return " ".join(parts) or None


def unknown_fields(names: list[str], *, what: str = "field") -> str:
    """``unknown fields 'hash', 'text' (as reason?)``: each name once, with the field it
    may be meant as."""
    shown = ", ".join(f"{n!r} (as {_FIELD_GUESSES[n.lower()]}?)" if n.lower() in _FIELD_GUESSES
                      else repr(n) for n in names)
    return f"unknown {what}{'s' if len(names) > 1 else ''} {shown}"
TROUBLE_SIGNALS = ("regenerated", "edited_output", "task_completed")

_POSITIVE = {"positive", "up", "thumbs_up", "thumbsup", "+1", "1", "👍"}
_NEGATIVE = {"negative", "down", "thumbs_down", "thumbsdown", "-1", "👎"}
RATING_HELP = "use positive or negative (also up/down, thumbs_up/thumbs_down, +1/-1)"
STARS_NOTE = "for 1-5 stars, import with --stars (a 1 would read as +1, positive)"

_ID_RE = re.compile(r"\A[^\s\x00-\x1f\x7f]{1,200}\Z")
# A user id may be a name with spaces inside ("Ada Lovelace" in an app store's export): it is
# never written into git, only stored and hashed for a trial's share. No control character or
# line separator; no space at either end (values are stripped first).
_USER_RE = re.compile(r"\A(?=\S)[^\x00-\x1f\x7f-\x9f\u2028\u2029]{1,200}(?<=\S)\Z")
_VERSION_RE = re.compile(r"\A[0-9A-Za-z._-]{1,100}\Z")
_SIGNAL_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")
TOOL_NAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")

ToolStatus = Literal["ok", "error"]
_TOOL_OK = {"ok", "success", "succeeded", "successful", "completed", "done"}
_TOOL_ERROR = {"error", "failed", "failure", "exception", "timeout", "timed_out"}
STATUS_HELP = "use ok or error (also success/completed, failed/exception/timeout)"
ARGUMENTS_CUT = "…[cut]"


def _shown(value: object) -> object:
    """A value for an error message: long text cut at 40 characters (repr() escapes the rest)."""
    return value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "..."


def normalize_rating(value: object) -> Rating | None:
    """``positive``/``negative`` from any accepted spelling; None for None or ``""``.

    Raises ValueError for anything else (``meh``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a rating: {RATING_HELP}")
    if isinstance(value, int | float) and value in (1, -1):
        return "positive" if value == 1 else "negative"
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key == "":
            return None
        if key.startswith("_") and key[1:].isdigit():  # "-1" became "_1"
            key = "-" + key[1:]
        if key in _POSITIVE:
            return "positive"
        if key in _NEGATIVE:
            return "negative"
    number = value if isinstance(value, int | float) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if number is not None and 0 <= number <= 10:
        # NOTE: an app store's stars: a 1 would read as +1, so the whole file needs mapping
        raise ValueError(f"{_shown(value)!r} is not a rating: {RATING_HELP}; {STARS_NOTE}")
    raise ValueError(f"{_shown(value)!r} is not a rating: {RATING_HELP}")


def _check_text(name: str, value: object, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise ValueError(f"is too long: {len(text):,} characters (the limit is {limit:,}; "
                         "see `gitimprove docs feedback`)")
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    try:
        if not text.isascii():
            text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid UTF-8 (it contains undecodable bytes, or a lone surrogate "
                         "such as the JSON escape \\ud800)") from None
    return text


def parse_timestamp(value: object) -> datetime:
    """An aware UTC datetime from a datetime, an ISO 8601 string or epoch seconds."""
    if isinstance(value, str):  # the common case first: a line of a file
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 date-time like "
                             "2026-09-15T07:55:22Z") from None
    elif isinstance(value, datetime):
        stamp = value
    elif isinstance(value, bool):
        raise ValueError("must be an ISO 8601 date-time like 2026-09-15T07:55:22Z")
    elif isinstance(value, int | float):
        if not is_finite(value):
            raise ValueError("must be a finite number of seconds")
        try:
            stamp = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value} seconds is not a time gitimprove can store") from None
    else:
        raise ValueError("must be an ISO 8601 date-time like 2026-09-15T07:55:22Z")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return stamp.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{stamp.isoformat()} is out of range once converted to UTC") from None


def format_timestamp(stamp: datetime) -> str:
    """Fixed-width UTC text that sorts like the time it names: ``2026-09-15T07:55:22.000000Z``."""
    if stamp.tzinfo is not UTC:
        stamp = stamp.astimezone(UTC)
    # NOTE: isoformat(timespec="microseconds") of the naive time, written out: a third of
    # the cost, once for every record written.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second,
        stamp.microsecond)


_fromisoformat = datetime.fromisoformat


def timestamp_text(given: str) -> str:
    """``format_timestamp(parse_timestamp(given))`` of a time given as text: ValueError when
    it is not one."""
    # NOTE: a time in UTC written the usual way (2026-09-15T07:55:22Z, with "+00:00", or with
    # microseconds) is its own stored text once the C parser has checked it: this runs for
    # every line of a bulk import, and parsing then formatting costs three times as much.
    try:
        stamp: datetime | None = _fromisoformat(given)
    except ValueError:
        stamp = None  # worded below
    if stamp is not None and stamp.tzinfo is UTC and given[4:5] == "-" and given[7:8] == "-" and given[10:11] == "T" \
            and given[13:14] == ":" and given[16:17] == ":":
        end = given[19:20]
        if end == "Z" or end == "+":
            return given[:19] + ".000000Z"
        if end == "." and given[26:27] in ("Z", "+"):
            return given[:26] + "Z"
    return format_timestamp(parse_timestamp(given))


# the last second clock() read: (seconds since the epoch, that second's year, month, day, hour,
# minute and second, its text)
_second: tuple[int, tuple[int, int, int, int, int, int], str] = (-1, (1970, 1, 1, 0, 0, 0), "")


def clock() -> tuple[datetime, str]:
    """The current time, and as :func:`format_timestamp` writes it.

    The date and time of day are written out once a second: this runs for every record
    written (its ``created_at`` when none is given, and when the store received it)."""
    global _second
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    last = _second
    if last[0] != seconds:
        stamp = datetime.fromtimestamp(seconds, UTC)
        last = _second = (seconds, (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute,
                                    stamp.second), format_timestamp(stamp)[:19])
    micros = nanos // 1000
    # NOTE: the constructor with positional arguments: a third of what replace() costs
    return datetime(*last[1], micros, UTC), f"{last[2]}.{micros:06d}Z"


def new_id() -> str:
    """A fresh feedback id: ``fb-``, the time in milliseconds (12 hex digits) and 64 random
    bits (16 hex digits), as in a UUIDv7 (RFC 9562).

    Ids made later sort after ids made earlier (to the millisecond): a record is written at
    the end of the store's index of ids, not at a random place in it, which makes an insert
    about a sixth cheaper; and 64 random bits keep two writers in the same millisecond apart."""
    return f"fb-{time.time_ns() // 1_000_000:012x}{(_bits or _seeded())(64):016x}"


# NOTE: the random bits of ids come from a generator of this module's own, seeded from the
# system's randomness (and seeded again in a forked child, which would otherwise repeat its
# parent's ids): os.urandom is a system call for every record written. Ids need to be apart,
# not secret; a caller seeding the random module does not make them repeat.
_bits: Callable[[int], int] | None = None


def _seeded() -> Callable[[int], int]:
    global _bits
    import random

    generator = random.Random()
    os.register_at_fork(after_in_child=generator.seed)
    _bits = generator.getrandbits
    return _bits


def normalize_status(value: object) -> ToolStatus:
    """``ok``/``error`` from an accepted spelling; ValueError for anything else."""
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key in _TOOL_OK:
            return "ok"
        if key in _TOOL_ERROR:
            return "error"
    raise ValueError(f"{_shown(value)!r} is not a status: {STATUS_HELP}")


def compact_arguments(value: object, limit: int) -> str:
    """A call's arguments as compact JSON text, cut at ``limit`` characters (with a marker)."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                              default=str)
        except (TypeError, ValueError, RecursionError):
            raise ValueError("arguments must be plain JSON (objects, lists, text, numbers)") from None
    if len(text) > limit:
        text = text[:max(0, limit - len(ARGUMENTS_CUT))] + ARGUMENTS_CUT
    return text.replace("\x00", "")


def is_finite(value: int | float) -> bool:
    """A number that is finite as a float too (an int too large for a float is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def is_feedback(rating: object, reason: object, correction: object, signals: object) -> bool:
    """False for a run log: a record with only the run's tool calls, nothing anybody said."""
    return bool(rating is not None or reason or correction or signals)
