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

The labelled sample: the "Could be Improved" and "Bad" explanations (5,064 of the 9,790) in
``hash`` order, the first 360, one theme each, read and labelled by hand before any analysis
was run on the set (labelled blind). An explanation with several complaints gets the one it is
mostly about. Themes:

- does_not_answer: the answer does not answer the question: irrelevant, off topic, about
  another matter ("this is about X, not Y"), or plainly "does not answer the question" (by far
  the most common)
- partial: the answer is on the question's subject, or answers part of it, but leaves out the
  very thing asked (whether, how, how much, when, which one), as the explanation grants
- wrong_audience: the answer is meant for another group, trade, setting or place than the
  one the question names (firefighters for construction workers, HIV for hepatitis, prisons
  for construction sites), or is general advice with nothing specific to it
- little_detail: it answers, but thinly: too short, not much information, not in detail, no
  examples, only one of several points
- links: it points elsewhere (a link, a website, "contact your airline") instead of
  answering, or its links are broken, missing or unsourced
- outdated: the information is old or out of date
- vague: a negative rating whose explanation gives no reason ("not adequately answered")
- other: a real complaint no other explanation in the sample shares (too broad, covers many
  subjects besides the one asked)
- noise: nothing to group: praise, a neutral summary of the answer with no complaint, or a
  remark on the pandemic measures rather than on the answer
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from .sources import clone_main, distinct_texts

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
    return clone_main(NAME, convert, FILES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
