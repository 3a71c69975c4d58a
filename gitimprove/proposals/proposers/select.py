"""Choosing the proposer: ``anthropic`` when a key is configured, else ``heuristic``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from gitimprove.errors import GitImproveError
from gitimprove.instructions.policy import ProposerSettings
from gitimprove.proposals.proposers.base import Proposer

if TYPE_CHECKING:
    from gitimprove.llm import Bill

CHOICES = ("auto", "anthropic", "heuristic")


def has_api_key(env: Mapping[str, str]) -> bool:
    return bool(env.get("ANTHROPIC_API_KEY", "").strip())


def make_proposer(name: str | None, settings: ProposerSettings,
                  env: Mapping[str, str] = os.environ) -> Proposer:
    """The proposer ``name`` (``--proposer``), or the policy's ``proposer.default`` when None.

    ``auto`` means ``anthropic`` when ``ANTHROPIC_API_KEY`` is set in ``env`` and ``heuristic``
    otherwise. Asking for ``anthropic`` without a key is a refusal with a hint, not a silent
    fallback: the user should know which proposer ran."""
    choice = (name or settings.default).strip().lower()
    if choice not in CHOICES:
        raise GitImproveError(f"unknown proposer {name!r}",
                              hint=f"choose one of: {', '.join(CHOICES)}")
    if choice == "auto":
        choice = "anthropic" if has_api_key(env) else "heuristic"
    if choice == "anthropic":
        if not has_api_key(env):
            raise GitImproveError(
                "the anthropic proposer needs an API key, and ANTHROPIC_API_KEY is not set",
                hint="set ANTHROPIC_API_KEY, or use --proposer heuristic (offline, no key)")
        from gitimprove.proposals.proposers.anthropic import AnthropicProposer

        return AnthropicProposer(settings, api_key=env["ANTHROPIC_API_KEY"].strip(),
                                 base_url=env.get("ANTHROPIC_BASE_URL") or None)
    # Imported here so that this module does not depend on the heuristic proposer's module.
    from gitimprove.proposals.proposers.heuristic import HeuristicProposer

    return HeuristicProposer(settings)


def bill_of(proposer: Proposer) -> Bill | None:
    """What the proposer's model calls cost so far (None: it made none, or has no model)."""
    if proposer.name != "anthropic":  # NOTE: the SDK is not imported for the heuristic
        return None
    from gitimprove.proposals.proposers.anthropic import AnthropicProposer

    if isinstance(proposer, AnthropicProposer) and proposer.api.used:
        return proposer.api.bill()
    return None
