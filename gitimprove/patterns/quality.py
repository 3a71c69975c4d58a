"""Measures of grouping quality against hand labels: adjusted Rand index and purity.

Used by the paraphrase test and the benchmark; written out here (no scikit-learn) because they
are short and the project should not pull a numerical stack in for two formulas."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from math import comb


def adjusted_rand_index(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Hubert & Arabie's ARI: 1 for identical partitions, about 0 for chance, can go below 0."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted must label the same items")
    n = len(truth)
    if n < 2:
        return 1.0
    pairs = Counter(zip(truth, predicted, strict=True))
    sum_cells = sum(comb(c, 2) for c in pairs.values())
    sum_truth = sum(comb(c, 2) for c in Counter(truth).values())
    sum_pred = sum(comb(c, 2) for c in Counter(predicted).values())
    expected = sum_truth * sum_pred / comb(n, 2)
    maximum = (sum_truth + sum_pred) / 2
    if maximum == expected:
        return 1.0
    return (sum_cells - expected) / (maximum - expected)


def purity(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Share of items whose predicted group's majority label is their own label."""
    if not truth:
        return 1.0
    by_group: dict[Hashable, Counter[Hashable]] = {}
    for t, p in zip(truth, predicted, strict=True):
        by_group.setdefault(p, Counter())[t] += 1
    return sum(c.most_common(1)[0][1] for c in by_group.values()) / len(truth)
