"""Convert ReaLMistake's expert explanations of errors (see :mod:`.sources`) into the
benchmark's JSONL.

    python -m benchmarks.data.fetch_realmistake_critiques PATH   # a clone, or data.zip

The repository ships its data as ``data.zip``, encrypted with a password its README gives
(``open-realmistake``), with the request not to publish its examples online in plain text, so
that they stay out of models' training data: keep the converted file local. Each item is a
model's answer to one of three tasks, judged by an expert: "error" or "no_error", the error's
categories (reasoning correctness, instruction following, context faithfulness, parameterized
knowledge) and an explanation in the expert's words. One line per explanation of an answer
judged wrong under exactly one category: ``hash`` (of its text), ``text``, ``theme`` (the
category), ``dataset`` (the task), and the run it is about: ``input`` (the task as the model
got it) and ``output`` (its answer); the feedback is the explanation alone. Answers with no
error or several categories are left out: the first are not complaints, the second have no
single gold theme."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from .sources import convert_main, distinct_texts, zipped

NAME = "realmistake_critiques"
PASSWORD = b"open-realmistake"  # published in the source repository's README


def convert(raw: bytes) -> list[dict[str, Any]]:
    return distinct_texts(_explanations(raw))


def _explanations(raw: bytes) -> Iterator[dict[str, Any]]:
    for name, data in zipped(raw, PASSWORD, _per_model):
        task = name.split("/")[1]
        for line in data.decode("utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            categories = item.get("error_categories") or []
            if item.get("error_label") != "error" or len(categories) != 1:
                continue
            theme = str(categories[0]).strip().lower().replace("-", "_").replace(" ", "_")
            yield {"text": item.get("human_explanation"), "theme": theme, "dataset": task,
                   "input": str(item.get("input") or ""),
                   "output": str(item.get("llm_response") or "")}


def _per_model(name: str) -> bool:
    return name.endswith(".jsonl") and name.count("/") == 2  # data/TASK/MODEL.jsonl


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
