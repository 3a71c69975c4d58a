"""Feedback by version and regression detection, on synthetic feedback with a known effect."""

from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner

from gitimprove import InstructionRepo
from gitimprove.cli import cli
from gitimprove.metrics import Rate, compare, version_figures
from tests.conftest import commit_file


def test_compare_detects_a_real_increase() -> None:
    c = compare("negative_rate", Rate(20, 100), Rate(45, 100), higher_is_worse=True)
    assert c.verdict == "worse"
    assert c.p_worse < 0.001
    assert c.interval[0] > 0  # the whole interval of the difference is above zero


def test_compare_needs_enough_runs() -> None:
    c = compare("negative_rate", Rate(1, 5), Rate(4, 5), higher_is_worse=True)
    assert c.verdict == "too little feedback"


def test_compare_lower_completion_is_worse() -> None:
    c = compare("task_completed", Rate(80, 100), Rate(50, 100), higher_is_worse=False)
    assert c.verdict == "worse"


def test_no_effect_rarely_raises_an_alarm() -> None:
    """Same true rate on both sides: the false-alarm rate stays near the (split) level."""
    rng = random.Random(7)
    alarms = 0
    trials = 400
    for _ in range(trials):
        old = sum(rng.random() < 0.3 for _ in range(80))
        new = sum(rng.random() < 0.3 for _ in range(80))
        if compare("negative_rate", Rate(old, 80), Rate(new, 80), higher_is_worse=True).verdict == "worse":
            alarms += 1
    assert alarms / trials < 0.03  # one-sided level is 0.05 / 4 metrics = 0.0125


def test_wilson_interval_brackets_the_rate() -> None:
    lo, hi = Rate(18, 60).interval() or (0, 0)
    assert lo < 0.3 < hi
    assert Rate(0, 0).interval() is None


def _feedback(repo: InstructionRepo, version: str, runs: int, negative: int, tag: str) -> None:
    for i in range(runs):
        repo.record_feedback(agent="product-writer", run_id=f"run-{tag}-{i}", version=version,
                             rating="negative" if i < negative else "positive",
                             reason="too long" if i < negative else "great")


def _two_versions(sample_repo: Path) -> tuple[InstructionRepo, str, str]:
    repo = InstructionRepo(sample_repo)
    v1 = repo.load("product-writer").version
    path = sample_repo / "agents" / "product-writer.yaml"
    text = path.read_text().replace("Use British English spelling.", "Use American English spelling.")
    commit_file(sample_repo, "agents/product-writer.yaml", text, "Switch to American spelling")
    v2 = repo.load("product-writer").version
    return repo, v1, v2


def test_history_and_check_regressions_flag_a_worse_version(sample_repo: Path) -> None:
    repo, v1, v2 = _two_versions(sample_repo)
    _feedback(repo, v1, 60, 12, "a")
    _feedback(repo, v2, 60, 33, "b")
    figures = version_figures(repo, "product-writer")
    assert [f.version.label for f in figures] == ["v2", "v1"]
    assert figures[0].verdict == "worse" and figures[0].runs == 60
    runner = CliRunner()
    out = runner.invoke(cli, ["--repo", str(sample_repo), "history", "product-writer"])
    assert out.exit_code == 0, out.output
    assert "significantly worse" in out.output
    assert "gitimprove rollback product-writer@v1" in out.output
    out = runner.invoke(cli, ["--repo", str(sample_repo), "check-regressions"])
    assert out.exit_code == 1
    assert "product-writer: v2 is worse than v1" in out.output
    data = runner.invoke(cli, ["--repo", str(sample_repo), "check-regressions", "--json"])
    assert data.exit_code == 1
    assert '"rollback": "gitimprove rollback product-writer@v1"' in data.output


def test_no_effect_no_alarm(sample_repo: Path) -> None:
    repo, v1, v2 = _two_versions(sample_repo)
    _feedback(repo, v1, 60, 15, "a")
    _feedback(repo, v2, 60, 16, "b")
    assert version_figures(repo, "product-writer")[0].verdict == "no clear change"
    out = CliRunner().invoke(cli, ["--repo", str(sample_repo), "check-regressions"])
    assert out.exit_code == 0
    assert "No regressions" in out.output


def test_a_handful_of_records_gives_no_verdict(sample_repo: Path) -> None:
    repo, v1, v2 = _two_versions(sample_repo)
    _feedback(repo, v1, 4, 0, "a")
    _feedback(repo, v2, 4, 4, "b")
    assert version_figures(repo, "product-writer")[0].verdict == "too little feedback"
