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

:func:`scan` reads everything in two git calls (``for-each-ref`` and one ``log``) whatever
the number of proposals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar, Self, TypeVar

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.git import Commit, Identity, Oid, Repository
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
    return _riders((book.commits[o] for o in _walk(book.commits, [head], book.on_main)),
                   proposal)


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
    def head(self) -> Oid:
        """What a merge of the proposal brings: the branch tip (the model's commit and any
        commits people added on top)."""
        return self.tip or self.commit.oid

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref and self.ref.startswith(
            BRANCH_PREFIX) else None

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


@dataclass
class Ledger:
    """Every proposal and record, and what main's history says about them."""

    main: Oid | None
    proposals: dict[str, Proposal]
    history: list[MainEvent]
    records: dict[str, list[RefRecord]] = field(default_factory=dict)
    unidentified: list[tuple[str, Oid]] = field(default_factory=list)
    # What the scan read: the record refs and every commit, so that records_of needs no git.
    record_refs: list[tuple[str, Oid]] = field(default_factory=list, repr=False)
    commits: dict[Oid, LoggedCommit] = field(default_factory=dict, repr=False)
    on_main: set[Oid] = field(default_factory=set, repr=False)  # the commits main's tip reaches

    def records_of(self, kind: type[R]) -> list[R]:
        """Every record of ``kind`` the scan found, oldest first (damaged ones left out)."""
        if kind.kind not in self.records:
            self.records[kind.kind] = _read_records(kind, self.record_refs, self.commits)
        return [r for r in self.records[kind.kind] if isinstance(r, kind)]

    def of_state(self, *states: ProposalState) -> list[Proposal]:
        return [p for p in self.proposals.values() if p.state in states]

    def evidence_states(self, *others: Ledger) -> dict[str, EvidenceState]:
        """Feedback cited by an open proposal is pending; by an approved (not rolled back)
        one, addressed; a rejected or rolled-back proposal frees its evidence. With
        ``others`` (the remote's ledger, whose main may be ahead of this one), feedback is
        addressed when any ledger says so, else pending when any does."""
        states: dict[str, EvidenceState] = {}
        for book in (self, *others):
            for p in book.of_state(ProposalState.OPEN):
                for fid in p.record.evidence:
                    states.setdefault(fid, EvidenceState.PENDING)
            for p in book.of_state(ProposalState.APPROVED, ProposalState.LANDED):
                states.update(dict.fromkeys(p.record.evidence, EvidenceState.ADDRESSED))
        return states

    def pending_rules(self, agent: str) -> list[str]:
        """Rules that open proposals for ``agent`` add or reword (from their content blocks)."""
        out: dict[str, None] = {}
        for p in self.of_state(ProposalState.OPEN):
            if p.agent == agent and p.record.content is not None:
                out.update(dict.fromkeys(p.record.content.rules))
        return list(out)

    def approval_of(self, commit: Oid) -> Approval | None:
        return next((e.approval for e in self.history
                     if e.approval is not None and e.commit.oid == commit), None)


_FORMAT = "%H%n%P%n%an%n%ae%n%at%n%B"


