"""Feedback by version and regression detection, on synthetic feedback with a known effect."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from gitimprove import InstructionRepo
from gitimprove.cli import cli
from gitimprove.metrics import Rate, compare, direction, version_figures
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


def test_history_shows_tool_use_per_version(sample_repo: Path) -> None:
    """Tool-call and tool-error rates per version, over every logged run (run logs without
    feedback included), compared with the version before; they never decide the verdict."""
    repo, v1, v2 = _two_versions(sample_repo)
    for i in range(40):  # v1: web_search in 30 of 40 runs, a third of the calls fail
        calls = [{"name": "web_search", "status": "error" if i % 3 == 0 else "ok"}] if i < 30 else []
        repo.record_run(agent="product-writer", run_id=f"a-{i}", version=v1, tool_calls=calls)
    _feedback(repo, v1, 20, 5, "a")
    for i in range(40):  # v2: web_search in 8 of 40 runs, no failure
        calls = [{"name": "web_search", "status": "ok", "duration_ms": 500}] if i < 8 else []
        repo.record_run(agent="product-writer", run_id=f"b-{i}", version=v2, tool_calls=calls)
    new, old = version_figures(repo, "product-writer")
    assert old.decisions["tool_calls"] == Rate(30, 40) and old.decisions["tool_errors"] == Rate(10, 30)
    assert new.decisions["tool_calls"] == Rate(8, 40) and new.tools == {"web_search": Rate(8, 40)}
    assert new.runs == 0 and old.runs == 20  # run logs are not feedback
    (change,) = [c for c in new.decision_changes if c.metric == "tool_calls"]
    assert direction(change) == "less" and round(change.difference, 2) == -0.55
    assert new.verdict == "too little feedback"  # tool use is shown, never judged
    runner = CliRunner()
    out = runner.invoke(cli, ["--repo", str(sample_repo), "history", "product-writer"])
    assert out.exit_code == 0, out.output
    assert "tools in 40 logged runs: web_search 20%; vs v1: tool use -55 pts (less)" in out.output
    assert "tools used 75%  tool errors 33%" in out.output
    data = runner.invoke(cli, ["--repo", str(sample_repo), "history", "product-writer", "--json"])
    import json

    feedback = json.loads(data.output)["versions"][0]["feedback"]
    assert feedback["decisions"]["tool_calls"]["hits"] == 8
    assert feedback["tools"]["web_search"]["n"] == 40
    assert feedback["decision_changes"][0]["metric"] == "tool_calls"
    assert feedback["decision_changes"][0]["change"] == "less"


def test_the_report_shows_tool_use_per_version(sample_repo: Path) -> None:
    from gitimprove.report import report_html

    repo, v1, v2 = _two_versions(sample_repo)
    for i in range(30):
        calls = [{"name": "web_search", "status": "error" if i < 3 else "ok"}] if i < 20 else []
        repo.record_run(agent="product-writer", run_id=f"a-{i}", version=v1, tool_calls=calls)
        repo.record_run(agent="product-writer", run_id=f"b-{i}", version=v2,
                        tool_calls=[{"name": "fetch_page"}] if i < 3 else [])
    page = report_html(repo, ["product-writer"])
    assert "<h2>Tool use by version</h2>" in page
    assert "web_search 67%" in page and "tool use -57 pts (less) vs v1" in page
    assert "fetch_page 10%" in page


def test_a_signal_the_agent_never_reports_is_not_shown_as_zero(sample_repo: Path) -> None:
    from gitimprove.metrics import summary_line

    repo, v1, v2 = _two_versions(sample_repo)
    _feedback(repo, v1, 20, 5, "a")
    _feedback(repo, v2, 20, 5, "b")
    new, old = version_figures(repo, "product-writer")
    assert "regenerated" not in summary_line(new) and "edited" not in summary_line(old)
    assert new.rates["regenerated"].n == 0
    # once the agent's runs report regenerations, a version without any shows 0%
    repo.record_feedback(agent="product-writer", run_id="run-c", version=v2, rating="negative",
                         signals={"regenerated": True})
    new, old = version_figures(repo, "product-writer")
    assert "regenerated 0%" in summary_line(old) and old.rates["regenerated"].n == 20
    assert new.rates["regenerated"].hits == 1 and new.rates["regenerated"].n == 21
    # a signal only some runs report says over how many runs its rate is
    repo.record_feedback(agent="product-writer", run_id="run-d", version=v2, rating="positive",
                         signals={"task_completed": True})
    new, _ = version_figures(repo, "product-writer")
    assert "task completed 100% of 1" in summary_line(new)


def test_no_feedback_names_the_version_before(sample_repo: Path) -> None:
    # after a rollback to v1 the version before the current one is v2, not "v0": the line
    # names it, and --json carries it
    _two_versions(sample_repo)
    path = sample_repo / "agents" / "product-writer.yaml"
    commit_file(sample_repo, "agents/product-writer.yaml",
                path.read_text().replace("American", "British"), "Back to British spelling")
    out = CliRunner().invoke(cli, ["--repo", str(sample_repo), "check-regressions"])
    assert "product-writer v1: no feedback on it or on v2, the version before it" in out.output
    data = CliRunner().invoke(cli, ["--repo", str(sample_repo), "check-regressions", "--json"])
    judged = {j["agent"]: j for j in json.loads(data.output)["agents"]}
    assert judged["product-writer"]["previous"] == "v2"
