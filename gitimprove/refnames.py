"""The name of an agent's running-trial ref, in a module that imports nothing.

The ledger owns every record's ref names (:meth:`gitimprove.ledger.trials.TrialStart.prefix`,
``running_ref``); ``tests/test_ledger.py`` checks that this one agrees. It is spelled here so
that ``InstructionRepo.load()``, which looks for a running trial on every call, can name that
ref without importing the ledger, whose records are a large part of a command's start-up."""

TRIALS_RUNNING_PREFIX = "refs/gitimprove/trials/"


def running_trial_ref(agent: str) -> str:
    """``refs/gitimprove/trials/<agent>``: the agent's running trial, when it has one."""
    return TRIALS_RUNNING_PREFIX + agent