def read_commits(git: Repository, *revs: str) -> dict[Oid, LoggedCommit]:
    """Every commit reachable from ``revs`` (``^rev`` excludes), with its message: one git call."""
    if not revs:
        return {}
    out = git.run_bytes("log", "-z", f"--format={_FORMAT}", *revs, "--")
    commits: dict[Oid, LoggedCommit] = {}
    for chunk in out.split(b"\0"):
        if not chunk.strip():
            continue
        text = chunk.decode("utf-8", errors="replace").lstrip("\n")
        oid, parents, name, email, time, message = (text.split("\n", 5) + [""] * 6)[:6]
        commits[Oid(oid)] = LoggedCommit(Oid(oid), tuple(Oid(p) for p in parents.split()),
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


def _brought(commits: dict[Oid, LoggedCommit], tip: Oid, stop: set[Oid]) -> list[LoggedCommit]:
    """The commits a branch at ``tip`` brings on top of ``stop``, oldest first."""
    return sorted((commits[o] for o in _walk(commits, [tip], stop)), key=lambda c: c.time)


def _edits(commits: dict[Oid, LoggedCommit], brought: list[LoggedCommit], target: Oid,
           stop: set[Oid]) -> list[Edit]:
    """People's commits among ``brought`` that are not under the model's commit ``target``."""
    under = set(_walk(commits, [target], stop))
    return [Edit(c.oid, c.author_identity, c.time, c.summary) for c in brought
            if c.oid not in under and not c.model_authored and len(c.parents) < 2]


def _proposal_in(found: list[LoggedCommit], pid: str | None) -> LoggedCommit | None:
    """The proposal commit among ``found``: the one with id ``pid``, else the newest."""
    chosen = [(c, r) for c in found if (r := proposal_of(c)[0]) is not None]
    mine = next((c for c, r in chosen if r.id == pid), None)
    return mine or (chosen[-1][0] if chosen else None)


def scan(git: Repository, main_ref: str, *, extra_refs: Sequence[str] = ()) -> Ledger:
    """Read every proposal, approval, rejection, rollback and record under
    ``refs/gitimprove/`` (evaluations, trials: :meth:`Ledger.records_of`).

    Two git calls whatever the number of proposals and records: ``for-each-ref`` for the tips,
    and one ``log`` of everything reachable from them and from main."""
    refs: list[tuple[str, Oid]] = []
    for line in git.run("for-each-ref", "--format=%(objectname) %(objecttype) %(refname)",
                        BRANCH_PREFIX, RECORDS_PREFIX, *extra_refs).splitlines():
        oid, kind, ref = line.split(" ", 2)
        if kind == "commit":
            refs.append((ref, Oid(oid)))
    main = git.read_ref(main_ref)
    tips = sorted({str(oid) for _, oid in refs} | ({str(main)} if main else set()))
    commits = read_commits(git, *tips)

    proposals: dict[str, Proposal] = {}
    history: list[MainEvent] = []
    on_main: set[Oid] = set()
    rolled_back: dict[str, Rollback] = {}
    squashed: dict[str, LoggedCommit] = {}  # proposal id -> a person's commit quoting it

    def adopt(c: LoggedCommit, state: ProposalState, **kw: Any) -> Proposal | None:
        record, problems = proposal_of(c)
        if record is None:
            return None
        found = proposals.get(record.id)
        if found is not None and found.commit.oid != c.oid and state == ProposalState.OPEN:
            return None  # the id is taken by a commit already on main or recorded before
        p = Proposal(record, c, state, problems=problems, **kw)
        proposals[record.id] = p
        return p

    def main_line(side: Oid) -> list[Oid]:
        """The first-parent line of a merge's side parent down to main's history, oldest
        first, when it holds what only main holds (an approval merge ``approve`` wrote, a
        rollback): main's earlier line, which `git pull` without ``--rebase`` (or main merged
        into a branch that then became main) put on the side. Empty for any other branch."""
        line: list[Oid] = []
        cursor: Oid | None = side
        while cursor is not None and cursor in commits and cursor not in on_main:
            line.append(cursor)
            parents = commits[cursor].parents
            cursor = parents[0] if parents else None
        return line[::-1] if any(_main_record(commits[o]) for o in line) else []

    def on_line(oid: Oid, off_line: bool = False) -> None:
        c = commits[oid]
        event = MainEvent(c, off_line=off_line)
        for side in c.parents[1:]:
            earlier_line = main_line(side)
            if earlier_line:
                event.brings_back = side
            for earlier in earlier_line:
                if earlier not in on_main:
                    on_line(earlier, True)
        brought = list(_walk(commits, c.parents[1:], on_main)) if len(c.parents) > 1 else []
        if len(c.parents) > 1 and not c.model_authored:
            heads = [p for p in c.parents[1:] if p not in on_main]
            landed = sorted((commits[o] for o in brought), key=lambda x: x.time)
            approval = Approval(oid, c.parents[0], heads[0] if heads else c.parents[1],
                                approver_of(c), c.time,
                                not any(k == APPROVED_BY for k, _ in c.trailers))
            for x in landed:
                p = adopt(x, ProposalState.APPROVED, approval=approval)
                if p is not None:
                    approval.proposals.append(p.id)
                    p.edits = _edits(commits, landed, x.oid, on_main)
                    approval.edits += [e for e in p.edits if e not in approval.edits]
            event.approval = approval if approval.proposals else None
        elif c.model_authored:
            # A proposal commit on main without a merge (fast-forward, cherry-pick): not an
            # approval, whatever its trailers say. It is live; its record tells what it was.
            adopt(c, ProposalState.LANDED)
        else:
            record = RollbackRecord.parse(c.message)
            if record is not None:
                event.rollback = Rollback(oid, record, c.time, c.summary)
                if record.rollback_of:
                    rolled_back[record.rollback_of] = event.rollback
            elif len(c.parents) == 1:
                named = names_proposal(c.message)  # `git merge --squash` quotes the proposal
                if named is not None and is_proposal_id(named):
                    squashed[named] = c
        on_main.update(brought)
        on_main.add(oid)
        history.append(event)

    # main's first-parent history, oldest first (with any earlier line of main a merge
    # brought back, in its place: see main_line)
    chain: list[Oid] = []
    cursor = main
    while cursor is not None and cursor in commits:
        chain.append(cursor)
        parents = commits[cursor].parents
        cursor = parents[0] if parents else None
    for oid in reversed(chain):
        on_line(oid)
    unidentified: list[tuple[str, Oid]] = []
    record_refs: list[tuple[str, Oid]] = []
    for ref, tip in refs:
        if ref.startswith(REJECTED_PREFIX):
            rc = commits.get(tip)
            rejection = RejectionRecord.parse(rc.message) \
                if rc is not None and not rc.model_authored else None
            if rc is None or rejection is None or not rc.parents:
                unidentified.append((ref, tip))
                continue
            found = _brought(commits, rc.parents[0], on_main)
            target = _proposal_in(found, rejection.proposal)
            existing = proposals.get(rejection.proposal)
            info = Rejection(ref, tip, rejection.by or rc.author_identity, rejection.reason,
                             rc.time, rc.summary)
            if existing is not None and existing.state != ProposalState.OPEN:
                continue  # approved (or rolled back) on main: main is the truth
            if target is None:
                if existing is None:
                    unidentified.append((ref, tip))
                    continue
                closed: Proposal | None = existing
            else:
                closed = adopt(target, ProposalState.REJECTED, ref=ref, tip=rc.parents[0],
                               edits=_edits(commits, found, target.oid, on_main))
            if closed is not None:
                closed.state, closed.rejection = ProposalState.REJECTED, info
        elif ref.startswith(RECORDS_PREFIX):
            record_refs.append((ref, tip))
    for ref, tip in refs:
        if not ref.startswith(BRANCH_PREFIX) or tip in on_main:
            continue
        found = _brought(commits, tip, on_main)
        target = _proposal_in(found, ref.rsplit("/", 1)[-1])
        if target is None:
            unidentified.append((ref, tip))
            continue
        opened = proposal_of(target)[0]
        assert opened is not None
        existing = proposals.get(opened.id)
        if existing is not None and existing.state != ProposalState.OPEN:
            continue  # rejected or approved already: a leftover branch does not reopen it
        adopt(target, ProposalState.OPEN, ref=ref, tip=tip,
              edits=_edits(commits, found, target.oid, on_main))
    for pid, squash in squashed.items():
        # NOTE: after the branches: a squash leaves the proposal's branch where it was. The
        # hooks judged the squash as the proposal; it is live, and nobody approved it.
        squashed_one = proposals.get(pid)
        if squashed_one is not None and squashed_one.state == ProposalState.OPEN:
            squashed_one.state, squashed_one.landed_as = ProposalState.LANDED, squash
    for pid, rb in rolled_back.items():
        if pid in proposals and proposals[pid].state in (ProposalState.APPROVED,
                                                         ProposalState.LANDED):
            proposals[pid].state = ProposalState.ROLLED_BACK
            proposals[pid].rollback = rb
    records = {kind.kind: _read_records(kind, record_refs, commits)
               for kind in _REF_RECORDS.values()}
    return Ledger(main, proposals, history, records, unidentified, record_refs, commits, on_main)


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
