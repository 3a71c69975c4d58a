"""File formats gitimprove adopts in place, each behind the :class:`~.base.Adapter` interface.

The native format (``agents/<name>.yaml``) lives in :mod:`gitimprove.instructions.agentfile`;
the adapters here read the files teams already keep their agents in. The policy's ``formats:``
maps path globs to these names.

The adapters are imported on first use (``ADAPTERS``, or any name below): a repository whose
policy adopts no files never pays for them, and every command reads the policy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitimprove.instructions.formats.base import Adapter, AdoptedDocument, Entry, ParsedFile
    from gitimprove.instructions.formats.prose import EditError

    ADAPTERS: dict[str, Adapter]
    FORMAT_NAMES: tuple[str, ...]

_NAMES = {"Adapter": "base", "AdoptedDocument": "base", "Entry": "base", "ParsedFile": "base",
          "EditError": "prose"}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    if name in ("ADAPTERS", "FORMAT_NAMES"):
        from gitimprove.instructions.formats.cagent import Cagent
        from gitimprove.instructions.formats.crewai import CrewAI
        from gitimprove.instructions.formats.github_models import GitHubModels
        from gitimprove.instructions.formats.google_adk import GoogleADK
        from gitimprove.instructions.formats.markdown import Markdown
        from gitimprove.instructions.formats.semantic_kernel import SemanticKernel

        adapters = {a.name: a for a in (
            CrewAI(), GitHubModels(), SemanticKernel(), Cagent(), GoogleADK(), Markdown())}
        globals().update(ADAPTERS=adapters, FORMAT_NAMES=("native", *adapters))
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def variable_syntax(fmt: str) -> str:
    """How a format writes a variable, for a proposer's prompt (``{{name}}`` natively)."""
    adapters: dict[str, Adapter] = __getattr__("ADAPTERS")
    return adapters[fmt].variable_example if fmt in adapters else "{{name}}"


__all__ = ["ADAPTERS", "FORMAT_NAMES", "Adapter", "AdoptedDocument", "EditError", "Entry", "ParsedFile", "variable_syntax"]
