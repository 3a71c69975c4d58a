"""How well the offline grouping recovers hand-labelled themes, measured with ARI and purity.

fixtures/paraphrase_feedback.jsonl is hand-written for this test (not taken from
sample_repo): 16 themes x 8-12 wordings, 12 of them covered by the lexicon and 4 not (date
format, currency, emoji, spelling: those only group by shared words), plus 25 noise items.
Every line carries ``metadata.theme`` and ``metadata.split``: the lexicon was extended while
looking at the ``dev`` half only; the ``holdout`` half measures how it generalises.

Grouping is by meaning (static embeddings and agglomerative clustering, see
gitimprove/patterns/grouping.py); the lexicon only names groups and no longer decides
membership, which costs on this fixture (written with the lexicon's phrasings in mind) but
is what generalises to real feedback (see `python -m benchmarks quality`). Measured when the
thresholds were set: all ARI 0.31, holdout 0.28, purity 0.64 (with the second level that
merges close clusters: 0.28, 0.28, 0.60); the word-overlap baseline scores 0.12 / 0.09. We require all >= 0.25, holdout >= 0.22, purity >= 0.55 and a margin of
0.1 over the baseline. Noise items count as singletons on both sides. On
sample_repo/feedback.jsonl, with the themes of tests/fixtures/sample_feedback_themes.json,
we measured 0.39 (0.40 when the threshold was set, 0.37 before the second level) and
require 0.33.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitimprove.feedback.models import make_record
from gitimprove.patterns.analysis import Themer, collect_items, group_texts
from gitimprove.patterns.grouping import UNCLUSTERED, cluster_levels, cluster_texts, embedder
from gitimprove.patterns.quality import adjusted_rand_index, purity

from .conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]


def _rows(split: str | None = None) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in
            (FIXTURES / "paraphrase_feedback.jsonl").read_text().splitlines() if line]
    return [r for r in rows if split is None or r["metadata"]["split"] == split]


def _score(rows: list[dict[str, object]], *, use_lexicon: bool = True) -> tuple[float, float]:
    texts = [str(r.get("reason") or r.get("correction")) for r in rows]
    truth = [f"noise-{i}" if r["metadata"]["theme"] == "noise" else str(r["metadata"]["theme"])  # type: ignore[index]
             for i, r in enumerate(rows)]
    keys = group_texts(texts, use_lexicon=use_lexicon)
    predicted = [k if k is not None else f"none-{i}" for i, k in enumerate(keys)]
    return adjusted_rand_index(truth, predicted), purity(truth, predicted)


def test_fixture_shape() -> None:
    rows = _rows()
    themes = {r["metadata"]["theme"] for r in rows}  # type: ignore[index]
    assert len(themes) == 17 and len(rows) == 179
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize("split, minimum", [(None, 0.25), ("holdout", 0.22)])
def test_paraphrases_are_grouped_by_theme(split: str | None, minimum: float) -> None:
    rows = _rows(split)
    ari, pure = _score(rows)
    baseline, _ = _score(rows, use_lexicon=False)
    assert ari >= minimum, f"ARI {ari:.3f} < {minimum}"
    assert pure >= 0.55, f"purity {pure:.3f}"
    assert ari - baseline >= 0.1, f"meaning {ari:.3f} vs words only {baseline:.3f}"


def test_themes_without_lexicon_entry_still_group_by_shared_words() -> None:
    rows = [r for r in _rows() if r["metadata"]["theme"] in ("emoji", "currency", "spelling")]  # type: ignore[index]
    keys = group_texts([str(r.get("reason") or r.get("correction")) for r in rows])
    for theme in ("emoji", "currency", "spelling"):
        mine = [k for r, k in zip(rows, keys, strict=True) if r["metadata"]["theme"] == theme]  # type: ignore[index]
        biggest = max(mine.count(k) for k in set(mine))
        assert biggest >= 3, (theme, mine)
        others = {k for r, k in zip(rows, keys, strict=True) if r["metadata"]["theme"] != theme}  # type: ignore[index]
        assert not (set(mine) & others - {None}), f"{theme} shares a group with another theme"


def test_second_level_merges_whole_clusters_and_keeps_sides_apart() -> None:
    texts = sorted({str(r.get("reason") or r.get("correction")) for r in _rows()})
    fine, merged = cluster_levels(texts)
    assert merged == cluster_texts(texts) and (fine, merged) == cluster_levels(texts)
    into: dict[int, int] = {}
    for f, m in zip(fine, merged, strict=True):
        assert (f == UNCLUSTERED) == (m == UNCLUSTERED)
        assert into.setdefault(f, m) == m  # a fine cluster lies whole in one merged cluster
    assert len(set(merged)) < len(set(fine))  # some clusters do merge on this set
    # Clusters the caller keys apart never merge: every cluster its own side, nothing merges.
    fine_alone, merged_alone = cluster_levels(texts, side=lambda members: min(members))
    assert fine_alone == fine and merged_alone == fine
    # Too few clusters to tell what is close in the set: nothing merges.
    few = [t for t, f in zip(texts, fine, strict=True) if 0 <= f < 4]
    assert cluster_levels(few)[1] == cluster_levels(few)[0]


def test_sample_feedback_against_its_labels() -> None:
    labels = json.loads((ROOT / "tests/fixtures/sample_feedback_themes.json").read_text())
    rows = [json.loads(line) for line in
            (ROOT / "sample_repo/feedback.jsonl").read_text().splitlines() if line]
    items = []
    for r in rows:
        text = r.get("correction") or r.get("reason")
        if text:
            kind = "c" if r.get("correction") else (
                "p" if r.get("rating") in ("positive", "up", "+1", "thumbs_up") else "n")
            items.append((r, text, kind))
    keys = group_texts([t for _, t, _ in items])
    truth, predicted = [], []
    for i, ((r, _, kind), key) in enumerate(zip(items, keys, strict=True)):
        theme = labels[r["id"]]["theme"]
        truth.append(f"single-{i}" if theme in ("noise", "adversarial") else theme)
        predicted.append(f"{r['agent']}:{kind}:{key}" if key else f"none-{i}")
    assert adjusted_rand_index(truth, predicted) >= 0.33


RUNS = {"Sam buys 3 apples and 4 pears at the market for his aunt.": ("apples", "pears", "market"),
        "The train leaves the station at 9 and the bus waits at the depot.": ("train", "station", "depot"),
        "Mia plants roses and tulips in the garden by the fence.": ("roses", "tulips", "garden")}
KINDS = [("sum", "The sum of the {} and {} at the {} is miscalculated, the arithmetic is wrong"),
         ("sum", "Wrong arithmetic: the {} plus the {} at the {} do not add up to that number"),
         ("again", "The answer repeats the part about the {} and {} at the {} twice, redundant"),
         ("again", "Redundant: it says the same thing about the {} and the {} at the {} again")]


def test_critiques_group_by_what_they_say_once_the_runs_are_known() -> None:
    """Critiques of three answers, two kinds each: alone, two critiques of one answer look
    alike for its subject; given the runs they are about, the answers' words weigh less and
    the critiques group by what they say is wrong."""
    texts: list[str] = []
    runs: list[tuple[str, ...]] = []
    kinds: list[str] = []
    for run, subject in RUNS.items():
        for kind, template in KINDS:
            texts.append(template.format(*subject))
            runs.append((run,))
            kinds.append(kind)
    alone = cluster_texts(texts)
    assert len({label for label, kind in zip(alone, kinds, strict=True) if kind == "sum"}) > 1
    given = cluster_texts(texts, contexts=runs)
    assert adjusted_rand_index(kinds, given) == 1.0


def test_a_run_weighs_down_only_its_own_words() -> None:
    import numpy as np

    text = "The total of apples is wrong"
    plain, other = embedder().embed([text, "nothing in common"])
    every, same = embedder().embed([text, "nothing in common"],
                                   [("Apples; the TOTAL", "of it is wrong."), ()])
    assert np.allclose(every, plain, atol=1e-6) and np.allclose(same, other, atol=1e-6)
    (wrong,) = embedder().embed(["wrong"])
    (subject_down,) = embedder().embed([text], [("apples, total",)])
    assert float(subject_down @ wrong) > float(plain @ wrong)


ASKED = {"How should I feed a new puppy?": ("puppies", "feeding"),
         "Which tyres suit a road bike in winter?": ("tyre", "bikes"),
         "How long do I bake sourdough bread?": ("baking", "breads"),
         "What is a good first houseplant?": ("houseplants", "plants")}
SAID = [("wrong", "The part on {} and {} is simply wrong, those facts are false"),
        ("wrong", "Incorrect claims about {} and {}: the facts given are false"),
        ("vague", "Too vague about {} and {}, no concrete detail or specifics"),
        ("vague", "Says nothing concrete on {} and {}, vague and lacking detail")]


def test_a_question_takes_its_subject_away_not_only_its_words() -> None:
    """Critiques name the question's subject in their own words ("puppies" for "puppy"):
    the words a run holds weigh less, and the vector loses its part along the question's own
    subject, so critiques saying one thing of different questions grow nearer and critiques
    of one question saying different things grow apart."""
    import numpy as np

    texts = [template.format(*subject) for subject in ASKED.values() for _, template in SAID]
    kinds = np.array([kind == "wrong" for _ in ASKED for kind, _ in SAID])
    about = np.repeat(np.arange(len(ASKED)), len(SAID))
    same_subject = (about[:, None] == about) & (kinds[:, None] != kinds)
    same_kind = (about[:, None] != about) & (kinds[:, None] == kinds)
    plain = embedder().embed(texts)
    given = embedder().embed(texts, [("", question) for question in ASKED for _ in SAID])
    before, after = plain @ plain.T, given @ given.T
    assert after[same_kind].mean() > before[same_kind].mean() + 0.05
    assert after[same_subject].mean() < before[same_subject].mean() - 0.02


def test_a_task_its_questions_share_is_not_taken_away() -> None:
    """Questions of one template ("a math word problem ... decimals") differ by their
    subject only: what they share stays, so critiques of the task's point keep it."""
    import numpy as np

    from gitimprove.patterns.grouping import _own_subject

    subjects = ["apples", "trains", "stamps", "rockets", "tulips", "coins"]
    asked = [f"Write a math word problem about {s} whose answer has decimals" for s in subjects]
    texts = [f"The answer about {s} is a whole number, it has no decimals" for s in subjects]
    (decimals,) = embedder().embed(["decimals"])
    plain = embedder().embed(texts) @ decimals
    given = embedder().embed(texts, [("", q) for q in asked]) @ decimals
    assert (given > plain + 0.05).all()
    questions = embedder().embed(asked)
    (task,) = embedder().embed(["Write a math word problem whose answer has decimals"])
    own = questions.copy()
    _own_subject(own)
    assert (questions @ task > 0.3).all() and (np.abs(own @ task) < 0.15).all()
    assert np.allclose(np.linalg.norm(own, axis=1), 1.0, atol=1e-5)
    one = questions[:1].copy()
    _own_subject(one)  # one question: nothing tells its subject from its task's
    assert not one.any()


