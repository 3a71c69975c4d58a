"""gitimprove: agent instructions that improve from user feedback, reviewed and versioned in git."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitimprove.errors import GitImproveError, InvalidFileError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gitimprove.instructions.repo import Instruction, InstructionRepo

__all__ = ["GitImproveError", "Instruction", "InstructionRepo", "InvalidFileError", "__version__"]


def __getattr__(name: str) -> Any:
    # NOTE: imported on first use, so that `gitimprove --version` and the hooks do not pay for
    # the instruction repository's imports before they know they need them.
    if name in ("Instruction", "InstructionRepo"):
        from gitimprove.instructions import repo

        return getattr(repo, name)
    raise AttributeError(f"module 'gitimprove' has no attribute {name!r}")
