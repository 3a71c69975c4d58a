"""Proposal operations: small, reviewable edits of one agent file.

A proposal never rewrites a prompt wholesale; it is a list of these operations, each with its
reason and evidence. Rule indices and positions refer to the file *as the proposer saw it*, so
a list of operations means the same thing whatever order they are applied in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from gitimprove.instructions.formats.prose import EditError
from gitimprove.safetext import describe_char, unsafe_char
from gitimprove.text import rule_number

if TYPE_CHECKING:
    # NOTE: only for annotations: the round-trip library (ruamel.yaml) is imported by the
    # commands that edit a file, not by every command that reads a proposal.
    from gitimprove.instructions.formats import AdoptedDocument
    from gitimprove.instructions.roundtrip import AgentDocument

    Document = AgentDocument | AdoptedDocument

MAX_TEXT = 4000  # characters in one operation's text; the policy's limits are usually tighter


def _plain(text: str) -> str:
    """Model prose is data: no control, escape or bidi characters (line breaks are allowed)."""
    bad = unsafe_char(text, multiline=True)
    if bad is not None:
        raise ValueError(f"contains the character {describe_char(bad)}; write plain text")
    return text


PlainText = Annotated[str, AfterValidator(_plain)]


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: PlainText = Field(min_length=1, max_length=2000, description="Why, in one or two sentences.")
    evidence: list[str] = Field(default_factory=list,
                                description="Feedback ids and pattern ids behind this operation.")


class AddRule(_Op):
    """Add a rule to a section (at the end, or before the rule now at ``position``)."""

    op: Literal["add_rule"] = "add_rule"
    section: str
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    position: StrictInt | None = Field(None, ge=0)


class UpdateRule(_Op):
    """Reword the rule at ``index`` of a section."""

    op: Literal["update_rule"] = "update_rule"
    section: str
    index: StrictInt = Field(ge=0)
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class RemoveRule(_Op):
    """Remove the rule at ``index`` of a section."""

    op: Literal["remove_rule"] = "remove_rule"
    section: str
    index: StrictInt = Field(ge=0)


class AddSection(_Op):
    """Add a new section (at the end, or before the section now at ``position``)."""

    op: Literal["add_section"] = "add_section"
    id: str
    title: str | None = None
    text: str | None = Field(None, max_length=MAX_TEXT)
    rules: list[str] | None = None
    position: StrictInt | None = Field(None, ge=0)


class SetText(_Op):
    """Replace a section's ``text``."""

    op: Literal["set_text"] = "set_text"
    section: str
    text: str = Field(min_length=1, max_length=MAX_TEXT)


Operation = Annotated[AddRule | UpdateRule | RemoveRule | AddSection | SetText,
                      Field(discriminator="op")]


class Draft(BaseModel):
    """What a proposer returns: the edits and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: PlainText = Field(min_length=1, max_length=200, description="One line, imperative mood.")
    rationale: PlainText = Field(min_length=1, max_length=4000)
    operations: list[Operation] = Field(min_length=1)


def describe(op: Operation) -> str:
    """One line a reviewer reads (rules counted from 1, as people count)."""
    match op:
        case AddRule():
            return f"add rule to '{op.section}': {op.text}"
        case UpdateRule():
            return f"reword {rule_number(op.index)} of '{op.section}': {op.text}"
        case RemoveRule():
            return f"remove {rule_number(op.index)} of '{op.section}'"
        case AddSection():
            return f"add section '{op.id}'" + (f" ({op.title})" if op.title else "")
        case SetText():
            return f"replace the text of '{op.section}'"


def operation_section(op: Operation) -> str:
    return op.id if isinstance(op, AddSection) else op.section


def apply(doc: Document, operations: list[Operation]) -> None:
    """Apply operations to a document. Raises :class:`EditError` naming the operation at fault."""
    # Rules are tracked by their index in the original file, so that a removal earlier in the
    # list does not shift what a later operation points at.
    origin: dict[str, list[int | None]] = {
        s.id: list(range(len(s.rules or []))) for s in doc.agent.sections}
    for n, op in enumerate(operations, 1):
        try:
            _apply_one(doc, op, origin)
        except EditError as exc:
            raise EditError(f"operation {n} ({op.op}): {exc.message}", hint=exc.hint) from None


def _current(origin: dict[str, list[int | None]], section: str, index: int, doc: Document) -> int:
    tracked = origin.get(section)
    if tracked is None:
        raise EditError(f"no section {section!r} (sections: {', '.join(doc.agent.section_ids)})")
    try:
        return tracked.index(index)
    except ValueError:
        count = sum(1 for i in tracked if i is not None)
        raise EditError(f"section {section!r} has no rule at index {index} "
                        f"(it has {count} rules; index 0 is the first)") from None


def _apply_one(doc: Document, op: Operation, origin: dict[str, list[int | None]]) -> None:
    if isinstance(op, AddRule):
        tracked = origin.setdefault(op.section, [])
        if op.section not in doc.agent.section_ids and op.section not in _added(doc):
            raise EditError(f"no section {op.section!r} (sections: {', '.join(doc.agent.section_ids)})")
        if op.position is None or op.position not in tracked:
            # NOTE: "at the end" is the end of the section's main list, which in a Markdown
            # section of several lists need not be its last rule
            tracked.insert(doc.add_rule(op.section, op.text), None)
        else:
            at = tracked.index(op.position)
            tracked.insert(doc.add_rule(op.section, op.text, at), None)
    elif isinstance(op, UpdateRule):
        doc.update_rule(op.section, _current(origin, op.section, op.index, doc), op.text)
        # NOTE: the reworded rule keeps its original index so later operations can still name it.
    elif isinstance(op, RemoveRule):
        at = _current(origin, op.section, op.index, doc)
        doc.remove_rule(op.section, at)
        del origin[op.section][at]
    elif isinstance(op, SetText):
        doc.set_text(op.section, op.text)
    elif isinstance(op, AddSection):
        position = op.position
        if position is not None:
            ids = doc.current_ids()
            original = doc.agent.section_ids
            position = ids.index(original[position]) if position < len(original) else None
        doc.add_section(op.id, title=op.title, text=op.text, rules=list(op.rules) if op.rules else None,
                        position=position)
        origin[op.id] = [None] * len(op.rules or [])


def _added(doc: Document) -> list[str]:
    return doc.current_ids()