def test_runs_are_read_within_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from gitimprove.patterns import grouping

    texts = ["apples are wrong", "pears are wrong"]
    runs = [("apples " + "x " * 50,), ("x " * 50 + "pears",)]
    full = embedder().embed(texts, runs)
    monkeypatch.setattr(grouping, "CONTEXT_BUDGET", 40)  # 10 characters of each input, output
    short = embedder().embed(texts, runs)
    assert np.allclose(short[0], full[0], atol=1e-6)      # "apples" is read
    assert not np.allclose(short[1], full[1], atol=1e-3)  # "pears" is beyond what is read
    assert np.allclose(short[1], embedder().embed(texts)[1], atol=1e-6)


def test_runs_of_any_size_or_script_are_read_safely() -> None:
    from gitimprove.patterns.analysis import analyze_records

    at = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [("😀" * 50, "the answer " * 18_000), ("", "日本語の答え"), ("\u202e\u200b", None)]
    records = [make_record({"id": f"r{i}", "agent": "x", "run_id": f"run{i}", "rating": "down",
                            "reason": reason, "input": given or None, "output": made,
                            "created_at": at})
               for i, (reason, (given, made)) in enumerate(
                   (r, runs[i % 3]) for i, r in enumerate(["the answer is too long"] * 4 +
                                                          ["wrong date in the answer"] * 3))]
    patterns = analyze_records(records, min_support=2)
    ids = [i for p in patterns for i in p.feedback_ids]
    assert len(ids) == len(set(ids)) and set(ids) <= {r.id for r in records}
    assert analyze_records(records, min_support=2) == patterns


