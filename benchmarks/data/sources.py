"""The public feedback sets of the quality benchmark: where each comes from, and where its
converted JSONL lives on this machine.

The sets are not part of the repository (their licences do not let us redistribute them, or
say nothing, which means the same). What the repository keeps is this provenance record, a
converter per set (``python -m benchmarks.data.fetch_NAME PATH``: a local clone of the source
repository -> JSONL), and our own hand labels keyed by a stable item hash
(``benchmarks/data/labels/``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels"


@dataclass(frozen=True)
class Source:
    name: str
    repository: str  # owner/name on GitHub
    commit: str
    path: str        # file inside the repository
    licence: str
    what: str
    converter: str   # the module that converts it
    tuning: bool = False  # the grouping was tuned on it; every other set is held out
    misses_read: bool = False  # ... but its items were read to design triage's or the lexicon's rules
    tasks: bool = False  # several small sets in one (its rows' ``task``), each analysed apart

    @property
    def clone_hint(self) -> str:
        return (f"git clone https://github.com/{self.repository} /tmp/{self.name} && "
                f"git -C /tmp/{self.name} checkout {self.commit[:12]} && "
                f"python -m {self.converter} /tmp/{self.name}")


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("chatgpt_ios_reviews", "rijinrajanrr14/ChatGPT-App-Reviews-Sentiment-Analysis",
           "9a29debc1173c44a6c7b05a02771a363736cbe0c", "chatgpt_reviews.csv",
           "none stated (all rights reserved): used locally for measurement, never redistributed",
           "2,292 App Store reviews of the ChatGPT iOS app (May-July 2023), title, text and "
           "stars; 240 of the 634 one- and two-star reviews hand-labelled with a theme",
           "benchmarks.data.fetch_chatgpt_ios_reviews", tuning=True),
    Source("chatgpt_android_reviews", "Raymode001/chatgpt_reviews_data_evaluation",
           "4a99b6101bd7bd7f71bd178c543fb611645ab3f9", "chatgpt_reviews_sample.csv",
           "none stated (all rights reserved): used locally for measurement, never redistributed",
           "a random 10,000 of the Google Play reviews of the ChatGPT Android app (July 2023 - "
           "July 2025), text and stars; 330 of the 782 one- and two-star reviews hand-labelled "
           "with a theme (labelled after the grouping was set; its misses were read to design "
           "triage's rules, so it is held out for the grouping only)",
           "benchmarks.data.fetch_chatgpt_android_reviews", misses_read=True),
    Source("replika_android_reviews", "MIT-Emerging-Talent/ET6-CDSP-group-20-repo",
           "7fc4b9d61cff4aaca7df661b928dd91dcdc79561",
           "1_datasets/all_datasets/raw_data/replika_google_play_raw.csv",
           "MIT (the repository's licence; the review texts are their Google Play authors'): "
           "used locally for measurement, never redistributed",
           "the newest 10,000 English Google Play reviews of the Replika AI companion app "
           "(July 2023 - August 2025), text and stars; 360 of the 3,661 one- and two-star "
           "reviews hand-labelled with a theme (labelled blind; the grouping was never tuned on "
           "it, but its reviews of a bad memory were read to add the lexicon's phrases for "
           "them, so it is held out for the grouping only)",
           "benchmarks.data.fetch_replika_android_reviews", misses_read=True),
    Source("assistant_reviews", "Colin0817/727-final-project",
           "5f1e92c81e696068742b42757220375779d83e6e",
           "raw_data/Trustpilot-chatgpt.xlsx, raw_data/Trustpilot-claude.xlsx (at this commit; "
           "deleted later), raw_data/appsotre/appstore_reviews_{chatgpt,claude}.csv (at "
           "cf4746aa58b1)",
           "none stated (all rights reserved): used locally for measurement, never redistributed",
           "reviews of ChatGPT and Claude (2023-2024): the 199 Trustpilot reviews (the export "
           "kept no stars: all are in the set, praise labelled noise) and the 29 one- and "
           "two-star App Store reviews; all 228 hand-labelled with a theme (labelled blind; the "
           "grouping was never tuned on it, but its reviews were read in a trial to add the "
           "lexicon's phrases of requests flagged by filters and to design the test that reads "
           "unrated praise as praise, so it is held out for the grouping only)",
           "benchmarks.data.fetch_assistant_reviews", misses_read=True),
    Source("wysa_android_reviews", "avalonandresen/cogs108",
           "0b714bbf5035f7b13706b5ed116c4537a074f6f2", "wysa_reviews.csv",
           "none stated (all rights reserved): used locally for measurement, never redistributed",
           "5,800 Google Play reviews of the Wysa AI mental-health chatbot app (January 2023 - "
           "May 2025), text, stars and time: 5,423 distinct texts in the Latin alphabet; 360 of "
           "the 426 one- and two-star reviews (the first in hash order) hand-labelled with a "
           "theme (labelled blind: no analysis was run on it before the labels were fixed, and "
           "the grouping was never tuned on it; after its first figures, the evidence of the "
           "offline proposer's rule was read, which led to the jargon theme's phrases of not "
           "understanding, so it is held out for the grouping only)",
           "benchmarks.data.fetch_wysa_android_reviews", misses_read=True),
    Source("deepseek_android_reviews", "SaiaMazayaFatin/DistilSentiment-",
           "79de29cc99141991af125c81e0aa696824897efd", "data/dataset_reviews.csv",
           "none stated (all rights reserved): used locally for measurement, never redistributed",
           "29,180 Google Play reviews of the DeepSeek AI assistant app (scraped for English, "
           "committed April 2025; no dates kept), text and stars: 22,468 distinct texts in the "
           "Latin alphabet; 360 of the 6,700 one- and two-star reviews (the first in hash "
           "order) hand-labelled with a theme (labelled blind: no analysis was run on it "
           "before the labels were fixed, and the grouping was never tuned on it; its items "
           "were never read, but its product recall, short on its largest theme, \"the server "
           "is busy\", led to triage phrases of servers found in the other sets' reviews, so "
           "it is held out for the grouping only)",
           "benchmarks.data.fetch_deepseek_android_reviews", misses_read=True),
    Source("youper_android_reviews", "MIT-Emerging-Talent/ET6-CDSP-group-20-repo",
           "7fc4b9d61cff4aaca7df661b928dd91dcdc79561",
           "1_datasets/all_datasets/raw_data/youper_google_play_raw.csv",
           "MIT (the repository's licence; the review texts are their Google Play authors'): "
           "used locally for measurement, never redistributed",
           "the newest 10,000 English Google Play reviews of the Youper AI mental-health "
           "chatbot app (January 2019 - August 2025), text, stars and time: 9,002 distinct "
           "texts in the Latin alphabet; 360 of the 1,134 one- and two-star reviews (the "
           "first in hash order) hand-labelled with a theme (labelled blind: no analysis was "
           "run on it before the labels were fixed, and the grouping was never tuned on it: "
           "held out)",
           "benchmarks.data.fetch_youper_android_reviews"),
    Source("feedbackqa", "McGill-NLP/feedbackqa",
           "0e37bee3c27aaf9269bf9c2946be0426e07c64fe",
           "experiments/feedbackQA_data/WHO/feedback_{train,valid,test}.json, "
           "experiments/feedbackQA_data/{CDC,UK,Australia}/feedback_{valid,test}.json",
           "none stated for the data in the repository (no LICENSE file; MIT is declared only "
           "in the setup.py of its code packages; the Hugging Face card's Apache-2.0 is not "
           "in the repository): used locally for measurement, never redistributed",
           "crowd-workers' ratings (Excellent, Acceptable, Could be Improved, Bad -> 5, 4, 2, "
           "1 stars) of a COVID-19 FAQ retrieval QA system's answers (WHO, CDC, UK and "
           "Australian FAQs), each with the worker's explanation: 9,790 distinct explanations, "
           "each with its question and passage; 360 of the 5,064 \"could be improved\" and "
           "\"bad\" ones (the first in hash order) hand-labelled with a theme (labelled blind: "
           "no analysis was run on it before the labels were fixed; its first figures, "
           "explanations grouped by what the question was about, led the grouping to weigh "
           "down the question's words as well as the answer's, so it is a tuning set since)",
           "benchmarks.data.fetch_feedbackqa", tuning=True),
    Source("tofueval_explanations", "amazon-science/tofueval",
           "ade0f385448e0ad25936091ffbb3df73fa62aeee",
           "factual_consistency/{mediasum,meetingbank}_factual_eval_{dev,test}.csv",
           "MIT No Attribution (the repository's LICENSE), and its README asks that the "
           "benchmark's data not be used to train models: used locally for measurement, never "
           "redistributed",
           "expert linguistic annotators' explanations of why a sentence of an LLM's "
           "topic-focused summary of an interview or a city council meeting (MediaSum, "
           "MeetingBank; six models) is not consistent with its transcript, each with its "
           "gold error type: 875 distinct explanations of the 944 sentences filed under one "
           "type (extrinsic information, nuanced meaning shift, reasoning error, "
           "mis-referencing, stating opinion as fact, tense/modality error, contradiction), "
           "each with its topic and summary (labelled blind: its gold is the annotators', no "
           "analysis was run on it before it was added, and the grouping was never tuned on "
           "it; its first figures, 8.3% of its critiques read as about the product, led "
           "triage to read a product word the run holds as the run's subject, and its "
           "patterns were read in a trial, which added the lexicon's theme of claims the "
           "source does not support; then the grouping's use of a question's own subject was "
           "chosen on it and the other sets of critiques, so it is a tuning set since)",
           "benchmarks.data.fetch_tofueval_explanations", tuning=True),
    Source("shepherd_critiques", "facebookresearch/Shepherd",
           "29b1863bbecd616e2052a0d664507b69bde60fff", "data/human_data_raw.jsonl",
           "CC-BY-NC 4.0 (data): used locally for measurement, never redistributed",
           "human critiques of model answers, each under one of six gold error types "
           "(arithmetic, coherence and deduction, consistency with context, veracity, "
           "redundancy, commonsense); its GSM8K critiques were read to add the lexicon's "
           "phrases of steps left out and of text after the answer (names and themes, which "
           "set a themed part of a pattern apart); then the grouping's use of a question's own "
           "subject was chosen on it and the other sets of critiques, so it is a tuning set "
           "since",
           "benchmarks.data.fetch_shepherd_critiques", tuning=True),
    Source("realmistake_critiques", "psunlpgroup/ReaLMistake",
           "f94a8b978926414deb1dcf6b50076fd06c892192", "data.zip",
           "CC BY-SA 4.0 (the benchmark; MIT for the code), and its authors ask that its "
           "examples not be published online in plain text: used locally for measurement, "
           "never redistributed, no example quoted",
           "expert explanations of the errors in GPT-4 and Llama 2 answers to three tasks, each "
           "answer judged wrong under exactly one of four error categories (reasoning "
           "correctness, instruction following, context faithfulness, parameterized knowledge)",
           "benchmarks.data.fetch_realmistake_critiques", tuning=True),
    Source("judge_errors", "tunde-ajayi/llm-as-a-qualitative-judge",
           "11a99cd9a6e9759951e2f8967fa1c75abbef57e6", "data/eval_data.zip",
           "the archive's notice: each task's instances and annotations are under the licence "
           "of the data set they come from (Self-Instruct, GSM8K, BioASQ, ...), and the README "
           "gives its password so that the examples stay out of models' training data: used "
           "locally for measurement, never redistributed, no example quoted",
           "annotators' descriptions of what is wrong in ~300 failed answers of LLMs to 12 "
           "tasks of language generation (math word problems, translation, detoxification, "
           "semantic parsing, instruction following, long-context and retrieval-augmented "
           "QA), each with its question and answer and the error type the annotators grouped "
           "it under within its task (2 to 9 types a task); each task is analysed as one "
           "agent's feedback (measured after the question's own subject was chosen on the other "
           "sets of critiques, 0.501 -> 0.517 with it; then its retrieval-QA and translation "
           "items were read to try patterns that one theme names not merging, which was not "
           "kept, and to correct lexicon phrases its critiques were misread by, so it is "
           "held out for the grouping only)",
           "benchmarks.data.fetch_judge_errors", misses_read=True, tasks=True),
)}


def data_dir() -> Path:
    """Where converted sets live: ``$GITIMPROVE_BENCH_DATA``, or a cache folder."""
    env = os.environ.get("GITIMPROVE_BENCH_DATA")
    base = Path(env) if env else Path.home() / ".cache" / "gitimprove" / "benchmark-data"
    return base


def converted(name: str) -> Path:
    return data_dir() / f"{name}.jsonl"


def item_hash(*parts: str) -> str:
    """A stable id of one item: its text, not its position in the file."""
    return hashlib.sha256("\n".join(p.strip() for p in parts).encode()).hexdigest()[:16]


def distinct_texts(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with a text (stripped), the first row of each text only, each keyed by
    ``hash`` (of its text): a set's gold sits on texts, and a text said twice is one item."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        text = str(row.get("text") or "").strip()
        key = item_hash(text)
        if text and key not in seen:
            seen.add(key)
            out.append({"hash": key, **row, "text": text})
    return out


LATIN_SHARE = 0.8  # of a text's letters, at least this share a-z for it to count as English


def latin(text: str) -> bool:
    """Whether ``text`` is written in the Latin alphabet (emoji and digits do not count)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) >= LATIN_SHARE * len(letters)


