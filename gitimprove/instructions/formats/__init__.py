"""File formats gitimprove adopts in place, each behind the :class:`~.base.Adapter` interface.

The native format (``agents/<name>.yaml``) lives in :mod:`gitimprove.instructions.agentfile`;
the adapters here read the files teams already keep their agents in. The policy's ``formats:``
maps path globs to these names."""

from __future__ import annotations

from gitimprove.instructions.formats.base import Adapter, AdoptedDocument, Entry, ParsedFile
from gitimprove.instructions.formats.cagent import Cagent
from gitimprove.instructions.formats.crewai import CrewAI
from gitimprove.instructions.formats.github_models import GitHubModels
from gitimprove.instructions.formats.google_adk import GoogleADK
from gitimprove.instructions.formats.markdown import Markdown
from gitimprove.instructions.formats.prose import EditError
from gitimprove.instructions.formats.semantic_kernel import SemanticKernel

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (
    CrewAI(), GitHubModels(), SemanticKernel(), Cagent(), GoogleADK(), Markdown())}
FORMAT_NAMES = ("native", *ADAPTERS)


def variable_syntax(fmt: str) -> str:
    """How a format writes a variable, for a proposer's prompt (``{{name}}`` natively)."""
    return ADAPTERS[fmt].variable_example if fmt in ADAPTERS else "{{name}}"

__all__ = ["ADAPTERS", "FORMAT_NAMES", "Adapter", "AdoptedDocument", "EditError", "Entry", "ParsedFile", "variable_syntax"]
