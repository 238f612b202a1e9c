"""Layered defaults, weakest first, each value remembering which layer set it.

1. the cluster profile (default partition),
2. ~/.config/aihpc/config.yaml (any train.yaml key),
3. AIHPC_* environment variables (a fixed list of scalar keys),
4. the spec file,
5. `-o key=value` overrides (dotted keys, YAML-typed values).

Mappings merge key by key; lists and scalars are replaced whole. Because
origins travel with the values, an error in a value set by the user config
points at the config file, not at train.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path

from aihpc.errors import SpecError, SpecIssue, UsageError
from aihpc.spec.records import field, record
from aihpc.spec.yamlsafe import Located, Origin, load_mapping, load_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Top-level scalar keys that AIHPC_<KEY> may set. A fixed list on purpose:
# jobs export AIHPC_CHECKPOINT_DIR, AIHPC_JOB_DIR, ... at run time, and those
# must never be mistaken for configuration if aihpc is run inside a job.
ENV_KEYS = (
    "partition",
    "account",
    "qos",
    "time",
    "mem",
    "gpu_type",
    "cpus_per_task",
    "launcher",
    "template",
    "jobs_dir",
    "max_parallel",
)
CONFIG_ENV = "AIHPC_CONFIG"

# Paths whose model type is a string: a YAML int/float/bool there is replaced
# by the characters the user wrote (`time: 1:00:00` is not the integer 3600,
# `args: [1e-4]` stays "1e-4"). "*" matches any key or index.
TEXT_PATHS: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("script",),
    ("module",),
    ("args", "*"),
    ("gpu_type",),
    ("mem",),
    ("time",),
    ("partition",),
    ("account",),
    ("qos",),
    ("env", "*"),
    ("workdir",),
    ("setup", "*"),
    ("checkpoint", "dir"),
    ("sweep", "*", "*"),
    ("container", "image"),
    ("container", "mounts", "*"),
    ("template",),
    ("jobs_dir",),
)


def _is_text_path(path: tuple[str | int, ...]) -> bool:
    for pattern in TEXT_PATHS:
        if len(pattern) == len(path) and all(
            p == "*" or p == q for p, q in zip(pattern, path, strict=True)
        ):
            return True
    return False


def _texts_as_written(located: Located) -> None:
    """Replace non-string scalars at text paths by their source text, in place."""

    def walk(value: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if (
            value is not None
            and not isinstance(value, str)
            and _is_text_path(path)
            and path in located.texts
        ):
            return located.texts[path]
        return value

    located.data = walk(located.data, ())


@record()
class Merged:
    """The merged data and, per path, where its key and value came from."""

    data: dict[str, Any] = field(default_factory=dict)
    values: dict[tuple[str | int, ...], Origin] = field(default_factory=dict)
    keys: dict[tuple[str | int, ...], Origin] = field(default_factory=dict)

    def apply(self, layer: Located, at: tuple[str, ...] = ()) -> None:
        """Merge `layer` (whose data sits at path `at`) over what is here."""
        _texts_as_written(layer)
        self._merge(at, layer.data, layer)

    def _merge(self, path: tuple[str | int, ...], value: Any, layer: Located) -> None:
        if not path:
            for key, item in value.items():
                self._merge((key,), item, layer)
            return
        parent: dict[Any, Any] = self.data
        for part in path[:-1]:
            nxt = parent.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                parent[part] = nxt
            parent = nxt
        key = path[-1]
        existing = parent.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            self._record(path, layer, shallow=True)
            for sub_key, sub_value in value.items():
                self._merge((*path, sub_key), sub_value, layer)
            return
        self._forget(path)
        parent[key] = value
        self._record(path, layer, shallow=False)

    def _forget(self, path: tuple[str | int, ...]) -> None:
        n = len(path)
        for table in (self.values, self.keys):
            for old in [p for p in table if p[:n] == path]:
                del table[old]

    def _record(self, path: tuple[str | int, ...], layer: Located, shallow: bool) -> None:
        n = len(path)
        for table, source in ((self.values, layer.values), (self.keys, layer.keys)):
            for p, origin in source.items():
                if p[:n] == path and (not shallow or len(p) == n):
                    table[p] = origin


def user_config_path(environ: dict[str, str]) -> Path:
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".config"
    )
    return Path(base) / "aihpc" / "config.yaml"


def env_layers(environ: dict[str, str]) -> list[Located]:
    layers = []
    for key in ENV_KEYS:
        name = f"AIHPC_{key.upper()}"
        if name in environ:
            layer = load_value(environ[name], f"${name}", (key,))
            layer.data = {key: layer.data}
            layers.append(layer)
    return layers


def parse_override(text: str) -> tuple[tuple[str, ...], Located]:
    """`checkpoint.max_restarts=5` -> (("checkpoint", "max_restarts"), value 5)."""
    key, sep, value = text.partition("=")
    parts = tuple(key.strip().split("."))
    if not sep or not key.strip() or any(not p for p in parts):
        raise UsageError(f"-o expects KEY=VALUE with a dotted KEY, got {text!r}")
    label = f"<-o {key.strip()}>"
    try:
        return parts, load_value(value, label, parts)
    except SpecError as exc:
        issue = exc.issues[0]
        raise SpecError(
            SpecIssue(label, 1, issue.column, ".".join(parts), issue.reason, issue.hint)
        ) from None


def read_layer(path: Path) -> Located:
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise SpecError(SpecIssue(str(path), 1, 1, "", "is a directory, not a YAML file")) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return load_mapping(raw, str(path))


def _apply_config(merged: Merged, environ: dict[str, str]) -> None:
    config = user_config_path(environ)
    if config.is_file():
        merged.apply(read_layer(config))
    for layer in env_layers(environ):
        merged.apply(layer)


def config_layers(environ: dict[str, str]) -> Merged:
    """The user config and $AIHPC_* layers alone (`shell`, `jupyter` read jobs_dir)."""
    merged = Merged()
    _apply_config(merged, environ)
    return merged


def merge_layers(
    spec_file: Path,
    overrides: list[str],
    environ: dict[str, str],
    profile_defaults: dict[str, Any],
    profile_file: str,
) -> Merged:
    merged = Merged()
    if profile_defaults:
        origin = Origin(profile_file)
        merged.apply(
            Located(
                dict(profile_defaults),
                {(k,): origin for k in profile_defaults},
                {(k,): origin for k in profile_defaults},
            )
        )
    _apply_config(merged, environ)
    merged.apply(read_layer(spec_file))
    for text in overrides:
        parts, layer = parse_override(text)
        # load_value recorded origins at the full dotted path; nest the data to match.
        layer.data = _nest(parts, layer.data)
        merged.apply(layer)
    return merged


def _nest(parent: tuple[str, ...], value: Any) -> Any:
    for part in reversed(parent):
        value = {part: value}
    return value
