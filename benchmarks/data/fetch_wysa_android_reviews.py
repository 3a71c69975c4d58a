"""Convert the Wysa Android (Google Play) reviews (see :mod:`.sources`) into the benchmark's
JSONL.

    python -m benchmarks.data.fetch_wysa_android_reviews PATH   # a clone, or the CSV itself

One line per review: ``hash`` (of its text), ``text``, ``rating`` (stars), ``date`` (the
review's time as the source gives it, ``YYYY-MM-DD HH:MM:SS``). Wysa is an AI chatbot for
mental health (a penguin that talks the user through anxiety, low mood and sleep, with CBT
exercises, and human coaches at a price); the source scraped every Google Play review of it
(package ``bot.touchkin``, the scraper's default English / US store) from 1 January 2023 to
12 May 2025, with Google Play's columns (``content``, ``score``, ``at``...). Reviewer names,
pictures and replies are left out. Only reviews written in the Latin alphabet are kept (at
least 80% of their letters a-z, the DeepSeek set's rule; 45 are dropped), empty texts are
dropped and a text said twice is kept once (its first rating). The hand labels in
``labels/wysa_android_reviews.json`` are keyed by ``hash``.
"""

from __future__ import annotations

import csv
import io
import sys
from typing import Any

from .fetch_deepseek_android_reviews import latin
from .sources import convert_main, item_hash

NAME = "wysa_android_reviews"


def convert(raw: bytes) -> list[dict[str, Any]]:
    rows = []
    seen: set[str] = set()
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        text = (row["content"] or "").strip()
        key = item_hash(text)
        if not text or key in seen or not latin(text):
            continue
        seen.add(key)
        rows.append({"hash": key, "text": text, "rating": int(row["score"]),
                     "date": row["at"] or None})
    return rows


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
