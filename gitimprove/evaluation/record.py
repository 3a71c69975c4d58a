"""Evaluations kept in git: one record commit per proposal, for the exact trees it judged.

``refs/gitimprove/evaluations/<agent>/<proposal-id>`` points at a record commit whose first
parent is the proposal commit that was judged (a second parent keeps the previous evaluation of
the same proposal, so re-evaluations stay in the history) and whose tree is the proposal's. Its
message holds the scorecard: in words, then whole as JSON in a fenced block (the
:class:`~gitimprove.evaluation.scorecard.Scorecard`), then trailers that name both trees,
written by the tool from checked values only. Everything is read from the message, so a record
reads itself from a commit like the other records of the tool.

Writing is atomic: objects first, then one compare-and-swap of the ref. A process killed before
the ref moves leaves unreferenced objects (collected by ``git gc``), never a partial record.
``gitimprove push --all`` and the documented fetch of ``refs/gitimprove/*`` carry the records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gitimprove import ledger
from gitimprove.errors import GitCommandError, GitImproveError
from gitimprove.git import Commit, Identity, Oid, Repository

if TYPE_CHECKING:
    from gitimprove.evaluation.scorecard import Scorecard

FENCE = "```gitimprove-scorecard"

# Names are the ledger's (gitimprove.ledger owns every record's ref prefix and trailers).
EVALUATIONS_PREFIX = ledger.EVALUATIONS_PREFIX
T_EVALUATION = ledger.EVALUATION
T_AGENT = ledger.AGENT
T_BASE_TREE = ledger.EVALUATION_BASE_TREE
T_PROPOSAL_TREE = ledger.EVALUATION_PROPOSAL_TREE
T_BASE_VERSION = ledger.BASE_VERSION
T_SCORE = ledger.EVALUATION_SCORE
T_EVALUATED_BY = ledger.EVALUATED_BY

_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_OID = re.compile(r"\A(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
MODEL_EMAIL_SUFFIX = ledger.MODEL_EMAIL_SUFFIX

Freshness = Literal["current", "stale-branch", "stale-base"]


def safe_id(value: str) -> bool:
    """A proposal id or agent name that may appear in a ref name and a trailer."""
    return bool(_ID.match(value)) and ".." not in value and not value.endswith((".", ".lock"))


def record_ref(agent: str, proposal: str) -> str:
    return f"{EVALUATIONS_PREFIX}{agent}/{proposal}"


@dataclass(frozen=True)
class EvaluationRecord:
    """An evaluation as recorded: the record commit, the proposal commit and the scorecard."""

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
                 "(see docs/evaluation.md). The scorecard, run by run (ids and verdicts, no run "
                 "text):",
                 f"{FENCE}\n{scorecard}\n```"]
        trailers = [
            f"{T_EVALUATION}: {card.proposal}",
            f"{T_AGENT}: {card.agent}",
            f"{T_BASE_TREE}: {card.base_tree}",
            f"{T_PROPOSAL_TREE}: {card.proposal_tree}",
            f"{T_BASE_VERSION}: {card.base_blob}",
            f"{T_SCORE}: fixed={fixed.hits}/{fixed.n} worse={worse.hits}/{worse.n} "
            f"seed={card.seed} complete={'no' if card.stopped else 'yes'}",
            f"{T_EVALUATED_BY}: {by}",
        ]
        parts.append("\n".join(trailers))
        return "\n\n".join(parts) + "\n"

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def from_commit(cls, commit: Commit) -> EvaluationRecord | None:
        """The record a commit holds, or None when it is not a well-formed record written by
        the tool (a model-authored commit, missing trailers, a scorecard that disagrees)."""
        email = commit.author.rpartition("<")[2].rstrip(">")
        return cls.parse(commit.oid, commit.parents, commit.author, email, commit.author_time,
                         commit.message)

    @classmethod
    def parse(cls, oid: Oid, parents: Sequence[Oid], author: str, email: str, time: int,
              message: str) -> EvaluationRecord | None:
        """:meth:`from_commit` from the parts of a commit (as a scan of the log reads them)."""
        if email.endswith(MODEL_EMAIL_SUFFIX) or not parents:
            return None
        from gitimprove.ledger import parse_trailers

        trailers: dict[str, list[str]] = {}
        for key, value in parse_trailers(message):
            trailers.setdefault(key, []).append(value)
        if any(len(trailers.get(k, [])) != 1 for k in (
                T_EVALUATION, T_AGENT, T_BASE_TREE, T_PROPOSAL_TREE)):
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
        if (trailers[T_EVALUATION][0], trailers[T_AGENT][0], trailers[T_BASE_TREE][0],
                trailers[T_PROPOSAL_TREE][0]) != (card.proposal, card.agent, card.base_tree,
                                                  card.proposal_tree):
            return None
        if card.proposal_commit != parents[0] or not _clean(card.model_dump(mode="json")):
            return None
        if not (safe_id(card.agent) and safe_id(card.proposal)) or not all(
                _OID.match(v) for v in (card.base_tree, card.proposal_tree, card.base_blob,
                                        card.proposal_blob, card.base_commit)):
            return None
        by = (trailers.get(T_EVALUATED_BY) or [author])[0]
        if not _clean(by):
            return None
        return cls(Oid(oid), Oid(parents[0]), card, by, time)

    def freshness(self, proposal_tree: Oid, base_blob: Oid | None) -> Freshness:
        """``current`` when the proposal is still the tree that was judged and the agent's
        instructions on the target are still those replayed as the base."""
        if self.scorecard.proposal_tree != proposal_tree:
            return "stale-branch"
        if base_blob is not None and self.scorecard.base_blob != base_blob:
            return "stale-base"
        return "current"


def _clean(value: object) -> bool:
    """No control or bidirectional character anywhere: a record is printed on terminals."""
    if isinstance(value, str):
        return not _CONTROL.search(value)
    if isinstance(value, dict):
        return all(_clean(k) and _clean(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_clean(v) for v in value)
    return True


def write_record(git: Repository, card: Scorecard, by: Identity) -> EvaluationRecord:
    """Record ``card`` under its proposal's evaluation ref, by compare-and-swap."""
    if not (safe_id(card.agent) and safe_id(card.proposal)):
        raise GitImproveError(f"cannot record an evaluation for {card.agent}/{card.proposal}: "
                              "not a valid proposal id")
    ref = record_ref(card.agent, card.proposal)
    previous = git.read_ref(ref)
    tree = Oid(card.proposal_tree)
    parents = [Oid(card.proposal_commit)] + ([previous] if previous else [])
    commit = git.commit_tree(tree, parents, EvaluationRecord.message(card, by), author=by,
                             committer=by)
    git.update_ref(ref, commit, previous, f"gitimprove evaluate: {card.proposal}")
    record = read_record(git, card.agent, card.proposal)
    assert record is not None
    return record


