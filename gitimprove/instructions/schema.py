"""Strict validation of gitimprove's own files (agent files, the policy) into frozen dataclasses.

Every command and every hook reads the policy and agent files, and importing pydantic and
building its validators costs several times what such a command does. The schema of these
files is small: text, booleans, numbers, one-of choices, lists and nested records, each
field with optional bounds and a check in its metadata (:func:`spec`). Unknown keys are
refused, values are never coerced across types (``"yes"`` is not a boolean, ``5`` is not
text). Problems come out as pydantic's error dicts (``loc``, ``type``, ``msg``, ``input``)
with pydantic's wording, so that :func:`gitimprove.instructions.strictyaml.validation_problems`
turns either into ``file:line:col: field: message`` lines.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar, Union

R = TypeVar("R", bound="Record")
Loc = tuple[str | int, ...]


class SchemaError(ValueError):
    """Every problem found in one document, as pydantic-style error dicts."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self._errors = errors

    def errors(self, *, include_url: bool = False) -> list[dict[str, Any]]:
        return list(self._errors)


def spec(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
         ge: float | None = None, gt: float | None = None, le: float | None = None,
         lt: float | None = None, min_length: int | None = None,
         check: Callable[[Any], Any] | None = None) -> Any:
    """A dataclass field with bounds (numbers), a minimum length (text) and a ``check``
    (returns the value to keep, or raises ValueError with the message to show)."""
    meta = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt),
                               ("min_length", min_length), ("check", check)) if v is not None}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


class Record:
    """A frozen dataclass validated by :func:`validate`, with the few pydantic-style methods
    the rest of gitimprove uses on its files' values."""

    @classmethod
    def model_validate(cls: type[R], data: Any) -> R:
        return validate(cls, data)

    def model_copy(self: R, *, update: dict[str, Any] | None = None) -> R:
        return dataclasses.replace(self, **(update or {}))  # type: ignore[type-var]

    def model_dump(self, *, exclude_none: bool = False) -> dict[str, Any]:
        return _dump(self, exclude_none)  # type: ignore[no-any-return]


def validate(cls: type[R], data: Any) -> R:
    """``data`` (plain values, as YAML gives them) as a ``cls``; raises :class:`SchemaError`."""
    errors: list[dict[str, Any]] = []
    value = _record(cls, data, (), errors)
    if errors:
        raise SchemaError(errors)
    return value  # type: ignore[no-any-return]


# -- the checker ------------------------------------------------------------------------------

_FIELDS: dict[type, list[tuple[dataclasses.Field[Any], Any]]] = {}


def _fields(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _FIELDS[cls] = [(f, hints[f.name]) for f in dataclasses.fields(cls)]
    return found


def _error(errors: list[dict[str, Any]], loc: Loc, kind: str, msg: str, value: Any) -> None:
    errors.append({"loc": loc, "type": kind, "msg": msg, "input": value})


def _record(cls: type, data: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        _error(errors, loc, "model_type",
               f"Input should be a valid dictionary or instance of {cls.__name__}", data)
        return None
    before = len(errors)
    fields = _fields(cls)
    values: dict[str, Any] = {}
    for f, hint in fields:
        where = (*loc, f.name)
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                _error(errors, where, "missing", "Field required", data)
            continue
        count = len(errors)
        value = _value(hint, data[f.name], where, errors)
        if len(errors) == count and value is not None:
            value = _bounds(f.metadata, value, where, errors)
        values[f.name] = value
    names = {f.name for f, _ in fields}
    for key, value in data.items():
        if key not in names:
            _error(errors, (*loc, key), "extra_forbidden", "Extra inputs are not permitted", value)
    return cls(**values) if len(errors) == before else None


def _value(hint: Any, value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _value(inner, value, loc, errors)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value in choices and type(value) in {type(c) for c in choices}:
            return value
        shown = [repr(c) if isinstance(c, str) else str(c) for c in choices]
        listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
        _error(errors, loc, "literal_error", f"Input should be {listed}", value)
        return None
    if origin is list:
        if not isinstance(value, list):
            _error(errors, loc, "list_type", "Input should be a valid list", value)
            return None
        (item,) = typing.get_args(hint)
        return [_value(item, v, (*loc, i), errors) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(hint):
        return _record(hint, value, loc, errors)  # type: ignore[arg-type]
    if hint is str:
        if isinstance(value, str):
            return value
        _error(errors, loc, "string_type", "Input should be a valid string", value)
    elif hint is bool:
        if isinstance(value, bool):
            return value
        _error(errors, loc, "bool_type", "Input should be a valid boolean", value)
    elif hint is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        _error(errors, loc, "int_type", "Input should be a valid integer", value)
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # NOTE: `.inf`, `.nan` or 1 followed by 400 zeros: no setting means them, and a
            # timer or a socket given one fails far from the setting that said it
            number = float(value) if isinstance(value, float) or abs(value) < 2 ** 1023 else math.inf
            if math.isfinite(number):
                return number
            _error(errors, loc, "finite_number", "Input should be a finite number", value)
            return None
        _error(errors, loc, "float_type", "Input should be a valid number", value)
    else:  # pragma: no cover - a schema written with a type this checker does not know
        raise TypeError(f"{'.'.join(map(str, loc))}: unsupported type {hint!r} in a schema")
    return None


_BOUNDS: list[tuple[str, str, Callable[[Any, Any], bool], str]] = [
    ("ge", "greater_than_equal", lambda v, b: v >= b, "greater than or equal to"),
    ("gt", "greater_than", lambda v, b: v > b, "greater than"),
    ("le", "less_than_equal", lambda v, b: v <= b, "less than or equal to"),
    ("lt", "less_than", lambda v, b: v < b, "less than"),
]


def _bounds(meta: Any, value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if not meta:
        return value
    for key, kind, ok, words in _BOUNDS:
        if key in meta and not ok(value, meta[key]):
            _error(errors, loc, kind, f"Input should be {words} {meta[key]}", value)
            return value
    least = meta.get("min_length")
    if least is not None and len(value) < least:
        _error(errors, loc, "string_too_short",
               f"String should have at least {least} character{'s' if least != 1 else ''}", value)
        return value
    check = meta.get("check")
    if check is not None:
        try:
            return check(value)
        except ValueError as exc:
            _error(errors, loc, "value_error", f"Value error, {exc}", value)
    return value


def _dump(value: Any, exclude_none: bool) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        pairs: Iterator[tuple[str, Any]] = ((f.name, getattr(value, f.name))
                                            for f in dataclasses.fields(value))
        return {k: _dump(v, exclude_none) for k, v in pairs if not (exclude_none and v is None)}
    if isinstance(value, list):
        return [_dump(v, exclude_none) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, exclude_none) for k, v in value.items()}
    return value
