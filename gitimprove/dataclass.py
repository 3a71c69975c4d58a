"""The standard library's ``@dataclass``, with the methods it generates written on first use.

``dataclasses.dataclass`` compiles ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and,
for a frozen class, ``__setattr__`` and ``__delattr__`` from source when the class is defined:
about 0.6 ms a class on the reference machine, and a command imports dozens of records of which
it builds a few and prints or compares fewer. Here a class gets its fields at once
(``dataclasses.fields``, ``is_dataclass``, ``asdict`` and ``replace`` work as usual) and small
stand-ins for those methods. The first instances are built by one shared ``__init__`` that
binds the arguments to the fields as the generated one would; the ``_EARLY``-th has the
standard ``dataclass`` write the class's own ``__init__`` (a frozen class's ``__setattr__`` and
``__delattr__`` are the standard ones' two lines, written here), so a class built often costs
what it always did. The first ``repr``, comparison or hash has it write the rest, with the
parameters given. Methods are written for a copy of the class and then set on it, each
replacing its stand-in: a thread never finds one missing.

A class behaves as with ``dataclasses.dataclass``, except that a field without a default after
one with a default is reported on first use, not at import (mypy reports it too), that a wrong
call to a class's first instances is reported in ``inspect.Signature.bind``'s words, and that a
class without a docstring has its name as ``__doc__`` until its ``__init__`` is written.

Type checkers see ``dataclasses.dataclass`` itself.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

__all__ = ["dataclass", "field"]

_LOCK = threading.RLock()
_EARLY = 16  # instances built by the shared __init__ before the class's own is written
_FACTORY = object()  # "the default comes from the field's default_factory"
_EAGER = ("order", "unsafe_hash", "slots", "weakref_slot")  # parameters this does not defer

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:
    def dataclass(cls: type | None = None, /, **params: Any) -> Any:
        """``dataclasses.dataclass``, finished on first use (see the module docstring)."""
        def wrap(cls: type) -> type:
            return _defer(cls, params)

        return wrap if cls is None else wrap(cls)


def _defer(cls: type, params: dict[str, Any]) -> type:
    methods = _generated(cls, params)
    if (methods is None or any(params.get(name) for name in _EAGER)
            or any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:])):
        # NOTE: a dataclass base must be finished first (frozen or not is checked against it).
        for base in cls.__mro__[1:]:
            _finish(base, everything=True)
        return dataclasses.dataclass(cls, **params)
    own = cls.__dict__
    saved = {name: own[name] for name in own.get("__annotations__", {}) if name in own}
    doc = own.get("__doc__")
    if not doc:
        cls.__doc__ = cls.__name__  # spares inspect.signature now; the real one comes on finish
    # The fields only: no method is generated, so nothing is compiled.
    dataclasses.dataclass(cls, init=False, repr=False, eq=False,
                          match_args=params.get("match_args", True),
                          kw_only=params.get("kw_only", False))
    cls.__gitimprove_unfinished__ = _Pending(params, saved, doc, methods)  # type: ignore[attr-defined]
    for name in methods:
        setattr(cls, name, _stand_in(cls, name))
    return cls


class _Pending:
    """What a deferred class still needs: the parameters, the class attributes of its fields
    as written (``field(...)`` objects included), its docstring and the methods to generate."""

    def __init__(self, params: dict[str, Any], saved: dict[str, Any], doc: str | None,
                 methods: tuple[str, ...]) -> None:
        self.params, self.saved, self.doc, self.methods = params, saved, doc, methods
        self.built = False  # __init__ (and a frozen class's __setattr__/__delattr__) written
        self.early = 0  # instances built by the shared __init__
        self.shared: Callable[[Any, tuple[Any, ...], dict[str, Any]], None] | None = None


def _shared_init(cls: type, frozen: bool) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], None] | None:
    """An ``__init__`` for ``cls`` that compiles nothing (None where the generated one does
    more than set fields: ``__post_init__``, a field named ``self``)."""
    import inspect

    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or len(fields) != len(vars(cls)["__dataclass_fields__"]) \
            or any(f.name == "self" for f in fields):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = [inspect.Parameter(
        f.name, kinds[bool(f.kw_only)],
        default=(f.default if f.default is not dataclasses.MISSING else
                 _FACTORY if f.default_factory is not dataclasses.MISSING else
                 inspect.Parameter.empty))
        for f in fields if f.init]
    try:
        signature = inspect.Signature(sorted(parameters, key=lambda p: p.kind))
    except ValueError:  # a field without a default after one with: the standard error
        return None
    factories = {f.name: f.default_factory for f in fields
                 if f.default_factory is not dataclasses.MISSING}
    later = [f.name for f in fields if not f.init and f.name in factories]
    put = object.__setattr__ if frozen else setattr

    def init(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            put(self, name, factories[name]() if value is _FACTORY else value)
        for name in later:
            put(self, name, factories[name]())

    return init


_FIRST = ("__init__", "__setattr__", "__delattr__")


def _generated(cls: type, params: dict[str, Any]) -> tuple[str, ...] | None:
    """The methods ``dataclasses.dataclass`` will add to ``cls`` (None: let it decide now)."""
    own = cls.__dict__
    names = []
    if params.get("init", True) and "__init__" not in own:
        names.append("__init__")
    if params.get("repr", True) and "__repr__" not in own:
        names.append("__repr__")
    eq = params.get("eq", True)
    if eq and "__eq__" not in own:
        names.append("__eq__")
    if params.get("frozen", False):
        if "__setattr__" in own or "__delattr__" in own:
            return None  # the standard error, now
        names += ["__setattr__", "__delattr__"]
    explicit_hash = own.get("__hash__", dataclasses.MISSING)
    if eq and (explicit_hash is dataclasses.MISSING
               or (explicit_hash is None and "__eq__" in own)):
        names.append("__hash__")
    return tuple(names)


def _stand_in(cls: type, name: str) -> Callable[..., Any]:
    everything = name not in _FIRST

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        pending = cls.__dict__.get("__gitimprove_unfinished__")
        if name == "__init__" and pending is not None and pending.early < _EARLY:
            if pending.shared is None:
                pending.shared = _shared_init(cls, bool(pending.params.get("frozen")))
            if pending.shared is not None:
                pending.early += 1
                pending.shared(self, args, kwargs)
                return None
            pending.early = _EARLY
        _finish(cls, everything=everything)
        real = getattr(cls, name)
        if real is None:  # __hash__ of a mutable dataclass
            raise TypeError(f"unhashable type: {type(self).__name__!r}")
        return real(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__gitimprove_stand_in__ = True  # type: ignore[attr-defined]
    return method


def _finish(cls: type, *, everything: bool) -> None:
    """Let ``dataclasses.dataclass`` write the methods of ``cls``: ``__init__`` (with a frozen
    class's ``__setattr__`` and ``__delattr__``) first, and the rest when ``everything``."""
    if "__gitimprove_unfinished__" not in cls.__dict__:
        return
    import inspect

    with _LOCK:
        pending: _Pending | None = cls.__dict__.get("__gitimprove_unfinished__")
        if pending is None or (pending.built and not everything):
            return
        params = pending.params if everything else {**pending.params, "repr": False, "eq": False}
        # NOTE: written for a copy of the class and then set on it, each method replacing its
        # stand-in in one step: another thread never finds a method missing meanwhile.
        copy = type(cls.__name__, (), {
            **pending.saved, "__annotations__": inspect.get_annotations(cls),
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": pending.doc,
            **({"__post_init__": None} if hasattr(cls, "__post_init__") else {})})
        dataclasses.dataclass(copy, **params)
        names = [f.name for f in dataclasses.fields(cls)]
        for name in pending.methods if everything else _FIRST:
            if name not in pending.methods or (pending.built and name in _FIRST):
                continue
            if name in ("__setattr__", "__delattr__"):  # the copy's would name the copy
                setattr(cls, name, _frozen(cls, name, names))
            else:
                setattr(cls, name, copy.__dict__[name])
        if not pending.doc:
            cls.__doc__ = copy.__doc__
        if everything:
            cls.__dataclass_params__ = copy.__dataclass_params__  # type: ignore[attr-defined]
            del cls.__gitimprove_unfinished__  # type: ignore[attr-defined]
        else:
            pending.built = True


def _frozen(cls: type, name: str, names: list[str]) -> Callable[..., None]:
    """A frozen dataclass's ``__setattr__`` or ``__delattr__``, as the standard one reads."""
    fields = tuple(names)
    owner: type = cls
    if name == "__setattr__":
        def __setattr__(self: Any, attr: str, value: Any) -> None:
            if type(self) is owner or attr in fields:
                raise dataclasses.FrozenInstanceError(f"cannot assign to field {attr!r}")
            super(owner, self).__setattr__(attr, value)  # type: ignore[arg-type]  # mypy: a variable

        method: Callable[..., None] = __setattr__
    else:
        def __delattr__(self: Any, attr: str) -> None:
            if type(self) is owner or attr in fields:
                raise dataclasses.FrozenInstanceError(f"cannot delete field {attr!r}")
            super(owner, self).__delattr__(attr)  # type: ignore[arg-type]

        method = __delattr__
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    return method