def test_items_carry_their_runs_output() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    records = [make_record({"id": "a", "agent": "x", "run_id": "r1", "rating": "down",
                            "reason": "wrong sum", "input": "Add 2 and 3", "created_at": at}),
               make_record({"id": "b", "agent": "x", "run_id": "r1", "output": "2 + 3 = 6",
                            "correction": "2 + 3 = 5", "created_at": at}),
               make_record({"id": "c", "agent": "x", "run_id": "r2", "rating": "down",
                            "reason": "too long", "created_at": at})]
    contexts = {item.ids: item.context for item in collect_items(records, Themer())}
    run = ("2 + 3 = 6", "Add 2 and 3")  # the answer, then the question it answered
    assert contexts == {("a",): run, ("b",): run, ("c",): ()}


def test_quality_measures() -> None:
    assert adjusted_rand_index("aabb", "xxyy") == 1.0
    assert adjusted_rand_index("aabb", "xyxy") == pytest.approx(-0.5)
    assert adjusted_rand_index("aaabbb", "xxxxxx") == 0.0
    assert adjusted_rand_index([1, 1, 2, 2, 3, 3], [1, 1, 2, 2, 2, 2]) == pytest.approx(4 / 9)  # (3 - 1.4) / (5 - 1.4)
    assert purity("aabb", "xxxx") == 0.5
    assert purity("aabc", "xxyz") == 1.0
    with pytest.raises(ValueError):
        adjusted_rand_index("ab", "a")


