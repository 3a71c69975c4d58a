"""Convert the expert error analyses of LLM-as-a-qualitative-judge (see :mod:`.sources`) into
the benchmark's JSONL.

    python -m benchmarks.data.fetch_judge_errors PATH   # a clone, or eval_data.zip

The repository ships its evaluation data as ``data/eval_data.zip``, encrypted with a password
its README gives (``judge``) so that the examples stay out of models' training data: keep the
converted file local. It holds 12 JSON files, one per task of natural language generation
(math word problems, translation into Russian, detoxification, semantic parsing of pizza
orders, instruction following, long-context QA and six sets of retrieval-augmented QA), ~300
instances in all. Each is a model's failed answer: ``user_input`` (the question),
``response`` (the answer), ``expert`` (an annotator's description of what is wrong, in their
own words) and ``cluster_idx``, the error type the annotators then grouped it under within
its task.

One line per instance with a description: ``hash`` (of the instance's id and text: the same
description said of two answers is two items, as two users saying it would be), ``text``,
``task`` (the file's name), ``theme`` (``TASK:CLUSTER``: error types are per task),
``rating`` (always 1: every item is a complaint), ``date`` (``None``), and the run it is
about: ``input`` and ``output``. The benchmark analyses each task apart, as one agent's
feedback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from .sources import convert_main, item_hash, zipped

NAME = "judge_errors"
PASSWORD = b"judge"  # published in the source repository's README


def convert(raw: bytes) -> list[dict[str, Any]]:
    return list(_instances(raw))


def _instances(raw: bytes) -> Iterator[dict[str, Any]]:
    for name, data in zipped(raw, PASSWORD, _per_task):
        task = PurePosixPath(name).stem
        for item in json.loads(data.decode("utf-8")):
            text = str(item.get("expert") or "").strip()
            if not text or item.get("cluster_idx") is None:
                continue
            yield {"hash": item_hash(str(item.get("id")), text), "text": text,
                   "task": task, "theme": f"{task}:{item['cluster_idx']}", "rating": 1,
                   "date": None, "input": str(item.get("user_input") or ""),
                   "output": str(item.get("response") or "")}


def _per_task(name: str) -> bool:
    return name.endswith(".json") and not PurePosixPath(name).name.startswith(".")


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
