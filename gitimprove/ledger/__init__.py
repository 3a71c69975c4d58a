"""The ledger: every record gitimprove keeps in git, and the one scan that reads them back.

gitimprove stores nothing outside git. What it writes there are *records*: a proposal (a
model-authored commit on ``improve/<agent>/<id>``), an approval (a merge into main that is not
authored by a model; a plain ``git merge`` counts too), a rejection (a record commit under
``refs/gitimprove/rejected/``), a rollback (a commit on main) and, implicitly, human edits.
This module is the only one that spells a trailer name, knows the model's identity, or
decides what a commit means. A kind kept under ``refs/gitimprove/<kind>/`` is a
:class:`RefRecord` subclass (trials: :mod:`gitimprove.ledger.trials`; evaluations:
:mod:`gitimprove.evaluation.record`, which needs the scorecard's model) that reads itself from
the commits :func:`scan` already holds: ``Ledger.records_of(kind)``.

Trust rules (docs/safety.md):

- A model can write anything into a commit it authors. So a model-authored commit may carry
  only the proposal trailers (:data:`PROPOSAL_TRAILERS`) with strictly-formed values; any other
  trailer (``Approved-by:`` included) marks it as forged, and it never counts as an approval,
  a rejection or a rollback.
- An approval is a merge commit on main's first-parent history that is not model-authored;
  the proposals it approves are the model-authored proposal commits it brings, wherever they
  sit on the merged branch (a reviewer's commits on top are recorded as edits, with authors).
  Main's earlier line that a merge brings back as its side (`git pull` without ``--rebase``,
  then a push) is read in its place: its approvals and rollbacks stay what they were.
- Values are checked when they are written: nothing a model or user wrote becomes a trailer
  line, a heading or a second record.

:func:`scan` reads everything in two git calls (``for-each-ref`` and one ``log``, on first
use of what the refs hold) whatever the number of proposals. What main's history says, what
the refs bring beyond main and each proposal's :class:`Summary` are kept on disk by main's tip
(:func:`scan_line`, :class:`_SummaryFile`), so that a scan reads from git only what is new: a
speed-up whose result is the same without it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from functools import cached_property, partial
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self, TypeVar
from urllib.parse import quote

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.git import Commit, Identity, Oid, Repository, write_cache, write_json
from gitimprove.text import CONTROL, is_slug, shorten

# -- names ------------------------------------------------------------------------------------

BRANCH_PREFIX = "refs/heads/improve/"
RECORDS_PREFIX = "refs/gitimprove/"
REJECTED_PREFIX = f"{RECORDS_PREFIX}rejected/"

PROPOSAL = "Gitimprove-Proposal"
AGENT = "Gitimprove-Agent"
BASE_VERSION = "Gitimprove-Base-Version"
BASE_COMMIT = "Gitimprove-Base-Commit"
EVIDENCE = "Gitimprove-Evidence"
PATTERNS = "Gitimprove-Patterns"
MODEL = "Gitimprove-Model"
PROPOSER = "Gitimprove-Proposer"
USAGE = "Gitimprove-Usage"
ROLLBACK_OF = "Gitimprove-Rollback-Of"
REVERTS = "Gitimprove-Reverts"
RESTORES = "Gitimprove-Restores"
REJECTED = "Gitimprove-Rejected"
APPROVED_BY = "Approved-by"
REJECTED_BY = "Rejected-by"
ROLLED_BACK_BY = "Rolled-back-by"
# Trial records (gitimprove.ledger.trials): refs/gitimprove/trials/ and trials-ended/.
TRIAL = "Gitimprove-Trial"
TRIAL_SHARE = "Gitimprove-Trial-Share"
TRIAL_UNIT = "Gitimprove-Trial-Unit"
TRIAL_CANDIDATE = "Gitimprove-Trial-Candidate"
TRIAL_LIVE = "Gitimprove-Trial-Live"
# ... for an agent that shares its file with others (a crewAI agents.yaml), whose version is
# no blob: the blobs of the file holding each
TRIAL_CANDIDATE_FILE = "Gitimprove-Trial-Candidate-File"
TRIAL_LIVE_FILE = "Gitimprove-Trial-Live-File"
TRIAL_BRANCH = "Gitimprove-Trial-Branch"
TRIAL_STARTED_BY = "Trial-Started-by"
TRIAL_STOPPED = "Gitimprove-Trial-Stopped"
TRIAL_STOPPED_BY = "Trial-Stopped-by"
EVALUATIONS_PREFIX = f"{RECORDS_PREFIX}evaluations/"
EVALUATION = "Gitimprove-Evaluation"
EVALUATION_BASE_TREE = "Gitimprove-Base-Tree"
EVALUATION_PROPOSAL_TREE = "Gitimprove-Proposal-Tree"
EVALUATION_SCORE = "Gitimprove-Score"
EVALUATED_BY = "Evaluated-by"
# On an approval merge: the evaluation record commit whose scorecard the gate let through.
EVALUATION_RECORD = "Gitimprove-Evaluation-Record"

# The only trailers a model-authored commit may carry.
PROPOSAL_TRAILERS = (PROPOSAL, AGENT, BASE_VERSION, BASE_COMMIT, EVIDENCE, PATTERNS, MODEL,
                     PROPOSER, USAGE)
# Copied onto an approval merge so that `git log` of main reads on its own.
APPROVAL_COPIES = (PROPOSAL, AGENT, BASE_VERSION, EVIDENCE, MODEL, PROPOSER)

MODEL_EMAIL_SUFFIX = "@gitimprove.invalid"
HEURISTIC_IDENTITY = Identity("gitimprove-heuristic", "heuristic@gitimprove.invalid")
CONTENT_FENCE = "```gitimprove-content"
NO_RECORD = "no Gitimprove-Proposal or Gitimprove-Agent trailer"


def model_identity(model: str, proposer: str) -> Identity:
    """Commits written by a proposer are authored by the model (or the offline heuristic)."""
    if proposer == "heuristic":
        return HEURISTIC_IDENTITY
    return Identity(model, f"model{MODEL_EMAIL_SUFFIX}")


def is_model_email(email: str) -> bool:
    return email.strip().lower().endswith(MODEL_EMAIL_SUFFIX)


class LedgerError(GitImproveError):
    """A record that may not be written (a value that is not of its strict form)."""


# -- strict forms -----------------------------------------------------------------------------

_ID = re.compile(r"[0-9A-Za-z](?:[0-9A-Za-z._-]{0,78}[0-9A-Za-z])?")
# Printable ASCII without space or comma: the form a cited feedback id must have.
_EVIDENCE_ID = re.compile(r"[!-+\--~]{1,200}")
_PATTERN_ID = re.compile(r"pat-[0-9a-f]{12}")
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}")
_PROPOSER = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_USAGE = re.compile(r"input_tokens=\d{1,12} output_tokens=\d{1,12} requests=\d{1,6}")
_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_proposal_id(value: str) -> bool:
    return bool(_ID.fullmatch(value)) and ".." not in value


def is_oid(value: str) -> bool:
    """A full object id (SHA-1 or SHA-256), lowercase hexadecimal."""
    return bool(_OID.fullmatch(value))


def is_evidence_id(value: str) -> bool:
    """A feedback id that may be cited: printable ASCII, no space or comma, 1-200 characters."""
    return bool(_EVIDENCE_ID.fullmatch(value))


def one_line(text: str, limit: int = 300) -> str:
    """Free text made safe for a trailer value: one line, no control or bidi characters."""
    return shorten(text, limit)


def trailer_block(pairs: Iterable[tuple[str, str]]) -> str:
    """The last paragraph of a record's message. Refuses a value that could become a second
    line (the only way data could turn into a trailer of its own)."""
    lines = []
    for key, value in pairs:
        if not re.fullmatch(r"[A-Za-z0-9-]+", key) or CONTROL.search(value) or value != value.strip():
            raise LedgerError(f"refusing to write trailer {key}: {value!r}",
                              hint="a record's values are single lines without control characters")
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """``Key: value`` lines of a message's last paragraph, in order (git's trailer block)."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    out = []
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z0-9-]+", key):
            out.append((key, value.strip()))
    return out


def trailer_map(message: str) -> dict[str, list[str]]:
    """:func:`parse_trailers` as key -> values (in order)."""
    out: dict[str, list[str]] = {}
    for key, value in parse_trailers(message):
        out.setdefault(key, []).append(value)
    return out


