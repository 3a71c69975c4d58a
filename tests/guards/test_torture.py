"""The short versions of the torture suites (``make torture`` runs the long ones).

Each asserts the goal of every figure: zero protected changes on main, zero lost or double
updates, zero internal errors, zero states a later command silently undoes."""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks import torture


def assert_goals(figures: torture.Figures) -> None:
    print(figures.report())
    assert figures.failures == 0, figures.report()


def test_kill_once_during_each_command() -> None:
    figures = torture.kill_suite(len(torture.OPS), seed=7)
    assert figures.trials == len(torture.OPS)
    assert_goals(figures)


def test_concurrent_in_one_repository_and_across_clones() -> None:
    assert_goals(torture.concurrent_suite(1, seed=7))


def test_hostile_model_structure() -> None:
    assert_goals(torture.hostile_suite(1, seed=7, cases=["heading-in-rule", "lookalike-section",
                                                         "escapes", "protected-edit"]))


LEDGER = importlib.util.find_spec("gitimprove.ledger") is not None


@pytest.mark.xfail(not LEDGER, strict=True,
                   reason="trailers a model wrote are trusted until the ledger's trailer rules land")
def test_hostile_model_trailer_injection() -> None:
    assert_goals(torture.hostile_suite(1, seed=7, cases=["trailer-in-evidence",
                                                         "trailer-in-summary"]))
