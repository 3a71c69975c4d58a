"""`gitimprove propose` with the Anthropic proposer as a user runs it: the real SDK against the
fake Messages API, and what the command says about who wrote the draft and what it cost."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitimprove.cli import cli, main
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.progress import report_progress_to
from gitimprove.proposals.build import propose_each
from gitimprove.proposals.proposers.base import ProposerError
from tests.conftest import SAMPLE, Told, git
from tests.fakes.anthropic_server import FakeAnthropicServer, error, slow, tool_use
from tests.proposers.conftest import AGENT, good_draft, proposer_for


def on_a_terminal(*args: str) -> tuple[int, str, str]:
    """``gitimprove ARGS`` with standard error on a terminal 60 columns wide: its exit code,
    standard output, and all it showed on the terminal."""
    leader, follower = pty.openpty()
    command = subprocess.Popen([sys.executable, "-m", "gitimprove", *args],
                               stdout=subprocess.PIPE, stderr=follower, text=True,
                               env={**os.environ, "COLUMNS": "60"})
    os.close(follower)
    shown = b""
    with suppress(OSError):  # EIO once the command has ended
        while chunk := os.read(leader, 4096):
            shown += chunk
    os.close(leader)
    out = (command.stdout or io.StringIO()).read()
    return command.wait(timeout=20), out, shown.decode()


@pytest.fixture
def with_key(api: FakeAnthropicServer, sample_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", str(api.api_key))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
    monkeypatch.chdir(sample_repo)


def test_propose_names_the_model_and_what_it_cost(api: FakeAnthropicServer, with_key: None) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    api.script(tool_use(good_draft(), input_tokens=3069, output_tokens=400))
    got = runner.invoke(cli, ["propose", AGENT, "--proposer", "anthropic", "--offline"])
    assert got.exit_code == 0, got.output
    lines = got.stdout.splitlines()
    assert lines[1] == "  by claude-sonnet-5-5 via the Anthropic API"
    # last, what the command's model calls cost, priced as evaluate prices them
    assert lines[-1] == "Model calls: 1 request, 3,069 input and 400 output tokens, about $0.02"
    dry = runner.invoke(cli, ["propose", AGENT, "--proposer", "heuristic", "--dry-run", "--offline"])
    assert dry.exit_code == 0, dry.output
    assert "by the heuristic proposer (offline, no model). Nothing was written." in dry.stdout


def test_an_overloaded_api_is_one_error_line_with_a_hint_and_writes_nothing(
        api: FakeAnthropicServer, with_key: None, sample_repo: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    before = git(sample_repo, "for-each-ref")
    api.handler = lambda received: error(529, "overloaded_error", "Overloaded",
                                         headers={"retry-after": "0"})
    with pytest.raises(SystemExit) as exited:
        main(["propose", AGENT, "--proposer", "anthropic", "--offline"])
    got = capsys.readouterr()
    assert exited.value.code == 1 and got.out == ""
    lines = got.err.splitlines()
    assert lines[:4] == [f"note: the Anthropic API is overloaded (529); retrying (attempt {n} of 5)"
                         for n in range(2, 6)]  # each retry said once, and why
    assert lines[4].startswith("error: the Anthropic API is overloaded after 5 attempts"), lines
    assert lines[5:] == ["  hint: try again later, or use --proposer heuristic"]
    assert git(sample_repo, "for-each-ref") == before


def test_ctrl_c_while_the_model_thinks_is_one_line_and_writes_nothing(
        api: FakeAnthropicServer, with_key: None, sample_repo: Path) -> None:
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    before = git(sample_repo, "for-each-ref"), git(sample_repo, "status", "--porcelain")
    api.handler = lambda received: slow(tool_use(good_draft()), 5)
    command = subprocess.Popen(
        # NOTE: a runner started in the background ignores SIGINT, and so would the command
        [sys.executable, "-c", "import signal; signal.signal(signal.SIGINT, "
         "signal.default_int_handler); from gitimprove.cli import main; main()", "propose", AGENT,
         "--proposer", "anthropic", "--offline"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not api.requests and time.monotonic() < deadline:  # the model is thinking
        time.sleep(0.05)
    command.send_signal(signal.SIGINT)
    out, err = command.communicate(timeout=20)
    assert (command.returncode, out, err.strip()) == (130, "", "interrupted")
    assert (git(sample_repo, "for-each-ref"), git(sample_repo, "status", "--porcelain")) == before


def test_a_slow_answer_shows_a_status_line_on_a_terminal(
        api: FakeAnthropicServer, with_key: None) -> None:
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    api.handler = lambda received: slow(tool_use(good_draft()), 3.5)
    code, out, shown = on_a_terminal("propose", AGENT, "--proposer", "anthropic", "--offline")
    assert code == 0 and "Proposed" in out
    lines = shown.split("\r\x1b[K")
    # on 60 columns the count ("request 1 of at most 2") gives way to the model and the figures
    assert re.fullmatch(r"waiting for claude-sonnet-5-5: [23] s, at most 10 min more", lines[1])
    assert all(len(line) < 60 for line in lines) and lines[-1] == ""  # cleared at the end


def test_a_slow_answer_is_one_note_in_a_log(api: FakeAnthropicServer, with_key: None,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from gitimprove import llm

    monkeypatch.setattr(llm, "NOTICE_AFTER", 0.2)
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    api.handler = lambda received: slow(tool_use(good_draft()), 1.5)
    with pytest.raises(SystemExit) as exited:
        main(["propose", AGENT, "--proposer", "anthropic", "--offline"])
    err = capsys.readouterr().err
    assert exited.value.code == 0
    assert re.findall(r"(?m)^note: waiting for .*$", err) == [
        "note: waiting for claude-sonnet-5-5 (request 1 of at most 2): 0 s, at most 10 min more"
    ]  # not a line a second


def test_propose_all_names_each_agent_once_and_ends_with_the_cost(
        api: FakeAnthropicServer, with_key: None) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    # a draft that fits product-writer only: the other agents have no section 'style'
    api.handler = lambda received: tool_use(good_draft(), input_tokens=2000, output_tokens=400)
    got = runner.invoke(cli, ["propose", "--all", "--proposer", "anthropic", "--offline"])
    assert got.exit_code == 1
    errors = [line for line in got.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: claude-sonnet-5-5 gave no valid draft for {name}, even after one "
                      "repair round (2 requests, 4,000 input and 800 output tokens, about "
                      "$0.02). Problems with the last answer:"
                      for name in ("research-assistant", "support-agent")]
    assert "  by claude-sonnet-5-5 via the Anthropic API\n" in got.stdout
    # the failed drafts cost too: the command's every request is in the closing line
    assert got.stdout.splitlines()[-1] == ("Model calls: 5 requests, 10,000 input and 2,000 "
                                           "output tokens, about $0.06")
    # --json: the same figures as a field (product-writer's draft is open now: all three fail)
    listed = json.loads(runner.invoke(cli, ["propose", "--all", "--proposer", "anthropic",
                                            "--offline", "--dry-run", "--json"]).stdout)
    assert listed["model_usage"] == {"requests": 6, "input_tokens": 12_000,
                                     "output_tokens": 2400, "cache_write_tokens": 0,
                                     "cache_read_tokens": 0, "cost_usd": 0.072}


def test_a_long_model_name_gives_way_on_the_status_line_not_the_figures(
        api: FakeAnthropicServer, with_key: None, sample_repo: Path) -> None:
    policy = sample_repo / "gitimprove.yaml"
    policy.write_text(policy.read_text().replace("  model: claude-sonnet-5-5\n  max_tokens",
                                                 "  model: claude-sonnet-5-5-20261021\n  max_tokens"))
    git(sample_repo, "commit", "-qam", "a dated model")
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    api.handler = lambda received: slow(tool_use(good_draft()), 2.8)
    code, _, shown = on_a_terminal("propose", AGENT, "--proposer", "anthropic", "--offline",
                                   "--dry-run")
    assert code == 0
    status = shown.split("\r\x1b[K")[1]
    assert status == "waiting for claude-sonnet-5-5-20…: 2 s, at most 10 min more"  # 59 columns


def test_propose_counts_its_requests_out_against_a_bound(
        api: FakeAnthropicServer, with_key: None, sample_repo: Path, told: Told) -> None:
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    report_progress_to(told)  # NOTE: the command above ended by taking it away
    # product-writer's draft is valid; the two agents after it need a repair round (in vain);
    # the last has no feedback, so asks nothing
    api.handler = lambda received: slow(tool_use(good_draft()), 0.6)
    repo = InstructionRepo(sample_repo)
    outcomes = propose_each(repo, repo.agent_names(), proposer_for(api), dry_run=True)
    assert [o.status for o in outcomes] == ["dry-run", "error", "error", "nothing"]
    shown = [re.sub(r": \d+ s, at most \d+ \w+ more", "", s)
             for n, s in enumerate(told.statuses) if s and told.statuses[n - 1] != s]
    # a draft and at most one repair round per agent with feedback: the bound falls as agents
    # need fewer, and the last possible request is counted as such
    assert shown == [*(f"waiting for claude-sonnet-5-5 (request {n} of at most {m})"
                       for n, m in ((1, 6), (2, 5), (3, 5), (4, 5))),
                     "waiting for claude-sonnet-5-5 (request 5 of 5)"]


def unknown_section() -> dict[str, object]:
    """A draft that adds a rule to a section the file does not have (a repair round follows)."""
    return good_draft(operations=[{"op": "add_rule", "section": "no-such-section",
                                   "text": "Lead with the price.", "reason": "users",
                                   "evidence": []}])


def test_a_failed_propose_still_says_what_its_answered_requests_cost(
        api: FakeAnthropicServer, with_key: None, sample_repo: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    before = git(sample_repo, "for-each-ref"), git(sample_repo, "status", "--porcelain")
    # the draft is answered (and paid for) but refused; the repair round finds the API overloaded
    api.script(tool_use(unknown_section(), input_tokens=3069, output_tokens=400))
    api.handler = lambda received: error(529, "overloaded_error", "Overloaded",
                                         headers={"retry-after": "0"})
    with pytest.raises(SystemExit) as exited:
        main(["propose", AGENT, "--proposer", "anthropic", "--offline"])
    got = capsys.readouterr()
    assert exited.value.code == 1 and "Traceback" not in got.err
    # the line a success ends with, in the same words
    assert got.out == "Model calls: 1 request, 3,069 input and 400 output tokens, about $0.02\n"
    assert got.err.splitlines()[-2].startswith("error: the Anthropic API is overloaded after 5 "
                                               "attempts")
    # --json: the error in the shape of `propose --all`'s, with what was spent
    api.script(tool_use(unknown_section(), input_tokens=3069, output_tokens=400))
    with pytest.raises(SystemExit) as exited:
        main(["propose", AGENT, "--proposer", "anthropic", "--offline", "--json"])
    got = capsys.readouterr()
    data = json.loads(got.out)
    assert exited.value.code == 1 and got.err.startswith("note: ")
    assert [(p["agent"], p["status"]) for p in data["proposals"]] == [(AGENT, "error")]
    assert data["proposals"][0]["reason"].startswith("the Anthropic API is overloaded")
    assert data["model_usage"] == {"requests": 1, "input_tokens": 3069, "output_tokens": 400,
                                   "cache_write_tokens": 0, "cache_read_tokens": 0,
                                   "cost_usd": 0.0152}
    # nothing half-written: no branch, no proposal record, the checkout untouched
    assert (git(sample_repo, "for-each-ref"), git(sample_repo, "status", "--porcelain")) == before


def test_a_server_killed_mid_run_leaves_nothing_and_its_answer_is_billed(
        api: FakeAnthropicServer, with_key: None, sample_repo: Path) -> None:
    assert CliRunner().invoke(cli, ["feedback", "import", str(SAMPLE / "feedback.jsonl")]).exit_code == 0
    before = git(sample_repo, "for-each-ref"), git(sample_repo, "status", "--porcelain")
    api.script(tool_use(unknown_section(), input_tokens=3069, output_tokens=400))
    api.kill_after(1)  # the repair round finds no server: its connection closes unanswered
    proposer = proposer_for(api)
    with pytest.raises(ProposerError, match=r"cannot reach the Anthropic API .* after 5 attempts"):
        propose_each(InstructionRepo(sample_repo), [AGENT], proposer)
    assert len(api.requests) == 6  # the draft, then the repair round tried 5 times
    assert proposer.api.bill().said() == ("1 request, 3,069 input and 400 output tokens, "
                                          "about $0.02")
    assert (git(sample_repo, "for-each-ref"), git(sample_repo, "status", "--porcelain")) == before
