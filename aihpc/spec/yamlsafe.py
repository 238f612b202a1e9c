"""A strict YAML loader that remembers where every value came from.

Why not `yaml.safe_load`: it silently keeps the last of two duplicate keys,
expands aliases (the "billion laughs" bomb), and forgets positions, so an
error could not say `train.yaml:7:12`. Here we compose the node graph with
PyYAML's safe resolver, refuse aliases outright, and build plain Python
values ourselves, recording for every path:

* the line/column of the key and of the value (1-based), and
* the source text of scalars, so `args: [--lr, 1e-4]` reaches the script as
  the characters the user typed, not as a float re-printed by Python.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aihpc.errors import SpecError, SpecIssue
from aihpc.spec.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Path = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024  # a train.yaml is a few hundred bytes; refuse megabytes of it
MAX_DEPTH = 32


@record(frozen=True)
class Origin:
    """Where a value was set: a file (or `-o`, `$AIHPC_X`) and a 1-based position."""

    file: str
    line: int = 1
    column: int = 1

    @property
    def is_file(self) -> bool:
        """True when `file` names a real file (relative paths resolve against it)."""
        return not (self.file.startswith("<") or self.file.startswith("$"))


@record()
class Located:
    """Plain data plus, per path, the origin of its key and value and scalar text."""

    data: Any
    values: dict[Path, Origin] = field(default_factory=dict)
    keys: dict[Path, Origin] = field(default_factory=dict)
    texts: dict[Path, str] = field(default_factory=dict)


def format_path(path: Path) -> str:
    """`("sweep", "lr", 0)` -> `sweep.lr[0]`, the form used in error messages."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _issue(origin: Origin, path: Path, reason: str, hint: str = "") -> SpecError:
    return SpecError(
        SpecIssue(origin.file, origin.line, origin.column, format_path(path), reason, hint)
    )


def _origin(filename: str, node_or_mark: Any, line_offset: int = 0, col_offset: int = 0) -> Origin:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    if mark is None:
        return Origin(filename, 1 + line_offset, 1 + col_offset)
    return Origin(filename, mark.line + 1 + line_offset, mark.column + 1 + col_offset)


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer refuses aliases before they can be expanded."""

    filename = "<yaml>"

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            mark = event.start_mark
            raise _issue(
                Origin(self.filename, mark.line + 1, mark.column + 1),
                (),
                f"YAML aliases (*{event.anchor}) are not allowed",
                "write the value out; aliases can expand into huge documents",
            )
        return super().compose_node(parent, index)


def _decode(raw: bytes, filename: str) -> str:
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        raise _issue(Origin(filename, line, column), (), "binary file (NUL byte), not YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _issue(Origin(filename, line, column), (), "not UTF-8 text (binary file?)") from None
    return text.removeprefix("\ufeff")


def _yaml_error(exc: yaml.YAMLError, filename: str, text: str) -> SpecError:
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        return _issue(
            Origin(filename, line, column),
            (),
            f"control character {chr(exc.character)!r} is not allowed in YAML"
            if isinstance(exc.character, int)
            else f"character {exc.character!r} is not allowed in YAML",
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        origin = _origin(filename, mark) if mark is not None else Origin(filename)
        return _issue(origin, (), f"YAML syntax error: {problem}")
    return _issue(Origin(filename), (), f"YAML error: {exc}")


# libyaml's parser, when PyYAML was built with it: composing train.yaml and the
# profile in C takes ~0.1 ms instead of ~2 ms. It composes the same nodes with
# the same marks and tags (the resolver is PyYAML's Python one either way).
_CLoader: Any = getattr(yaml, "CSafeLoader", None)


def _compose_c(text: str) -> Node | None:
    """The node graph by libyaml, or None when the Python composer must decide.

    Only for text without `*`, which cannot hold an alias (the Python composer
    refuses those with their position). Any YAML error is left to the Python
    composer too, so every message and position stays as it words them.
    """
    if _CLoader is None or "*" in text:
        return None
    try:
        loader = _CLoader(text)
        try:
            node: Node | None = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return None
    return node


def _compose(text: str, filename: str) -> Node | None:
    node = _compose_c(text)
    if node is not None:
        return node
    try:
        loader = _Loader(text)  # the reader checks for control characters here
        loader.filename = filename
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, filename, text) from None


class _Builder:
    """Turns a composed node graph into plain values, recording origins."""

    def __init__(self, filename: str, prefix: Path = ()) -> None:
        self.filename = filename
        self.prefix = prefix
        self.out = Located(None)
        self._constructor = yaml.SafeLoader("")

    def build(self, node: Node, path: Path, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _issue(
                _origin(self.filename, node), path, f"nesting deeper than {MAX_DEPTH} levels"
            )
        self.out.values[path] = _origin(self.filename, node)
        if isinstance(node, ScalarNode):
            try:
                value = self._constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise _yaml_error(exc, self.filename, "") from None
            self.out.texts[path] = node.value
            return value
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise _issue(_origin(self.filename, node), path, f"unsupported tag {node.tag}")
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise _issue(_origin(self.filename, node), path, f"unsupported tag {node.tag}")
            result: dict[str, Any] = {}
            seen: dict[str, Origin] = {}
            for key_node, value_node in node.value:
                key_origin = _origin(self.filename, key_node)
                if not isinstance(key_node, ScalarNode):
                    raise _issue(key_origin, path, "mapping keys must be plain strings")
                key = str(key_node.value)
                if key in seen:
                    first = seen[key]
                    raise _issue(
                        key_origin,
                        (*path, key),
                        "duplicate key",
                        f"first set at line {first.line}, column {first.column}",
                    )
                seen[key] = key_origin
                self.out.keys[(*path, key)] = key_origin
                result[key] = self.build(value_node, (*path, key), depth + 1)
            return result
        raise _issue(_origin(self.filename, node), path, "unsupported YAML node")


def load_mapping(raw: bytes | str, filename: str) -> Located:
    """Parse a whole file that must be a non-empty mapping (train.yaml, config, profile)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise _issue(Origin(filename), (), f"file is larger than {MAX_BYTES // 1024} KiB")
    text = _decode(raw, filename)
    node = _compose(text, filename)
    if node is None:
        raise _issue(Origin(filename), (), "empty file: expected a mapping such as `name: ...`")
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "a single value"
        raise _issue(
            _origin(filename, node),
            (),
            f"the top level must be a mapping of keys, not {kind}",
        )
    builder = _Builder(filename)
    builder.out.data = builder.build(node, ())
    return builder.out


def load_value(text: str, filename: str, path: Path) -> Located:
    """Parse one YAML value (from `-o key=value` or `$AIHPC_X`), rooted at `path`.

    Origins and texts are recorded under `path`, so errors point at the
    override that set the value. An empty string is the empty string, not null.
    """
    if "\x00" in text:
        raise _issue(Origin(filename), path, "NUL character in value")
    if text.strip() == "":
        return Located(text, {path: Origin(filename)}, {}, {path: text})
    node = _compose(text, filename)
    builder = _Builder(filename)
    if node is None:  # only a comment, e.g. "-o name=#x"
        return Located(None, {path: Origin(filename)}, {}, {})
    value = builder.build(node, ())
    shifted = Located(value)
    shifted.values = {(*path, *p): o for p, o in builder.out.values.items()}
    shifted.keys = {(*path, *p): o for p, o in builder.out.keys.items()}
    shifted.texts = {(*path, *p): t for p, t in builder.out.texts.items()}
    return shifted


def iter_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every path in a nested dict/list value, parents before children."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from iter_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_paths(item, (*path, index))
