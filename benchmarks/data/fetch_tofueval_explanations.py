"""Convert TofuEval's explanations of hallucinated summary sentences (see :mod:`.sources`)
into the benchmark's JSONL.

    python -m benchmarks.data.fetch_tofueval_explanations CLONE   # a clone of the source repository

TofuEval (Amazon, NAACL 2024): six LLMs (anonymised as ``model_A`` to ``model_E`` and
``Model-Extra``) wrote topic-focused summaries of interview transcripts (MediaSum) and city
council meetings (MeetingBank); expert linguistic annotators judged each summary sentence
factually consistent with its transcript or not and, for each one that is not, wrote why in
their own words and named its error type(s). The files (:data:`FILES`,
``factual_consistency/{mediasum,meetingbank}_factual_eval_{dev,test}.csv``) hold one row per
summary sentence: ``doc_id``, ``topic``, ``model_name``, ``sent_idx``, ``summ_sent``,
``sent_label`` (yes or no), ``exp`` (the explanation) and ``type``.

One line per explanation of a sentence judged inconsistent under exactly one error type:
``hash`` (of its text), ``text`` (the explanation), ``theme`` (the gold error type, lower
case: extrinsic_information, nuanced_meaning_shift, reasoning_error, mis_referencing,
stating_opinion_as_fact, tense_modality_error, contradiction), ``rating`` (always 1: every
item is a complaint), ``date`` (always ``None``: the source kept none), ``dataset``
(mediasum or meetingbank), and the run it is about: ``input`` (the topic the summary was
asked to focus on; the transcripts are not in the repository) and ``output`` (the model's
whole summary, its sentences joined in order). Consistent sentences carry no text and are
left out, and so are the sentences filed under several error types (about 20): they have no
single gold theme. A text said twice is kept once (its first theme, in the order of
:data:`FILES`). The README asks that the benchmark's data not be used to train models.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .sources import clone_main, distinct_texts

NAME = "tofueval_explanations"
FILES = tuple(f"factual_consistency/{corpus}_factual_eval_{split}.csv"
              for corpus in ("mediasum", "meetingbank") for split in ("dev", "test"))


def convert(files: dict[str, bytes]) -> list[dict[str, Any]]:
    """The set's rows from the bytes of each of :data:`FILES` (path -> bytes)."""
    return distinct_texts(row for path, raw in files.items() for row in _explanations(path, raw))


def _theme(types: str) -> str | None:
    """The one error type of a sentence, as a theme; ``None`` when it has several."""
    names = [t.strip() for t in types.split(",") if t.strip()]
    if len(names) != 1:
        return None
    return names[0].lower().replace("/", "_").replace("-", "_").replace(" ", "_")


def _explanations(path: str, raw: bytes) -> Iterator[dict[str, Any]]:
    corpus = path.rsplit("/", 1)[-1].split("_", 1)[0]
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    summaries: dict[tuple[str, ...], list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        summaries[_summary_key(row)].append((int(row["sent_idx"]), row["summ_sent"].strip()))
    for row in rows:
        theme = _theme(row.get("type") or "")
        if row["sent_label"].strip().lower() != "no" or theme is None:
            continue
        output = " ".join(sentence for _, sentence in sorted(summaries[_summary_key(row)]))
        yield {"text": row["exp"], "theme": theme, "rating": 1, "date": None,
               "dataset": corpus, "input": row["topic"].strip(), "output": output}


def _summary_key(row: dict[str, str]) -> tuple[str, ...]:
    return row["doc_id"], row["annotation_id"], row["topic"], row["model_name"]


def main(argv: list[str]) -> int:
    return clone_main(NAME, convert, FILES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
