"""Integrations with agent frameworks.

Each module wraps the same library calls the CLI uses (:class:`gitimprove.InstructionRepo`,
:func:`gitimprove.proposals.build.propose`) in the shape a framework expects, and imports nothing
from the framework itself: ``import gitimprove.integrations.agno`` works without Agno installed.
"""
