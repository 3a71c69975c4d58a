"""gitimprove: agent instructions that improve from user feedback, reviewed and versioned in git."""

__version__ = "0.1.0"

from gitimprove.errors import GitImproveError, InvalidFileError
from gitimprove.instructions.repo import Instruction, InstructionRepo

__all__ = ["GitImproveError", "Instruction", "InstructionRepo", "InvalidFileError", "__version__"]
