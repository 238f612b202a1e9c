"""Dataclass-like records without `dataclasses`, for start-up time (issue 14).

`@dataclasses.dataclass` writes every method of every class as source text
and exec()s it: about 0.4 ms a class, on top of ~6 ms for importing
dataclasses itself (inspect, ast, dis, tokenize). The ~40 classes on the
path of `aihpc submit` cost ~20 ms that way, 15% of a dry run. `record`
gives a class the same __init__ (positional or keyword arguments, defaults,
default factories), __repr__ and __eq__, and with `frozen=True` a __hash__
and the refusal to assign, from a few shared functions and no exec.
`fields` and `replace` work like their dataclasses namesakes. Type checkers
see `record` as a dataclass decorator (PEP 681, dataclass_transform).

Not supported, because nothing here uses it: __post_init__, InitVar,
kw_only, slots, ordering, match_args.

For the same reason the modules on the path of `aihpc submit` import typing
only for the type checker, under `TYPE_CHECKING = False` / `if TYPE_CHECKING:`
(mypy reads the block, Python skips it; importing typing costs ~2 ms), and
tests/unit/test_lazy_imports.py holds the dry run to that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_kwargs: object) -> Callable[[T], T]:
        return lambda function: function


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (dataclasses raises the same kind)."""


class Field:
    """One field: its name, default or factory, whether it compares, and metadata."""

    __slots__ = ("compare", "default", "default_factory", "metadata", "name")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        compare: bool = True,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.metadata: Mapping[str, Any] = {} if metadata is None else metadata

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    compare: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Any:
    """Like dataclasses.field: a default, or a factory called for each instance."""
    return Field(default, default_factory, compare, metadata)


def fields(obj: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in declaration order."""
    found: tuple[Field, ...] | None = getattr(obj, "__record_fields__", None)
    if found is None:
        raise TypeError(f"{obj!r} is not a record")
    return found


def replace(obj: T, **changes: Any) -> T:
    """A copy of a record with some fields changed (dataclasses.replace)."""
    values = {f.name: obj.__dict__[f.name] for f in fields(obj)}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    values.update(changes)
    return type(obj)(**values)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return str(text).startswith(("ClassVar", "typing.ClassVar"))


def _collect(cls: type) -> tuple[Field, ...]:
    by_name: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for inherited in base.__dict__.get("__record_fields__", ()):
            by_name[inherited.name] = inherited
    # The class's own annotations (3.10+; strings under `from __future__ import annotations`).
    own: dict[str, object] = getattr(cls, "__annotations__", {})
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        made = value if isinstance(value, Field) else Field(default=value)
        made.name = name
        if made.default is not MISSING and type(made.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(made.default)} for field {name} is not allowed"
            )
        if made.default is MISSING:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, made.default)
        by_name[name] = made
    result = tuple(by_name.values())
    seen_default = False
    for f in result:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default
    return result


def _make_init(cls_name: str, all_fields: tuple[Field, ...]) -> Callable[..., None]:
    names = tuple(f.name for f in all_fields)
    count = len(names)
    known = frozenset(names)
    defaults = {f.name: f.default for f in all_fields if f.default is not MISSING}
    factories = {f.name: f.default_factory for f in all_fields if f.default_factory is not MISSING}

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > count:
            raise TypeError(
                f"{cls_name}.__init__() takes {count + 1} positional arguments "
                f"but {len(args) + 1} were given"
            )
        values = self.__dict__
        for name, value in zip(names, args, strict=False):
            values[name] = value
        if kwargs:
            for name, value in kwargs.items():
                if name not in known:
                    raise TypeError(
                        f"{cls_name}.__init__() got an unexpected keyword argument {name!r}"
                    )
                if name in values:
                    raise TypeError(f"{cls_name}.__init__() got multiple values for {name!r}")
                values[name] = value
        if len(values) < count:
            for name in names[len(args) :]:
                if name in values:
                    continue
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    raise TypeError(f"{cls_name}.__init__() missing 1 required argument: {name!r}")

    return __init__


def _repr(self: Any) -> str:
    parts = ", ".join(f"{f.name}={self.__dict__[f.name]!r}" for f in self.__record_fields__)
    return f"{type(self).__qualname__}({parts})"


def _key(self: Any) -> tuple[Any, ...]:
    values = self.__dict__
    return tuple(values[name] for name in self.__record_compare__)


def _eq(self: Any, other: object) -> object:
    if other.__class__ is self.__class__:
        return bool(_key(self) == _key(other))
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_key(self))


def _make_frozen(cls: type) -> tuple[Callable[..., None], Callable[..., None]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in self.__record_names__:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in self.__record_names__:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __setattr__, __delattr__


@dataclass_transform(field_specifiers=(field,))
def record(*, frozen: bool = False, eq: bool = True) -> Callable[[type[T]], type[T]]:
    """The class decorator: `@record(frozen=True)` where `@dataclass(frozen=True)` was."""

    def wrap(cls: type[T]) -> type[T]:
        all_fields = _collect(cls)
        names = frozenset(f.name for f in all_fields)
        attrs: dict[str, Any] = {
            "__record_fields__": all_fields,
            "__record_names__": names,
            "__record_compare__": tuple(f.name for f in all_fields if f.compare),
            "__init__": _make_init(cls.__name__, all_fields),
        }
        if "__repr__" not in cls.__dict__:
            attrs["__repr__"] = _repr
        if eq and "__eq__" not in cls.__dict__:
            attrs["__eq__"] = _eq
            # As dataclasses does: frozen and eq hash by the fields; eq alone is unhashable.
            attrs["__hash__"] = _hash if frozen else None
        if frozen:
            attrs["__setattr__"], attrs["__delattr__"] = _make_frozen(cls)
        for name, value in attrs.items():
            setattr(cls, name, value)
        return cls

    return wrap