def read_record(git: Repository, agent: str, proposal: str,
                override: Oid | None = None) -> EvaluationRecord | None:
    """The latest evaluation of a proposal, or None. ``override``: the record commit to read
    instead of the ref's (a pre-receive hook sees pushed refs before they move)."""
    if not (safe_id(agent) and safe_id(proposal)):
        return None
    oid = override or git.read_ref(record_ref(agent, proposal))
    if oid is None:
        return None
    try:
        commit = git.read_commit(oid)
    except GitCommandError:
        return None
    return EvaluationRecord.from_commit(commit)


def all_records(git: Repository) -> list[EvaluationRecord]:
    """Every evaluation recorded, re-evaluations included (second parents), oldest first."""
    found: list[EvaluationRecord] = []
    for _, oid in git.match_refs(f"{EVALUATIONS_PREFIX}*/*"):
        chain: list[EvaluationRecord] = []
        current: Oid | None = oid
        while current is not None and len(chain) < 1000:
            try:
                commit = git.read_commit(current)
            except GitCommandError:
                break
            record = EvaluationRecord.from_commit(commit)
            if record is None:
                break
            chain.append(record)
            current = commit.parents[1] if len(commit.parents) > 1 else None
        found += reversed(chain)
    found.sort(key=lambda r: r.time)  # stable: one proposal's evaluations stay in their order
    return found
