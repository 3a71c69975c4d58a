"""A running fake Messages API, the sample product-writer agent, and the real validator."""

from __future__ import annotations

from typing import Any

from gitimprove.instructions.agentfile import parse_agent
from gitimprove.instructions.policy import Policy, ProposerSettings, parse_policy
from gitimprove.instructions.roundtrip import AgentDocument, EditError
from gitimprove.patterns.model import Pattern, pattern_id
from gitimprove.proposals.build import attribute
from gitimprove.proposals.operations import Draft, apply
from gitimprove.proposals.proposers.anthropic import AnthropicProposer
from gitimprove.proposals.proposers.base import ProposalRequest
from gitimprove.validate import check_change, protected_ids
from tests.conftest import SAMPLE
from tests.fakes.anthropic_server import FakeAnthropicServer

AGENT = "product-writer"
PATH = f"agents/{AGENT}.yaml"
AGENT_TEXT = (SAMPLE / PATH).read_text()
POLICY: Policy = parse_policy((SAMPLE / "gitimprove.yaml").read_text())


def proposer_for(api: FakeAnthropicServer, **settings: Any) -> AnthropicProposer:
    """The real proposer and SDK, pointed at the fake, with ~10 ms backoff."""
    return AnthropicProposer(ProposerSettings(**settings), api_key=api.api_key,
                             base_url=api.base_url, backoff_base=0.01, backoff_max=0.05)


def pattern(label: str, *, kind: str = "recurring_failure", count: int = 12, share: float = 0.2,
            quotes: list[str] | None = None, section: str | None = None,
            suggestion: str | None = None, score: float | None = None,
            feedback: int | None = None) -> Pattern:
    key = label.lower().replace(" ", "_")
    ids = [f"fb-{key[:8]}-{i:06d}" for i in range(feedback if feedback is not None else count)]
    return Pattern(id=pattern_id(kind, key), kind=kind, label=label, key=key,
                   count=count, share=share, score=float(count) if score is None else score,
                   feedback_ids=ids, quotes=quotes or [f"{label}, again"], section=section,
                   suggestion=suggestion, open_ids=ids)


def request_for(patterns: list[Pattern], *, policy: Policy = POLICY,
                notes: list[str] | None = None) -> ProposalRequest:
    agent = parse_agent(AGENT_TEXT, PATH, expected_name=AGENT)
    return ProposalRequest(agent=AGENT, file=agent, protected=protected_ids(agent, policy),
                           limits=policy.limits, patterns=patterns,
                           max_quotes=policy.proposer.max_quotes, notes=notes or [])


def validator(policy: Policy = POLICY, *, text: str = AGENT_TEXT, agent: str = AGENT) -> Any:
    """The check `gitimprove propose` passes: apply the draft, judge it like the merge would."""
    path = f"agents/{agent}.yaml"

    def check(draft: Draft) -> list[str]:
        doc = AgentDocument(text, path, expected_name=agent)
        try:
            apply(doc, list(draft.operations))
        except EditError as exc:
            return [exc.message]
        violations = check_change({path: text.encode()}, {path: doc.dumps().encode()},
                                  policy, operations=len(draft.operations))
        return attribute(violations, list(draft.operations))

    return check


TOO_LONG = pattern("too long / verbose", count=40, share=0.3, section="style",
                   quotes=["Way too long, I stopped reading halfway.",
                           "Half the text would do.", "Too wordy for a product page."],
                   suggestion="Keep it under 80 words")
BULLETS = pattern("wants bullet points", kind="consistent_correction", count=15, share=0.1,
                  section="structure", quotes=["Rewrote it as bullet points so people can scan it."])
LIKED = pattern("accurate details", kind="successful_pattern", count=30, share=0.2,
                quotes=["Spot on with the materials and sizes."])


def good_draft(**override: Any) -> dict[str, Any]:
    """A valid tool input: reword the length rule and add a structure rule (citing no pattern,
    so that it suits any request)."""
    draft: dict[str, Any] = {
        "summary": "Shorter descriptions, scannable structure",
        "rationale": "Users say descriptions are too long and rewrite them as bullet points.",
        "operations": [
            {"op": "update_rule", "section": "style", "index": 2,
             "text": "Keep it under 80 words.", "reason": "40 users found it too long.",
             "evidence": []},
            {"op": "add_rule", "section": "structure",
             "text": "Name the one feature shoppers care about most in the headline sentence.",
             "reason": "Users keep rewriting the opening to lead with the main feature.",
             "evidence": []},
        ],
    }
    draft.update(override)
    return draft
