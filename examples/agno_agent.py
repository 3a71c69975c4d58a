"""A self-improving Agno agent: instructions from a gitimprove repository, feedback on its runs,
and a proposal that a human approves with `gitimprove approve`.

Offline (no ANTHROPIC_API_KEY): Agno's real Claude model class talks to a tiny stand-in for
the Messages API that this script starts on 127.0.0.1, and the offline heuristic proposer
writes the proposal. Nothing leaves the machine.

    pip install -e '.[agno]'                      # gitimprove with Agno
    gitimprove demo --dir /tmp/agents-demo        # a demo repository (or any of yours)
    python examples/agno_agent.py /tmp/agents-demo
    gitimprove --repo /tmp/agents-demo review <id>    # then, as a human:
    gitimprove --repo /tmp/agents-demo approve <id>
    python examples/agno_agent.py /tmp/agents-demo    # the next run uses the new version

With ANTHROPIC_API_KEY set, the same script runs against the real API (the model is
$AGNO_EXAMPLE_MODEL, default claude-sonnet-5-5) and Claude writes the proposal.
Without a folder argument it makes a fresh repository from sample_repo/ in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gitimprove import GitImproveError
from gitimprove.integrations.agno import Improver
from gitimprove.proposals.build import NothingToPropose

AGENT = "product-writer"
VARIABLES = {"product_name": "Trail Flask", "audience": "hikers"}
PRODUCTS = ["Trail Flask, 750 ml, double-walled steel", "Trail Flask in forest green",
            "Trail Flask gift edition", "Trail Flask with carry loop"]
CORRECTION = "Always state the warranty period when the data sheet gives one."


# -- the stand-in model: just enough of the Messages API for Agno's Claude class ---------------

def stand_in_answer(system: str, prompt: str) -> str:
    """A deterministic 'model': it says which rules it was given, so you can see them change."""
    rules = sum(1 for line in system.splitlines() if line.lstrip().startswith("- "))
    warranty = " Backed by a five-year warranty." if "warranty" in system.lower() else ""
    return (f"[stand-in model; {rules} rules in its instructions] {prompt}: keeps drinks cold "
            f"for 24 hours and hot for 12.{warranty}")


class _StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        system = body.get("system", "")
        if isinstance(system, list):
            system = "\n".join(block.get("text", "") for block in system)
        content = body["messages"][-1]["content"]
        prompt = content if isinstance(content, str) else " ".join(
            block.get("text", "") for block in content if block.get("type") == "text")
        reply = json.dumps({
            "id": "msg_stand_in", "type": "message", "role": "assistant",
            "model": body.get("model", "stand-in"), "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0},
            "content": [{"type": "text", "text": stand_in_answer(system, prompt)}],
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@contextmanager
def stand_in_api() -> Iterator[str]:
    """The stand-in on an ephemeral port of 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()


# -- the example --------------------------------------------------------------------------------

def make_agent(improver: Improver, base_url: str | None) -> Any:
    from agno.agent import Agent
    from agno.models.anthropic import Claude

    if base_url is None:  # the real API, with ANTHROPIC_API_KEY from the environment
        model = Claude(id=os.environ.get("AGNO_EXAMPLE_MODEL", "claude-sonnet-5-5"))
    else:
        model = Claude(id="claude-sonnet-5-5", api_key="offline-stand-in",
                       client_params={"base_url": base_url, "max_retries": 0})
    # The one line that matters: instructions come from the repository, on every run.
    return Agent(model=model, instructions=improver.instructions, telemetry=False)


def main(repo: Path, base_url: str | None) -> None:
    improver = Improver(repo, agent=AGENT, variables=VARIABLES)
    agent = make_agent(improver, base_url)
    current = improver.current()
    print(f"{AGENT} on main is {current.label} (blob {current.version[:10]}); every run loads "
          "main's tip, so an approval or rollback is used by the next run.")

    print("\n== Runs")
    responses = []
    for product in PRODUCTS:
        response = agent.run(f"Write a product description for: {product}")
        if str(response.status).lower().endswith("error"):
            raise SystemExit(f"the run failed: {response.content}")
        version = improver.version_of(response.run_id) or "?"
        print(f"   run {response.run_id[:8]}  version {version[:10]}")
        print(textwrap.indent(textwrap.fill(str(response.content), 88), "      "))
        responses.append(response)

    print("\n== Feedback, each tied to the version of its run (run_id -> version)")
    for response in responses:
        # What a shop editor would say: the warranty is what they keep asking for.
        if "warranty" in str(response.content).lower():
            record = improver.record_feedback(run=response, rating="positive",
                                              reason="States the warranty, thanks")
        else:
            record = improver.record_feedback(run=response, rating="negative",
                                              reason="No warranty information",
                                              correction=CORRECTION)
            improver.record_feedback(run_id=response.run_id, signals={"edited_output": True})
        print(f"   {record.id}  run {record.run_id[:8]}  version {str(record.version)[:10]}  "
              f"{record.rating}: {record.reason}")

    print("\n== Feedback per version (what tells you whether an approval helped)")
    for row in improver.repo.feedback_stats(AGENT, by_version=True):
        print(f"   {row['label']:<4} {row['runs']:>4} runs with feedback, "
              f"{row['negative_rate']:.0%} of rated runs negative")

    print("\n== Patterns")
    for pattern in improver.analyze()[:5]:
        print(f"   {pattern.label} ({pattern.kind.replace('_', ' ')}, {pattern.count} items, "
              f"{pattern.state})")

    print("\n== A proposal (a branch authored by the model; main is unchanged)")
    try:
        plan = improver.propose()
    except GitImproveError as exc:  # nothing open, or nothing the heuristic can add
        print(f"   no proposal: {exc.message}")
        if isinstance(exc, NothingToPropose):
            print(f"   (see the open proposals: gitimprove --repo {repo} proposals)")
        return
    print(f"   {plan.short_branch}  by {plan.result.model}")
    print(textwrap.indent(plan.diff, "   | "), end="")
    print("\nApproval stays a human's decision:")
    print(f"   gitimprove --repo {repo} review {plan.id}")
    print(f"   gitimprove --repo {repo} approve {plan.id}")
    print(f"then run this example again: its runs get the new version.  Undo with "
          f"`gitimprove --repo {repo} rollback {plan.id}`.")
    improver.close()


def _fresh_repository() -> Path:
    from gitimprove.demo import find_sample_repo
    from gitimprove.instructions.init import init

    target = Path(tempfile.mkdtemp(prefix="gitimprove-agno-")) / "agents"
    init(target, template=find_sample_repo())
    print(f"(a fresh instruction repository from sample_repo/: {target})")
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", nargs="?", type=Path,
                        help="an instruction repository (default: a fresh one from sample_repo/)")
    args = parser.parse_args()
    os.environ.setdefault("AGNO_TELEMETRY", "false")
    try:
        where = args.repo or _fresh_repository()
        if os.environ.get("ANTHROPIC_API_KEY", "").strip():
            main(where, None)
        else:
            with stand_in_api() as url:
                main(where, url)
    except GitImproveError as exc:
        sys.exit(f"error: {exc}")
