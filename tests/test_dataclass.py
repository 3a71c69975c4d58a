"""gitimprove.dataclass behaves as dataclasses.dataclass, whatever is used first."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

import pytest

from gitimprove import dataclass as lazy


def pair(**params: Any) -> tuple[type, type]:
    """The same class made by the standard decorator and by gitimprove's."""
    made = []
    for decorate in (dataclasses.dataclass, lazy.dataclass):
        class Point:
            kind: ClassVar[str] = "point"
            x: int
            y: int = 0
            tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)
            notes: list[str] = lazy.field(default_factory=list, compare=False, repr=False)

        made.append(decorate(**params)(Point))
    return made[0], made[1]


def hashable(obj: object) -> bool | int:
    try:
        return hash(obj) == hash(copy.copy(obj))
    except TypeError as exc:
        assert "unhashable" in str(exc)
        return False


PARAMS = [{}, {"frozen": True}, {"kw_only": True}, {"frozen": True, "kw_only": True},
          {"eq": False}, {"repr": False}, {"order": True}]


@pytest.mark.parametrize("params", PARAMS, ids=str)
@pytest.mark.parametrize("first", ["init", "repr", "eq", "hash", "fields", "setattr", "new"])
def test_same_behaviour_whatever_comes_first(params: dict[str, Any], first: str) -> None:
    std, ours = pair(**params)
    args = {"x": 1, "y": 2, "tags": ("a",)}
    if first == "fields":
        assert [f.name for f in dataclasses.fields(ours)] == ["x", "y", "tags", "notes"]
        assert dataclasses.is_dataclass(ours)
    if first == "new":  # an instance made without __init__ (as unpickling does) meets the stand-ins
        made = ours.__new__(ours)
        made.__dict__.update(args, notes=[])
        assert repr(made) == repr(std(**args)) or not params.get("repr", True)
        assert (made == ours(**args)) == (std(**args) == std(**args))
    a, b = std(**args), ours(**args)
    if first == "repr":
        assert repr(b) == repr(a) or not params.get("repr", True)
    if first == "setattr" or first == "init":
        for obj in (a, b):
            try:
                obj.x = 5
            except dataclasses.FrozenInstanceError:
                assert params.get("frozen")
            else:
                assert not params.get("frozen") and obj.x == 5
                obj.x = 1
    if first == "hash" or first == "eq":
        assert (b == ours(**args)) == (a == std(**args))
    assert hashable(b) == hashable(a)
    assert repr(b) == repr(a) or not params.get("repr", True)
    assert (b == ours(**args)) == (a == std(**args))
    assert (b != ours(**{**args, "x": 9})) == (a != std(**{**args, "x": 9}))
    assert dataclasses.asdict(b) == dataclasses.asdict(a)
    assert dataclasses.replace(b, y=7).y == 7
    assert b.notes == [] and b.notes is not ours(**args).notes
    assert ours.kind == "point"
    assert ours.__match_args__ == std.__match_args__
    assert ours.__doc__ == std.__doc__
    assert dataclasses.fields(ours) == dataclasses.fields(std) or \
        [(f.name, f.default, f.init, f.kw_only) for f in dataclasses.fields(ours)] == \
        [(f.name, f.default, f.init, f.kw_only) for f in dataclasses.fields(std)]
    for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        assert (name in vars(ours)) == (name in vars(std)), name
        if vars(std).get(name) is None:
            assert vars(ours).get(name) is None, name


def test_errors_as_the_standard_decorator() -> None:
    with pytest.raises(TypeError, match="non-default argument"):
        @lazy.dataclass
        class Bad:
            a: int = 0
            b: int

        Bad()
    with pytest.raises(TypeError, match="__setattr__"):
        @lazy.dataclass(frozen=True)
        class Frozen:
            a: int

            def __setattr__(self, name: str, value: Any) -> None: ...


def test_a_dataclass_base_is_finished_before_its_subclass() -> None:
    @lazy.dataclass(frozen=True)
    class Base:
        a: int

    @lazy.dataclass(frozen=True)
    class Child(Base):
        b: int = 1

    assert Child(3) == Child(3, 1) and repr(Child(3)) .endswith("Child(a=3, b=1)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Child(3).a = 4  # type: ignore[misc]


@pytest.mark.parametrize("params", PARAMS, ids=str)
def test_the_first_instances_and_the_many_after_them(params: dict[str, Any]) -> None:
    """The first instances come from the shared __init__, then the class gets its own: the
    same values, defaults and fresh default_factory values either way, the same errors."""
    std, ours = pair(**params)
    made = [(std(x=i, y=i, tags=("t",)), ours(x=i, y=i, tags=("t",))) for i in range(lazy._EARLY + 4)]
    made += [(std(x=1), ours(x=1)) for _ in range(3)]
    for a, b in made:
        assert repr(b) == repr(a) or not params.get("repr", True)
        assert dataclasses.asdict(b) == dataclasses.asdict(a)
        assert b.notes == [] and b.notes is not ours(x=0).notes
    assert not getattr(vars(ours)["__init__"], "__gitimprove_stand_in__", False)
    for call in (lambda cls: cls(), lambda cls: cls(1, 2, 3, 4, 5), lambda cls: cls(x=1, z=2)):
        with pytest.raises(TypeError):
            call(std)
        with pytest.raises(TypeError):
            call(ours)
    if not params.get("kw_only"):
        assert ours(1, 2).y == 2


def test_positional_arguments_before_the_own_init() -> None:
    @lazy.dataclass(frozen=True)
    class Span:
        start: int
        end: int = 0
        labels: list[str] = lazy.field(default_factory=list)

    assert (Span(1, 2).start, Span(1, 2).end, Span(1).labels) == (1, 2, [])
    with pytest.raises(TypeError):
        Span(1, start=2)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Span(1).end = 3  # type: ignore[misc]


def test_threads_building_the_first_instances_together() -> None:
    """Methods are replaced, never removed and written again: a thread building an instance
    while another has the class's methods written gets a whole instance."""
    import threading

    @lazy.dataclass(frozen=True)
    class Event:
        name: str
        count: int = 0
        tags: list[str] = lazy.field(default_factory=list)

    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def build() -> None:
        start.wait()
        try:
            for i in range(200):
                made = Event(f"e{i}", i)
                assert (made.name, made.count, made.tags) == (f"e{i}", i, [])
                assert made == Event(f"e{i}", i) and f"count={i}" in repr(made)
        except BaseException as exc:  # reported below, with the thread's values
            failures.append(exc)

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
