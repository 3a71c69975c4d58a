"""The fast path of a bulk import: JSON Lines of the common shape read, checked and written
out as rows, without a record object in between.

One pydantic-core call per line (``SchemaValidator.validate_json``) reads the JSON and checks
its shape in Rust: strict (text must be text), no unknown field, ids as the schema wants them,
a rating in one of its exact spellings. The checks that need the agents on main, a lookup or
the text itself are then made in Python by the functions the quick check uses
(:mod:`.quickcheck`), and the row and digest are written out as :func:`~.base.record_row` and
:attr:`~.models.FeedbackRecord.digest` write them.

A line it does not take as it stands, valid or not (tool calls, an id given as a number, a
line without ``created_at``, bad JSON...), gets None: the import reads that line the general
way (:func:`~gitimprove.feedback.capture.build_record`), which checks it again and words every
refusal. So this module never words an error; tests/feedback/test_bulk.py holds both paths to
the same rows, line by line, on valid and invalid input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

from gitimprove.errors import GitImproveError
from gitimprove.feedback.base import _METADATA_JSON
from gitimprove.feedback.capture import AgentIndex
from gitimprove.feedback.fields import (
    MAX_RUN_TEXT_CHARS,
    MAX_TEXT_CHARS,
    _check_text,
)
from gitimprove.feedback.models import _STR, encoded_digest, signals_texts
from gitimprove.feedback.quickcheck import _RATINGS, _metadata, _Refer, _signals, _version
from gitimprove.text import is_slug

# NOTE: the id pattern for Rust's regex engine: it accepts a subset of what fields._ID_RE
# accepts after str.strip() (Rust's \s is Unicode White_Space, which Python's str.isspace()
# covers), and only values that strip() leaves alone, so the value is the one given.
_ID = r"^[^\s\x00-\x1f\x7f]{1,200}$"
# fields._USER_RE the same way: spaces inside, none at either end
_USER = (r"^[^\s\x00-\x1f\x7f-\x9f]"
         r"(?:[^\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]{0,198}[^\s\x00-\x1f\x7f-\x9f])?$")
# A time in UTC written the usual way (2026-09-15T07:55:22Z, "+00:00", microseconds), checked
# in Rust; the 29th to 31st of a month are checked again below (the month may not have them).
# Any other time, valid or not, goes the general way. [0-9]: Rust's \d is any Unicode digit.
_TIME = (r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(?:0[1-9]|1[0-2])"
         r"-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
         r"(?:\.[0-9]{6})?(?:Z|\+00:00)$")


def _schema() -> SchemaValidator:
    def required(schema: cs.CoreSchema) -> cs.TypedDictField:
        return cs.typed_dict_field(schema, required=True)

    def optional(schema: cs.CoreSchema) -> cs.TypedDictField:
        # NOTE: absent is None, so that every field is in the result, in the order below
        return cs.typed_dict_field(cs.with_default_schema(cs.nullable_schema(schema), default=None))

    text = cs.str_schema(strict=True)
    ident = cs.str_schema(strict=True, pattern=_ID)
    return SchemaValidator(cs.typed_dict_schema({
        "id": optional(ident),
        "agent": optional(text),  # absent: the import's --agent
        "version": optional(text),
        "run_id": optional(ident),
        "rating": optional(cs.literal_schema(list(_RATINGS))),
        "reason": optional(text),
        "correction": optional(text),
        "signals": optional(cs.any_schema()),
        "user_id": optional(cs.str_schema(strict=True, pattern=_USER)),
        "input": optional(text),
        "output": optional(text),
        "metadata": optional(cs.any_schema()),
        "created_at": required(cs.str_schema(strict=True, pattern=_TIME)),
    }, extra_behavior="forbid", total=False, strict=True),
        # NOTE: only keys are interned: a line's values (ids, times, texts) are new on every
        # line, and caching them cost a sixth of the call
        cs.CoreConfig(cache_strings="keys"))


_validator: SchemaValidator | None = None
_fromisoformat = datetime.fromisoformat
# a rating's spellings -> the rating, and as JSON text
_RATINGS_JSON = {given: (rating, _STR(rating)) for given, rating in _RATINGS.items()}


class FastLines:
    """The rows of lines of one import; ``version`` and ``agent`` are given to lines that name
    none."""

    def __init__(self, index: AgentIndex, version: str | None, recorded_at: str,
                 agent: str | None = None) -> None:
        global _validator
        if _validator is None:
            _validator = _schema()
        self._validate = _validator.validate_json
        self._index = index
        self._version = version
        self._agent_given = agent
        self._recorded_at = recorded_at
        self.unnamed = 0  # rows taken that named no agent: given ``agent``
        # agents and versions as given -> as checked, and as JSON text for the digest, and a
        # version's warning (None: for the general path)
        self._agents: dict[str, tuple[str, str] | None] = {}
        self._versions: dict[tuple[str, str], tuple[str | None, str, str | None] | None] = {}

    def row(self, line: bytes) -> tuple[tuple[Any, ...], bool, str | None] | None:
        """The row of :data:`migrations.COLUMNS` for one line, whether its id was derived
        from its content, and a warning; None: for the general path to read."""
        try:
            (record_id, given, version, run_id, rating, reason, correction, signals, user_id,
             text_in, text_out, metadata, created) = self._validate(line).values()
        except ValueError:  # pydantic-core's ValidationError
            return None
        unnamed = given is None or given == ""
        if unnamed:  # as the general path gives --agent
            given = self._agent_given
            if given is None:
                return None  # "agent: missing", worded there
        checked = self._agents[given] if given in self._agents else self._agent(given)
        if checked is None:
            return None
        agent, agent_json = checked
        warning: str | None = None
        given, version, version_json = version or self._version, None, "null"  # as --version
        if given is not None:
            key = (agent, given)
            hit = self._versions[key] if key in self._versions else self._resolve(agent, given)
            if hit is None:
                return None
            version, version_json, warning = hit
        rating_json = "null"
        try:
            if rating is not None:
                rating, rating_json = _RATINGS_JSON[rating]
            if reason is not None:
                reason = _check_text("text", reason, MAX_TEXT_CHARS)
            if correction is not None:
                correction = _check_text("text", correction, MAX_TEXT_CHARS)
            signals = {} if signals is None else _signals(signals)
            if rating is None and not reason and not correction and not signals:
                return None  # empty feedback
            if text_in is not None:
                text_in = _check_text("text", text_in, MAX_RUN_TEXT_CHARS)
            if text_out is not None:
                text_out = _check_text("text", text_out, MAX_RUN_TEXT_CHARS)
            if metadata is not None:
                metadata = _metadata(metadata)
            if created[8:10] > "28":
                _fromisoformat(created)  # ValueError when the month has no such day
            # as timestamp_text writes it
            created_text = created[:26] + "Z" if created[19] == "." else created[:19] + ".000000Z"
        except (_Refer, ValueError, TypeError, OverflowError):
            return None
        stored, canonical = signals_texts(signals)
        digest = encoded_digest(agent_json, correction, created_text, text_in, metadata, text_out,
                                rating_json, reason, run_id, canonical, user_id, version_json)
        derived = record_id is None
        if derived:  # as make_record derives it: the content hash, created_at included
            record_id = "fb-" + digest[:20]
        self.unnamed += unnamed
        return ((record_id, agent, version, run_id, rating, reason, correction,
                 stored, user_id, text_in, text_out,
                 None if metadata is None else _METADATA_JSON(metadata), created_text,
                 self._recorded_at, digest, None), derived, warning)

    def _agent(self, given: str) -> tuple[str, str] | None:
        agent = given.strip()
        checked: tuple[str, str] | None = None
        if is_slug(agent):
            try:
                self._index.check_agent(agent, fresh=False)
                checked = (agent, _STR(agent))
            except GitImproveError:
                pass
        self._agents[given] = checked
        return checked

    def _resolve(self, agent: str, given: str) -> tuple[str | None, str, str | None] | None:
        hit: tuple[str | None, str, str | None] | None = None
        try:
            resolved, warning = self._index.resolve_version(agent, given, fresh=False)
            version = _version(resolved)
            hit = (version, "null" if version is None else _STR(version), warning)
        except (GitImproveError, _Refer):
            pass
        self._versions[(agent, given)] = hit
        return hit
