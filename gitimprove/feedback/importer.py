"""Importing feedback files: JSON Lines and CSV, all-or-nothing per file.

Every line is checked before anything is written; one bad line (bad JSON, unknown agent, bad
rating, empty record, invalid UTF-8, too long) stops the import and every bad line is reported
with its number and why. ``skip_invalid`` imports the good lines and lists the rest.

Re-importing a file adds nothing twice: a record keeps its ``id``, and a line without one gets
an id hashed from its content. The same id with different content is a conflict, reported as a
bad line.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitimprove.cycles import paused
from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.feedback.base import FeedbackStore, record_row
from gitimprove.feedback.capture import AgentIndex, build_record
from gitimprove.feedback.errors import FeedbackImportError, LineProblem
from gitimprove.feedback.fields import FIELDS_NOTE, STARS_NOTE, clock, map_hint, unknown_fields
from gitimprove.feedback.models import FIELDS, FeedbackRecord, SignalValue

if TYPE_CHECKING:
    from gitimprove.feedback.bulk import FastLines

MAX_LINE_BYTES = 2 * 1024 * 1024
FORMATS = ("jsonl", "json", "csv")  # json: one array of records (an export, not lines)
_SIGNAL_PREFIXES = ("signals.", "signal.")
_KNOWN = frozenset(FIELDS)
_CONTENT = ("reason", "correction", "signals", "tool_calls")  # what a record says besides a rating


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    source: str
    format: str
    dry_run: bool
    records: int = 0
    added: int = 0
    duplicates: int = 0   # already stored
    repeated: int = 0     # the same record again, later in the file
    neutral: int = 0      # three stars and nothing else (--stars): nothing to store
    unnamed: int = 0      # records that named no agent, given the import's
    ignored: list[str] = field(default_factory=list)  # columns or keys --map left unnamed
    invalid: list[LineProblem] = field(default_factory=list)
    warnings: list[LineProblem] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "format": self.format, "dry_run": self.dry_run,
            "records": self.records, "added": self.added, "duplicates": self.duplicates,
            "repeated": self.repeated, "neutral": self.neutral, "unnamed": self.unnamed,
            "ignored": self.ignored,
            "invalid": [{"line": p.line, "error": p.message} for p in self.invalid],
            "warnings": [{"line": p.line, "warning": p.message} for p in self.warnings],
        }


def parse_signal_value(text: str) -> SignalValue:
    """``true``/``false``/``yes``/``no`` or a number, as given on a command line or in CSV."""
    low = text.strip().lower()
    if low in ("true", "yes", "y"):
        return True
    if low in ("false", "no", "n"):
        return False
    try:
        return int(low)
    except ValueError:
        pass
    try:
        value = float(low)
    except ValueError:
        raise ValueError(f"{text!r} is not true/false or a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_signal_pairs(text: str) -> dict[str, SignalValue]:
    """``regenerated=true;task_completed=false`` (``;`` or ``,`` between pairs)."""
    out: dict[str, SignalValue] = {}
    for part in text.replace(",", ";").split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{part.strip()!r} is not name=value")
        out[name.strip()] = parse_signal_value(value)
    return out


def parse_tool_calls(text: str) -> list[dict[str, Any]]:
    """``web_search:ok:830;fetch_page:error`` (``name[:status[:duration_ms]]``, ``;`` between
    calls), as given on a command line or in a CSV cell. Arguments need the JSON form."""
    out: list[dict[str, Any]] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        pieces = [p.strip() for p in part.split(":")]
        if len(pieces) > 3:
            raise ValueError(f"{part.strip()[:40]!r} is not name[:status[:duration_ms]]")
        call: dict[str, Any] = {"name": pieces[0]}
        if len(pieces) > 1 and pieces[1]:
            call["status"] = pieces[1]
        if len(pieces) > 2 and pieces[2]:
            call["duration_ms"] = pieces[2]
        out.append(call)
    return out


def _decode_problem(data: bytes, exc: UnicodeDecodeError) -> str:
    return (f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at column {exc.start + 1}); "
            "save the file as UTF-8")


# -- JSON Lines -------------------------------------------------------------------------------


def _jsonl_rows(data: bytes) -> list[tuple[int, dict[str, Any] | LineProblem]]:
    """Each line's object, or what is wrong with the line."""
    from pydantic_core import from_json

    rows: list[tuple[int, dict[str, Any] | LineProblem]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        rows += _jsonl_line(raw, number, from_json)
    return rows


def _jsonl_line(raw: bytes, number: int, from_json: Callable[[bytes], Any]
                ) -> list[tuple[int, dict[str, Any] | LineProblem]]:
    """The object of one line, or what is wrong with it (nothing for a blank line)."""
    # NOTE: pydantic-core's JSON parser (a dependency already) reads a typical line in half
    # the time json.loads() takes, and gives the same values whenever it accepts a line
    # (tests/feedback/test_importer.py compares them on awkward numbers and strings). Any
    # line it refuses or that looks unusual is read by json as before, which words the error.
    if raw[-1:] == b"\r":
        raw = raw[:-1]
    if raw[:1] == b"{" and raw[-1:] == b"}" and len(raw) <= MAX_LINE_BYTES:
        try:
            value = from_json(raw)
        except ValueError:
            pass
        else:
            return [(number, value)]
    return _jsonl_lines(raw, first=number)


def _jsonl_lines(data: bytes, first: int = 1) -> list[tuple[int, dict[str, Any] | LineProblem]]:
    """Each line's object or problem, line by line from line number ``first``."""
    rows: list[tuple[int, dict[str, Any] | LineProblem]] = []
    for number, raw in enumerate(data.split(b"\n"), start=first):
        raw = raw.rstrip(b"\r")
        if number == first == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte order mark
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            rows.append((number, LineProblem(number, f"line is {len(raw):,} bytes, over the "
                                                     f"{MAX_LINE_BYTES // 1024 // 1024} MiB limit")))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            rows.append((number, LineProblem(number, _decode_problem(raw, exc))))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            rows.append((number, LineProblem(number, f"bad JSON: {exc.msg} (column {exc.colno})")))
            continue
        except RecursionError:
            rows.append((number, LineProblem(number, "bad JSON: nested too deeply")))
            continue
        if not isinstance(value, dict):
            rows.append((number, LineProblem(number, "each line must be a JSON object {...}")))
            continue
        rows.append((number, value))
    return rows


# -- CSV --------------------------------------------------------------------------------------


def _csv_rows(data: bytes, source: str, *, agent_given: bool = False,
              rename: Mapping[str, str] | None = None, ignored: list[str] | None = None,
              ) -> list[tuple[int, dict[str, Any] | LineProblem]]:
    """The rows of a CSV file. With ``rename`` (``--map``: a column, lowercased, -> a field),
    columns are renamed, and those that name no field are left out (listed in ``ignored``)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # NOTE: decoded leniently so that one bad line is reported as that line, not the file.
    text = data.decode("utf-8", errors="surrogateescape")
    csv.field_size_limit(MAX_LINE_BYTES)
    # strict: a quoted field that never closes is an error, not a cell that runs to the end
    # a header without a comma names the separator: a tab (.tsv) or a semicolon (a
    # spreadsheet saved where the comma is the decimal mark)
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", "\t", ";") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise FeedbackImportError(f"{source}: cannot read the CSV header: {exc}", []) from None
    known = set(FIELDS)
    given = [h.strip() for h in header]
    columns = [h.lower() for h in given]
    if rename is not None:
        columns = [rename.get(c, c) for c in columns]
        left = [g for g, c in zip(given, columns, strict=True)
                if c not in known and not c.startswith(_SIGNAL_PREFIXES)]
        if ignored is not None:
            ignored.extend(left)
        columns = ["" if g in left else c for g, c in zip(given, columns, strict=True)]
    unknown = [g for g, c in zip(given, columns, strict=True)
               if c and c not in known and not c.startswith(_SIGNAL_PREFIXES)]
    if unknown:
        mapped = map_hint(unknown)
        raise FeedbackImportError(
            f"{source}: {unknown_fields(unknown, what='CSV column')}", [],
            hint=(f"name their fields, and the other columns are left out: {mapped} (and "
                  "--stars where a rating is 1-5 stars); " if mapped else "")
            + f"columns: {', '.join(FIELDS)}, or signals.NAME for one signal")
    missing = [] if agent_given else [c for c in ("agent",) if c not in columns]
    has_content = any(c in columns for c in ("rating", "reason", "correction", "signals",
                                             "tool_calls")) or any(
        c.startswith(_SIGNAL_PREFIXES) for c in columns)
    if missing or not has_content:
        what = ["'agent'"] if missing else []
        if not has_content:
            what.append("one of 'rating', 'reason', 'correction', 'signals', 'tool_calls'")
        # the file's own names, with the field --map gave each (a column left out: its name)
        found = [g if not c or c == g.lower() else f"{g} (as {c})"
                 for g, c in zip(given, columns, strict=True)]
        left_out = [g for g, c in zip(given, columns, strict=True) if not c]
        raise FeedbackImportError(
            f"{source}: CSV is missing column(s) {' and '.join(what)} "
            f"(found: {', '.join(found) or 'none'})", [],
            hint=(f"name the column that holds it: --map COLUMN={missing[0] if missing else 'reason'}"
                  f" (left out now: {', '.join(left_out)})" if left_out else
                  "the first line must name the columns, e.g. agent,run_id,rating,reason")
                 + ("; or give every row one agent: --agent NAME" if missing else ""))
    named = [c for c in columns if c]
    if len(set(named)) != len(named):
        dup = sorted({c for c in named if named.count(c) > 1})
        raise FeedbackImportError(f"{source}: CSV column(s) named twice: {', '.join(dup)}", [])
    rows: list[tuple[int, dict[str, Any] | LineProblem]] = []
    last = reader.line_num
    while True:
        start = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append((start, LineProblem(start, f"bad CSV: {exc}")))
            break
        last = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            rows.append((start, LineProblem(start, f"expected {len(columns)} fields, found {len(cells)}")))
            continue
        problem = _bad_utf8(cells)
        if problem:
            rows.append((start, LineProblem(start, problem)))
            continue
        try:
            rows.append((start, _csv_record(columns, cells)))
        except ValueError as exc:
            rows.append((start, LineProblem(start, str(exc))))
    return rows


def _bad_utf8(cells: list[str]) -> str | None:
    for cell in cells:
        raw = cell.encode("utf-8", "surrogateescape")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return (f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")
    return None


def _csv_record(columns: list[str], cells: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    signals: dict[str, SignalValue] = {}
    for name, cell in zip(columns, cells, strict=True):
        if not name or not cell.strip():  # no name: a column --map leaves out
            continue
        if name.startswith(_SIGNAL_PREFIXES):
            signal = name.split(".", 1)[1]
            try:
                signals[signal] = parse_signal_value(cell)
            except ValueError as exc:
                raise ValueError(f"signals.{signal}: {exc}") from None
        elif name == "signals":
            try:
                value = json.loads(cell) if cell.strip().startswith("{") else parse_signal_pairs(cell)
            except (ValueError, json.JSONDecodeError) as exc:
                raise ValueError(f"signals: {exc} (use name=value;name=value or a JSON object)") from None
            if not isinstance(value, dict):
                raise ValueError("signals: use name=value;name=value or a JSON object")
            signals.update(value)
        elif name == "tool_calls":
            try:
                record["tool_calls"] = (json.loads(cell) if cell.strip().startswith("[")
                                        else parse_tool_calls(cell))
            except (ValueError, json.JSONDecodeError) as exc:
                raise ValueError(f"tool_calls: {exc} (use name:status:duration_ms;... or a JSON "
                                 "list)") from None
        elif name == "metadata":
            try:
                record["metadata"] = json.loads(cell)
            except json.JSONDecodeError as exc:
                raise ValueError(f"metadata: bad JSON: {exc.msg}") from None
        else:
            record[name] = cell
    if signals:
        record["signals"] = signals
    return record


# -- the import -------------------------------------------------------------------------------


def detect_format(name: str, data: bytes) -> str:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json" if head == b"[" else "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return "jsonl" if head == b"{" else "json" if head == b"[" else "csv"


class _Lines(Exception):
    """A file taken for one JSON array holds more than one document: read it as lines."""


def _json_records(data: bytes, source: str) -> list[tuple[int, dict[str, Any] | LineProblem]]:
    """The records of a file holding one JSON array of them, numbered from 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedbackImportError(f"{source}: {_decode_problem(data, exc)}; nothing was imported",
                                  []) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # "[1, 2]" then more lines: JSON Lines after all
            raise _Lines from None
        raise FeedbackImportError(f"{source}: bad JSON at line {exc.lineno}, column {exc.colno}: "
                                  f"{exc.msg}; nothing was imported", []) from None
    except RecursionError:
        raise FeedbackImportError(f"{source}: bad JSON: nested too deeply; nothing was imported",
                                  []) from None
    if not isinstance(value, list):
        raise FeedbackImportError(f"{source}: a JSON file must hold an array of records "
                                  "([{...}, {...}]) or one record per line", [])
    return [(n, row if isinstance(row, dict) else LineProblem(
        n, "each record must be a JSON object {...}", "record"))
        for n, row in enumerate(value, start=1)]


def _wide_encoding(data: bytes) -> str | None:
    """``UTF-16`` or ``UTF-32`` when ``data`` is text saved in one of them (a byte-order mark,
    or the zero bytes of ASCII characters written wide), else None. Every line of such a file
    would be refused alone, as not UTF-8 and then as bad JSON or one unknown CSV column."""
    head = data[:4]
    if head in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") or (
            len(head) == 4 and head.count(0) == 3 and head[0] != head[3]):
        return "UTF-32"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (
            len(head) == 4 and head.count(0) == 2 and (head[1] == head[3] == 0
                                                       or head[0] == head[2] == 0)):
        return "UTF-16"
    return None


