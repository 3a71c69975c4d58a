"""Importing files: JSON Lines and CSV, all-or-nothing, every bad line reported, idempotent."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gitimprove.feedback.errors import FeedbackImportError, LineProblem, said_once
from gitimprove.feedback.importer import ImportReport, import_feedback, read_source
from gitimprove.instructions.repo import InstructionRepo


def run_import(repo: InstructionRepo, data: bytes | str, name: str = "f.jsonl",
               **kwargs: object) -> ImportReport:
    raw = data.encode() if isinstance(data, str) else data
    return import_feedback(repo.feedback_store(), repo._feedback_index(), name, raw, **kwargs)  # type: ignore[arg-type]


def jl(*rows: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_sample_file_imports_and_reimport_adds_nothing(repo: InstructionRepo, sample_repo: Path) -> None:
    data = (sample_repo / "feedback.jsonl").read_bytes()
    first = run_import(repo, data, "feedback.jsonl")
    assert first.added == first.records == 345 and not first.invalid
    again = run_import(repo, data, "feedback.jsonl")
    assert again.added == 0 and again.duplicates == 345
    assert repo.feedback_store().count() == 345
    assert repo.feedback_store().get("fb-0014").rating == "negative"  # type: ignore[union-attr]


def test_lines_without_id_are_idempotent_too(repo: InstructionRepo) -> None:
    data = jl({"agent": "product-writer", "rating": "down", "reason": "too long"},
              {"agent": "product-writer", "rating": "up", "created_at": "2026-09-01T00:00:00Z"})
    assert run_import(repo, data).added == 2
    assert run_import(repo, data).added == 0
    assert repo.feedback_store().count() == 2


def test_a_file_with_some_records_stored_already_adds_the_others(repo: InstructionRepo) -> None:
    rows = [{"id": f"fb-{i}", "agent": "support-agent", "rating": "down", "reason": f"r {i}",
             "created_at": f"2026-09-0{i + 1}T00:00:00Z"} for i in range(5)]
    assert run_import(repo, jl(*rows[1:3])).added == 2
    report = run_import(repo, jl(*rows))
    assert (report.added, report.duplicates, report.ids) == (3, 2, ["fb-0", "fb-3", "fb-4"])
    changed = {**rows[4], "reason": "other"}
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, jl(*rows[:4], changed, {**rows[0], "id": "fb-9"}))
    assert info.value.problems == ["line 5: id fb-4 is already stored with different content"]
    assert repo.feedback_store().count() == 5


def test_every_bad_line_is_reported_and_nothing_imported(repo: InstructionRepo) -> None:
    data = (jl({"id": "ok-1", "agent": "product-writer", "rating": "up"}).encode()
            + b'{"agent": "product-writer", "rating": "down",\n'                      # 2 bad JSON
            + jl({"agent": "product-writr", "rating": "down"}).encode()              # 3 agent
            + jl({"agent": "support-agent", "rating": "meh"}).encode()               # 4 rating
            + jl({"agent": "support-agent", "run_id": "r"}).encode()                 # 5 empty
            + b'{"agent": "support-agent", "reason": "caf\xe9"}\n'                    # 6 UTF-8
            + b"\n"                                                                   # 7 blank
            + b"[1, 2]\n"                                                             # 8 not object
            + jl({"agent": "support-agent", "reason": "x" * 20000}).encode()         # 9 too long
            + jl({"id": "ok-2", "agent": "support-agent", "rating": "+1"}).encode())  # 10
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, data)
    err = info.value
    assert err.message == "f.jsonl: 7 of 9 records are invalid; nothing was imported"
    lines = [p.split(":")[0] for p in err.problems]
    assert lines == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 8", "line 9"]
    text = "\n".join(err.problems)
    assert "line 2: bad JSON: Expecting" in text
    assert "line 3: no agent 'product-writr' on main (did you mean 'product-writer'?)" in text
    assert "line 4: rating: 'meh' is not a rating" in text
    assert "line 5: empty feedback" in text
    assert "line 6: not valid UTF-8 (byte 0xe9 at column" in text
    assert "line 8: each line must be a JSON object" in text
    assert "line 9: reason: is too long: 20,000 characters" in text
    assert "--skip-invalid to import the 2 valid" in str(err)
    assert repo.feedback_store().count() == 0


def test_thousands_of_bad_lines_show_each_problem_once_and_keep_all(repo: InstructionRepo) -> None:
    """A file with a systematic mistake is one line per mistake, with the lines that make it,
    not twenty lines of the same words."""
    rows = [{"agent": "support-agent", "rating": f"{i % 5} stars"}
            for i in range(2500)]
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, jl(*rows))
    err = info.value
    assert len(err.problems) == 2500  # the API keeps every one
    shown = str(err).splitlines()
    assert shown[0].endswith(": 2,500 of 2,500 records are invalid; nothing was imported")
    assert len(shown) == 1 + 5 + 1  # summary, one line per rating written, the hint
    assert shown[1].startswith("  lines 1, 6, 11, 16, 21 and 495 more: rating: '0 stars'")
    assert shown[-1].startswith("  hint: no line can be imported: fix the file")
    # every line naming an agent the repository does not have: one mistake, said once
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, jl(*({"agent": "companion", "rating": -1, "reason": f"r{i}"}
                              for i in range(300))))
    assert str(info.value).splitlines()[1] == (
        "  lines 1, 2, 3, 4, 5 and 295 more: no agent 'companion' on main (agents: product-writer, "
        "research-assistant, support-agent, trip-planner)")


def test_more_distinct_problems_than_shown_end_with_the_last(repo: InstructionRepo) -> None:
    rows = [{"agent": "support-agent", "rating": f"{i} stars"} for i in range(30)]
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, jl(*rows))
    shown = str(info.value).splitlines()
    assert shown[1].startswith("  line 1: rating: '0 stars'")
    assert shown[21].startswith("  ... and 10 more problems, the last: line 30: rating: '29 stars'")


def test_skip_invalid_imports_the_good_lines(repo: InstructionRepo) -> None:
    data = jl({"id": "a", "agent": "product-writer", "rating": "up"},
              {"id": "b", "agent": "nobody", "rating": "up"},
              {"id": "c", "agent": "support-agent", "rating": "down"})
    report = run_import(repo, data, skip_invalid=True)
    assert report.added == 2 and [p.line for p in report.invalid] == [2]
    assert sorted(r.id for r in repo.feedback_store().records()) == ["a", "c"]
    assert report.to_json()["invalid"][0]["line"] == 2


def test_dry_run_writes_nothing(repo: InstructionRepo) -> None:
    data = jl({"id": "a", "agent": "product-writer", "rating": "up"})
    report = run_import(repo, data, dry_run=True)
    assert report.dry_run and report.added == 1
    assert repo.feedback_store().count() == 0


def test_huge_line_is_bounded(repo: InstructionRepo) -> None:
    line = json.dumps({"agent": "product-writer", "reason": "x" * (10 * 1024 * 1024)})
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, line + "\n")
    assert "line 1: line is 10,485," in info.value.problems[0]
    assert "over the 2 MiB limit" in info.value.problems[0]


def test_conflicting_ids(repo: InstructionRepo) -> None:
    run_import(repo, jl({"id": "x", "agent": "product-writer", "rating": "up"}))
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, jl({"id": "x", "agent": "product-writer", "rating": "down"},
                            {"id": "y", "agent": "product-writer", "rating": "down"},
                            {"id": "y", "agent": "product-writer", "rating": "up"},
                            {"id": "y", "agent": "product-writer", "rating": "down"}))
    assert info.value.problems == [
        "line 1: id x is already stored with different content",
        "line 3: id y is used on line 2 with different content"]
    assert repo.feedback_store().count() == 1


def test_unknown_version_warns_per_line(repo: InstructionRepo) -> None:
    report = run_import(repo, jl({"agent": "product-writer", "rating": "up", "version": "f" * 40}))
    assert report.added == 1
    assert report.warnings[0].line == 1 and "not in the history" in report.warnings[0].message


CSV = """id,agent,run_id,rating,reason,correction,signals,signals.edited_output,created_at
c1,product-writer,r1,down,"Too long, again",,regenerated=true;task_completed=false,,2026-09-01T10:00:00Z
c2,product-writer,r1,,,"Keep it short, under 80 words",,yes,2026-09-01T10:01:00Z
c3,support-agent,r2,thumbs_up,"multi
line reason",,"{""task_completed"": true}",,2026-09-01T11:00:00Z
"""


def test_csv_import(repo: InstructionRepo) -> None:
    report = run_import(repo, CSV, "f.csv")
    assert report.format == "csv" and report.added == 3
    store = repo.feedback_store()
    c1, c2, c3 = (store.get(i) for i in ("c1", "c2", "c3"))
    assert c1 and c1.signals == {"regenerated": True, "task_completed": False} and c1.reason == "Too long, again"
    assert c2 and c2.signals == {"edited_output": True} and c2.rating is None
    assert c3 and c3.rating == "positive" and c3.reason == "multi\nline reason"
    assert run_import(repo, CSV, "f.csv").added == 0


def test_csv_bad_rows_have_physical_line_numbers(repo: InstructionRepo) -> None:
    data = CSV.encode() + b"c4,support-agent,r3,meh,,,,,\nc5,support-agent\nc6,support-agent,r4,down,caf\xe9,,,,\n"
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, data, "f.csv")
    assert info.value.problems == [
        "line 6: rating: 'meh' is not a rating: use positive or negative (also up/down, "
        "thumbs_up/thumbs_down, +1/-1)",
        "line 7: expected 9 fields, found 2",
        "line 8: not valid UTF-8 (byte 0xe9); save the file as UTF-8"]


def test_a_spreadsheets_csv_in_windows_1252_gets_the_command_that_fixes_it(
        repo: InstructionRepo, tmp_path: Path) -> None:
    # Excel saves "CSV" in its region's code page: every line with an accent was refused,
    # with "fix the file" for a hint
    path = tmp_path / "excel.csv"
    path.write_bytes(b"agent,rating,reason\n" + "".join(
        f"support-agent,down,\"Trop lent, caf\u00e9 {n} \u2019ok\u2019\"\n"
        for n in range(3)).encode("cp1252"))
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, path.read_bytes(), str(path))
    assert info.value.hint == (
        f"save the file as UTF-8; saved by a spreadsheet, it is most likely Windows-1252: "
        f"iconv -f WINDOWS-1252 -t UTF-8 {path} > {tmp_path / 'excel-utf8.csv'}")
    # what the command does
    assert run_import(repo, path.read_bytes().decode("cp1252").encode(), "excel-utf8.csv").added == 3
    assert repo.feedback_store().count() == 3


@pytest.mark.parametrize(("encoding", "wide"), [
    ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
    ("utf-32", "UTF-32"), ("utf-32-le", "UTF-32")])
@pytest.mark.parametrize("name", ["f.jsonl", "f.csv"])
def test_a_file_saved_as_utf16_or_utf32_is_refused_once_with_the_command_that_fixes_it(
        repo: InstructionRepo, encoding: str, wide: str, name: str) -> None:
    # a spreadsheet's "Unicode text" export: every line was refused alone, as bad JSON or
    # as one unknown CSV column of NUL-spaced letters
    text = CSV if name.endswith(".csv") else jl({"agent": "support-agent", "rating": "up"}) * 3
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, text.encode(encoding), name)
    assert info.value.message == f"{name} is {wide} text, not UTF-8; nothing was imported"
    assert info.value.problems == []
    assert info.value.hint == (f"save it as UTF-8 (iconv -f {wide} -t UTF-8 {name} > "
                               f"{name.replace('.', '-utf8.')})")
    assert repo.feedback_store().count() == 0


def test_an_app_store_export_is_refused_saying_where_its_fields_go(repo: InstructionRepo) -> None:
    # the shape of a scraped app review file: stars, and fields named by another tool
    data = "".join(json.dumps({"hash": f"h{n}", "text": "Too long", "rating": n % 5 + 1,
                               "date": "2025-07-05 10:41:53"}) + "\n" for n in range(30))
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, data, agent="support-agent")
    problems = info.value.problems
    assert problems[1] == (
        "line 2: rating: 2 is not a rating: use positive or negative (also up/down, "
        "thumbs_up/thumbs_down, +1/-1); for 1-5 stars, import with --stars (a 1 would read as "
        "+1, positive); unknown fields 'hash', 'text' (as reason?), 'date' (as created_at?)")
    assert not any("fields:" in p for p in problems), "the fields are listed once, in the hint"
    assert info.value.hint == (
        "the file rates with stars or scores: import it with --stars --map date=created_at "
        "--map text=reason (1-2 negative, 3 no "
        "rating, 4-5 positive), or map every rating to positive or negative first; "
        "--skip-invalid would import its 1s as +1, positive; a record's fields: id, agent, "
        "version, run_id, rating, reason, correction, signals, user_id, input, output, "
        "metadata, created_at, tool_calls")
    # what the hint says to pass imports the file
    report = run_import(repo, data, agent="support-agent", stars=True,
                        columns={"date": "created_at", "text": "reason"})
    assert report.records == 30 and not report.invalid and report.ignored == ["hash"]
    thumbs = "".join(json.dumps({"agent": "support-agent", "text": "Too long", "rating": "down"})
                     + "\n" for _ in range(3))
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, thumbs)
    assert info.value.hint is not None and info.value.hint.startswith(
        "name their fields, and the other keys are left out: --map text=reason; a record's "
        "fields: id,")
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, "date,title,review,rating\n2025-07-05,Meh,Too long,4\n", "f.csv")
    assert info.value.message == ("f.csv: unknown CSV columns 'date' (as created_at?), 'title', "
                                  "'review' (as reason?)")
    # Google Play's export, as google-play-scraper writes it
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, "reviewId,userName,content,score,at\nr1,Ada Lovelace,Slow,1,"
                   "2024-09-18 20:11:06\n", "f.csv")
    assert info.value.message == (
        "f.csv: unknown CSV columns 'reviewId' (as id?), 'userName' (as user_id?), 'content' "
        "(as reason?), 'score' (as rating?), 'at' (as created_at?)")
    assert info.value.hint is not None and info.value.hint.startswith(
        "name their fields, and the other columns are left out: --map reviewId=id --map "
        "userName=user_id --map content=reason --map score=rating --map at=created_at (and "
        "--stars where a rating is 1-5 stars); columns: id, agent,")


def test_an_export_is_imported_with_its_columns_mapped_and_its_stars_read(
        repo: InstructionRepo) -> None:
    play = ("reviewId,userName,userImage,content,score,at\n"
            "r1,Ada Lovelace,https://x/1.png,Too slow,1,2024-09-18 20:11:06\n"
            "r2,Grace Hopper,,Lovely answers,5,2024-09-18 21:00:00\n"
            "r3,Alan Turing,,,3,2024-09-19 08:00:00\n"            # three stars, no word
            "r4,Kurt Godel,,Fine I guess,3,2024-09-19 09:00:00\n"  # three stars and a word
            "r1,Ada Lovelace,https://x/1.png,Too slow,1,2024-09-18 20:11:06\n")  # again
    columns = {"reviewId": "id", "userName": "user_id", "content": "reason", "score": "rating",
               "at": "created_at"}
    report = run_import(repo, play, "play.csv", agent="support-agent", columns=columns,
                        stars=True)
    assert (report.added, report.neutral, report.repeated) == (3, 1, 1), report
    assert report.ignored == ["userImage"]
    store = repo.feedback_store()
    got = {r: store.get(r) for r in ("r1", "r2", "r4")}
    assert [(g.rating, g.reason, g.user_id) for g in got.values()] == [  # type: ignore[union-attr]
        ("negative", "Too slow", "Ada Lovelace"), ("positive", "Lovely answers", "Grace Hopper"),
        (None, "Fine I guess", "Kurt Godel")]
    # JSON lines the same way: keys renamed, the others left out
    lines = jl({"hash": "h1", "text": "Too long", "stars": 2, "date": "2025-07-05 10:41:53"},
               {"hash": "h2", "text": "Great", "stars": "4", "date": "2025-07-05 11:00:00"})
    report = run_import(repo, lines, agent="support-agent", stars=True,
                        columns={"text": "reason", "stars": "rating", "date": "created_at"})
    assert report.added == 2 and report.ignored == ["hash"]
    # a star out of range, and maps that name no field or one field twice, are refused
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, jl({"text": "meh", "stars": 7}), agent="support-agent", stars=True,
                   columns={"text": "reason", "stars": "rating"})
    assert info.value.problems == ["line 1: rating: 7 is not a star rating (1 to 5, as --stars "
                                   "reads it)"]
    with pytest.raises(FeedbackImportError, match="'comment' is not a field"):
        run_import(repo, play, "play.csv", columns={"content": "comment"})
    with pytest.raises(FeedbackImportError, match="two columns the field 'reason'"):
        run_import(repo, play, "play.csv", columns={"content": "reason", "userName": "reason"})
    assert store.count() == 5


def test_a_file_rated_with_stars_is_not_imported_even_with_skip_invalid(
        repo: InstructionRepo) -> None:
    # its 2s to 5s are refused, but its 1s read as +1: one-star reviews stored as praise
    data = "".join(json.dumps({"agent": "support-agent", "reason": f"review {n}",
                               "rating": n % 5 + 1}) + "\n" for n in range(10))
    for skip in (False, True):
        with pytest.raises(FeedbackImportError, match="8 of 10 records are invalid") as info:
            run_import(repo, data, skip_invalid=skip)
        assert info.value.hint is not None and info.value.hint.startswith(
            "the file rates with stars or scores")
    assert repo.feedback_store().count() == 0
    # thumbs as +1/-1 are ratings, and --skip-invalid still skips what is wrong otherwise
    thumbs = jl({"agent": "support-agent", "rating": 1}, {"agent": "support-agent", "rating": -1},
                {"agent": "support-agent", "rating": "meh"})
    assert run_import(repo, thumbs, skip_invalid=True).added == 2


@pytest.mark.parametrize("separator", ["\t", ";"])
def test_a_csv_separated_by_tabs_or_semicolons_is_read_by_its_header(
        repo: InstructionRepo, separator: str) -> None:
    # a .tsv, or a spreadsheet's CSV where the comma is the decimal mark: the whole header
    # was one unknown column
    data = separator.join(["agent", "rating", "reason"]) + "\n" + separator.join(
        ["support-agent", "down", "too long, and slow"]) + "\n"
    report = run_import(repo, data, "f.tsv" if separator == "\t" else "f.csv")
    assert report.added == 1
    (record,) = repo.feedback_store().records(agent="support-agent")
    assert record.reason == "too long, and slow"


@pytest.mark.parametrize("header, message", [
    ("run_id,rating,reason", "CSV is missing column(s) 'agent'"),
    ("agent,run_id,user_id", "one of 'rating', 'reason', 'correction', 'signals'"),
    ("agent,rating,colour", "unknown CSV column 'colour'"),
    ("agent,rating,rating", "named twice"),
])
def test_csv_missing_or_unknown_columns(repo: InstructionRepo, header: str, message: str) -> None:
    with pytest.raises(FeedbackImportError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        run_import(repo, header + "\nproduct-writer,up,x\n", "f.csv")
    assert "\n" not in info.value.message
    assert repo.feedback_store().count() == 0


def test_format_detection_and_unreadable_files(repo: InstructionRepo, tmp_path: Path) -> None:
    assert run_import(repo, jl({"agent": "product-writer", "rating": "up"}), "noext").format == "jsonl"
    assert run_import(repo, "agent,rating\nproduct-writer,down\n", "noext").format == "csv"
    with pytest.raises(FeedbackImportError, match=r"cannot read .*missing\.jsonl: No such file"):
        read_source(str(tmp_path / "missing.jsonl"))
    with pytest.raises(FeedbackImportError, match="it is a directory"):
        read_source(str(tmp_path))


def test_a_user_named_with_spaces_is_imported_as_given(repo: InstructionRepo) -> None:
    # App stores export a display name as the user: "Ada Lovelace" is a user id (it is never
    # written into git), stored the same by the fast reader and the general one; a line break
    # or a control character in it is refused.
    rows = [{"id": f"u-{i}", "agent": "support-agent", "rating": "down", "reason": "slow",
             "user_id": name, "created_at": f"2026-09-0{i + 1}T00:00:00Z"}
            for i, name in enumerate(["Ada Lovelace", "  李 明 ", "x"])]
    rows[2]["created_at"] = "Sept 3"  # the general path reads this line
    rows[2]["user_id"] = "Grace  Hopper"
    with pytest.raises(FeedbackImportError):  # "Sept 3" is no time: nothing is imported
        run_import(repo, jl(*rows))
    rows[2]["created_at"] = "2026-09-03 00:00:00"
    assert run_import(repo, jl(*rows)).added == 3
    store = repo.feedback_store()
    assert [store.get(f"u-{i}").user_id for i in range(3)] == [  # type: ignore[union-attr]
        "Ada Lovelace", "李 明", "Grace  Hopper"]
    for bad in ("Ada\nLovelace", "Ada\u2028Lovelace", "Ada\tLovelace", " "):
        line = jl({"id": "u-9", "agent": "support-agent", "rating": "down", "user_id": bad})
        with pytest.raises(FeedbackImportError) as info:
            run_import(repo, line)
        assert "line 1: user_id: must be 1-200 characters without control characters" in (
            info.value.problems[0]), bad
    assert store.count() == 3


def test_lines_read_fast_give_what_json_gives(repo: InstructionRepo) -> None:
    # The fast reader (pydantic-core's parser) must give json.loads' values, and leave every
    # line it refuses to json, whose messages the errors quote.
    from gitimprove.feedback.importer import _jsonl_lines, _jsonl_rows

    lines = [b'{"a":1,"a":2}', b'{"a":1e400,"b":-1e400,"c":NaN,"d":Infinity}', b'{"a":"\\ud800"}',
             b'{"a":"\\ud83d\\ude00 \\u2028 \\u0000 \\/"}', b'{"a":"x\x01y"}', b'{"a":-0,"b":-0.0}',
             b'{"a":123456789012345678901234567890,"b":9007199254740993.0,"c":1.5e-320}',
             b'{"a":"caf\xe9"}', b'{"a":"\xed\xa0\x80"}', b'\xef\xbb\xbf{"a":1}', b'{"a":1}\r\r',
             b'{"a":1} {"b":2}', b'{"a":1}}', b' {"a":1} ', b"", b"[1]", b'{"a":' + b"[" * 300 +
             b"1" + b"]" * 300 + b"}", b'{"k":"' + "é".encode() * 10 + b'"}', b'{"a":true,"b":null}']
    data = b"\n".join(lines)
    fast, slow = _jsonl_rows(data), _jsonl_lines(data)

    def shown(rows: list[tuple[int, object]]) -> list[tuple[int, str]]:
        return [(n, repr(v)) for n, v in rows]

    assert shown(fast) == shown(slow)  # type: ignore[arg-type]
    # and an import reads both the same: the line numbers of the bad lines are kept
    assert [n for n, v in fast if not isinstance(v, dict)] == [5, 8, 9, 10, 12, 13, 16]


def test_sigkill_mid_import_leaves_none_or_all(sample_repo: Path, tmp_path: Path) -> None:
    # A process killed at any moment of an import leaves the store with none of the file's
    # records or all of them: never part (the records go in in one transaction).
    import signal
    import sqlite3
    import subprocess
    import sys

    n = 20_000
    big = tmp_path / "big.jsonl"
    big.write_text(jl(*({"id": f"k-{i}", "agent": "support-agent", "rating": "down",
                         "reason": f"slow reply number {i}"} for i in range(n))))
    child = ("import sys\n"
             "from gitimprove.instructions.repo import InstructionRepo\n"
             "from gitimprove.feedback.importer import import_feedback\n"
             "repo = InstructionRepo(sys.argv[1])\n"
             "store, index = repo.feedback_store(), repo._feedback_index()\n"
             "data = open(sys.argv[2], 'rb').read()\n"
             "print('ready', flush=True)\n"
             "import_feedback(store, index, 'big.jsonl', data)\n"
             "print('done', flush=True)\n")
    db = sample_repo / ".gitimprove" / "feedback.db"

    def stored() -> int:
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM feedback").fetchone()[0])

    outcomes = set()
    for delay in (0.0, 0.15, 0.3, 0.45, 0.6, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", child, str(sample_repo), str(big)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        count = stored()
        assert count in (0, n), f"killed after {delay}s: {count} of {n} records stored"
        outcomes.add(count)
        if count == n:
            break
    repo = InstructionRepo(sample_repo)
    try:
        report = run_import(repo, big.read_bytes(), "big.jsonl")
        assert stored() == n and report.added == (0 if n in outcomes else n)
    finally:
        repo.feedback_store().close()
        repo.close()


def test_lines_with_an_id_and_no_time_import_once(repo: InstructionRepo) -> None:
    # their time is the import's: a second import of the same file is the same records
    data = jl({"id": "k-1", "agent": "support-agent", "rating": "down", "signals": {"b": 1, "a": 2}},
              {"id": "k-2", "agent": "support-agent", "reason": "slow"})
    assert run_import(repo, data).added == 2
    again = run_import(repo, data)
    assert again.added == 0 and again.duplicates == 2
    changed = jl({"id": "k-1", "agent": "support-agent", "rating": "up"})
    with pytest.raises(FeedbackImportError, match="k-1 is already stored with different content"):
        run_import(repo, changed)


def test_many_warnings_are_shown_as_a_few_and_a_count(sample_repo: Path, tmp_path: Path) -> None:
    """A large export of runs without a version warns once per line; the terminal gets each
    distinct warning once with the first few of its lines and a count, --json gets them all."""
    from click.testing import CliRunner

    from gitimprove.cli import cli

    rows = [{"agent": "trip-planner", "run_id": f"r-{i}", "created_at": "2026-10-05T09:00:00Z",
             "tool_calls": [{"name": "web_search", "status": "ok"}]} for i in range(12)]
    path = tmp_path / "runs.jsonl"
    path.write_text(jl(*rows))
    ran = CliRunner().invoke(cli, ["--repo", str(sample_repo), "feedback", "import", str(path)])
    assert ran.exit_code == 0, ran.output
    warned = [line for line in ran.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1, warned
    assert warned[0].startswith("warning: lines 1, 2, 3, 4, 5 and 7 more: tool calls of "
                                "trip-planner recorded without a version")
    assert "a record's `version`" in warned[0]
    again = CliRunner().invoke(cli, ["--repo", str(sample_repo), "feedback", "import", str(path),
                                     "--dry-run", "--json"])
    assert len(json.loads(again.stdout)["warnings"]) == 12


def test_a_json_array_of_records_is_imported_record_by_record(repo: InstructionRepo) -> None:
    # exports and scrapers often write one JSON array, not a record per line
    rows = [{"id": f"a-{n}", "agent": "support-agent", "rating": "down", "reason": f"slow {n}"}
            for n in range(3)]
    for name in ("export.json", "-", "export"):
        report = run_import(repo, json.dumps(rows, indent=2), name, dry_run=True)
        assert (report.format, report.added) == ("json", 3), name
    # ... but a .jsonl file is lines, and so is a .json file of more than one document
    lines = "\n".join(json.dumps(r) for r in rows)
    report = run_import(repo, "[1]\n" + lines, "x.json", dry_run=True, skip_invalid=True)
    assert (report.format, report.added, [str(p) for p in report.invalid]) == (
        "jsonl", 3, ["line 1: each line must be a JSON object {...}"])
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, json.dumps(rows), "x.jsonl")
    assert info.value.problems == ["line 1: each line must be a JSON object {...}"]
    report = run_import(repo, json.dumps(rows), "export.json")
    assert report.added == 3 and repo.feedback_store().get("a-2").reason == "slow 2"  # type: ignore[union-attr]
    bad = [{"agent": "support-agent", "rating": "meh"}, 3, {"agent": "support-agent", "reason": "ok"}]
    with pytest.raises(FeedbackImportError) as info:
        run_import(repo, json.dumps(bad), "bad.json")
    assert info.value.problems == [
        "record 1: rating: 'meh' is not a rating: use positive or negative (also up/down, "
        "thumbs_up/thumbs_down, +1/-1)", "record 2: each record must be a JSON object {...}"]
    assert info.value.hint == ("fix those records, or pass --skip-invalid to import the 1 valid "
                               "new record(s)")
    with pytest.raises(FeedbackImportError, match=r"bad JSON at line 2, column 1: Expecting value"):
        run_import(repo, '[{"a":\n', "cut.json")
    # --map names the keys of an array's records too
    export = [{"text": "Too long", "stars": 1, "hash": "x"}]
    report = run_import(repo, json.dumps(export), "play.json", agent="support-agent", stars=True,
                        columns={"text": "reason", "stars": "rating"})
    assert report.added == 1 and report.ignored == ["hash"]
    assert repo.feedback_store().count() == 4


def test_a_problem_many_lines_share_is_said_once_with_its_lines(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The error and the warnings read the lines each problem came from, never by parsing
    the text they print: a message that itself says "line 3: ..." stays the message."""
    from gitimprove.cli.feedback import MAX_WARNINGS, _warn_grouped

    unknown = [LineProblem(n, "agent: unknown agent 'writer'") for n in (2, 3, 4)]
    quoted = LineProblem(9, "reason: 'line 3: oops' is not a rating", "record")
    problems = [*unknown, quoted, LineProblem(0, "the file ends in the middle of a line")]
    assert said_once(problems) == [
        "lines 2, 3, 4: agent: unknown agent 'writer'",
        "record 9: reason: 'line 3: oops' is not a rating",
        "the file ends in the middle of a line"]
    err = FeedbackImportError("f.jsonl: 5 of 9 records are invalid", problems, hint="fix them")
    assert str(err).splitlines() == [
        "f.jsonl: 5 of 9 records are invalid", "  lines 2, 3, 4: agent: unknown agent 'writer'",
        "  record 9: reason: 'line 3: oops' is not a rating",
        "  the file ends in the middle of a line", "  hint: fix them"]
    assert err.problems[3] == "record 9: reason: 'line 3: oops' is not a rating"
    # warnings: the first few distinct ones, and how many lines the rest came from
    many = [LineProblem(n, f"version v{n % (MAX_WARNINGS + 2)} is unknown")
            for n in range(1, 3 * (MAX_WARNINGS + 2) + 1)]
    _warn_grouped(many)
    said = capsys.readouterr().err.splitlines()
    assert said[0] == "warning: lines 1, 8, 15: version v1 is unknown"
    assert len(said) == MAX_WARNINGS + 1
    assert said[-1] == ("warning: and 6 more; all of them: `feedback import --dry-run --json`")
