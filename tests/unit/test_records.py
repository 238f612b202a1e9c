"""aihpc.spec.records behaves as dataclasses does for what the package uses."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest

from aihpc.spec import records
from aihpc.spec.records import field, record


@record(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)
    note: str = field(default="", compare=False)
    kind: ClassVar[str] = "point"


@dataclasses.dataclass(frozen=True)
class DPoint:
    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    note: str = dataclasses.field(default="", compare=False)
    kind: ClassVar[str] = "point"


@record()
class Box:
    items: dict[str, int] = field(default_factory=dict)


@record(frozen=True)
class Point3(Point):
    z: int = 0


def _call(cls: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return cls(*args, **kwargs)
    except TypeError as exc:
        return type(exc)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1,), {}),
        ((1, 2), {}),
        ((), {"x": 1, "tags": ["a"]}),
        ((1, 2, ["t"], "n"), {}),
        ((), {}),  # missing x
        ((1, 2, [], "", 5), {}),  # too many
        ((1,), {"x": 2}),  # twice
        ((1,), {"w": 2}),  # unknown
    ],
)
def test_init_accepts_and_refuses_what_dataclasses_does(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    mine, theirs = _call(Point, *args, **kwargs), _call(DPoint, *args, **kwargs)
    if isinstance(theirs, type):
        assert mine is theirs
    else:
        assert [getattr(mine, f.name) for f in records.fields(Point)] == [
            getattr(theirs, f.name) for f in dataclasses.fields(DPoint)
        ]


def test_eq_hash_repr_frozen() -> None:
    a, b = Point(1, 2, note="a"), Point(1, 2, note="b")
    assert a == b  # note does not compare
    for cls in (Point, DPoint):  # hashed by the compared fields: the list refuses
        with pytest.raises(TypeError, match="unhashable"):
            hash(cls(1, 2))
    assert hash(Point3(1, 2, (), "a")) == hash(Point3(1, 2, (), "b"))  # type: ignore[arg-type]
    assert a != Point(1, 3) and a != DPoint(1, 2)
    assert repr(a) == "Point(x=1, y=2, tags=[], note='a')"
    assert repr(DPoint(1, 2, note="a")) == "DPoint(x=1, y=2, tags=[], note='a')"
    with pytest.raises(records.FrozenInstanceError):
        a.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del a.y  # type: ignore[misc]
    assert Point(1).tags is not Point(1).tags  # a new list each time
    assert Point.kind == "point" and "kind" not in {f.name for f in records.fields(Point)}


def test_mutable_records_are_unhashable_and_assignable() -> None:
    box = Box()
    box.items = {"a": 1}
    assert box == Box({"a": 1})
    with pytest.raises(TypeError):
        hash(box)


def test_replace_fields_and_inheritance() -> None:
    p = Point3(1, z=3)
    assert [f.name for f in records.fields(p)] == ["x", "y", "tags", "note", "z"]
    q = records.replace(p, y=9)
    assert (q.x, q.y, q.z) == (1, 9, 3) and type(q) is Point3
    with pytest.raises(TypeError):
        records.replace(p, nope=1)
    with pytest.raises(TypeError):
        records.fields(object())


def test_definitions_dataclasses_would_refuse() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @record()
        class Bad:
            items: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="non-default argument"):

        @record()
        class Order:
            a: int = 1
            b: int
