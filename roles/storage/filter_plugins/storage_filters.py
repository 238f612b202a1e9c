"""Jinja2 filters of the storage role: device entries, NFS mount options, profile dirs."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def storage_device_path(entry: str | Mapping[str, Any]) -> str:
    """A device entry is a path or {path, force_format}."""
    if isinstance(entry, str):
        return entry
    if "path" not in entry:
        raise ValueError(f"storage device entry without path: {dict(entry)}")
    return str(entry["path"])


def storage_forced_devices(entries: Sequence[str | Mapping[str, Any]]) -> list[str]:
    """Paths of the entries marked force_format: true (the only ones that may be wiped)."""
    return [
        storage_device_path(e)
        for e in entries
        if not isinstance(e, str) and e.get("force_format") is True
    ]


def storage_nfs_options(
    mount: Mapping[str, Any],
    base: Sequence[str],
    version: str,
    nconnect: int,
    rdma: bool,
    rdma_port: int,
) -> str:
    """fstab options of one NFS mount: base + vers + proto (rdma or tcp) + nconnect.

    A mount's own keys (rdma, nconnect, options) win over the role's defaults;
    options given on the mount replace same-named ones from base.
    """
    use_rdma = bool(mount.get("rdma", rdma))
    conns = int(mount.get("nconnect", nconnect))
    opts: list[str] = [*base, f"vers={version}"]
    opts += ["proto=rdma", f"port={rdma_port}"] if use_rdma else ["proto=tcp"]
    if conns > 1:
        opts.append(f"nconnect={conns}")
    own = [str(o) for o in mount.get("options", [])]
    own_keys = {o.split("=", 1)[0] for o in own}
    merged = [o for o in opts if o.split("=", 1)[0] not in own_keys] + own
    return ",".join(dict.fromkeys(merged))


def storage_profile_dirs(
    mounts: Sequence[Mapping[str, Any]],
    scratch_path: str | None,
    overrides: Mapping[str, str],
) -> dict[str, str]:
    """shared_dirs for the cluster profile: {name: path}."""
    dirs: dict[str, str] = {}
    for m in mounts:
        path = str(m["path"])
        dirs[str(m.get("name") or posixpath.basename(path.rstrip("/")))] = path
    if scratch_path:
        dirs["scratch"] = scratch_path
    dirs.update({str(k): str(v) for k, v in overrides.items()})
    return dirs


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "storage_device_path": storage_device_path,
            "storage_forced_devices": storage_forced_devices,
            "storage_nfs_options": storage_nfs_options,
            "storage_profile_dirs": storage_profile_dirs,
        }
