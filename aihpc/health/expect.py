"""The node's expectations: /etc/aihpc/health.json, written by the aihpc role.

JSON rather than YAML so the health check needs nothing outside the standard
library. The role fills it from the inventory (slurm_node_gpus, the profile's
shared directories, the InfiniBand and GPU profile variables); every field is
optional, and a check whose expectation is absent does not run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aihpc.errors import UsageError

DEFAULT_PATH = "/etc/aihpc/health.json"
# Xids that mean the GPU or its memory is no longer trustworthy (Azure's list):
# 48 DBE, 56/57 display engine/clock, 58 and 62-65 firmware and memory faults,
# 68 video processor, 69 graphics engine class, 73 NVENC, 74 NVLink, 79 fallen
# off the bus, 80 corrupted data, 81 VGA subsystem, 92 high single-bit ECC,
# 119/120 GSP RPC timeout and error.
CRITICAL_XIDS = (48, 56, 57, 58, 62, 63, 64, 65, 68, 69, 73, 74, 79, 80, 81, 92, 119, 120)
VENDORS = ("nvidia", "amd")


class ExpectationError(UsageError):
    """The expectations file is unreadable or has a bad field (exit 2: could not run)."""


@dataclass(frozen=True)
class GpuExpect:
    vendor: str
    count: int
    type: str = ""


@dataclass(frozen=True)
class MountExpect:
    path: str
    # Must be a mount point of its own (a missing NFS mount leaves an empty directory).
    mount: bool = False
    writable: bool = True
    min_free_gib: float = 0.0


@dataclass(frozen=True)
class Expectations:
    gpus: GpuExpect | None = None
    critical_xids: tuple[int, ...] = CRITICAL_XIDS
    ib_ports: int = 0
    ib_rate_gbps: int = 0
    mounts: tuple[MountExpect, ...] = ()
    min_available_mib: int = 0
    min_available_percent: float = 0.0
    daemons: tuple[str, ...] = ("munged", "slurmd")
    fabric_manager: bool = False
    source: str = field(default="(built in)", compare=False)


class _Reader:
    """Typed access to one JSON object, with errors naming file and field path."""

    def __init__(self, source: str, data: Any, where: str) -> None:
        self.source, self.data, self.where = source, data, where
        if not isinstance(data, dict):
            self.error("", f"must be an object, got {type(data).__name__}")

    def error(self, key: str, reason: str) -> None:
        path = f"{self.where}.{key}" if self.where and key else (key or self.where or "(top)")
        raise ExpectationError(f"{self.source}: {path}: {reason}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        value = self.data.get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) and kind is not bool:
            self.error(key, f"must be {_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            self.error(key, f"must be {_name(kind)}, got {type(value).__name__} {value!r}")
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            self.error(key, f"must not be negative, got {value}")
        return value

    def child(self, key: str) -> _Reader | None:
        value = self.data.get(key)
        if value is None:
            return None
        return _Reader(self.source, value, f"{self.where}.{key}" if self.where else key)


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "an object"})
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def parse(data: Any, source: str) -> Expectations:
    top = _Reader(source, data, "")
    known = {"schema", "gpus", "critical_xids", "ib", "mounts", "memory", "daemons"}
    known |= {"fabric_manager", "node"}
    for key in data:
        if key not in known:
            top.error(key, f"unknown field (known: {', '.join(sorted(known))})")
    schema = top.get("schema", int, 1)
    if schema != 1:
        top.error("schema", f"version {schema} is not supported by this aihpc (1 is)")

    gpus = None
    gpu = top.child("gpus")
    if gpu is not None:
        vendor = gpu.get("vendor", str, "nvidia")
        if vendor not in VENDORS:
            gpu.error("vendor", f"must be one of {', '.join(VENDORS)}, got {vendor!r}")
        count = gpu.get("count", int, 0)
        gpus = GpuExpect(vendor, count, gpu.get("type", str, "")) if count > 0 else None

    xids = top.get("critical_xids", list, list(CRITICAL_XIDS))
    for i, xid in enumerate(xids):
        if not isinstance(xid, int) or isinstance(xid, bool):
            top.error(f"critical_xids[{i}]", f"must be an integer, got {xid!r}")

    ib = top.child("ib") or _Reader(source, {}, "ib")
    mem = top.child("memory") or _Reader(source, {}, "memory")
    percent = float(mem.get("min_available_percent", (int, float), 0.0))
    if percent > 100:
        mem.error("min_available_percent", f"must be at most 100, got {percent}")

    mounts = []
    for i, item in enumerate(top.get("mounts", list, [])):
        entry = _Reader(source, item, f"mounts[{i}]")
        path = entry.get("path", str, "")
        if not path.startswith("/"):
            entry.error("path", f"must be an absolute path, got {path!r}")
        mounts.append(
            MountExpect(
                path=path,
                mount=entry.get("mount", bool, False),
                writable=entry.get("writable", bool, True),
                min_free_gib=float(entry.get("min_free_gib", (int, float), 0.0)),
            )
        )

    daemons = top.get("daemons", list, ["munged", "slurmd"])
    for i, name in enumerate(daemons):
        if not isinstance(name, str) or not name or "/" in name:
            top.error(f"daemons[{i}]", f"must be a process name, got {name!r}")

    return Expectations(
        gpus=gpus,
        critical_xids=tuple(xids),
        ib_ports=ib.get("ports", int, 0),
        ib_rate_gbps=ib.get("rate_gbps", int, 0),
        mounts=tuple(mounts),
        min_available_mib=mem.get("min_available_mib", int, 0),
        min_available_percent=percent,
        daemons=tuple(daemons),
        fabric_manager=top.get("fabric_manager", bool, False),
        source=source,
    )


def load(path: str | Path) -> Expectations:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExpectationError(
            f"{source}: not found (the aihpc role writes it on compute nodes; "
            "--expect names another file)"
        ) from None
    except OSError as exc:
        raise ExpectationError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExpectationError(
            f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    return parse(data, source)
