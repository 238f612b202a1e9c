"""A small typed validator for the spec and the cluster profile.

Why not pydantic: importing it and building the models took ~120 ms of
every `aihpc submit`, more than the rest of the command together (issue 14).
This module does what the models need and no more: strict types (no
"2" -> 2, no true -> 1), bounds, literals, lists, mappings, nested models,
unknown keys, and per-field rule functions that raise ValueError with the
reason. Errors carry the field path, whether they are about a mapping key,
and a message worded as pydantic worded it, so every message users saw
before stays the same (tests/golden/messages/).

A model is a frozen record (`aihpc.spec.records`, dataclass-like) whose
fields carry a `Kind` and a description in their metadata (`spec_field`);
`docgen` renders the reference from the same descriptions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence

from aihpc.spec import records
from aihpc.spec.records import record

# typing only for the type checker: importing it costs ~2 ms of every start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    Rule = Callable[[Any], Any]  # returns its argument or raises ValueError
    M = TypeVar("M", bound="Model")

Path = tuple[str | int, ...]


@record(frozen=True)
class Problem:
    """One validation error: where, what kind, and the message."""

    path: Path
    type: str  # "missing", "extra_forbidden", "value_error", "type_error", ...
    msg: str
    about_key: bool = False


class Invalid(Exception):
    """Raised by `Model.model_validate` with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.msg}" for p in problems))
        self.problems = problems


def _apply(rules: Sequence[Rule], value: Any, path: Path, out: list[Problem]) -> Any:
    for rule in rules:
        try:
            value = rule(value)
        except ValueError as exc:
            out.append(Problem(path, "value_error", str(exc)))
            return None
    return value


class Kind(ABC):
    """How to check one value. `check` appends problems and returns the value."""

    @abstractmethod
    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        """The value (converted where a kind converts), or None after adding problems."""

    @abstractmethod
    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        """A JSON-schema fragment, as much of it as the reference generator reads
        (kinds that hold other kinds put nested models into `defs`)."""


class Leaf(Kind):
    """A kind that holds no other kind: its schema needs no `defs`."""

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        del defs
        return self.plain_schema()

    @abstractmethod
    def plain_schema(self) -> dict[str, Any]:
        """The JSON-schema fragment of this one value."""


@record(frozen=True)
class Str(Leaf):
    rules: tuple[Rule, ...] = ()
    min_length: int | None = None

    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        if not isinstance(value, str):
            out.append(Problem(path, "string_type", "Input should be a valid string"))
            return None
        value = _apply(self.rules, value, path, out)
        if value is not None and self.min_length is not None and len(value) < self.min_length:
            # pydantic's wording for a length constraint after a validator.
            out.append(
                Problem(
                    path,
                    "too_short",
                    f"Value should have at least {self.min_length} item after validation, "
                    f"not {len(value)}",
                )
            )
        return value

    def plain_schema(self) -> dict[str, Any]:
        return {"type": "string"}


@record(frozen=True)
class Int(Leaf):
    gt: int | None = None
    ge: int | None = None
    le: int | None = None

    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(Problem(path, "int_type", "Input should be a valid integer"))
            return None
        failed = ""
        if self.gt is not None and not value > self.gt:
            failed = f"greater than {self.gt}"
        elif self.ge is not None and not value >= self.ge:
            failed = f"greater than or equal to {self.ge}"
        elif self.le is not None and not value <= self.le:
            failed = f"less than or equal to {self.le}"
        if failed:
            out.append(Problem(path, "bound", f"Input should be {failed}"))
            return None
        return value

    def plain_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.gt is not None:
            out["exclusiveMinimum"] = self.gt
        if self.ge is not None:
            out["minimum"] = self.ge
        if self.le is not None:
            out["maximum"] = self.le
        return out


@record(frozen=True)
class Bool(Leaf):
    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        if not isinstance(value, bool):
            out.append(Problem(path, "bool_type", "Input should be a valid boolean"))
            return None
        return value

    def plain_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@record(frozen=True)
class OneOf(Leaf):
    """A literal: one of a few strings."""

    values: tuple[str, ...]

    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        if isinstance(value, str) and value in self.values:
            return value
        quoted = [repr(v) for v in self.values]
        words = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        out.append(Problem(path, "literal_error", f"Input should be {words}"))
        return None

    def plain_schema(self) -> dict[str, Any]:
        return {"enum": list(self.values), "type": "string"}


@record(frozen=True)
class Optional(Kind):
    inner: Kind

    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        return None if value is None else self.inner.check(value, path, out)

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {"anyOf": [self.inner.schema(defs), {"type": "null"}]}


@record(frozen=True)
class ListOf(Kind):
    item: Kind
    min_length: int | None = None

    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        if not isinstance(value, list):
            out.append(Problem(path, "list_type", "Input should be a valid list"))
            return None
        before = len(out)
        items = [self.item.check(v, (*path, i), out) for i, v in enumerate(value)]
        if len(out) == before and self.min_length is not None and len(items) < self.min_length:
            out.append(
                Problem(
                    path,
                    "too_short",
                    f"List should have at least {self.min_length} item after validation, "
                    f"not {len(items)}",
                )
            )
        return items

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"items": self.item.schema(defs), "type": "array"}
        if self.min_length is not None:
            out["minItems"] = self.min_length
        return out


@record(frozen=True)
class MapOf(Kind):
    """A mapping with string keys; `after` rules see the whole mapping once it is valid."""

    value: Kind
    key_rules: tuple[Rule, ...] = ()
    after: tuple[Rule, ...] = ()

    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        if not isinstance(value, dict):
            out.append(Problem(path, "dict_type", "Input should be a valid dictionary"))
            return None
        before = len(out)
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                out.append(
                    Problem((*path, key), "string_type", "Input should be a valid string", True)
                )
                continue
            for rule in self.key_rules:
                try:
                    rule(key)
                except ValueError as exc:
                    out.append(Problem((*path, key), "value_error", str(exc), about_key=True))
                    break
            result[key] = self.value.check(item, (*path, key), out)
        if len(out) == before:
            result = _apply(self.after, result, path, out)
        return result

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {"additionalProperties": self.value.schema(defs), "type": "object"}