def test_analyze_reads_what_the_runs_were_about(sample_repo: Path) -> None:
    """Through the repository, as `gitimprove analyze` runs it: the store gives analysis the
    beginning of each run's answer, so critiques group by what they say is wrong."""
    from gitimprove.instructions.repo import InstructionRepo

    repo = InstructionRepo(sample_repo)
    kinds: dict[str, str] = {}
    n = 0
    for run, subject in RUNS.items():
        for kind, template in KINDS:
            n += 1
            record = repo.record_feedback(agent="support-agent", run_id=f"crit-{n}",
                                          rating="negative", reason=template.format(*subject),
                                          input="Tell me about it.",
                                          output=run + " " + "and so on " * 500)
            kinds[record.id] = kind
    patterns = repo.analyze("support-agent", model="off", min_support=2)
    found = {i: p.id for p in patterns for i in p.feedback_ids if i in kinds}
    assert len(found) == len(kinds)
    assert adjusted_rand_index([kinds[i] for i in found], list(found.values())) == 1.0
    repo.close()


def test_unit_distances_are_pdists() -> None:
    """The sample's distances from one matrix product, as pdist gives them (condensed, in
    its order), to far below any cut."""
    import numpy as np
    from scipy.spatial.distance import pdist

    from gitimprove.patterns.grouping import unit_distances

    rng = np.random.default_rng(3)
    for n in (2, 3, 50):
        vectors = rng.standard_normal((n, 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors[0] = vectors[1]  # two alike: 0, not the square root of a rounding error below
        got = unit_distances(vectors)
        assert got.shape == (n * (n - 1) // 2,)
        np.testing.assert_allclose(got, pdist(vectors.astype(np.float64)), atol=1e-6)


def test_a_question_alone_or_of_no_word_takes_nothing_away() -> None:
    """A question of no known word, or with only copies of itself beside it, has no subject
    to take away: its row stays zero, never a copy less itself made unit length."""
    import numpy as np

    from gitimprove.patterns.grouping import _own_subject

    questions = embedder().embed(["How do I bake bread?", "How do I  bake bread?",
                                  "Which bike suits winter?", "Which  bike suits winter?"])
    questions = np.concatenate((questions, np.zeros((1, questions.shape[1]), np.float32)))
    own = questions.copy()
    _own_subject(own)
    assert not own[4].any()  # no word: nothing
    assert np.allclose(np.linalg.norm(own[:4], axis=1), 1.0, atol=1e-5)
    # each copy's subject is the other question's difference, not noise of itself
    assert float(own[0] @ questions[0]) > 0.2 and float(own[2] @ questions[2]) > 0.2
    copies = embedder().embed(["How do I bake bread?", "How  do I bake bread?"])
    _own_subject(copies)
    assert not copies.any()
