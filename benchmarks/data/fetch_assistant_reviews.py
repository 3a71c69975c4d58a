"""Convert the Trustpilot and App Store reviews of ChatGPT and Claude (see :mod:`.sources`)
into the benchmark's JSONL.

    python -m benchmarks.data.fetch_assistant_reviews CLONE

CLONE is a clone of the source repository; each file is read at the commit that added it (a
later commit deletes the Trustpilot workbooks). Reading ``.xlsx`` needs ``openpyxl``, which is
not a dependency of gitimprove nor of its development tools: ``pip install openpyxl`` to
convert this set; without it the converter says so and writes nothing.

One line per review, the first of each text only (the export repeats a few): ``hash`` (of its
text), ``text`` ("title. review" on Trustpilot, or the review alone where the title is its
cut-off start), ``assistant`` ("ChatGPT" or "Claude"), ``site``, ``rating`` (App Store stars;
none on Trustpilot, whose export kept no stars: every Trustpilot review is in the set, and
praise is labelled "noise"), ``date``. Reviewer names are left out. The hand labels in
``labels/assistant_reviews.json`` are keyed by ``hash``.

The labels: every Trustpilot review and every one- and two-star App Store review, one theme
each, read and labelled by hand (codebook written first, themes about the product chosen
before any analysis was run on the set: labelled blind). A review with several
complaints gets the one it is mostly about (its title's, when even). Themes:

- limits: message caps, usage quotas, "wait four hours", length or upload limits (product)
- pricing: the price, a paywall, not worth what it costs (product)
- subscription: billing gone wrong: charged after cancelling or twice, cannot cancel, paid and
  got nothing, no refund (product)
- login: signing up or in, phone or identity checks, "are you human" puzzles, an account
  banned, closed or deleted (product)
- not_working: errors, outages, crashes, glitches, lost chats, features that fail (product)
- slow: slow answers or a slow app (product)
- ui: the interface (product)
- support: customer support that does not answer or is only a bot (product)
- region: not available in the user's country (product)
- wrong_answers: wrong facts, made-up facts or sources, mistakes in code or sums, misreads or
  ignores what was asked
- weak_answers: answers worse than they were, lazy, useless, "nerfed"
- refusal: refuses, censors, moralises, lectures
- bias: political or cultural bias
- outdated: its knowledge is out of date
- dull: bland, robotic writing
- vague: a complaint with no reason ("just bad", "waste of money")
- other: a real complaint no other review in the set shares
- noise: nothing to group (praise, a review whose verdict is praise with a passing flaw,
  advice, advertising, text not about the assistant)
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from typing import Any

from .sources import SOURCES, distinct_texts, source_file, write_jsonl

NAME = "assistant_reviews"
TRUSTPILOT_AT = "5f1e92c81e696068742b42757220375779d83e6e"
APP_STORE_AT = "cf4746aa58b17e5286b65d56fbd06c343f1c998f"
# path in the repository -> (commit that holds it, the assistant reviewed)
FILES = {
    "raw_data/Trustpilot-chatgpt.xlsx": (TRUSTPILOT_AT, "ChatGPT"),
    "raw_data/Trustpilot-claude.xlsx": (TRUSTPILOT_AT, "Claude"),
    "raw_data/appsotre/appstore_reviews_chatgpt.csv": (APP_STORE_AT, "ChatGPT"),
    "raw_data/appsotre/appstore_reviews_claude.csv": (APP_STORE_AT, "Claude"),
}


def _text(title: str, review: str) -> str:
    cut = title.rstrip("…").rstrip(".").strip()
    if not title or (title.endswith("…") and review.startswith(cut)) or review.startswith(title):
        return review
    return f"{title.rstrip('.!?')}. {review}".strip()


def trustpilot(raw: bytes, assistant: str) -> list[dict[str, Any]]:
    """The reviews of one Trustpilot workbook (columns ID, rating (empty), review, date, title)."""
    # optional: see the module's docstring
    from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]

    sheet = load_workbook(io.BytesIO(raw), read_only=True).worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    header = [str(h) for h in next(lines)]
    rows = []
    for line in lines:
        cell = dict(zip(header, line, strict=False))
        title, review = (str(cell.get(k) or "").strip() for k in ("title", "review"))
        date = cell.get("date")
        rows.append({"text": _text(title, review), "assistant": assistant, "site": "Trustpilot",
                     "rating": None,
                     "date": date.date().isoformat() if isinstance(date, datetime) else str(date)})
    return rows


def app_store(raw: bytes, assistant: str) -> list[dict[str, Any]]:
    """The reviews of one App Store CSV (columns content, date, rating)."""
    return [{"text": row["content"], "assistant": assistant, "site": "App Store",
             "rating": int(row["rating"]), "date": row["date"]}
            for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))]


def convert(files: dict[str, bytes]) -> list[dict[str, Any]]:
    """The set's rows from the bytes of each of :data:`FILES`."""
    rows: list[dict[str, Any]] = []
    for path, raw in files.items():
        read = trustpilot if path.endswith(".xlsx") else app_store
        rows += read(raw, FILES[path][1])
    return distinct_texts(rows)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        print("skipped: reading .xlsx needs openpyxl (pip install openpyxl); it is not a "
              "dependency of gitimprove", file=sys.stderr)
        return 1
    source = SOURCES[NAME]
    rows = convert({path: source_file(source, argv[0], path, at)
                    for path, (at, _) in FILES.items()})
    print(f"{len(rows)} items -> {write_jsonl(NAME, rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
