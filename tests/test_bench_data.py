"""The quality benchmark's public feedback sets (benchmarks/data): every set has a converter and
well-formed labels, a set that is not converted is reported with the command that fetches it,
and the Google Play, Trustpilot and App Store converters turn their files into the JSONL the
labels are keyed by."""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks import bench_quality
from benchmarks.data import sources
from benchmarks.data.sources import LABELS, SOURCES, item_hash

GOOGLE_PLAY = ["chatgpt_android_reviews", "replika_android_reviews"]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_set_has_a_converter_and_clean_labels(name: str) -> None:
    source = SOURCES[name]
    module = importlib.import_module(source.converter)
    assert name == module.NAME and callable(module.main)
    assert re.fullmatch(r"[0-9a-f]{40}", source.commit)
    label_file = LABELS / f"{name}.json"
    if label_file.exists():
        labels = json.loads(label_file.read_text())
        assert labels and all(re.fullmatch(r"[0-9a-f]{16}", h) for h in labels)
        assert all(re.fullmatch(r"[a-z_]+", theme) for theme in labels.values())
        # a product theme no item has is a typo that silently lowers triage recall
        assert bench_quality.PRODUCT_THEMES.get(name, frozenset()) <= set(labels.values())


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_set_that_is_not_converted_says_how_to_fetch_it(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITIMPROVE_BENCH_DATA", str(tmp_path))
    [row] = bench_quality._evaluate(name)
    assert row["status"].startswith("not fetched: run git clone")
    assert SOURCES[name].commit[:12] in row["status"]
    assert f"python -m {SOURCES[name].converter} " in row["status"]


@pytest.mark.parametrize("name", GOOGLE_PLAY)
def test_a_google_play_csv_converts_to_hashed_rows(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITIMPROVE_BENCH_DATA", str(tmp_path / "data"))
    raw = tmp_path / "reviews.csv"
    with raw.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["reviewId", "userName", "content", "score", "at", "replyContent"])
        writer.writerow(["a", "someone", "  Forgets my name every day  ", "1", "2024-05-01 10:00:00", ""])
        writer.writerow(["b", "someone", "Forgets my name every day", "1", "2024-05-01 10:00:00", ""])
        writer.writerow(["c", "another", "", "2", "2024-05-02 11:00:00", ""])
        writer.writerow(["d", "another", "Lovely 😀", "5", "2024-05-03 12:00:00", "Thanks!"])
    module = importlib.import_module(SOURCES[name].converter)
    assert module.main([str(raw)]) == 0
    rows = list(sources.read_jsonl(sources.converted(name)))
    assert rows == [
        {"hash": item_hash("Forgets my name every day", "2024-05-01 10:00:00"),
         "text": "Forgets my name every day", "rating": 1, "date": "2024-05-01 10:00:00"},
        {"hash": item_hash("Lovely 😀", "2024-05-03 12:00:00"), "text": "Lovely 😀",
         "rating": 5, "date": "2024-05-03 12:00:00"},
    ]
    assert module.main([]) == 2  # usage, nothing written


def test_realmistake_keeps_one_line_per_explained_error_of_one_category(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITIMPROVE_BENCH_DATA", str(tmp_path / "data"))
    items = [
        {"error_label": "error", "error_categories": ["Reasoning Correctness"],
         "human_explanation": "  Made-up explanation one. ",
         "input": "A made-up task", "llm_response": "A made-up answer"},
        {"error_label": "error", "error_categories": ["Instruction-Following"],
         "human_explanation": "Made-up explanation one."},  # the same text
        {"error_label": "error", "error_categories": ["Context-Faithfulness",
                                                      "Reasoning Correctness"],
         "human_explanation": "Made-up, of two kinds"},
        {"error_label": "no_error", "error_categories": [], "human_explanation": ""},
        {"error_label": "error", "error_categories": ["Instruction-Following"],
         "human_explanation": "Made-up explanation two."},
    ]
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data/example.jsonl", json.dumps(items[0]) + "\n")
        zf.writestr("data/task_a/model.jsonl", "".join(json.dumps(i) + "\n" for i in items))
    module = importlib.import_module(SOURCES["realmistake_critiques"].converter)
    assert module.main([str(archive)]) == 0
    rows = list(sources.read_jsonl(sources.converted("realmistake_critiques")))
    assert rows == [
        {"hash": item_hash("Made-up explanation one."),
         "text": "Made-up explanation one.", "theme": "reasoning_correctness",
         "dataset": "task_a", "input": "A made-up task", "output": "A made-up answer"},
        {"hash": item_hash("Made-up explanation two."), "text": "Made-up explanation two.",
         "theme": "instruction_following", "dataset": "task_a", "input": "", "output": ""},
    ]


def test_judge_errors_keep_each_instance_under_its_tasks_error_type(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One line per described instance, the same description of two answers twice (two
    items), each error type named with its task; then each task is analysed apart."""
    monkeypatch.setenv("GITIMPROVE_BENCH_DATA", str(tmp_path / "data"))
    wrong = [{"id": f"math|{i}", "user_input": f"Made-up question {i}", "response": "42",
              "expert": "The final sum is miscalculated, the arithmetic is wrong",
              "cluster_idx": 0} for i in range(4)]
    long = [{"id": f"math|{i}", "user_input": f"Made-up question {i}", "response": "...",
             "expert": f"The answer repeats step {i} over and over, far too long",
             "cluster_idx": 1} for i in range(4, 8)]
    other = [{"id": "pizza|0", "user_input": "One large pizza", "response": "(ORDER)",
              "expert": "Made-up: the size is wrong", "cluster_idx": 0},
             {"id": "pizza|1", "expert": "", "cluster_idx": 1},  # nothing described
             {"id": "pizza|2", "user_input": "Two drinks", "response": "(ORDER)",
              "expert": "Made-up: the drink is missing", "cluster_idx": 1}]
    archive = tmp_path / "eval_data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("eval/math.json", json.dumps(wrong + long))
        zf.writestr("eval/pizza.json", json.dumps(other))
        zf.writestr("eval/.hidden.json", "not json")
    module = importlib.import_module(SOURCES["judge_errors"].converter)
    assert module.main([str(archive)]) == 0
    rows = list(sources.read_jsonl(sources.converted("judge_errors")))
    assert len(rows) == 10 and len({r["hash"] for r in rows}) == 10
    assert rows[0] == {"hash": item_hash("math|0", wrong[0]["expert"]), "text": wrong[0]["expert"],
                       "task": "math", "theme": "math:0", "rating": 1, "date": None,
                       "input": "Made-up question 0", "output": "42"}
    assert [r["theme"] for r in rows[-2:]] == ["pizza:0", "pizza:1"]
    [out, baseline] = bench_quality._evaluate("judge_errors")
    assert out["tasks"] == 2 and out["items"] == 10 and out["themes"] == 4
    assert 0 <= out["purity_mean"] <= 1 and "ARI_mean_over_tasks" in baseline


def test_assistant_reviews_convert_trustpilot_workbooks_and_app_store_csvs() -> None:
    openpyxl = pytest.importorskip("openpyxl")  # only the converter of this set reads .xlsx
    from benchmarks.data import fetch_assistant_reviews as module

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "rating", "review", "date", "title", "_clueid"])
    sheet.append(["someone", "", "Charged twice and no refund.", datetime(2024, 5, 1), "Scam!", "1"])
    sheet.append(["another", "", "I didn't get an answer at all today", datetime(2024, 5, 2),
                  "I didn't get an answer…", "2"])
    sheet.append(["again", "", "Charged twice and no refund.", datetime(2024, 5, 3), "Scam!", "3"])
    sheet.append(["empty", "", "", datetime(2024, 5, 4), "Just bad", "4"])
    raw = io.BytesIO()
    book.save(raw)
    app_store = "\ufeffcontent,date,rating\nForgets my name,2024-06-01 10:00:00,1\n".encode()
    rows = module.convert({"raw_data/Trustpilot-claude.xlsx": raw.getvalue(),
                           "raw_data/appsotre/appstore_reviews_chatgpt.csv": app_store})
    assert [(r["text"], r["assistant"], r["site"], r["rating"], r["date"]) for r in rows] == [
        ("Scam. Charged twice and no refund.", "Claude", "Trustpilot", None, "2024-05-01"),
        ("I didn't get an answer at all today", "Claude", "Trustpilot", None, "2024-05-02"),
        ("Just bad.", "Claude", "Trustpilot", None, "2024-05-04"),
        ("Forgets my name", "ChatGPT", "App Store", 1, "2024-06-01 10:00:00"),
    ]
    assert all(r["hash"] == item_hash(r["text"]) for r in rows)


def test_assistant_reviews_say_openpyxl_is_needed_and_write_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.data import fetch_assistant_reviews as module

    monkeypatch.setenv("GITIMPROVE_BENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if it were not installed
    assert module.main([str(tmp_path)]) == 1
    assert "needs openpyxl" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
    assert module.main([]) == 2  # usage


def test_a_set_without_stars_is_all_in_and_one_with_stars_only_its_negatives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITIMPROVE_BENCH_DATA", str(tmp_path))
    rows = [{"hash": item_hash(t), "text": t, "rating": r}
            for t, r in (("no stars", None), ("one star", 1), ("five stars", 5))]
    sources.write_jsonl("assistant_reviews", rows)
    loaded = bench_quality._load("assistant_reviews")
    assert loaded is not None
    assert [r["text"] for r in loaded[0]] == ["no stars", "one star"]