def play_reviews(raw: bytes, *, date: str | None = None) -> list[dict[str, Any]]:
    """Rows of a Google Play scrape's CSV (columns ``content`` and ``score``, and the
    ``date`` column where it kept one): distinct texts in the Latin alphabet (:func:`latin`),
    each with its first rating."""
    rows = []
    seen: set[str] = set()
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        text = (row["content"] or "").strip()
        key = item_hash(text)
        if not text or key in seen or not latin(text):
            continue
        seen.add(key)
        rows.append({"hash": key, "text": text, "rating": int(row["score"]),
                     "date": (row[date] or None) if date else None})
    return rows


def timed_play_reviews(raw: bytes) -> list[dict[str, Any]]:
    """:func:`play_reviews` of a scrape that kept each review's time (Google Play's ``at``)."""
    return play_reviews(raw, date="at")


def zipped(raw: bytes, password: bytes, keep: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """The members of a zip archive (``raw``; encrypted with ``password``, as some sets ship
    to keep their examples out of models' training data) whose names ``keep`` says, in name
    order, each with its bytes."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for name in sorted(filter(keep, archive.namelist())):
            yield name, archive.read(name, pwd=password)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def source_file(source: Source, given: str, inside: str | None = None,
                at: str | None = None) -> bytes:
    """The source file's bytes from ``given``: a clone of the repository (read at the recorded
    commit, so the labels match) or the file itself. A set of several files names the one
    wanted (``inside``, at commit ``at``) in place of ``source.path`` at ``source.commit``."""
    path, inside, at = Path(given), inside or source.path, at or source.commit
    if path.is_file():
        return path.read_bytes()
    git_dir = path / ".git" if (path / ".git").exists() else path
    try:
        return subprocess.run(["git", "--git-dir", str(git_dir), "show",
                               f"{at}:{inside}"],
                              check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"cannot read {inside} at {at[:12]} from {given}: {exc}")


def write_jsonl(name: str, rows: list[dict[str, Any]]) -> Path:
    out = converted(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return out


def convert_main(name: str, convert: Callable[[bytes], list[dict[str, Any]]], argv: list[str],
                 usage: str | None) -> int:
    """The command line of a converter: one argument, a clone or the file itself."""
    if len(argv) != 1:
        print(usage)
        return 2
    rows = convert(source_file(SOURCES[name], argv[0]))
    print(f"{len(rows)} items -> {write_jsonl(name, rows)}")
    return 0


def clone_main(name: str, convert: Callable[[dict[str, bytes]], list[dict[str, Any]]],
               files: Iterable[str], argv: list[str], usage: str | None) -> int:
    """The command line of a converter of several files of one repository: one argument, a
    clone (not one file)."""
    if len(argv) != 1 or Path(argv[0]).is_file():
        print(usage)
        return 2
    source = SOURCES[name]
    rows = convert({path: source_file(source, argv[0], path) for path in files})
    print(f"{len(rows)} items -> {write_jsonl(name, rows)}")
    return 0
