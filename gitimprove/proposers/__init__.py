"""Proposers turn ranked feedback patterns into a :class:`~gitimprove.operations.Draft`."""

from .base import ProposalRequest, Proposer, ProposerError, ProposerResult, Usage

__all__ = ["ProposalRequest", "Proposer", "ProposerError", "ProposerResult", "Usage"]
