"""Proposers turn ranked feedback patterns into a :class:`~gitimprove.proposals.operations.Draft`."""

from gitimprove.proposals.proposers.base import (
    ProposalRequest,
    Proposer,
    ProposerError,
    ProposerResult,
    Usage,
)

__all__ = ["ProposalRequest", "Proposer", "ProposerError", "ProposerResult", "Usage"]