def _recode(source: str, encoding: str) -> str:
    """The command that saves ``source`` as UTF-8 beside it."""
    import shlex

    if source == "<stdin>":
        return f"iconv -f {encoding} -t UTF-8 FILE > NEW_FILE"
    path = Path(source)
    return (f"iconv -f {encoding} -t UTF-8 {shlex.quote(source)} > "
            f"{shlex.quote(str(path.with_name(f'{path.stem}-utf8{path.suffix}')))}")


def read_source(path: str) -> tuple[str, bytes]:
    """The bytes of a file, or of standard input for ``-``."""
    if path == "-":
        return "<stdin>", sys.stdin.buffer.read()
    try:
        return path, Path(path).read_bytes()
    except IsADirectoryError:
        raise FeedbackImportError(f"cannot read {path}: it is a directory", []) from None
    except OSError as exc:
        raise FeedbackImportError(f"cannot read {path}: {exc.strerror or exc}", []) from None


def import_feedback(
    store: FeedbackStore,
    index: AgentIndex,
    source: str,
    data: bytes,
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    version: str | None = None,
    agent: str | None = None,
    columns: Mapping[str, str] | None = None,
    stars: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ImportReport:
    """Check every line of ``data``, then store the valid records in one transaction.

    ``version`` (a blob id or ``v3``) is given to every record that names none; without it,
    such records count for the version live on main when they were made (inferred when
    figures are computed, see :mod:`.attribution`). ``agent`` is given to every record that
    names none (an export from one agent's logs).

    ``columns`` (``--map``) names the field of a column or key another tool named its own way
    (``{"content": "reason", "score": "rating"}``); with it, the columns and keys that name no
    field are left out (listed in the report's ``ignored``). ``stars`` reads a rating of 1 to 5
    as stars: 1-2 negative, 4-5 positive, 3 no rating (a line with nothing else is counted in
    ``neutral`` and not stored).

    Raises :class:`FeedbackImportError` listing every bad line when any line is bad (unless
    ``skip_invalid``); nothing is written then."""
    wide = _wide_encoding(data)
    if wide is not None:
        raise FeedbackImportError(
            f"{source} is {wide} text, not UTF-8; nothing was imported", [],
            hint=f"save it as UTF-8 ({_recode(source, wide)})")
    if agent is not None:  # a wrong --agent is one mistake, not one per line of the file
        index.check_agent(agent)
    fmt = fmt or detect_format(source, data)
    if fmt not in FORMATS:
        raise FeedbackImportError(f"unknown import format {fmt!r}", [],
                                  hint="use jsonl, json (an array of records) or csv")
    rename = _renames(columns) if columns is not None else None
    # NOTE: an import holds every record until the one transaction (see cycles.paused)
    with paused():
        return _import(store, index, source, data, fmt=fmt, dry_run=dry_run,
                       skip_invalid=skip_invalid, version=version, agent=agent, now=now,
                       rename=rename, stars=stars)


def _renames(columns: Mapping[str, str]) -> dict[str, str]:
    """``--map``'s pairs, checked: each names a field, once; column names compare in lower
    case, as CSV headers do."""
    out: dict[str, str] = {}
    for column, name in columns.items():
        if name not in FIELDS:
            raise FeedbackImportError(
                f"--map {column}={name}: {name!r} is not a field", [],
                hint=f"the fields: {', '.join(FIELDS)}")
        if name in out.values():
            first = next(c for c, n in out.items() if n == name)
            raise FeedbackImportError(f"--map gives two columns the field {name!r}: {first!r} "
                                      f"and {column!r}", [], hint="map one of them")
        out[column.strip().lower()] = name
    return out


_STARS = {1: "negative", 2: "negative", 3: None, 4: "positive", 5: "positive"}


def _stars(value: object) -> object:
    """A 1-5 star rating as a rating (None for three stars); anything else as given."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text) if text else value
        except ValueError:
            return value
    if isinstance(value, int | float) and value in _STARS:
        return _STARS[int(value)]
    if isinstance(value, int | float):
        raise ValueError(f"rating: {value!r} is not a star rating (1 to 5, as --stars reads it)")
    return value


class _Intake:
    """The lines of one file as they are checked: the valid ones by id, and what is wrong."""

    def __init__(self, report: ImportReport, index: AgentIndex, version: str | None,
                 agent: str | None, stamp: datetime, *, rename: Mapping[str, str] | None = None,
                 stars: bool = False, noun: str = "line") -> None:
        self.report, self.index, self.version, self.stamp = report, index, version, stamp
        self.agent = agent
        self.rename, self.stars = rename, stars  # --map (keys of JSON lines), --stars
        self.noun = noun  # what a number counts: a file's lines, or the records of an array
        self._ignored: set[str] = set()
        self.unknown: set[str] = set()  # keys of refused lines that name no field ("text")
        self.keep_arguments = index.keep_arguments()
        # each valid line's number, id and row (fast path) or record (general path)
        self.valid: list[tuple[int, str, tuple[Any, ...] | FeedbackRecord]] = []
        self.seen: dict[str, tuple[int, str]] = {}  # id -> (line, digest) of its first line
        # NOTE: an id hashed from a line's content already stands for that content; its
        # digest also covers created_at, which is "now" for a line that gives none.
        self.derived: set[str] = set()
        # ids given on lines without created_at: their time is the import's, so a stored
        # record with that id is the same when all but its time is the same
        self.timeless: set[str] = set()

    def take(self, number: int, row: dict[str, Any] | LineProblem) -> None:
        """A line the general way: built into a record (or refused) and kept."""
        self.report.records += 1
        if isinstance(row, LineProblem):
            self.report.invalid.append(row)
            return
        if self.rename is not None:
            row = self._renamed(row)
        if self.stars and "rating" in row:
            try:
                row["rating"] = _stars(row["rating"])
            except ValueError as exc:
                self.report.invalid.append(LineProblem(number, str(exc), self.noun))
                self._unknown_keys(row)
                return
            if row["rating"] is None and not any(row.get(k) for k in _CONTENT):
                self.report.neutral += 1  # three stars, no word: nothing to learn from
                return
        if self.version is not None and not row.get("version"):
            row["version"] = self.version
        if self.agent is not None and row.get("agent") in (None, ""):
            row["agent"] = self.agent
            self.report.unnamed += 1
        given_id, given_time = row.get("id"), row.get("created_at")
        try:
            record, warning = build_record(self.index, row, id_from_content=True, now=self.stamp,
                                           fresh=False, keep_arguments=self.keep_arguments,
                                           owned=True)
        except GitImproveError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            self.report.invalid.append(LineProblem(number, exc.message + hint, self.noun))
            self._unknown_keys(row)
            return
        self.keep(number, record.id, record.digest, record, not given_id, given_time is None,
                  warning)

    def _unknown_keys(self, row: Mapping[str, Any]) -> None:
        """Note the keys of a refused line that name no field: the hint maps those it can."""
        if len(self.unknown) < 100:  # NOTE: a file of random keys says no more past that
            self.unknown.update(k for k in row if k not in _KNOWN
                                and not k.startswith(_SIGNAL_PREFIXES))

    def _renamed(self, row: dict[str, Any]) -> dict[str, Any]:
        """A JSON line's keys as ``--map`` names them; keys that name no field are left out."""
        assert self.rename is not None
        out: dict[str, Any] = {}
        for key, value in row.items():
            name = self.rename.get(key.lower(), key)
            if name not in _KNOWN:
                if key not in self._ignored:  # NOTE: a set: every line may bring new keys
                    self._ignored.add(key)
                    self.report.ignored.append(key)
                continue
            out[name] = value  # NOTE: a mapped key wins over a field of the same name
        return out

    def keep(self, number: int, fid: str, digest: str, item: tuple[Any, ...] | FeedbackRecord,
             derived: bool, untimed: bool, warning: str | None) -> None:
        """A valid line, unless its id came earlier in the file."""
        if warning:
            self.report.warnings.append(LineProblem(number, warning, self.noun))
        earlier = self.seen.get(fid)
        if earlier is not None:
            if earlier[1] != digest:
                self.report.invalid.append(LineProblem(
                    number, f"id {fid} is used on {self.noun} {earlier[0]} with different content",
                    self.noun))
            else:
                self.report.repeated += 1
            return
        self.seen[fid] = (number, digest)
        if derived:
            self.derived.add(fid)
        elif untimed:
            self.timeless.add(fid)
        self.valid.append((number, fid, item))


def _take_jsonl(data: bytes, intake: _Intake, fast: FastLines) -> None:
    """Every line of a JSON Lines file: by the fast path (:mod:`.bulk`) when it takes the
    line, else the general way."""
    from pydantic_core import from_json

    # NOTE: one loop for reading and keeping, with the fast path's common case (a new id)
    # written out inline: this runs for every line of the file.
    quick, seen, valid, derived = fast.row, intake.seen, intake.valid, intake.derived
    taken = 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        # the fast path refuses at once a line that is not a JSON object, or is blank; a
        # "\r" at the end is space to JSON
        got = quick(raw) if len(raw) <= MAX_LINE_BYTES else None
        if got is None:
            for entry in _jsonl_line(raw, number, from_json):
                intake.take(*entry)
            continue
        taken += 1
        row, derived_id, warning = got
        fid = row[0]
        if warning is None and fid not in seen:
            seen[fid] = (number, row[14])
            valid.append((number, fid, row))
            if derived_id:
                derived.add(fid)
        else:
            intake.keep(number, fid, row[14], row, derived_id, False, warning)
    intake.report.records += taken
    intake.report.unnamed += fast.unnamed


def _import(store: FeedbackStore, index: AgentIndex, source: str, data: bytes, *, fmt: str,
            dry_run: bool, skip_invalid: bool, version: str | None, agent: str | None,
            now: Callable[[], datetime], rename: Mapping[str, str] | None = None,
            stars: bool = False) -> ImportReport:
    recorded_at = clock()[1]  # when the store received the records: one time for the file
    index.refresh()
    report = ImportReport(source=source, format=fmt, dry_run=dry_run)
    records: list[tuple[int, dict[str, Any] | LineProblem]] | None = None
    if fmt == "json":
        try:
            records = _json_records(data, source)
        except _Lines:
            fmt = report.format = "jsonl"
    if fmt == "jsonl":
        intake = _Intake(report, index, version, agent, now(), rename=rename, stars=stars)
        if rename is not None or stars:  # lines to rewrite first: the general way
            for number, row in _jsonl_lines(data):
                intake.take(number, row)
        else:
            from gitimprove.feedback.bulk import FastLines

            _take_jsonl(data, intake, FastLines(index, version, recorded_at, agent))
    elif records is not None:
        intake = _Intake(report, index, version, agent, now(), rename=rename, stars=stars,
                         noun="record")
        for number, row in records:
            intake.take(number, row)
    else:
        intake = _Intake(report, index, version, agent, now(), stars=stars)
        for number, row in _csv_rows(data, source, agent_given=agent is not None, rename=rename,
                                     ignored=report.ignored):
            intake.take(number, row)
    valid, seen, derived = intake.valid, intake.seen, intake.derived
    # NOTE: most imports bring only new records: they are written without looking each id up
    # first. When any id is already stored, nothing is written, and the lines are checked
    # against what is stored as below.
    if not dry_run and not report.invalid and store.add_new_rows(
            [record_row(i, recorded_at) if isinstance(i, FeedbackRecord) else i for _, _, i in valid]):
        report.ids = [fid for _, fid, _ in valid]
        report.added = len(valid)
        return report
    stored = store.digests([fid for _, fid, _ in valid])
    # NOTE: read back only for ids given without a time whose digest differs (few, if any)
    kept = {r.id: r for r in store.by_ids(
        [fid for fid in intake.timeless if stored.get(fid) not in (None, seen[fid][1])],
        with_io=True)}
    new: list[tuple[Any, ...]] = []
    ids: list[str] = []
    for number, fid, item in valid:
        existing = stored.get(fid)
        if existing is None:
            new.append(record_row(item, recorded_at) if isinstance(item, FeedbackRecord) else item)
            ids.append(fid)
        elif existing == seen[fid][1] or fid in derived or (
                fid in kept and isinstance(item, FeedbackRecord)
                and _same_but_time(kept[fid], item)):
            report.duplicates += 1
        else:
            report.invalid.append(LineProblem(
                number, f"id {fid} is already stored with different content", intake.noun))
    report.invalid.sort(key=lambda p: p.line)
    # NOTE: a file rated with stars has 1s too, which read as +1: none of it is imported, even
    # with --skip-invalid, or its one-star lines would be stored as praise
    stars = any(STARS_NOTE in p.message for p in report.invalid)
    if report.invalid and (stars or not skip_invalid):
        # the list of fields is said once, in the hint, not on each of 20 lines
        problems = [LineProblem(p.line, p.message.replace(f" {FIELDS_NOTE}", ""), p.noun)
                    for p in report.invalid]
        fields = f"; a record's fields: {', '.join(FIELDS)}" if any(
            FIELDS_NOTE in p.message for p in report.invalid) else ""
        if any(p.message.startswith("agent: missing") for p in report.invalid):
            fields = "; --agent NAME gives one agent to every line that names none" + fields
        # keys other tools name their own way ("text", "date"): the options that map them
        mapped = map_hint(sorted(intake.unknown))
        if stars:
            hint = ("the file rates with stars or scores: import it with --stars"
                    f"{' ' + mapped if mapped else ''} (1-2 "
                    "negative, 3 no rating, 4-5 positive), or map every rating to positive or "
                    "negative first; --skip-invalid would import its 1s as +1, positive")
        elif mapped:
            hint = (f"name their fields, and the other keys are left out: {mapped}"
                    + (f"; or pass --skip-invalid to import the {len(new)} valid new "
                       "record(s)" if new else ""))
        elif new:
            hint = (f"fix those {intake.noun}s, or pass --skip-invalid to import the {len(new)} "
                    "valid new record(s)")
        else:
            hint = (f"no {intake.noun} can be imported: fix the file (see `gitimprove docs "
                    "feedback`)")
        if not stars and any(p.message.startswith("not valid UTF-8") for p in report.invalid):
            # NOTE: the usual cause: a spreadsheet saved as "CSV" in its region's code page.
            # Nothing is guessed: the command says which encoding it assumes.
            hint = (f"save the file as UTF-8; saved by a spreadsheet, it is most likely "
                    f"Windows-1252: {_recode(source, 'WINDOWS-1252')}"
                    + (f"; or pass --skip-invalid to import the {len(new)} valid new record(s)"
                       if new else ""))
        raise FeedbackImportError(
            f"{source}: {len(report.invalid):,} of {report.records:,} records are invalid; "
            "nothing was imported", problems, hint=hint + fields)
    report.ids = ids
    if dry_run:
        report.added = len(new)
    else:
        report.added = store.add_rows(new)
        report.duplicates += len(new) - report.added  # stored meanwhile by another process
    return report


def _same_but_time(stored: FeedbackRecord, record: FeedbackRecord) -> bool:
    kept, given = stored.content(), record.content()
    kept.pop("created_at")
    given.pop("created_at")
    return kept == given
