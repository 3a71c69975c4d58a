"""Convert the ChatGPT iOS App Store reviews (see :mod:`.sources`) into the benchmark's JSONL.

    python -m benchmarks.data.fetch_chatgpt_ios_reviews PATH   # a clone, or the CSV itself

One line per review: ``hash`` (of title and text), ``text`` ("title. review"), ``rating``
(stars), ``date``. The hand labels in ``labels/chatgpt_ios_reviews.json`` are keyed by
``hash``."""

from __future__ import annotations

import csv
import io
import sys
from typing import Any

from .sources import convert_main, item_hash

NAME = "chatgpt_ios_reviews"


def convert(raw: bytes) -> list[dict[str, Any]]:
    rows = []
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        title, review = row["title"].strip(), row["review"].strip()
        text = f"{title.rstrip('.!?')}. {review}" if title else review
        rows.append({"hash": item_hash(title, review), "text": text,
                     "rating": int(row["rating"]), "date": row["date"]})
    return rows


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
