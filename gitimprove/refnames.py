"""The names of the trial refs, in a module that imports nothing.

The ledger owns every record's ref names and trailers (:mod:`gitimprove.ledger.trials`
re-exports these as ``RUNNING_PREFIX`` and ``ENDED_PREFIX``). They are kept here so that
``InstructionRepo.load()``, which looks for a running trial on every call, can name that ref
without importing the ledger: the ledger's records are a large part of a command's start-up."""

TRIALS_RUNNING_PREFIX = "refs/gitimprove/trials/"
TRIALS_ENDED_PREFIX = "refs/gitimprove/trials-ended/"
