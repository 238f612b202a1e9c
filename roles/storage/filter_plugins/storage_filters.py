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


_UNSAFE_EXPORT_OPTIONS = ("async", "no_root_squash")


def storage_export_clients(
    export: Mapping[str, Any],
    default_options: Sequence[str],
    admin_hosts: Sequence[str],
) -> list[str]:
    """The client specs of one export line.

    `networks` get `options` (default: storage_nfs_export_options, sync and
    root_squash); each admin host (a single address or name, which exports(5)
    matches before any network) gets the same with no_root_squash. Raw
    `clients` entries are kept as written, but async and no_root_squash on
    them need `unsafe_options: true`: on /shared they risk checkpoints (async
    acknowledges writes the server has not stored) and let root on any
    client own every file (no_root_squash).
    """
    path = str(export.get("path"))
    options = [str(o) for o in (export.get("options") or default_options)]
    admins = [str(h) for h in (export.get("admin_hosts", admin_hosts) or [])]
    specs = []
    for host in admins:
        if "/" in host or "*" in host:
            raise ValueError(
                f"storage_nfs_exports[{path}]: admin host {host!r} must be one address or "
                "name, not a network or wildcard (no_root_squash for a network is what "
                "root_squash prevents)"
            )
        admin_options = [o for o in options if o not in ("root_squash", "all_squash")]
        specs.append(f"{host}({','.join([*admin_options, 'no_root_squash'])})")
    specs += [f"{net}({','.join(options)})" for net in export.get("networks") or []]
    raw = [str(c) for c in export.get("clients") or []]
    if not export.get("unsafe_options"):
        for client in raw + specs[len(admins) :]:
            inner = client.partition("(")[2].rstrip(")").split(",")
            bad = [o for o in _UNSAFE_EXPORT_OPTIONS if o in inner]
            if bad:
                raise ValueError(
                    f"storage_nfs_exports[{path}]: {client!r} uses {', '.join(bad)}; "
                    "name admin hosts in admin_hosts instead of no_root_squash, keep sync, "
                    "or set unsafe_options: true for data that can be regenerated"
                )
    specs += raw
    if not specs:
        raise ValueError(f"storage_nfs_exports[{path}]: give networks (or clients)")
    return specs


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "storage_device_path": storage_device_path,
            "storage_forced_devices": storage_forced_devices,
            "storage_nfs_options": storage_nfs_options,
            "storage_profile_dirs": storage_profile_dirs,
            "storage_export_clients": storage_export_clients,
        }
