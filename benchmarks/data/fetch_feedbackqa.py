"""Convert FeedbackQA's rated explanations (see :mod:`.sources`) into the benchmark's JSONL.

    python -m benchmarks.data.fetch_feedbackqa CLONE   # a clone of the source repository

FeedbackQA (McGill-NLP, ACL Findings 2022): crowd-workers asked a retrieval QA system questions
about COVID-19; it answered with a passage of a public health FAQ (WHO, the US CDC, the UK
government, Australia's government), and each worker rated the answer (Excellent, Acceptable,
Could be Improved, Bad) and said why in a sentence or two. Each item of a file holds the
``question``, the ``passage`` and two or three workers' ``feedback`` and ``rating``, in step.

The set reads the files under ``experiments/feedbackQA_data/`` that the repository's snapshot
holds (:data:`FILES`: WHO's train, valid and test splits, and the valid and test splits of
the CDC, the UK and Australia; the train splits of those three, and the ``data/`` copy, are
too large for the snapshot; Quebec has no feedback), so a CLONE is needed, not one file. One
line per explanation: ``hash`` (of its text), ``text``, ``rating`` (stars: Excellent = 5,
Acceptable = 4, Could be Improved = 2, Bad = 1, so that the benchmark's "two stars or less"
keeps the last two), ``date`` (always ``None``: the source kept none), ``dataset`` (the
FAQ's source: WHO, CDC, UK, Australia), and the run it is about: ``input`` (the question)
and ``output`` (the passage given as the answer: its page title, section headers and text).
Empty texts are dropped and a text said twice is kept once (its first rating, in the order
of :data:`FILES`). The hand labels in ``labels/feedbackqa.json`` are keyed by ``hash``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from .sources import SOURCES, distinct_texts, source_file, write_jsonl

NAME = "feedbackqa"
DIR = "experiments/feedbackQA_data"
FILES = tuple(f"{DIR}/{region}/feedback_{split}.json" for region, splits in (
    ("WHO", ("train", "valid", "test")), ("CDC", ("valid", "test")),
    ("UK", ("valid", "test")), ("Australia", ("valid", "test"))) for split in splits)
STARS = {"excellent": 5, "acceptable": 4, "could be improved": 2, "bad": 1}


def convert(files: dict[str, bytes]) -> list[dict[str, Any]]:
    """The set's rows from the bytes of each of :data:`FILES` (path -> bytes)."""
    return distinct_texts(row for path, raw in files.items() for row in _explanations(path, raw))


def _explanations(path: str, raw: bytes) -> Iterator[dict[str, Any]]:
    region = path.split("/")[-2]
    for item in json.loads(raw.decode("utf-8")):
        reference = (item.get("passage") or {}).get("reference") or {}
        answer = [str(reference.get("page_title") or ""),
                  *(str(h) for h in reference.get("section_headers") or []),
                  str(reference.get("section_content") or "")]
        output = "\n".join(part.strip() for part in answer if part.strip())
        for text, rating in zip(item.get("feedback") or [], item.get("rating") or [],
                                strict=True):
            yield {"text": text, "rating": STARS[str(rating).strip().lower()], "date": None,
                   "dataset": region, "input": str(item.get("question") or "").strip(),
                   "output": output}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    source = SOURCES[NAME]
    rows = convert({path: source_file(source, argv[0], path) for path in FILES})
    print(f"{len(rows)} items -> {write_jsonl(NAME, rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
