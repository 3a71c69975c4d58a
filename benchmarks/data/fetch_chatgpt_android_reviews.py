"""Convert the ChatGPT Android (Google Play) reviews (see :mod:`.sources`) into the benchmark's
JSONL.

    python -m benchmarks.data.fetch_chatgpt_android_reviews PATH   # a clone, or the CSV itself

One line per review: ``hash`` (of its text), ``text``, ``rating`` (stars), ``date``. Reviewer
names, pictures and replies are left out. The hand labels in
``labels/chatgpt_android_reviews.json`` are keyed by ``hash``."""

from __future__ import annotations

import csv
import io
import sys
from typing import Any

from .sources import convert_main, item_hash

NAME = "chatgpt_android_reviews"


def convert(raw: bytes) -> list[dict[str, Any]]:
    rows = []
    seen: set[str] = set()
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        text = row["content"].strip()
        key = item_hash(text, row["at"])
        if not text or key in seen:
            continue
        seen.add(key)
        rows.append({"hash": key, "text": text, "rating": int(row["score"]), "date": row["at"]})
    return rows


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
