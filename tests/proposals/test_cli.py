"""`gitimprove propose` on the command line: --dry-run, --json and --all.

The command analyses recorded feedback itself, so these run once feedback analysis
(``InstructionRepo.analyze``) and proposer selection have landed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitimprove.cli import cli, main

from ..conftest import git
from .helpers import AGENT, checkout_state, objects, refs
from .test_idempotence import _import_sample_feedback, needs_analysis


def _run(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--repo", str(repo), *args])
    return result.exit_code, result.output


@needs_analysis
def test_dry_run_prints_the_message_and_diff_and_writes_nothing(sample_repo: Path) -> None:
    _import_sample_feedback(sample_repo)
    before = refs(sample_repo), objects(sample_repo), checkout_state(sample_repo)
    code, out = _run(sample_repo, "propose", AGENT, "--proposer", "heuristic", "--dry-run")
    assert code == 0, out
    assert "heuristic proposer (offline, no model)" in out and "Nothing was written" in out
    assert f"Gitimprove-Agent: {AGENT}" in out
    assert f"+++ b/agents/{AGENT}.yaml" in out
    assert (refs(sample_repo), objects(sample_repo), checkout_state(sample_repo)) == before


@needs_analysis
def test_json_shape(sample_repo: Path) -> None:
    _import_sample_feedback(sample_repo)
    code, out = _run(sample_repo, "propose", AGENT, "--proposer", "heuristic", "--json")
    assert code == 0, out
    (entry,) = json.loads(out)["proposals"]
    assert entry["status"] == "proposed" and entry["agent"] == AGENT
    assert entry["proposer"] == "heuristic" and entry["model"] == "heuristic"
    assert entry["branch"] == f"improve/{AGENT}/{entry['id']}"
    assert git(sample_repo, "rev-parse", entry["branch"]).strip() == entry["commit"]
    assert entry["base_commit"] == git(sample_repo, "rev-parse", "main").strip()
    assert entry["operations"] and all(op["op"] in ("add_rule", "update_rule")
                                       for op in entry["operations"])
    assert entry["evidence"] and entry["patterns"]
    assert entry["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert entry["diff"].startswith(f"--- a/agents/{AGENT}.yaml")
    assert len(entry["notes"]) == 1
    assert re.fullmatch(r"\d+ pattern\(s\) left out; the review says why", entry["notes"][0])
    left_out = [lo["what"] for lo in entry["left_out"]]
    assert len(left_out) == int(entry["notes"][0].split()[0])
    assert any(re.fullmatch(r"'use bullet points and short lists' \(\d+ items\)", w) for w in left_out)


@needs_analysis
def test_dry_run_json_has_no_commit(sample_repo: Path) -> None:
    _import_sample_feedback(sample_repo)
    before = refs(sample_repo)
    code, out = _run(sample_repo, "propose", AGENT, "--proposer", "heuristic", "--dry-run", "--json")
    assert code == 0, out
    (entry,) = json.loads(out)["proposals"]
    assert entry["status"] == "dry-run" and entry["commit"] is None
    assert refs(sample_repo) == before


@needs_analysis
def test_all_proposes_for_every_agent_with_feedback(sample_repo: Path) -> None:
    _import_sample_feedback(sample_repo)
    code, out = _run(sample_repo, "propose", "--all", "--proposer", "heuristic", "--json")
    assert code == 0, out
    entries = json.loads(out)["proposals"]
    assert [e["agent"] for e in entries] == ["product-writer", "research-assistant", "support-agent",
                                                "trip-planner"]
    made = [e for e in entries if e["status"] == "proposed"]
    assert made, entries
    branches = git(sample_repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/improve/").split()
    assert sorted(branches) == sorted(e["branch"] for e in made)
    _run(sample_repo, "propose", "--all", "--proposer", "heuristic")
    again = git(sample_repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/improve/").split()
    assert set(branches) <= set(again)
    # these agents' patterns all fit in the first proposal: nothing new for them
    # (product-writer has more open patterns than one proposal shows; see test_idempotence)
    for agent in ("research-assistant", "support-agent"):
        assert [b for b in again if b.startswith(f"improve/{agent}/")] == \
            [b for b in branches if b.startswith(f"improve/{agent}/")]


def test_propose_needs_an_agent_or_all(sample_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--repo", str(sample_repo), "propose", "--proposer", "heuristic"])
    assert exit_info.value.code == 1
    assert "name an agent, or pass --all: there are 4" in capsys.readouterr().err


@needs_analysis
def test_dry_run_shows_the_id_propose_then_creates(sample_repo: Path) -> None:
    _import_sample_feedback(sample_repo)
    code, out = _run(sample_repo, "propose", AGENT, "--proposer", "heuristic", "--dry-run", "--json")
    assert code == 0, out
    planned = json.loads(out)["proposals"][0]["id"]
    code, out = _run(sample_repo, "propose", AGENT, "--proposer", "heuristic", "--json")
    assert code == 0, out
    assert json.loads(out)["proposals"][0]["id"] == planned


def test_nothing_to_propose_offline_says_what_would_give_a_rule(sample_repo: Path) -> None:
    # A theme with no stock remedy, in words no three users share: the offline proposer has
    # no rule to write, and says what would give one instead of leaving the user stuck.
    from gitimprove.instructions.repo import InstructionRepo

    said = ["asked for my order number twice even though I gave it in the first message",
            "I gave the order number and it asked me for the order number again",
            "kept asking for my order number after I already typed it",
            "why ask for the order number again? it was right there in my message"]
    with InstructionRepo(sample_repo) as repo:
        for n, text in enumerate(said):
            repo.record_feedback(agent="support-agent", run_id=f"r{n}", rating="down",
                                 reason=text, user_id=f"u{n}")
    code, out = _run(sample_repo, "propose", "support-agent", "--proposer", "heuristic",
                     "--dry-run")
    assert code == 0, out
    assert "nothing to propose for support-agent" in out
    assert "hint: offline, a rule is a theme's stock remedy" in out and "ANTHROPIC_API_KEY" in out
    code, out = _run(sample_repo, "propose", "support-agent", "--proposer", "heuristic",
                     "--dry-run", "--json")
    (entry,) = json.loads(out)["proposals"]
    assert entry["status"] == "nothing" and "ANTHROPIC_API_KEY" in entry["hint"]
