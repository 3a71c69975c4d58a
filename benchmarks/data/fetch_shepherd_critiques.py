"""Convert Shepherd's human critiques (see :mod:`.sources`) into the benchmark's JSONL.

    python -m benchmarks.data.fetch_shepherd_critiques PATH   # a clone, or human_data_raw.jsonl

Each annotated item holds one or more critiques, each under the error type its annotator
chose. One line per critique: ``hash`` (of its text), ``text``, ``theme`` (the gold error
type), ``dataset`` (the task the answer came from), and the run it is about: ``input`` (the
question and its context) and ``output`` (the answer critiqued; not the gold answer the item
also holds). Critiques filed as "no error" are left out: they are not complaints."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from .sources import convert_main, distinct_texts

NAME = "shepherd_critiques"


def convert(raw: bytes) -> list[dict[str, Any]]:
    return distinct_texts(_critiques(raw))


def _critiques(raw: bytes) -> Iterator[dict[str, Any]]:
    for line in raw.decode("utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        jobs = item.get("latestLabel", {}).get("jsonResponse", {})
        for category in jobs.get("CLASSIFICATION_JOB_0", {}).get("categories", []):
            theme = str(category.get("categoryName", "")).strip().lower()
            if not theme or theme.startswith("no error"):
                continue
            for child in (category.get("children") or {}).values():
                yield {"text": child.get("text"), "theme": theme, "dataset": item.get("dataset"),
                       "input": str(meta.get("context") or ""),
                       "output": str(meta.get("output_candidate") or "")}


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