@record(frozen=True)
class Nested(Kind):
    model: type[Model]

    def check(self, value: Any, path: Path, out: list[Problem]) -> Any:
        if not isinstance(value, dict):
            out.append(
                Problem(
                    path,
                    "model_type",
                    f"Input should be a valid dictionary or instance of {self.model.__name__}",
                )
            )
            return None
        return self.model.validate_into(value, path, out)

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        defs[self.model.__name__] = self.model.model_json_schema(defs)
        return {"$ref": f"#/$defs/{self.model.__name__}"}


REQUIRED: Any = records.MISSING


def spec_field(
    kind: Kind,
    default: Any = REQUIRED,
    *,
    description: str = "",
    factory: Callable[[], Any] | None = None,
    alias: str = "",
) -> Any:
    """A model field: its kind, its default (or a factory), and its documentation."""
    meta = {"kind": kind, "description": description, "alias": alias}
    if factory is not None:
        return records.field(default_factory=factory, metadata=meta)
    if default is REQUIRED:
        return records.field(metadata=meta)
    return records.field(default=default, metadata=meta)


@record(frozen=True)
class FieldInfo:
    """What callers read about a field (`Model.model_fields[name]`)."""

    name: str
    kind: Kind
    description: str
    alias: str
    default: Any
    factory: Callable[[], Any] | None

    @property
    def key(self) -> str:
        return self.alias or self.name

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and self.factory is None


class Model:
    """Base of the frozen record models: validation, copy, dump, schema."""

    extra_allowed: ClassVar[bool] = False  # keep unknown keys (profile) or refuse them
    __record_fields__: ClassVar[tuple[records.Field, ...]]
    _fields_cache: ClassVar[dict[str, FieldInfo] | None] = None

    @classmethod
    def _fields(cls) -> dict[str, FieldInfo]:
        cached = cls.__dict__.get("_fields_cache")
        if cached is None:
            cached = {}
            for f in records.fields(cls):
                if "kind" not in f.metadata:
                    continue
                factory = None if f.default_factory is records.MISSING else f.default_factory
                cached[f.name] = FieldInfo(
                    f.name,
                    f.metadata["kind"],
                    f.metadata["description"],
                    f.metadata["alias"],
                    f.default,
                    factory,
                )
            cls._fields_cache = cached
        return cached

    @classmethod
    def fields(cls) -> dict[str, FieldInfo]:
        """Field name -> FieldInfo (kind, description, default), in declaration order."""
        return cls._fields()

    @classmethod
    def known_keys(cls) -> list[str]:
        return [f.key for f in cls._fields().values()]

    @classmethod
    def validate_into(cls: type[M], data: Mapping[str, Any], path: Path, out: list[Problem]) -> M:
        fields = cls._fields()
        keys = {f.key: f for f in fields.values()}
        values: dict[str, Any] = {}
        given: set[str] = set()
        for info in fields.values():
            if info.key in data:
                given.add(info.name)
                values[info.name] = info.kind.check(data[info.key], (*path, info.key), out)
            elif info.required:
                out.append(Problem((*path, info.key), "missing", "Field required"))
        extra = {k: v for k, v in data.items() if k not in keys}
        if extra and not cls.extra_allowed:
            for key in extra:
                out.append(
                    Problem((*path, key), "extra_forbidden", "Extra inputs are not permitted")
                )
        if out:
            return None  # type: ignore[return-value]  # the caller raises
        made = cls(**values)
        object.__setattr__(made, "_fields_set", frozenset(given))
        if cls.extra_allowed:
            object.__setattr__(made, "_extra", dict(extra))
        return made

    @classmethod
    def model_validate(cls: type[M], data: Any) -> M:
        out: list[Problem] = []
        if not isinstance(data, dict):
            raise Invalid(
                [
                    Problem(
                        (),
                        "model_type",
                        f"Input should be a valid dictionary or instance of {cls.__name__}",
                    )
                ]
            )
        made = cls.validate_into(data, (), out)
        if out:
            raise Invalid(out)
        return made

    @property
    def model_fields_set(self) -> frozenset[str]:
        return frozenset(self.__dict__.get("_fields_set", ()))

    def model_copy(self: M, *, update: Mapping[str, Any]) -> M:
        made = records.replace(self, **update)
        object.__setattr__(made, "_fields_set", self.model_fields_set | set(update))
        return made

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """Plain data (nested models as dicts), in field order."""
        del mode  # always JSON-able: the models hold only str, int, bool, list, dict
        return {name: _dump(getattr(self, name)) for name in self._fields()}

    @classmethod
    def model_json_schema(cls, defs: dict[str, Any] | None = None) -> dict[str, Any]:
        top = defs is None
        defs = {} if defs is None else defs
        properties: dict[str, Any] = {}
        required = []
        for info in cls._fields().values():
            prop = dict(info.kind.schema(defs))
            if info.description:
                prop["description"] = info.description
            if info.required:
                required.append(info.key)
            elif info.factory is None:
                prop["default"] = info.default
            properties[info.key] = prop
        schema: dict[str, Any] = {"properties": properties, "type": "object"}
        if cls.__doc__:
            schema["description"] = cls.__doc__.strip()
        if required:
            schema["required"] = required
        if top and defs:
            schema["$defs"] = defs
        return schema


def _dump(value: Any) -> Any:
    if isinstance(value, Model):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value