def _values(pairs: Sequence[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in pairs if k == key]


def _first(pairs: Sequence[tuple[str, str]], key: str) -> str | None:
    return next((v for k, v in pairs if k == key), None)


def _ids(values: Iterable[str]) -> list[str]:
    return [i.strip() for v in values for i in v.split(",") if i.strip()]


# -- states -----------------------------------------------------------------------------------

class ProposalState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"
    # On main's first-parent history without an approval merge (a fast-forward or a
    # cherry-pick): live, but nobody approved it (the hooks, when installed, judged it).
    LANDED = "landed"


class EvidenceState(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    ADDRESSED = "addressed"


# -- records ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    def __str__(self) -> str:
        return (f"input_tokens={self.input_tokens} output_tokens={self.output_tokens} "
                f"requests={self.requests}")


def _paragraphs(message: str) -> list[str]:
    """A commit message's paragraphs, blank ones left out (how the content block is found)."""
    return [p for p in message.strip().split("\n\n") if p.strip()]


def is_content_block(paragraph: str) -> bool:
    """Whether a paragraph is a content block (``gitimprove-content`` fence, one JSON line)."""
    lines = paragraph.strip().splitlines()
    return len(lines) == 3 and lines[0] == CONTENT_FENCE and lines[2] == "```"


@dataclass(frozen=True)
class ProposalContent:
    """What a proposal does, machine-readably: its operations (as JSON objects, validated by
    :mod:`gitimprove.proposals.operations`) and the rules it adds or rewords."""

    operations: tuple[dict[str, Any], ...]
    rules: tuple[str, ...]

    def render(self) -> str:
        body = json.dumps({"operations": list(self.operations), "rules": list(self.rules)},
                          ensure_ascii=True, sort_keys=True)
        return f"{CONTENT_FENCE}\n{body}\n```"

    @classmethod
    def parse(cls, message: str) -> ProposalContent | None:
        """The content block: the paragraph right before the trailers, written last by
        :meth:`ProposalRecord.message` (text a model wrote always comes before it)."""
        paragraphs = _paragraphs(message)
        if len(paragraphs) < 3 or not is_content_block(paragraphs[-2]):
            return None
        lines = paragraphs[-2].strip().splitlines()
        try:
            data = json.loads(lines[1])
            ops = tuple(dict(op) for op in data["operations"])
            rules = tuple(str(r) for r in data["rules"])
        except (ValueError, KeyError, TypeError):
            return None
        return cls(ops, rules)

    @staticmethod
    def folded(message: str, where: str = "`review --json`, `git log`") -> str:
        """``message`` for people: the content block (the paragraph :meth:`parse` reads, a
        long line of JSON) is one line saying where to read it (``where``)."""
        paragraphs = _paragraphs(message)
        if len(paragraphs) >= 3 and is_content_block(paragraphs[-2]):
            paragraphs[-2] = f"(the operations as data: {where})"
        return "\n\n".join(paragraphs)


@dataclass(frozen=True)
class ProposalRecord:
    """The trailers of a proposal commit (authored by the model)."""

    id: str
    agent: str
    base_version: Oid
    base_commit: Oid
    evidence: tuple[str, ...]
    patterns: tuple[str, ...]
    model: str
    proposer: str
    usage: Usage | None = None
    content: ProposalContent | None = None

    def problems(self) -> list[str]:
        """Every value not of its strict form (empty for a record that may be written)."""
        out = []
        if not is_proposal_id(self.id):
            out.append(f"proposal id {self.id!r} is not of the form 20261123-ab12cd")
        if not is_slug(self.agent):
            out.append(f"agent {self.agent!r} is not an agent name")
        out += [f"evidence id {e!r} is not of the strict form (printable ASCII, no space or comma)"
                for e in self.evidence if not is_evidence_id(e)]
        out += [f"pattern id {p!r} is not of the form pat-0123456789ab"
                for p in self.patterns if not _PATTERN_ID.fullmatch(p)]
        if not _MODEL.fullmatch(self.model):
            out.append(f"model name {self.model!r} is not of the strict form")
        if not _PROPOSER.fullmatch(self.proposer):
            out.append(f"proposer {self.proposer!r} is not of the strict form")
        if self.usage is not None and not _USAGE.fullmatch(str(self.usage)):
            # NOTE: a server's word (10**13 tokens): written, every reader would call it forged
            out.append(f"usage {str(self.usage)!r} is not of the strict form (at most 12 digits a count)")
        return out

    def trailers(self) -> list[tuple[str, str]]:
        problems = self.problems()
        if problems:
            raise LedgerError("refusing to write the proposal: " + "; ".join(problems),
                              hint="nothing was written; the proposer's answer broke the rules above")
        pairs = [(PROPOSAL, self.id), (AGENT, self.agent), (BASE_VERSION, str(self.base_version)),
                 (BASE_COMMIT, str(self.base_commit)), (EVIDENCE, ",".join(self.evidence)),
                 (PATTERNS, ",".join(self.patterns)), (MODEL, self.model),
                 (PROPOSER, self.proposer)]
        if self.usage is not None:
            pairs.append((USAGE, str(self.usage)))
        return pairs

    def message(self, paragraphs: Sequence[str]) -> str:
        """The commit message: the given prose, then the content block, then the trailers."""
        parts = [p.strip("\n") for p in paragraphs if p.strip()]
        if self.content is not None:
            parts.append(self.content.render())
        parts.append(trailer_block(self.trailers()))
        return "\n\n".join(parts) + "\n"

    @classmethod
    def parse(cls, message: str) -> tuple[ProposalRecord | None, list[str]]:
        """The record in a proposal commit's message, and what is wrong with it (a trailer a
        model may not write, a value that is not of its strict form)."""
        pairs = parse_trailers(message)
        problems = [f"trailer {k!r} may not be written by a model" for k, _ in pairs
                    if k not in PROPOSAL_TRAILERS]
        for key in PROPOSAL_TRAILERS:
            if len(_values(pairs, key)) > 1:
                problems.append(f"trailer {key!r} appears more than once")
        pid, agent = _first(pairs, PROPOSAL), _first(pairs, AGENT)
        if not pid or not agent:
            return None, [*problems, NO_RECORD] if pid or agent else problems
        base_version = _first(pairs, BASE_VERSION) or ""
        base_commit = _first(pairs, BASE_COMMIT) or ""
        for key, value in ((BASE_VERSION, base_version), (BASE_COMMIT, base_commit)):
            if not _OID.fullmatch(value):
                problems.append(f"{key} {value!r} is not an object id")
        usage = None
        raw_usage = _first(pairs, USAGE)
        if raw_usage is not None:
            if _USAGE.fullmatch(raw_usage):
                numbers = [int(part.split("=")[1]) for part in raw_usage.split()]
                usage = Usage(*numbers)
            else:
                problems.append(f"{USAGE} {raw_usage!r} is not of the strict form")
        zero = "0" * 40
        record = cls(
            id=pid, agent=agent,
            base_version=Oid(base_version if _OID.fullmatch(base_version) else zero),
            base_commit=Oid(base_commit if _OID.fullmatch(base_commit) else zero),
            evidence=tuple(_ids(_values(pairs, EVIDENCE))),
            patterns=tuple(_ids(_values(pairs, PATTERNS))),
            model=_first(pairs, MODEL) or "", proposer=_first(pairs, PROPOSER) or "",
            usage=usage, content=ProposalContent.parse(message))
        problems += [p for p in record.problems()
                     if not (p.startswith("model name") and not record.model)
                     and not (p.startswith("proposer") and not record.proposer)]
        return record, problems


@dataclass(frozen=True)
class ApprovalRecord:
    """The trailers gitimprove writes on an approval merge (a plain ``git merge`` has none)."""

    approver: Identity
    proposal: ProposalRecord
    # the evaluation record (a commit gitimprove wrote, read back and checked) that the
    # policy's gate let through; None when no gate applied
    evaluation: Oid | None = None

    def message(self, paragraphs: Sequence[str]) -> str:
        pairs = [(k, v) for k, v in self.proposal.trailers() if k in APPROVAL_COPIES]
        if self.evaluation is not None:
            if not is_oid(self.evaluation):
                raise LedgerError(f"refusing to name evaluation {self.evaluation!r}: "
                                  "not an object id")
            pairs.append((EVALUATION_RECORD, str(self.evaluation)))
        pairs.append((APPROVED_BY, str(self.approver)))
        return "\n\n".join([*paragraphs, trailer_block(pairs)]) + "\n"


def evaluation_named(commit: LoggedCommit) -> Oid | None:
    """The evaluation record an approval merge names, when gitimprove's approval wrote it: a
    merge not authored by a model, with one ``Gitimprove-Evaluation-Record`` holding an
    object id (a model-authored commit carrying it is forged, and names nothing)."""
    if commit.model_authored or len(commit.parents) < 2:
        return None
    values = [v for k, v in commit.trailers if k == EVALUATION_RECORD]
    return Oid(values[0]) if len(values) == 1 and is_oid(values[0]) else None


def evaluations_named(git: Repository, commits: Iterable[Oid]) -> dict[Oid, Oid]:
    """:func:`evaluation_named` of each of ``commits`` that names one, in one git call."""
    wanted = list(dict.fromkeys(commits))
    if not wanted:
        return {}
    read = read_commits(git, "--no-walk=unsorted", *wanted)
    return {oid: named for oid, c in read.items() if (named := evaluation_named(c)) is not None}


@dataclass(frozen=True)
class RejectionRecord:
    """A rejection: a record commit (parent: the proposal branch's tip) under
    ``refs/gitimprove/rejected/<agent>/<id>``."""

    proposal: str
    agent: str
    reason: str
    by: str

    @staticmethod
    def ref(agent: str, pid: str) -> str:
        return f"{REJECTED_PREFIX}{agent}/{pid}"

    def message(self) -> str:
        return "\n\n".join([
            f"Reject {self.agent} proposal {self.proposal}", self.reason.strip(),
            trailer_block([(PROPOSAL, self.proposal), (AGENT, self.agent),
                           (REJECTED, one_line(self.reason, 1000)), (REJECTED_BY, self.by)]),
        ]) + "\n"

    @classmethod
    def parse(cls, message: str) -> RejectionRecord | None:
        pairs = parse_trailers(message)
        pid, agent = _first(pairs, PROPOSAL), _first(pairs, AGENT)
        if not pid or not agent:
            return None
        return cls(pid, agent, _first(pairs, REJECTED) or "", _first(pairs, REJECTED_BY) or "")


@dataclass(frozen=True)
class RollbackRecord:
    """A rollback on main: the revert of an approval, or the restore of ``AGENT@vN``."""

    agent: str
    by: str
    rollback_of: str | None = None
    reverts: Oid | None = None
    restores: str | None = None

    def message(self, paragraphs: Sequence[str]) -> str:
        pairs = [(AGENT, self.agent)]
        if self.rollback_of:
            pairs.append((ROLLBACK_OF, self.rollback_of))
        if self.reverts:
            pairs.append((REVERTS, str(self.reverts)))
        if self.restores:
            pairs.append((RESTORES, self.restores))
        pairs.append((ROLLED_BACK_BY, self.by))
        return "\n\n".join([*paragraphs, trailer_block(pairs)]) + "\n"

    @classmethod
    def parse(cls, message: str) -> RollbackRecord | None:
        if REVERTS not in message and RESTORES not in message:
            return None  # the scan asks of every commit on main: most are not rollbacks
        pairs = parse_trailers(message)
        reverts, restores = _first(pairs, REVERTS), _first(pairs, RESTORES)
        if reverts is None and restores is None:
            return None
        return cls(agent=_first(pairs, AGENT) or "?", by=_first(pairs, ROLLED_BACK_BY) or "",
                   rollback_of=_first(pairs, ROLLBACK_OF),
                   reverts=Oid(reverts) if reverts and _OID.fullmatch(reverts) else None,
                   restores=restores)


class RefRecord:
    """A record kept as a commit under ``refs/gitimprove/<kind>/...`` (evaluations, trials).

    Subclasses set ``kind`` and implement :meth:`from_commit`; :func:`scan` reads every ref
    under :meth:`prefix` from the commits it has already read (no further git call), and
    :meth:`Ledger.records_of` hands them out typed. :func:`register` makes the scan read a
    kind eagerly into ``Ledger.records``; a kind asked for by class is read on demand."""

    kind: ClassVar[str]

    @classmethod
    def prefix(cls) -> str:
        return f"{RECORDS_PREFIX}{cls.kind}/"

    @classmethod
    def from_commit(cls, ref: str, commit: LoggedCommit,
                    commits: Mapping[Oid, LoggedCommit]) -> Self | None:
        """The record ``commit`` (the tip of ``ref``) holds, or None when it is not a
        well-formed record of this kind. ``commits``: what the scan read, for parents."""
        raise NotImplementedError

    @classmethod
    def read(cls, ref: str, commit: LoggedCommit,
             commits: Mapping[Oid, LoggedCommit]) -> list[Self]:
        """Every record a ref holds, oldest first (a kind that keeps earlier records as
        parents overrides this)."""
        found = cls.from_commit(ref, commit, commits)
        return [found] if found is not None else []

    def when(self) -> int:
        """When it was recorded (seconds since the epoch): records are listed in this order."""
        raise NotImplementedError


_REF_RECORDS: dict[str, type[RefRecord]] = {}
R = TypeVar("R", bound=RefRecord)


def register(kind: type[R]) -> type[R]:
    """Make :func:`scan` read records of this kind (use as a class decorator)."""
    _REF_RECORDS[kind.kind] = kind
    return kind


# -- what a commit is -------------------------------------------------------------------------

@dataclass(frozen=True)
class LoggedCommit:
    """A commit as the scan reads it (the message included)."""

    oid: Oid
    parents: tuple[Oid, ...]
    author: str
    email: str
    time: int
    message: str

    @property
    def author_identity(self) -> str:
        return f"{self.author} <{self.email}>"

    @property
    def summary(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def model_authored(self) -> bool:
        return is_model_email(self.email)

    @property
    def trailers(self) -> list[tuple[str, str]]:
        return parse_trailers(self.message)

    @cached_property
    def proposal(self) -> tuple[ProposalRecord | None, tuple[str, ...]]:
        """:func:`proposal_of`, read once: the scan asks it of a proposal commit several times."""
        if not self.model_authored:
            return None, ()
        record, problems = ProposalRecord.parse(self.message)
        return record, tuple(problems)

    @classmethod
    def of(cls, commit: Commit) -> LoggedCommit:
        name, _, email = commit.author.rpartition(" <")
        return cls(commit.oid, tuple(commit.parents), name, email.rstrip(">"), commit.author_time,
                   commit.message)


def proposal_of(commit: LoggedCommit) -> tuple[ProposalRecord | None, list[str]]:
    """The proposal a commit records, if it is a proposal commit (model-authored), and what
    is wrong with it. A commit that is not model-authored records no proposal."""
    record, problems = commit.proposal
    return record, list(problems)


# A proposal trailer on a line of its own anywhere in a message, indented or in another case:
# `git merge --squash` quotes the squashed commits' messages, indented, under their authors.
_QUOTED_PROPOSAL = re.compile(rf"^[ \t]*{PROPOSAL}[ \t]*:[ \t]*{_ID.pattern}[ \t]*$",
                              re.IGNORECASE | re.MULTILINE)


def claims_proposal(commit: LoggedCommit) -> bool:
    """A commit the hooks must judge: model-authored, or not a merge and naming a proposal in
    its message (a human's cherry-pick that kept the message, a squash that quotes it)."""
    if commit.model_authored:
        return True
    return len(commit.parents) < 2 and _QUOTED_PROPOSAL.search(commit.message) is not None


def names_proposal(message: str) -> str | None:
    """The proposal a message names (as a cherry-pick or a squash quotes it): its id, a
    placeholder when the record does not parse, or None when it names none."""
    if _QUOTED_PROPOSAL.search(message) is None:
        return None
    record, _ = ProposalRecord.parse(message)
    record = record or quoted_proposal(message)
    return record.id if record is not None and is_proposal_id(record.id) else "(quoted proposal)"


def quoted_proposal(message: str) -> ProposalRecord | None:
    """The proposal a squash commit quotes (the message `git merge --squash` writes: each
    squashed commit's message indented by four spaces, the oldest last), or None."""
    lines = message.splitlines()
    record, _ = ProposalRecord.parse("\n".join(ln[4:] if ln.startswith("    ") else ln
                                               for ln in lines))
    return record


def riders(git: Repository, base: Oid, head: Oid, proposal: Oid) -> list[str]:
    """What is wrong with the *other* model-authored commits that merging ``head`` into
    ``base`` brings besides the proposal commit ``proposal``: a record a model may not write
    (an ``Approved-by``, a doubled trailer), or another proposal's record riding along, which
    the hooks would judge on its own. Empty when there is nothing but the proposal and
    people's commits (or model commits without any record)."""
    return _riders(read_commits(git, head, f"^{base}").values(), proposal)


def riders_in(book: Ledger, head: Oid, proposal: Oid) -> list[str]:
    """:func:`riders` into main's tip, from the commits a scan read (no git call)."""
    # NOTE: book.commits holds only what the refs bring beyond main: the walk stops at main.
    return _riders((book.commits[o] for o in _walk(book.commits, [head], set())), proposal)


def _riders(brought: Iterable[LoggedCommit], proposal: Oid) -> list[str]:
    out = []
    for c in brought:
        if c.oid == proposal or not c.model_authored:
            continue
        record, problems = ProposalRecord.parse(c.message)
        problems = [p for p in problems if p != NO_RECORD]
        if problems:
            out.append(f"commit {c.oid.short} is model-authored and forged: " + "; ".join(problems))
        elif record is not None:
            out.append(f"commit {c.oid.short} is another proposal ({record.id}), which must be "
                       "approved on its own")
    return sorted(out)


def approver_of(merge: LoggedCommit) -> str:
    """Who approved with this merge: its ``Approved-by`` when it is a real approval, else its
    author (a plain ``git merge``)."""
    if merge.model_authored or len(merge.parents) < 2:
        raise LedgerError(f"{merge.oid.short} is not an approval")
    by = _first(merge.trailers, APPROVED_BY)
    return by or f"{merge.author_identity} (merged with plain git)"


# -- the scan -------------------------------------------------------------------------------

@dataclass
class Edit:
    """A person's commit on a proposal branch (on top of the model's commit)."""

    commit: Oid
    author: str
    time: int
    summary: str


@dataclass
class Approval:
    """A merge on main that brought proposals (``by``: ``Approved-by`` or the merger)."""

    merge: Oid
    first_parent: Oid
    head: Oid
    by: str
    time: int
    plain: bool
    proposals: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)


@dataclass
class Rejection:
    ref: str
    record: Oid
    by: str
    reason: str
    time: int
    summary: str


@dataclass
class Rollback:
    commit: Oid
    record: RollbackRecord
    time: int
    summary: str


def proposal_key(agent: str, pid: str) -> str:
    """``agent/id``: one proposal, where two agents' proposals share an id."""
    return f"{agent}/{pid}"


def branch_of(ref: str | None) -> str | None:
    """The proposal branch ``ref`` names (``improve/agent/id``), or None (a record ref)."""
    return ref.removeprefix("refs/heads/") if ref and ref.startswith(BRANCH_PREFIX) else None


@dataclass
class Proposal:
    """A proposal found in git, whatever its state."""

    record: ProposalRecord
    commit: LoggedCommit
    state: ProposalState
    ref: str | None = None
    tip: Oid | None = None
    edits: list[Edit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    approval: Approval | None = None
    rejection: Rejection | None = None
    rollback: Rollback | None = None
    landed_as: LoggedCommit | None = None  # a person's commit on main that quotes it (a squash)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def agent(self) -> str:
        return self.record.agent

    @property
    def key(self) -> str:
        """``agent/id``: what names this proposal alone where two agents' proposals share an
        id (branches ``improve/a/X`` and ``improve/b/X``: :meth:`Ledger.select` takes it)."""
        return proposal_key(self.agent, self.id)

    @property
    def head(self) -> Oid:
        """What a merge of the proposal brings: the branch tip (the model's commit and any
        commits people added on top)."""
        return self.tip or self.commit.oid

    @property
    def branch(self) -> str | None:
        return branch_of(self.ref)

    @property
    def summary(self) -> str:
        return self.commit.summary

    @property
    def message(self) -> str:
        return self.commit.message

    @property
    def author(self) -> str:
        return self.commit.author_identity

    @property
    def time(self) -> int:
        return self.commit.time

    @property
    def evidence(self) -> list[str]:
        return list(self.record.evidence)

    @property
    def base_commit(self) -> Oid:
        return self.record.base_commit

    @property
    def merge_commit(self) -> Oid | None:
        return self.approval.merge if self.approval else None


@dataclass
class MainEvent:
    """A commit on main's first-parent history, as the ledger reads it (or on main's earlier
    line that a merge brought back: ``off_line``; that merge has ``brings_back``, the side
    parent that line ends in)."""

    commit: LoggedCommit
    approval: Approval | None = None
    rollback: Rollback | None = None
    off_line: bool = False
    brings_back: Oid | None = None


class Summary(NamedTuple):
    """What a proposal's state and content say, without its commit (:meth:`Ledger.summaries`):
    what ``propose`` reads of every proposal. ``operations`` and ``rules`` are its content
    block's (None: a proposal written before content blocks); ``rejection``, its rejection's
    reason, who rejected it and when; ``ref``, the branch or rejection record it was read
    from (None: main's line), where :meth:`Ledger.select` reads that proposal alone."""

    id: str
    agent: str
    state: ProposalState
    time: int
    evidence: tuple[str, ...]
    patterns: tuple[str, ...]
    operations: tuple[dict[str, Any], ...] | None
    rules: tuple[str, ...] | None
    rejection: tuple[str, str, int] | None
    ref: str | None

    @property
    def branch(self) -> str | None:
        """:attr:`Proposal.branch`."""
        return branch_of(self.ref)

    @property
    def key(self) -> str:
        """:attr:`Proposal.key`."""
        return proposal_key(self.agent, self.id)

    @classmethod
    def of(cls, p: Proposal) -> Summary:
        content, r = p.record.content, p.rejection
        return cls(p.id, p.agent, p.state, p.time, p.record.evidence, p.record.patterns,
                   None if content is None else content.operations,
                   None if content is None else content.rules,
                   None if r is None else (r.reason, r.by, r.time), p.ref)


@dataclass
class _Read:
    """What the refs say (:meth:`Ledger._read`)."""

    proposals: dict[str, Proposal]
    unidentified: list[tuple[str, Oid]]


class Ledger:
    """Every proposal and record, and what main's history says about them.

    :func:`scan` lists the refs; what they hold is read on first use (``proposals``,
    ``records``, ...). :meth:`summaries` answers from a summary kept on disk by the refs it
    was read from, when there is one: ``propose`` then builds no proposal at all, and
    :meth:`select` builds only the proposals asked for. With ``kept=False`` nothing kept on
    disk is read or written: everything comes from git (what the hooks judge by)."""

    def __init__(self, main: Oid | None, git: Repository, main_ref: str,
                 refs: Sequence[tuple[str, Oid]], *, kept: bool = True,
                 since: Oid | None = None) -> None:
        self.main, self.git, self.main_ref, self.refs = main, git, main_ref, list(refs)
        self.kept = kept and not git.shallow and since is None
        self.since = since  # main's line read from there on only (:func:`scan_naming`)
        # Main's whole line, when a scan walked it (else read on first use of history/on_main).
        self.line: MainLine | None = None
        self._summaries: list[Summary] | None = None

    @cached_property
    def _scanned(self) -> tuple[MainLine, dict[Oid, LoggedCommit]]:
        """Main's line and the commits the refs bring beyond it (:func:`scan_line`)."""
        tips = sorted({str(oid) for _, oid in self.refs} - {str(self.main)})
        main_line, commits = scan_line(self.git, self.main_ref, self.main, tips, keep=self.kept,
                                       since=self.since)
        if main_line.whole and self.line is None:
            self.line = main_line
        return main_line, commits

    @cached_property
    def _read(self) -> _Read:
        """The scan proper: what the refs hold (two git calls at most, see :func:`scan`)."""
        main_line, commits = self._scanned
        proposals = dict(main_line.proposals)
        unidentified = _read_refs(self.refs, commits, proposals)
        for p in proposals.values():
            _settle(main_line, p)
        return _Read(proposals, unidentified)

    @property
    def proposals(self) -> dict[str, Proposal]:
        return self._read.proposals

    @cached_property
    def records(self) -> dict[str, list[RefRecord]]:
        """Every record of each registered kind (:func:`register`), oldest first."""
        return {kind.kind: _read_records(kind, self.record_refs, self.commits)
                for kind in _REF_RECORDS.values()}

    @property
    def unidentified(self) -> list[tuple[str, Oid]]:
        return self._read.unidentified

    @cached_property
    def record_refs(self) -> list[tuple[str, Oid]]:
        """The record refs the scan listed (every ref under ``refs/gitimprove/`` but the
        rejections), for records_of (no git)."""
        return [(ref, tip) for ref, tip in self.refs
                if ref.startswith(RECORDS_PREFIX) and not ref.startswith(REJECTED_PREFIX)]

    @property
    def commits(self) -> dict[Oid, LoggedCommit]:
        """The commits the refs bring beyond main. Main's own commits are in ``history``."""
        return self._scanned[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ledger):
            return NotImplemented
        return (self.main, self.proposals, self.records, self.unidentified, self.record_refs,
                self.commits) == (other.main, other.proposals, other.records,
                                  other.unidentified, other.record_refs, other.commits)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ledger(main={self.main!r}, refs={len(self.refs)})"

    def summaries(self) -> list[Summary]:
        """A :class:`Summary` of every proposal, in no set order: what ``proposals`` would
        give, read from the summary kept on disk when it was written for these refs and this
        main (or for fewer branches, the new ones each the model's commit alone on main),
        else from ``proposals`` (and kept for the next scan)."""
        if self._summaries is None:
            kept = _SummaryFile(self).load()
            if kept is None:
                kept = [Summary.of(p) for p in self.proposals.values()]
                _SummaryFile(self).save(self.refs, kept)
            self._summaries = kept
        return self._summaries

    def select(self, ids: Iterable[str]) -> list[Proposal]:
        """The proposals with these ids (those that exist, in the order asked), each what
        ``proposals`` holds for it. When the proposals are not built yet, each is built
        alone from its :class:`Summary`'s ref: with main's line kept on disk, one ``log`` of
        what those refs bring beyond main (a few among many), else what the scan read."""
        wanted = list(dict.fromkeys(ids))
        if "_read" in self.__dict__:  # built already (to summarise them, or for another reader)
            return [p for pid in wanted if (p := self._get(pid)) is not None]
        known: dict[str, Summary] = {}
        for s in self.summaries():  # an id two agents share: the first, as `proposals` holds it
            known.setdefault(s.id, s)
            known[s.key] = s
        chosen = list({id(one): one for pid in wanted
                       if (one := known.get(pid)) is not None}.values())
        if not chosen:
            return []
        tips = dict(self.refs)
        heads = {str(tips[s.ref]) for s in chosen if s.ref in tips}
        few = not heads or (len(heads) <= _FEW and len(self.refs) > _MANY)
        line = self._kept_line() if few else None
        if line is not None and self.main is not None:
            commits = read_commits(self.git, *sorted(heads), f"^{self.main}") if heads else {}
        else:
            line, commits = self._scanned
        out = []
        for s in chosen:
            p = _alone(s, tips, line, commits)
            if p is None:  # NOTE: not what the summary says: the full read decides
                return [p for pid in wanted if (p := self._get(pid)) is not None]
            out.append(p)
        return out

    def proposal(self, pid: str) -> Proposal | None:
        """:meth:`select` of one proposal (by id, or by ``agent/id``)."""
        found = self.select([pid])
        return found[0] if found else None

    def _get(self, pid: str) -> Proposal | None:
        """The proposal ``pid`` (an id, or ``agent/id``: :attr:`Proposal.key`) names."""
        found = self.proposals.get(pid)
        agent, slash, bare = pid.partition("/")
        if found is None and slash:
            found = self.proposals.get(bare)
            return found if found is not None and found.agent == agent else None
        return found

    def _kept_line(self) -> MainLine | None:
        """Main's line: the scan's, else the one kept on disk for main's tip (None: there
        is none, and :func:`scan_line` would read what the refs hold as well)."""
        if "_scanned" in self.__dict__:
            return self._scanned[0]
        if not self.kept or self.main is None:
            return None
        line = _load_line(_SummaryFile(self).line_path, self.main_ref)
        return line if line is not None and line.tip == self.main else None

    @property
    def history(self) -> list[MainEvent]:
        """A :class:`MainEvent` per commit on main's first-parent line, oldest first (with
        main's earlier line a merge brought back, in its place)."""
        return self._whole().history

    @property
    def on_main(self) -> set[Oid]:
        """Every commit main's tip reaches."""
        return self._whole().on_main

    def _whole(self) -> MainLine:
        # NOTE: a scan that found main's line kept on disk (scan_line) did not read main's
        # commits: history is walked here, once, for the readers that need every event
        # (audit, metrics); propose and review never do.
        _ = self._scanned  # walks main's whole line when nothing of it is kept
        if self.line is None or not self.line.whole:
            self.line = MainLine.read(self.git, self.main)
        return self.line

    def records_of(self, kind: type[R]) -> list[R]:
        """Every record of ``kind`` the scan found, oldest first (damaged ones left out)."""
        if kind.kind not in self.records:
            self.records[kind.kind] = _read_records(kind, self.record_refs, self.commits)
        return [r for r in self.records[kind.kind] if isinstance(r, kind)]

    def of_state(self, *states: ProposalState) -> list[Summary]:
        """The summaries of the proposals in any of ``states`` (:meth:`select` builds them)."""
        return [s for s in self.summaries() if s.state in states]

    def evidence_states(self, *others: Ledger) -> dict[str, EvidenceState]:
        """Feedback cited by an open proposal is pending; by an approved (not rolled back)
        one, addressed; a rejected or rolled-back proposal frees its evidence. With
        ``others`` (the remote's ledger, whose main may be ahead of this one), feedback is
        addressed when any ledger says so, else pending when any does."""
        states: dict[str, EvidenceState] = {}
        addressed = (ProposalState.APPROVED, ProposalState.LANDED)
        for book in (self, *others):
            summaries = book.summaries()
            for s in summaries:
                if s.state == ProposalState.OPEN:
                    for fid in s.evidence:
                        states.setdefault(fid, EvidenceState.PENDING)
            for s in summaries:
                if s.state in addressed:
                    states.update(dict.fromkeys(s.evidence, EvidenceState.ADDRESSED))
        return states

    def approval_of(self, commit: Oid) -> Approval | None:
        """The approval merge ``commit`` is (None: it is none)."""
        # NOTE: a proposal's approval first: main's history is read only for an approval
        # whose proposals were all approved again later (or for a commit that is none)
        found = next((p.approval for p in self.proposals.values()
                      if p.approval is not None and p.approval.merge == commit), None)
        return found or next((e.approval for e in self.history
                              if e.approval is not None and e.commit.oid == commit), None)


_FORMAT = "%H%n%P%n%an%n%ae%n%at%n%B"


def read_commits(git: Repository, *revs: str, check: bool = True) -> dict[Oid, LoggedCommit]:
    """Every commit reachable from ``revs`` (``^rev`` excludes), with its message: one git call.
    With ``check=False``, none when git refuses (a rev it does not have)."""
    if not revs:
        return {}
    out = git.run_bytes("log", "-z", f"--format={_FORMAT}", *revs, "--", check=check)
    commits: dict[Oid, LoggedCommit] = {}
    for chunk in out.split(b"\0"):
        if not chunk.strip():
            continue
        text = chunk.decode("utf-8", errors="replace").lstrip("\n")
        oid, parents, name, email, time, message = (text.split("\n", 5) + [""] * 6)[:6]
        # NOTE: git's own %H and %P, full ids: not checked again (a check an id costs more
        # than the rest of reading a commit, for a scan of 10,000)
        commits[_oid(oid)] = LoggedCommit(_oid(oid), tuple(map(_OIDS, parents.split())),
                                          name, email, int(time or 0), message)
    return commits


def _squashed(git: Repository, main: Oid, pid: str, since: int) -> bool:
    """Whether a person's commit on main made since ``since`` quotes proposal ``pid`` (a
    squash of it: see :func:`names_proposal`). One ``log``, of main's commits since then
    (an hour earlier: the person's clock may be behind the model's)."""
    found = read_commits(git, str(main), "--no-merges", f"--since=@{max(0, since - 3600)}",
                         "--fixed-strings", f"--grep={pid}")
    return any(not c.model_authored and names_proposal(c.message) == pid for c in found.values())


def _main_record(c: LoggedCommit) -> bool:
    """Whether ``c`` is one of the commits only main's line holds: an approval merge that
    ``approve`` wrote (a person's merge with ``Approved-by``), or a rollback."""
    if c.model_authored:
        return False
    if len(c.parents) > 1:
        return any(k == APPROVED_BY for k, _ in c.trailers)
    return RollbackRecord.parse(c.message) is not None


def _walk(commits: Mapping[Oid, LoggedCommit], starts: Iterable[Oid], stop: set[Oid]) -> Iterator[Oid]:
    """Commits reachable from ``starts`` and not in ``stop`` (each once)."""
    seen: set[Oid] = set()
    todo = [s for s in starts if s not in stop]
    while todo:
        oid = todo.pop()
        if oid in seen or oid in stop or oid not in commits:
            continue
        seen.add(oid)
        yield oid
        todo.extend(commits[oid].parents)


def merged_head(commits: Mapping[Oid, LoggedCommit], heads: Sequence[Oid], proposal: Oid) -> Oid:
    """The commit whose tree is *being merged* when ``heads`` bring the proposal commit
    ``proposal`` (``commits``: what the heads bring on top of the target).

    Walking each head's first-parent line: the side parent of the merge that brings it (a
    plain ``git merge``, an approval: the branch tip, reviewers' commits included), else the
    head itself (a fast-forward; the branch ``validate`` or a merge is given). The evaluation
    gate compares this tree with the one a scorecard judged (docs/evaluation.md)."""
    for head in heads:
        cursor: Oid | None = head
        while cursor is not None and cursor in commits:
            if cursor == proposal:
                return head
            parents = commits[cursor].parents
            for side in parents[1:]:
                if proposal in set(_walk(commits, [side], set())):
                    return side
            cursor = parents[0] if parents else None
    return heads[0] if heads else proposal


def _brought(commits: Mapping[Oid, LoggedCommit], tip: Oid, stop: set[Oid]) -> list[LoggedCommit]:
    """The commits a branch at ``tip`` brings on top of ``stop``, oldest first."""
    return sorted((commits[o] for o in _walk(commits, [tip], stop)), key=lambda c: c.time)


def _edits(commits: Mapping[Oid, LoggedCommit], brought: list[LoggedCommit], target: Oid,
           stop: set[Oid]) -> list[Edit]:
    """People's commits among ``brought`` that are not under the model's commit ``target``."""
    under = set(_walk(commits, [target], stop))
    return [Edit(c.oid, c.author_identity, c.time, c.summary) for c in brought
            if c.oid not in under and not c.model_authored and len(c.parents) < 2]


def _proposal_in(found: list[LoggedCommit], pid: str | None) -> LoggedCommit | None:
    """The proposal commit among ``found``: the one with id ``pid``, else the newest."""
    chosen = [(c, r) for c in found if (r := c.proposal[0]) is not None]
    mine = next((c for c, r in chosen if r.id == pid), None)
    return mine or (chosen[-1][0] if chosen else None)


def _proposal(c: LoggedCommit, state: ProposalState, **kw: Any) -> Proposal | None:
    """``c`` as a proposal in ``state`` (None: it is no proposal commit)."""
    record, problems = proposal_of(c)
    if record is None:
        return None
    return Proposal(record, c, state, problems=problems, **kw)


def _adopt(proposals: dict[str, Proposal], p: Proposal | None,
           key: str | None = None) -> Proposal | None:
    """Record ``p`` among ``proposals``, under ``key`` (its id by default; see :func:`_slot`)
    (None: it is none, or it would reopen an id already taken by a commit on main or
    recorded before)."""
    if p is None:
        return None
    key = key or p.id
    found = proposals.get(key)
    if found is not None and found.commit.oid != p.commit.oid and p.state == ProposalState.OPEN:
        return None  # the id is taken by a commit already on main or recorded before
    proposals[key] = p
    return p


def _adopt_slotted(proposals: dict[str, Proposal], p: Proposal | None) -> Proposal | None:
    """:func:`_adopt` under :func:`_slot`'s key."""
    return None if p is None else _adopt(proposals, p, _slot(proposals, p.agent, p.id))


def _key_of(proposals: Mapping[str, Proposal], p: Proposal) -> str:
    """The key ``p`` is held under in ``proposals``: its id, else ``agent/id``."""
    return p.id if proposals.get(p.id) is p else p.key


def _slot(proposals: Mapping[str, Proposal], agent: str, pid: str) -> str:
    """Where a proposal of ``agent`` with id ``pid`` read from a ref goes in ``proposals``:
    under its id, unless another agent's proposal holds that id: then under ``agent/id``
    (:attr:`Proposal.key`), so that neither hides the other (branches are
    ``improve/<agent>/<id>``: two agents' proposals may share an id)."""
    found = proposals.get(pid)
    return pid if found is None or found.agent == agent else proposal_key(agent, pid)


class MainLine:
    """What main's first-parent history says, up to ``tip``: the proposals approved or landed
    on it, rollbacks, squashes that quote a proposal and, when ``whole``, every event.

    It depends only on the commits ``tip`` reaches, so :func:`scan` keeps it on disk and, when
    main moves forward, reads only the new commits (:meth:`follow`): the same walk, carried
    on. ``history`` and ``on_main`` then hold only what was followed (``whole`` is False)."""

    def __init__(self, tip: Oid | None = None) -> None:
        self.tip = tip
        self.whole = tip is None
        self.proposals: dict[str, Proposal] = {}
        self.rolled_back: dict[str, Rollback] = {}
        self.squashed: dict[str, LoggedCommit] = {}  # proposal id -> a person's commit quoting it
        self.history: list[MainEvent] = []
        self.on_main: set[Oid] = set()

    @classmethod
    def read(cls, git: Repository, main: Oid | None) -> MainLine:
        """Main's whole line, from git (one ``log``)."""
        line = cls()
        line.follow(read_commits(git, str(main)) if main else {}, main)
        return line

    def follow(self, commits: Mapping[Oid, LoggedCommit], tip: Oid | None) -> bool:
        """Walk main's first-parent line from where it was (``self.tip``) to ``tip``, oldest
        first. ``commits``: at least every commit ``tip`` reaches that ``self.tip`` does not
        (git log ``tip ^self.tip``). False, and nothing walked, when ``self.tip`` is not on
        ``tip``'s first-parent line (main was reset or rewritten, or a merge took main's
        earlier line as its side): the line must then be read whole again."""
        chain: list[Oid] = []
        cursor = tip
        while cursor is not None and cursor != self.tip and cursor in commits:
            chain.append(cursor)
            parents = commits[cursor].parents
            cursor = parents[0] if parents else None
        if self.tip is not None and cursor != self.tip:
            return False
        for oid in reversed(chain):
            self._on_line(commits, oid)
        self.tip = tip
        return True

    def _main_line(self, commits: Mapping[Oid, LoggedCommit], side: Oid) -> list[Oid]:
        """The first-parent line of a merge's side parent down to main's history, oldest
        first, when it holds what only main holds (an approval merge ``approve`` wrote, a
        rollback): main's earlier line, which `git pull` without ``--rebase`` (or main merged
        into a branch that then became main) put on the side. Empty for any other branch."""
        line: list[Oid] = []
        cursor: Oid | None = side
        while cursor is not None and cursor in commits and cursor not in self.on_main:
            line.append(cursor)
            parents = commits[cursor].parents
            cursor = parents[0] if parents else None
        return line[::-1] if any(_main_record(commits[o]) for o in line) else []

    def _on_line(self, commits: Mapping[Oid, LoggedCommit], oid: Oid, off_line: bool = False) -> None:
        # NOTE: the walks stop at self.on_main and at commits not in `commits`: when the line
        # is followed from a kept tip, `commits` holds none of what that tip reaches.
        c = commits[oid]
        on_main = self.on_main
        event = MainEvent(c, off_line=off_line)
        for side in c.parents[1:]:
            earlier_line = self._main_line(commits, side)
            if earlier_line:
                event.brings_back = side
            for earlier in earlier_line:
                if earlier not in on_main:
                    self._on_line(commits, earlier, True)
        brought = list(_walk(commits, c.parents[1:], on_main)) if len(c.parents) > 1 else []
        if len(c.parents) > 1 and not c.model_authored:
            heads = [p for p in c.parents[1:] if p not in on_main]
            landed = sorted((commits[o] for o in brought), key=lambda x: x.time)
            approval = Approval(oid, c.parents[0], heads[0] if heads else c.parents[1],
                                approver_of(c), c.time,
                                not any(k == APPROVED_BY for k, _ in c.trailers))
            for x in landed:
                p = _adopt_slotted(self.proposals, _proposal(x, ProposalState.APPROVED,
                                                             approval=approval))
                if p is not None:
                    approval.proposals.append(_key_of(self.proposals, p))
                    p.edits = _edits(commits, landed, x.oid, on_main)
                    approval.edits += [e for e in p.edits if e not in approval.edits]
            event.approval = approval if approval.proposals else None
        elif c.model_authored:
            # A proposal commit on main without a merge (fast-forward, cherry-pick): not an
            # approval, whatever its trailers say. It is live; its record tells what it was.
            _adopt_slotted(self.proposals, _proposal(c, ProposalState.LANDED))
        else:
            record = RollbackRecord.parse(c.message)
            if record is not None:
                event.rollback = Rollback(oid, record, c.time, c.summary)
                if record.rollback_of:
                    self.rolled_back[record.rollback_of] = event.rollback
            elif len(c.parents) == 1:
                named = names_proposal(c.message)  # `git merge --squash` quotes the proposal
                if named is not None and is_proposal_id(named):
                    self.squashed[named] = c
        on_main.update(brought)
        on_main.add(oid)
        self.history.append(event)


def scan(git: Repository, main_ref: str, *, extra_refs: Sequence[str] = (),
         kept: bool = True) -> Ledger:
    """Every proposal, approval, rejection, rollback and record under ``refs/gitimprove/``
    (evaluations, trials: :meth:`Ledger.records_of`), read on first use.

    Two git calls whatever the number of proposals and records: ``for-each-ref`` for the tips,
    here, and one ``log`` when what they hold is first asked for. What main's line says is
    kept on disk by main's tip (:func:`scan_line`): while main does not move, the ``log``
    reads only what the refs bring beyond main; when main moved forward, only main's new
    commits besides. :meth:`Ledger.summaries` may need no ``log`` at all. ``kept=False``:
    nothing kept on disk is read or written (a hook judges by git alone)."""
    refs: list[tuple[str, Oid]] = []
    for line in git.run("for-each-ref", "--format=%(objectname) %(objecttype) %(refname)",
                        BRANCH_PREFIX, RECORDS_PREFIX, *extra_refs).splitlines():
        oid, kind, ref = line.split(" ", 2)
        if kind == "commit":
            refs.append((ref, Oid(oid)))
    return Ledger(git.read_ref(main_ref), git, main_ref, refs, kept=kept)


_MANY_NAMED = 512


def scan_naming(git: Repository, main_ref: str, names: Iterable[str]) -> Ledger:
    """:func:`scan` (``kept=False``: from git alone) read only as far as the proposals whose
    commits name one of ``names`` (feedback ids, proposal ids) need: what it says of each of
    them is what the whole scan says.

    Every record of such a proposal that could change its state is a commit made after it:
    its approval merge or landing, a squash or rollback on main, a rejection record on its
    branch. So one ``log --grep`` finds the commits naming them; main's line is walked from
    the first parent of where they all meet main (``merge-base --octopus``), and only the
    refs that reach one of them beyond main are read. When that meeting point is not on
    main's first-parent line (or is its first commit), the line is read whole. Of another
    proposal it may know nothing; one that shares an id with a proposal of main's older
    history reads as the whole scan reads it only if it names one of ``names`` too."""
    wanted = sorted(set(names))
    main = git.read_ref(main_ref)
    if main is None or not wanted:
        return scan(git, main_ref, kept=False)
    greps = ["--fixed-strings", *[f"--grep={n}" for n in wanted]]
    globs = [f"--glob={BRANCH_PREFIX}*", f"--glob={REJECTED_PREFIX}*"]
    named = git.run("log", "--format=%H", *greps, str(main), *globs, "--").split()
    if not named:
        return Ledger(main, git, main_ref, [], kept=False, since=main)
    if len(named) > _MANY_NAMED:  # NOTE: named that often, most of main is read anyway
        return scan(git, main_ref, kept=False)
    beyond = git.run("log", "--format=%H", *greps, *globs, f"^{main}", "--").split()
    meet = git.run("merge-base", "--octopus", str(main), *named, check=False).split()
    parents = git.run("rev-parse", f"{meet[0]}^@").split() if meet else []
    if not parents:
        return scan(git, main_ref, kept=False)
    refs: list[tuple[str, Oid]] = []
    if beyond:
        for line in git.run("for-each-ref", "--format=%(objectname) %(objecttype) %(refname)",
                            *[f"--contains={c}" for c in beyond],
                            BRANCH_PREFIX, REJECTED_PREFIX).splitlines():
            oid, kind, ref = line.split(" ", 2)
            if kind == "commit":
                refs.append((ref, Oid(oid)))
    return Ledger(main, git, main_ref, refs, kept=False, since=Oid(parents[0]))


def _settled(line: MainLine, pid: str, state: ProposalState, agent: str) -> ProposalState:
    """A proposal's state once main's squashes and rollbacks are counted. A squash leaves
    the proposal's branch where it was: the hooks judged the squash as the proposal; it is
    live (landed), and nobody approved it. A squash or rollback that names another agent
    is of another proposal with the same id."""
    if state == ProposalState.OPEN and pid in line.squashed \
            and _squash_agent(line.squashed[pid]) in (None, agent):
        state = ProposalState.LANDED
    if state in (ProposalState.APPROVED, ProposalState.LANDED) and pid in line.rolled_back \
            and line.rolled_back[pid].record.agent in ("?", agent):
        state = ProposalState.ROLLED_BACK
    return state


def _squash_agent(c: LoggedCommit) -> str | None:
    """The agent a squash quotes the proposal of (None: it does not say)."""
    record = quoted_proposal(c.message)
    return record.agent if record is not None and record.agent else None


# NOTE: select() of at most _FEW refs among more than _MANY reads them from git (one `log`, a
# few ms) rather than every commit the refs bring beyond main (for a thousand branches, 40 ms
# from disk; for a few dozen, less than the `log`)
_FEW = 32
_MANY = 128


def _alone(s: Summary, tips: Mapping[str, Oid], line: MainLine,
           commits: Mapping[Oid, LoggedCommit]) -> Proposal | None:
    """The proposal ``s`` summarises, read as :meth:`Ledger._read` reads it, from its ref
    alone (``commits``: at least what that ref brings beyond main). None: it reads as
    another proposal, in another state, or as none; the caller then reads them all."""
    tip = tips.get(s.ref) if s.ref is not None else None
    if s.ref is None:
        p = line.proposals.get(s.id)
        if p is None or p.agent != s.agent:
            p = line.proposals.get(s.key)
    elif tip is None:
        return None
    elif s.ref.startswith(REJECTED_PREFIX):
        p = _rejected(s.ref, tip, commits)
    else:
        p = _open(s.ref, tip, commits)
    if p is None or p.id != s.id or p.agent != s.agent:
        return None
    _settle(line, p)
    return p if p.state == s.state else None


class _SummaryFile:
    """:meth:`Ledger.summaries` kept on disk with the refs and the main it was read for
    (``gitimprove-state/ledger/<main ref>.summary``): a header line of JSON, then segments,
    each a line of JSON (refs as ``oid name`` lines, and the summaries read with them).

    It is used when the refs are the same, or the same and more branches each holding the
    model's commit alone on main (what ``propose`` adds): those are read (one ``log``) and a
    segment is added (the file is written whole again, only the new part encoded). Anything
    else (main moved, a ref moved or deleted, a new record ref, a damaged file, a file of
    another version of this code) gives None: the proposals are read, and summarised anew."""

    def __init__(self, book: Ledger) -> None:
        self.book = book
        folder = book.git.state_dir / "ledger"
        self.path = folder / (quote(book.main_ref, safe="") + ".summary")
        self.line_path = folder / (quote(book.main_ref, safe="") + ".json")
        self.data = b""
        self.keep = book.kept

    def load(self) -> list[Summary] | None:
        book = self.book
        if book.main is None:
            return None
        if not self.keep:
            return None
        listed = {f"{oid} {ref}": (ref, oid) for ref, oid in book.refs}
        try:
            data = self.path.read_bytes()
            head, pos = _json_line(data, 0)
            if head["v"] is None or head["v"] != _stamp() or head["ref"] != book.main_ref \
                    or head["main"] != book.main:
                return None
            kept: list[str] = []
            summaries: list[Summary] = []
            while pos < len(data):
                segment, pos = _json_line(data, pos)
                kept += filter(None, _str(segment["refs"]).split("\n"))
                summaries += [_summary(*row) for row in segment["proposals"]]
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None
        added = set(listed).difference(kept)
        if len(added) + len(kept) != len(listed) or len(set(kept)) != len(kept):
            return None  # a ref kept that is not listed now (moved, deleted), or a damaged file
        if not added:
            return summaries
        refs = sorted(listed[r] for r in added)
        if not all(ref.startswith(BRANCH_PREFIX) for ref, _ in refs):
            return None
        more = self._added(refs, {s.id for s in summaries})
        if more is None:
            return None
        self.data = data
        self.save(refs, more)
        return summaries + more

    def _added(self, refs: Sequence[tuple[str, Oid]], taken: set[str]) -> list[Summary] | None:
        """Summaries of new branches, when each is what :func:`_read_refs` reads as an open
        proposal without walking (the model's commit alone on main, an id not taken)."""
        line = _load_line(self.line_path, self.book.main_ref)
        if line is None or line.tip != self.book.main:
            return None
        read = read_commits(self.book.git, *sorted({str(t) for _, t in refs}),
                            f"^{self.book.main}", check=False)
        out = []
        for ref, tip in refs:
            c = read.get(tip)
            record = None if c is None else c.proposal[0]
            if c is None or record is None or record.id in taken or \
                    any(p in read for p in c.parents):
                return None
            taken.add(record.id)
            content = record.content
            out.append(Summary(record.id, record.agent,
                               _settled(line, record.id, ProposalState.OPEN, record.agent),
                               c.time,
                               record.evidence, record.patterns,
                               None if content is None else content.operations,
                               None if content is None else content.rules, None, ref))
        return out

    def save(self, refs: Sequence[tuple[str, Oid]], summaries: Sequence[Summary]) -> None:
        """Keep ``summaries`` (of what ``refs`` hold): a segment added to what was loaded,
        else a new file."""
        stamp = _stamp()
        if stamp is None or self.book.main is None or not self.keep:
            return
        if not self.data:
            self.data = json.dumps({"v": stamp, "ref": self.book.main_ref, "main": self.book.main},
                                   separators=(",", ":")).encode() + b"\n"
        segment = {"refs": "\n".join(f"{oid} {ref}" for ref, oid in refs), "proposals": summaries}
        write_cache(self.path, self.data + json.dumps(segment, separators=(",", ":")).encode()
                    + b"\n")


_STATES = {s.value: s for s in ProposalState}


def _summary(pid: str, agent: str, state: str, time: int, evidence: list[str],
             patterns: list[str], operations: list[dict[str, Any]] | None,
             rules: list[str] | None, rejection: list[Any] | None, ref: str | None) -> Summary:
    """A kept :class:`Summary`, every value checked for its type (any other raises)."""
    if not (all(map(_is_str, (pid, agent, *evidence, *patterns, *(rules or ()))))
            and (ref is None or _is_str(ref))
            and type(time) is int and (operations is None) == (rules is None)
            and all(map(_is_dict, operations or ()))):
        raise TypeError("not a proposal's summary")
    rejected: tuple[str, str, int] | None = None
    if rejection is not None:
        reason, by, when = rejection
        rejected = (_str(reason), _str(by), _int(when))
    return Summary(pid, agent, _STATES[state], time, tuple(evidence), tuple(patterns),
                   None if operations is None else tuple(operations),
                   None if rules is None else tuple(rules), rejected, ref)


def scan_line(git: Repository, main_ref: str, main: Oid | None, tips: Sequence[str], *,
              keep: bool = True, since: Oid | None = None
              ) -> tuple[MainLine, dict[Oid, LoggedCommit]]:
    """Main's line (as :class:`MainLine` at ``main``) and the commits ``tips`` bring beyond
    main, read from git only where what is kept on disk does not say it already.

    Two files under ``gitimprove-state/ledger/``, each tied to main's tip: main's line, and
    the commits the refs brought beyond it (with what each proposal commit records). While
    main does not move, a ``log`` reads only the tips not seen before (none: no ``log``);
    when main moved forward along its first-parent line, one ``log`` of its new commits and
    the new tips carries the line on; anything else (main reset or rewritten, a damaged or
    foreign file, a file of another version of this code) reads it all, as without them.
    Either way the result is the same (tests/test_ledger_cache.py): the files are a speed-up,
    checked for their form and never trusted beyond it. ``keep=False`` reads and writes
    none (nor does a shallow clone). ``since`` (with ``keep=False``): main's line from that
    commit on (a commit of main's first-parent line; else it is read whole), and what the
    tips bring beyond main (:func:`scan_naming`)."""
    folder = git.state_dir / "ledger"
    line_file = folder / (quote(main_ref, safe="") + ".json")
    refs_file = folder / (quote(main_ref, safe="") + ".refs")
    keep = keep and not git.shallow
    kept = _load_line(line_file, main_ref) if main is not None and keep else None
    kept_refs = _RefsFile(refs_file, main_ref)
    if kept is not None:
        kept_refs.load()
    at, seen, known = kept_refs.main, kept_refs.seen, kept_refs.commits
    if kept is None or kept.tip != at:
        seen, known = set(), {}
    new = [t for t in tips if t not in seen]
    line: MainLine | None = None
    if kept is not None and kept.tip == main:
        line = kept
        commits = {**known, **(read_commits(git, *new, f"^{main}") if new else {})}
    elif kept is not None:
        assert kept.tip is not None and main is not None
        # NOTE: an old tip git does not have (a file from another repository) fails the log:
        # nothing is read, and everything is read below.
        read = read_commits(git, str(main), *new, f"^{kept.tip}", check=False)
        if kept.follow(read, main):
            line = kept
            _save_line(line_file, main_ref, line)
            commits = {o: c for o, c in {**known, **read}.items() if o not in line.on_main}
    if line is None and since is not None and main is not None and not keep:
        part = MainLine(since)
        read = read_commits(git, str(main), *tips, f"^{since}")
        if part.follow(read, main):
            line = part
            commits = {o: c for o, c in read.items() if o not in line.on_main}
    if line is None:
        line, seen = MainLine(), set()
        read = read_commits(git, *([str(main)] if main else []), *tips)
        line.follow(read, main)
        if main is not None and keep:
            _save_line(line_file, main_ref, line)
        commits = {o: c for o, c in read.items() if o not in line.on_main}
    if seen.difference(tips):
        # NOTE: what a branch deleted since brought is left out: walked from the tips there are.
        commits = {o: commits[o] for o in _walk(commits, [Oid(t) for t in tips], set())}
    if main is not None and keep and (at != main or not seen.issuperset(tips)):
        kept_refs.save(main, tips, commits)
    return line, commits


def _read_refs(refs: Sequence[tuple[str, Oid]], commits: Mapping[Oid, LoggedCommit],
               proposals: dict[str, Proposal]) -> list[tuple[str, Oid]]:
    """Rejections and open proposals from the refs (``commits``: what they bring beyond
    main), into ``proposals``; the refs that hold no proposal."""
    unidentified: list[tuple[str, Oid]] = []
    for ref, tip in refs:
        if not ref.startswith(REJECTED_PREFIX):
            continue
        rejection = _rejection_at(ref, tip, commits)
        if rejection is None:
            unidentified.append((ref, tip))
            continue
        key = _slot(proposals, rejection[0].agent, rejection[0].proposal)
        existing = proposals.get(key)
        if existing is not None and existing.state != ProposalState.OPEN:
            continue  # approved (or rolled back) on main: main is the truth
        # NOTE: `proposals` holds main's line and earlier rejections here: nothing open, so
        # a rejection that names no proposal commit on its branch closes none
        closed = _rejected(ref, tip, commits)
        if closed is None:
            unidentified.append((ref, tip))
            continue
        _adopt(proposals, closed, _slot(proposals, closed.agent, closed.id))
    for ref, tip in refs:
        if not ref.startswith(BRANCH_PREFIX) or tip not in commits:
            continue  # a branch main reaches: merged
        opened = _open(ref, tip, commits)
        if opened is None:
            unidentified.append((ref, tip))
            continue
        key = _slot(proposals, opened.agent, opened.id)
        existing = proposals.get(key)
        if existing is not None and existing.state != ProposalState.OPEN:
            continue  # rejected or approved already: a leftover branch does not reopen it
        _adopt(proposals, opened, key)
    return unidentified


def _rejection_at(ref: str, tip: Oid, commits: Mapping[Oid, LoggedCommit]
                  ) -> tuple[RejectionRecord, Rejection, LoggedCommit] | None:
    """The rejection record at ``tip`` (the ref ``ref``): the record, what the ledger keeps
    of it, and its commit; None when it is none (or its commit is on main)."""
    rc = commits.get(tip)
    record = RejectionRecord.parse(rc.message) if rc is not None and not rc.model_authored \
        else None
    if rc is None or record is None or not rc.parents:
        return None
    return record, Rejection(ref, tip, record.by or rc.author_identity, record.reason,
                             rc.time, rc.summary), rc


def _rejected(ref: str, tip: Oid, commits: Mapping[Oid, LoggedCommit]) -> Proposal | None:
    """The proposal a rejection record ``ref`` at ``tip`` closes, as the scan reads it when
    nothing else claims its id (None: the record names no proposal commit on its branch)."""
    found_record = _rejection_at(ref, tip, commits)
    if found_record is None:
        return None
    record, info, rc = found_record
    on_main: set[Oid] = set()  # NOTE: `commits` holds nothing on main: every walk stops there
    found = _brought(commits, rc.parents[0], on_main)
    target = _proposal_in(found, record.proposal)
    if target is None:
        return None
    return _proposal(target, ProposalState.REJECTED, ref=ref, tip=rc.parents[0],
                     edits=_edits(commits, found, target.oid, on_main), rejection=info)


def _open(ref: str, tip: Oid, commits: Mapping[Oid, LoggedCommit]) -> Proposal | None:
    """The open proposal on branch ``ref`` at ``tip`` (a commit beyond main), as the scan
    reads it when nothing else claims its id (None: the branch holds no proposal commit)."""
    c = commits.get(tip)
    if c is None:
        return None  # merged: main reaches it
    if c.proposal[0] is not None and not any(p in commits for p in c.parents):
        # NOTE: most branches: the model's commit alone on main (what the walks below
        # find, without walking: nothing else brought, no edits)
        return _proposal(c, ProposalState.OPEN, ref=ref, tip=tip)
    found = _brought(commits, tip, set())
    target = _proposal_in(found, ref.rsplit("/", 1)[-1])
    if target is None:
        return None
    return _proposal(target, ProposalState.OPEN, ref=ref, tip=tip,
                     edits=_edits(commits, found, target.oid, set()) if len(found) > 1 else [])


def _settle(line: MainLine, p: Proposal) -> None:
    """``p``'s state once main's squashes and rollbacks are counted (:func:`_settled`)."""
    state = _settled(line, p.id, p.state, p.agent)
    if state != p.state:
        if p.state == ProposalState.OPEN:
            p.landed_as = line.squashed[p.id]
        if state == ProposalState.ROLLED_BACK:
            p.rollback = line.rolled_back[p.id]
        p.state = state


# -- main's line kept on disk -------------------------------------------------------------------

# NOTE: bump when what MainLine keeps changes form. The file is also tied to this module's
# own file (size, mtime): a changed rule of what a commit means never meets an old answer.
_LINE_FORMAT = 1


def _stamp() -> list[int] | None:
    """The form and the code a kept file is of; None (nothing kept) when this module's file
    cannot be looked at (a zipped install)."""
    try:
        st = os.stat(__file__)
    except OSError:
        return None
    return [_LINE_FORMAT, st.st_size, st.st_mtime_ns]


def _save_line(path: Path, main_ref: str, line: MainLine) -> None:
    """Keep ``line`` (before the refs are read: nothing has changed its proposals yet)."""
    commits: dict[str, list[Any]] = {}
    approvals: dict[int, tuple[int, Approval]] = {}

    def commit(c: LoggedCommit) -> str:
        commits[c.oid] = [list(c.parents), c.author, c.email, c.time, c.message]
        return str(c.oid)

    def approval(a: Approval | None) -> int | None:
        if a is None:
            return None
        return approvals.setdefault(id(a), (len(approvals), a))[0]

    def edits(found: Sequence[Edit]) -> list[list[Any]]:
        return [[e.commit, e.author, e.time, e.summary] for e in found]

    stamp = _stamp()
    if stamp is None:
        return
    proposals = [[pid, commit(p.commit), p.state.value, approval(p.approval), edits(p.edits)]
                 for pid, p in line.proposals.items()]
    write_json(path, {
        "v": stamp, "ref": main_ref, "tip": line.tip, "commits": commits,
        "proposals": proposals,
        "approvals": [[a.merge, a.first_parent, a.head, a.by, a.time, a.plain, a.proposals,
                       edits(a.edits)] for _, a in approvals.values()],
        "rolled_back": [[pid, rb.commit, rb.record.agent, rb.record.by, rb.record.rollback_of,
                         rb.record.reverts, rb.record.restores, rb.time, rb.summary]
                        for pid, rb in line.rolled_back.items()],
        "squashed": [[pid, commit(c)] for pid, c in line.squashed.items()],
    })


def _load_line(path: Path, main_ref: str) -> MainLine | None:
    """The line kept at ``path``, or None when there is none, or it is damaged, of another
    form or another version of this code: then it is read from git again."""
    try:
        raw = json.loads(path.read_bytes())
        if raw["v"] is None or raw["v"] != _stamp() or raw["ref"] != main_ref:
            return None
        return _parse_line(raw)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


class _RefsFile:
    """The commits the refs brought beyond main (at ``main``), kept on disk: a header line of
    JSON, then segments, each a line of JSON (the tips it was read for, each commit with what
    its proposal record says when it is a model's, the size of the messages) and the messages,
    NUL-separated (a message has no NUL: `git log -z` reads them so), which read back far
    faster than JSON. A scan that read new tips adds a segment: the file is written whole
    again (temporary file, rename), but only the new commits are encoded."""

    def __init__(self, path: Path, main_ref: str) -> None:
        self.path, self.main_ref = path, main_ref
        self.main: Oid | None = None
        self.seen: set[str] = set()
        self.commits: dict[Oid, LoggedCommit] = {}
        self.data = b""
        self.rows = 0

    def load(self) -> None:
        """Read the file (nothing when it is missing, damaged, or of another form or
        version of this code)."""
        try:
            self._parse(self.path.read_bytes())
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            self.main, self.seen, self.commits, self.data, self.rows = None, set(), {}, b"", 0

    def _parse(self, data: bytes) -> None:
        head, pos = _json_line(data, 0)
        if head["v"] is None or head["v"] != _stamp() or head["ref"] != self.main_ref:
            return
        while pos < len(data):
            segment, pos = _json_line(data, pos)
            size = _int(segment["size"])
            if pos + size > len(data):
                raise ValueError("a segment cut short")
            messages = data[pos:pos + size].decode().split("\0")
            pos += size
            rows = segment["rows"]
            if len(messages) != max(len(rows), 1):
                raise ValueError("not a message for every commit")
            for (oid, parents, author, email, time, facts), message in zip(rows, messages,
                                                                           strict=False):
                # NOTE: checked inline (a function call a value costs more than the JSON)
                if not (_OID.fullmatch(oid) and all(map(_OID.fullmatch, parents))
                        and type(author) is str and type(email) is str and type(time) is int):
                    raise TypeError("not a commit")
                c = LoggedCommit(_oid(oid), tuple(map(_OIDS, parents)), author, email, time,
                                 message)
                if facts is not None and c.model_authored:
                    c.__dict__["proposal"] = _proposal_facts(facts)  # what c.proposal parses
                self.commits[c.oid] = c
            self.seen.update(_str(t) for t in segment["tips"])
            self.rows += len(rows)
        self.main, self.data = Oid(_str(head["main"])), data

    def save(self, main: Oid, tips: Sequence[str], commits: Mapping[Oid, LoggedCommit]) -> None:
        """Keep ``commits`` (what ``tips`` bring beyond ``main``): a segment added to what was
        read when main is the same, else (or when the file holds much more than is live) a
        new file."""
        stamp = _stamp()
        if stamp is None:
            return
        if self.main != main or self.rows > 2 * len(commits) + 64:
            self.data = json.dumps({"v": stamp, "ref": self.main_ref, "main": main},
                                   separators=(",", ":")).encode() + b"\n"
            self.seen, self.commits, self.rows, self.main = set(), {}, 0, main
        new = [c for o, c in commits.items() if o not in self.commits]
        fresh = sorted(set(tips) - self.seen)
        if not new and not fresh:
            return
        body = "\0".join(c.message for c in new).encode()
        segment = json.dumps({"tips": fresh, "rows": [_row(c) for c in new], "size": len(body)},
                             separators=(",", ":")).encode()
        write_cache(self.path, self.data + segment + b"\n" + body)


def _json_line(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    end = data.index(b"\n", pos)
    value = json.loads(data[pos:end])
    if not isinstance(value, dict):
        raise TypeError("not an object")
    return value, end + 1


def _row(c: LoggedCommit) -> list[Any]:
    record, problems = c.proposal
    facts: list[Any] | None = None
    if record is not None and _keeps(record.content):
        facts = [record.id, record.agent, record.base_version, record.base_commit,
                 record.evidence, record.patterns, record.model, record.proposer,
                 None if record.usage is None else [record.usage.input_tokens,
                                                    record.usage.output_tokens,
                                                    record.usage.requests],
                 None if record.content is None else [record.content.operations,
                                                      record.content.rules],
                 problems]
    return [c.oid, c.parents, c.author, c.email, c.time, facts]


def _keeps(content: ProposalContent | None) -> bool:
    """Whether JSON gives ``content`` back as it is (an operation's keys are strings)."""
    return content is None or all(isinstance(k, str) for op in content.operations for k in op)


def _proposal_facts(facts: list[Any]) -> tuple[ProposalRecord, tuple[str, ...]]:
    """What :meth:`ProposalRecord.parse` gave, from :func:`_row`'s list (every value checked
    for its type: anything else raises)."""
    pid, agent, base_version, base_commit, evidence, patterns, model, proposer, usage, content, \
        problems = facts
    if not (all(map(_is_str, (pid, agent, model, proposer, *evidence, *patterns, *problems)))
            and _OID.fullmatch(base_version) and _OID.fullmatch(base_commit)):
        raise TypeError("not the facts of a proposal record")
    if content is not None:
        operations, rules = content
        if not (all(map(_is_dict, operations)) and all(map(_is_str, rules))):
            raise TypeError("not a proposal's content")
        content = ProposalContent(tuple(operations), tuple(rules))
    if usage is not None:
        usage = Usage(*(_int(n) for n in usage))
    record = ProposalRecord(pid, agent, _oid(base_version), _oid(base_commit), tuple(evidence),
                            tuple(patterns), model, proposer, usage, content)
    return record, tuple(problems)


def _oid(value: str) -> Oid:
    """An :class:`Oid` of a value already checked to be one (no second check)."""
    return str.__new__(Oid, value)


# NOTE: C-level checks, mapped over a kept file's values (a Python call a value costs more
# than decoding the JSON)
_is_str = str.__instancecheck__
_is_dict = dict.__instancecheck__
_OIDS = partial(str.__new__, Oid)


def _dict(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("not an object")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("not an integer")
    return value


def _parse_line(raw: dict[str, Any]) -> MainLine:
    """:func:`_save_line`'s data, every value checked for its type (any other raises)."""
    line = MainLine(Oid(_str(raw["tip"])))
    commits: dict[str, LoggedCommit] = {}
    for oid, (parents, author, email, time, message) in raw["commits"].items():
        commits[oid] = LoggedCommit(Oid(oid), tuple(Oid(_str(p)) for p in parents), _str(author),
                                    _str(email), _int(time), _str(message))

    def edits(found: list[list[Any]]) -> list[Edit]:
        return [Edit(Oid(_str(c)), _str(a), _int(t), _str(s)) for c, a, t, s in found]

    approvals = [Approval(Oid(_str(m)), Oid(_str(f)), Oid(_str(h)), _str(by), _int(t), _bool(plain),
                          [_str(p) for p in pids], edits(e))
                 for m, f, h, by, t, plain, pids, e in raw["approvals"]]
    for pid, oid, state, index, found in raw["proposals"]:
        c = commits[_str(oid)]
        approval = approvals[_int(index)] if index is not None else None
        kind = ProposalState(state)
        if kind not in (ProposalState.APPROVED, ProposalState.LANDED) or \
                (approval is None) != (kind == ProposalState.LANDED):
            raise ValueError("not a state main's line gives")
        p = _adopt(line.proposals, _proposal(c, kind, approval=approval, edits=edits(found)),
                   _str(pid))
        if p is None or pid not in (p.id, p.key):
            raise ValueError("not the proposal its commit records")
    for pid, oid, agent, by, of, reverts, restores, t, summary in raw["rolled_back"]:
        record = RollbackRecord(_str(agent), _str(by), None if of is None else _str(of),
                                None if reverts is None else Oid(_str(reverts)),
                                None if restores is None else _str(restores))
        line.rolled_back[_str(pid)] = Rollback(Oid(_str(oid)), record, _int(t), _str(summary))
    for pid, oid in raw["squashed"]:
        line.squashed[_str(pid)] = commits[_str(oid)]
    return line


def _read_records(kind: type[RefRecord], refs: Sequence[tuple[str, Oid]],
                  commits: Mapping[Oid, LoggedCommit]) -> list[RefRecord]:
    """Every record of ``kind`` under its prefix, oldest first (stable within one ref)."""
    found: list[RefRecord] = []
    for ref, tip in refs:
        if ref.startswith(kind.prefix()) and tip in commits:
            found += kind.read(ref, commits[tip], commits)
    found.sort(key=lambda r: r.when())
    return found


def branch_proposal(git: Repository, main_ref: str, ref: str) -> Proposal | None:
    """The open proposal on one branch, read without scanning every proposal (one ``log`` of
    what the branch brings on top of main). None when the branch is merged, rejected, or
    holds no proposal commit: :func:`scan` then says what it is."""
    tip = git.read_ref(ref)
    if tip is None:
        return None
    return proposal_at(git, main_ref, ref, tip)


def proposal_at(git: Repository, main_ref: str, ref: str, tip: Oid) -> Proposal | None:
    """:func:`branch_proposal` for a branch ``ref`` at ``tip`` before the ref holds it (a
    ``pre-receive`` hook sees a pushed branch this way)."""
    main = git.read_ref(main_ref)
    commits = read_commits(git, str(tip), *([f"^{main}"] if main else []))
    if tip not in commits:
        return None  # merged already
    found = _brought(commits, tip, set())
    target = _proposal_in(found, ref.rsplit("/", 1)[-1])
    if target is None:
        return None
    record, problems = proposal_of(target)
    if record is None or git.read_ref(RejectionRecord.ref(record.agent, record.id)) is not None:
        return None
    if main is not None and _squashed(git, main, record.id, target.time):
        return None  # landed by a squash: the scan says so
    return Proposal(record, target, ProposalState.OPEN, ref=ref, tip=tip,
                    edits=_edits(commits, found, target.oid, set()), problems=problems)
