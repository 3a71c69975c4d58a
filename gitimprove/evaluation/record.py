"""Evaluations kept in git: one record commit per proposal, for the exact trees it judged.

``refs/gitimprove/evaluations/<agent>/<proposal-id>`` points at a record commit whose first
parent is the proposal commit that was judged (a second parent keeps the previous evaluation of
the same proposal, so re-evaluations stay in the history) and whose tree is the proposal's. Its
message holds the scorecard: in words, then whole as JSON in a fenced block (the
:class:`~gitimprove.evaluation.scorecard.Scorecard`), then trailers that name both trees,
written by the tool from checked values only. Everything is read from the message:
:class:`EvaluationRecord` is a ledger :class:`~gitimprove.ledger.RefRecord` (kind
``evaluations``), so :func:`gitimprove.ledger.scan` reads every evaluation, re-evaluations
included, with the other records (``book.records_of(EvaluationRecord)``, :func:`latest`).

Writing is atomic: objects first, then one compare-and-swap of the ref. A process killed before
the ref moves leaves unreferenced objects (collected by ``git gc``), never a partial record.
``gitimprove push --all`` and the documented fetch of ``refs/gitimprove/*`` carry the records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from gitimprove import ledger
from gitimprove.dataclass import dataclass
from gitimprove.errors import GitCommandError, GitImproveError
from gitimprove.git import Identity, Oid, Repository
from gitimprove.ledger import LoggedCommit
from gitimprove.text import CONTROL, RECORD_CONTROL, is_slug

if TYPE_CHECKING:
    # NOTE: imported where a record is read or written: the scorecard is a pydantic model, and
    # the commands that only look for a record (review, validate, the hooks) must not pay for it.
    from gitimprove.evaluation.scorecard import Scorecard

FENCE = "```gitimprove-scorecard"
EVALUATIONS_PREFIX = ledger.EVALUATIONS_PREFIX
# Re-evaluations are kept as second parents; a chain is read this far back at most.
MAX_CHAIN = 1000

Freshness = Literal["current", "stale-branch", "stale-base"]


def safe_id(value: str) -> bool:
    """A proposal id that may appear in a ref name and a trailer."""
    return ledger.is_proposal_id(value) and not value.endswith(".lock")


def record_ref(agent: str, proposal: str) -> str:
    return f"{EVALUATIONS_PREFIX}{agent}/{proposal}"


@ledger.register
@dataclass(frozen=True)
class EvaluationRecord(ledger.RefRecord):
    """An evaluation as recorded: the record commit, the proposal commit and the scorecard."""

    kind = "evaluations"

    commit: Oid
    proposal_commit: Oid
    scorecard: Scorecard
    evaluated_by: str
    time: int

    @property
    def proposal(self) -> str:
        return self.scorecard.proposal

    @property
    def agent(self) -> str:
        return self.scorecard.agent

    def when(self) -> int:
        return self.time

    # -- writing ---------------------------------------------------------------------------

    @staticmethod
    def message(card: Scorecard, by: Identity) -> str:
        """Summary, the scorecard in words, and trailers naming both trees."""
        fixed, worse = card.fixed(), card.worse()
        scorecard = json.dumps(card.model_dump(mode="json"), indent=1, ensure_ascii=True)
        parts = [f"Evaluate {card.agent} proposal {card.proposal}: fixed {fixed.hits}/{fixed.n}, "
                 f"worse {worse.hits}/{worse.n}",
                 "\n".join(card.lines()),
                 "Judged by a model on a sample of runs: evidence for a reviewer, not a proof "
                 "(see `gitimprove docs evaluation`). The scorecard, run by run (ids and verdicts, no run "
                 "text):",
                 f"{FENCE}\n{scorecard}\n```"]
        parts.append(ledger.trailer_block([
            (ledger.EVALUATION, card.proposal),
            (ledger.AGENT, card.agent),
            (ledger.EVALUATION_BASE_TREE, card.base_tree),
            (ledger.EVALUATION_PROPOSAL_TREE, card.proposal_tree),
            (ledger.BASE_VERSION, card.base_blob),
            (ledger.EVALUATION_SCORE, f"fixed={fixed.hits}/{fixed.n} worse={worse.hits}/{worse.n} "
                                      f"seed={card.seed} complete={'no' if card.stopped else 'yes'}"),
            (ledger.EVALUATED_BY, str(by)),
        ]))
        return "\n\n".join(parts) + "\n"

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def from_commit(cls, ref: str, commit: LoggedCommit,
                    commits: Mapping[Oid, LoggedCommit] | None = None) -> EvaluationRecord | None:
        """The record a commit holds, or None when it is not a well-formed record written by
        the tool (a model-authored commit, missing trailers, a scorecard that disagrees)."""
        if commit.model_authored or not commit.parents:
            return None
        message = commit.message
        trailers = ledger.trailer_map(message)
        if any(len(trailers.get(k, [])) != 1 for k in (
                ledger.EVALUATION, ledger.AGENT, ledger.EVALUATION_BASE_TREE,
                ledger.EVALUATION_PROPOSAL_TREE)):
            return None
        start = message.find(f"\n{FENCE}\n")
        end = message.find("\n```", start + len(FENCE) + 2) if start >= 0 else -1
        if end < 0:
            return None
        try:
            from gitimprove.evaluation.scorecard import Scorecard

            card = Scorecard.model_validate(json.loads(message[start + len(FENCE) + 2:end]))
        except ValueError:  # pydantic's ValidationError too
            return None
        named = tuple(trailers[k][0] for k in (ledger.EVALUATION, ledger.AGENT,
                                               ledger.EVALUATION_BASE_TREE,
                                               ledger.EVALUATION_PROPOSAL_TREE))
        if named != (card.proposal, card.agent, card.base_tree, card.proposal_tree):
            return None
        if card.proposal_commit != commit.parents[0] or not _clean(card.model_dump(mode="json")):
            return None
        if not (is_slug(card.agent) and safe_id(card.proposal)) or not all(
                ledger.is_oid(v) for v in (card.base_tree, card.proposal_tree, card.base_blob,
                                           card.proposal_blob, card.base_commit)):
            return None
        by = (trailers.get(ledger.EVALUATED_BY) or [commit.author_identity])[0]
        if not _clean(by):
            return None
        return cls(commit.oid, commit.parents[0], card, by, commit.time)

    @classmethod
    def read(cls, ref: str, commit: LoggedCommit,
             commits: Mapping[Oid, LoggedCommit]) -> list[EvaluationRecord]:
        """Every evaluation of a proposal, re-evaluations included (second parents), oldest
        first; the chain ends at the first commit that is not a record."""
        chain: list[EvaluationRecord] = []
        current: LoggedCommit | None = commit
        while current is not None and len(chain) < MAX_CHAIN:
            record = cls.from_commit(ref, current, commits)
            if record is None:
                break
            chain.append(record)
            current = commits.get(current.parents[1]) if len(current.parents) > 1 else None
        return chain[::-1]

    def freshness(self, proposal_tree: Oid, base_blob: Oid | None) -> Freshness:
        """``current`` when the tree being merged is the tree that was judged and the agent's
        instructions on the target are still those replayed as the base."""
        if self.scorecard.proposal_tree != proposal_tree:
            return "stale-branch"
        if base_blob is not None and self.scorecard.base_blob != base_blob:
            return "stale-base"
        return "current"


def _clean(value: object, table: re.Pattern[str] = RECORD_CONTROL) -> bool:
    """No control or bidirectional character anywhere: a record is printed on terminals.
    Read with :data:`~gitimprove.text.RECORD_CONTROL` (a record written before a character
    joined the table stays readable), written with the whole table."""
    if isinstance(value, str):
        return not table.search(value)
    if isinstance(value, dict):
        return all(_clean(k, table) and _clean(v, table) for k, v in value.items())
    if isinstance(value, list):
        return all(_clean(v, table) for v in value)
    return True


def write_record(git: Repository, card: Scorecard, by: Identity) -> EvaluationRecord:
    """Record ``card`` under its proposal's evaluation ref, by compare-and-swap."""
    if not (is_slug(card.agent) and safe_id(card.proposal)):
        raise GitImproveError(f"cannot record an evaluation for {card.agent}/{card.proposal}: "
                              "not a valid proposal id")
    if not _clean(card.model_dump(mode="json"), CONTROL):
        # NOTE: checked before writing, as it is read back: a record every reader skips would
        # stand under the ref for good.
        raise GitImproveError(f"cannot record the evaluation of {card.proposal}: it holds a "
                              "control or bidirectional character",
                              hint="please report it as a gitimprove bug")
    ref = record_ref(card.agent, card.proposal)
    previous = git.read_ref(ref)
    tree = Oid(card.proposal_tree)
    parents = [Oid(card.proposal_commit)] + ([previous] if previous else [])
    commit = git.commit_tree(tree, parents, EvaluationRecord.message(card, by), author=by,
                             committer=by)
    git.update_ref(ref, commit, previous, f"gitimprove evaluate: {card.proposal}")
    record = read_record(git, card.agent, card.proposal, override=commit)
    assert record is not None
    return record


def read_record(git: Repository, agent: str, proposal: str,
                override: Oid | None = None) -> EvaluationRecord | None:
    """The latest evaluation of one proposal, or None, in one git read (a listing reads every
    record from :func:`gitimprove.ledger.scan` instead). ``override``: the record commit to
    read instead of the ref's (a pre-receive hook sees pushed refs before they move)."""
    if not (is_slug(agent) and safe_id(proposal)):
        return None
    ref = record_ref(agent, proposal)
    oid = override or git.read_ref(ref)
    if oid is None:
        return None
    try:
        commit = git.read_commit(oid)
    except GitCommandError:
        return None
    return EvaluationRecord.from_commit(ref, LoggedCommit.of(commit))


def latest(book: ledger.Ledger) -> dict[tuple[str, str], EvaluationRecord]:
    """The current evaluation of every proposal the scan found (the one its ref points at),
    by (agent, proposal)."""
    tips = {tip for ref, tip in book.record_refs if ref.startswith(EvaluationRecord.prefix())}
    return {(r.agent, r.proposal): r for r in book.records_of(EvaluationRecord)
            if r.commit in tips}
