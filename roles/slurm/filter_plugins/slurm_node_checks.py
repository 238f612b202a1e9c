"""Node headroom, hardware and cluster-consistency checks of the slurm role.

Each filter returns the values to render or a list of error messages (empty
when all is well), so the tasks can fail with every figure at once, and the
unit tests can call them directly (tests/unit/roles/test_slurm_node_checks.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

# A GPU node keeps this much for the OS, slurmd, the GPU daemons (persistenced,
# fabric manager, DCGM) and the page cache of the NFS client, when the
# inventory says `auto`: 2 cores per socket, 3% of RealMemory within
# [4 GiB, 64 GiB]. CPU-only nodes reserve nothing unless told.
_CORES_PER_SOCKET_RESERVED = 2
_MEM_RESERVED_PERCENT = 3
_MEM_RESERVED_MIN_MIB = 4096
_MEM_RESERVED_MAX_MIB = 65536


def _is_gpu_node(spec: Mapping[str, Any]) -> bool:
    return int((spec.get("gpus") or {}).get("count", 0) or 0) > 0


def _reserve_value(value: Any, auto: int, host: str, name: str) -> int:
    if value is None or str(value).lower() == "auto":
        return auto
    if isinstance(value, bool) or not str(value).isdigit():
        raise AnsibleFilterError(
            f"host {host}: {name} must be auto or a whole number >= 0, not {value!r}"
        )
    return int(value)


def auto_core_spec(spec: Mapping[str, Any]) -> int:
    if not _is_gpu_node(spec):
        return 0
    reserve = _CORES_PER_SOCKET_RESERVED * int(spec["params"].get("Sockets", 1))
    cpus = int(spec["params"].get("CPUs", 0) or 0)
    # A small node (a test VM, a container) keeps at most a quarter of its CPUs back.
    return min(reserve, cpus // 4) if cpus else reserve


def auto_mem_spec(spec: Mapping[str, Any]) -> int:
    real = int(spec["params"].get("RealMemory", 0) or 0)
    if not _is_gpu_node(spec) or real <= 0:
        return 0
    share = real * _MEM_RESERVED_PERCENT // 100
    # The floor never takes more than a quarter of a small node's memory.
    return min(max(share, _MEM_RESERVED_MIN_MIB), _MEM_RESERVED_MAX_MIB, real // 4)


def slurm_node_reserve(
    specs: Iterable[Mapping[str, Any]],
    hostvars: Mapping[str, Any],
    core_default: Any = "auto",
    mem_default: Any = "auto",
) -> list[dict[str, Any]]:
    """The node specs with CoreSpecCount and MemSpecLimit in their params.

    slurm_node_core_spec_count / slurm_node_mem_spec_limit of the host (its
    inventory) win over the role's defaults; a value already in
    slurm_node_params wins over both; 0 writes nothing.
    """
    out = []
    for spec in specs:
        host = str(spec["name"])
        hv = hostvars[host]
        params = dict(spec["params"])
        wanted = {
            "CoreSpecCount": _reserve_value(
                hv.get("slurm_node_core_spec_count", core_default),
                auto_core_spec(spec),
                host,
                "slurm_node_core_spec_count",
            ),
            "MemSpecLimit": _reserve_value(
                hv.get("slurm_node_mem_spec_limit", mem_default),
                auto_mem_spec(spec),
                host,
                "slurm_node_mem_spec_limit",
            ),
        }
        for key, value in wanted.items():
            if key not in params and value > 0:
                params[key] = value
        out.append({**spec, "params": params})
    return out


def _int_param(params: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = params.get(key, default)
    return int(value) if str(value).isdigit() else default


def slurm_headroom_errors(
    partitions: Iterable[Mapping[str, Any]],
    groups: Mapping[str, list[str]],
    specs: Iterable[Mapping[str, Any]],
) -> list[str]:
    """Partitions whose DefMemPerGPU/DefCpuPerGPU x GPUs eat the node's reserve.

    A job that asks only for GPUs gets these per GPU; on a full node they must
    fit in what Slurm can give jobs: RealMemory - MemSpecLimit and
    CPUs - CoreSpecCount x ThreadsPerCore.
    """
    by_name = {str(s["name"]): s for s in specs}
    errors = []
    for part in partitions:
        params = part.get("params") or {}
        hosts = [h for g in part.get("groups") or [] for h in groups.get(g, [])]
        hosts += list(part.get("hosts") or [])
        for host in dict.fromkeys(hosts):
            spec = by_name.get(host)
            if spec is None or not _is_gpu_node(spec):
                continue
            gpus = int(spec["gpus"]["count"])
            node = spec["params"]
            real = _int_param(node, "RealMemory")
            mem_spec = _int_param(node, "MemSpecLimit")
            per_gpu_mem = _int_param(params, "DefMemPerGPU")
            if per_gpu_mem and real and per_gpu_mem * gpus > real - mem_spec:
                errors.append(
                    f"partition {part['name']}: DefMemPerGPU {per_gpu_mem} x {gpus} GPUs = "
                    f"{per_gpu_mem * gpus} MiB > RealMemory {real} - MemSpecLimit {mem_spec} = "
                    f"{real - mem_spec} MiB on {host}; at most {(real - mem_spec) // gpus}"
                )
            cpus = _int_param(node, "CPUs")
            threads = _int_param(node, "ThreadsPerCore", 1) or 1
            core_spec = _int_param(node, "CoreSpecCount")
            per_gpu_cpu = _int_param(params, "DefCpuPerGPU")
            usable = cpus - core_spec * threads
            if per_gpu_cpu and cpus and per_gpu_cpu * gpus > usable:
                errors.append(
                    f"partition {part['name']}: DefCpuPerGPU {per_gpu_cpu} x {gpus} GPUs = "
                    f"{per_gpu_cpu * gpus} CPUs > CPUs {cpus} - CoreSpecCount {core_spec} x "
                    f"ThreadsPerCore {threads} = {usable} on {host}; at most {usable // gpus}"
                )
    # One message per partition and figure, not one per node of a node group.
    return list(dict.fromkeys(_fold_hosts(e) for e in errors))


def _fold_hosts(message: str) -> str:
    return re.sub(r" on \S+; at most", "; at most", message)


def parse_slurmd_c(output: str) -> dict[str, int]:
    """The hardware figures of `slurmd -C` (Slurm 24.11 prints, on one line,
    NodeName=gpu1 CPUs=2 Boards=1 SocketsPerBoard=2 CoresPerSocket=1
    ThreadsPerCore=1 RealMemory=23989, then UpTime=... on the next)."""
    for line in output.splitlines():
        if line.startswith("NodeName="):
            fields = dict(word.split("=", 1) for word in line.split() if "=" in word)
            figures = {k: int(v) for k, v in fields.items() if v.isdigit()}
            if "CPUs" in figures and "RealMemory" in figures:
                boards = figures.get("Boards", 1)
                figures["Sockets"] = boards * figures.get("SocketsPerBoard", 1)
                return figures
    raise AnsibleFilterError(
        f"slurmd -C printed no NodeName line with CPUs and RealMemory: {output!r}"
    )


# What the inventory may not claim above the hardware.
_HARDWARE_KEYS = ("CPUs", "Sockets", "CoresPerSocket", "ThreadsPerCore", "RealMemory")


def slurm_hardware_shortfall(output: str, params: Mapping[str, Any], host: str) -> list[str]:
    """Inventory figures (slurm_node_params) above what `slurmd -C` found."""
    found = parse_slurmd_c(output)
    errors = []
    for key in _HARDWARE_KEYS:
        if key not in params or key not in found:
            continue
        claimed = int(params[key])
        if claimed > found[key]:
            unit = " MiB" if key == "RealMemory" else ""
            errors.append(
                f"{host}: slurm_node_params.{key} is {claimed}{unit}, "
                f"slurmd -C finds {found[key]}{unit}"
            )
    return errors


def slurm_cluster_drift(
    hosts: Iterable[str], hostvars: Mapping[str, Any], names: Iterable[str]
) -> list[str]:
    """Variables that shape slurm.conf and differ between hosts.

    The controller's files are rendered once, with the first host's values; a
    host that sees another value (host_vars, a child group) would get a
    different cluster in a `--limit` run that starts with it.
    """
    hosts = list(hosts)
    errors = []
    for name in names:
        seen: dict[str, list[str]] = {}
        for host in hosts:
            value = hostvars[host].get(name)
            seen.setdefault(json.dumps(value, sort_keys=True, default=str), []).append(host)
        if len(seen) > 1:
            variants = "; ".join(
                f"{', '.join(h[:4])}{' ...' if len(h) > 4 else ''} ({len(h)} host(s)): {v[:80]}"
                for v, h in seen.items()
            )
            errors.append(f"{name} differs: {variants}")
    return errors


def _members(entry: Mapping[str, Any], groups: Mapping[str, list[str]], where: str) -> list[str]:
    hosts: list[str] = []
    for group in entry.get("groups") or []:
        if group not in groups:
            raise AnsibleFilterError(f"{where}: inventory group {group!r} does not exist")
        hosts += groups[group]
    hosts += list(entry.get("nodes") or [])
    return list(dict.fromkeys(hosts))


def slurm_topology_entries(
    plugin: str,
    switches: Iterable[Mapping[str, Any]],
    blocks: Iterable[Mapping[str, Any]],
    groups: Mapping[str, list[str]],
) -> list[dict[str, Any]]:
    """topology.conf entries: topology/tree switches (leaves with nodes,
    spines with switches) or topology/block blocks, each with its hosts
    resolved from inventory groups. templates/topology.conf.j2 writes them."""
    entries: list[dict[str, Any]] = []
    if plugin == "tree":
        names = {str(sw.get("name")) for sw in switches}
        for sw in switches:
            where = f"slurm_topology_switches[{sw.get('name')}]"
            nodes = _members(sw, groups, where)
            children = [str(s) for s in sw.get("switches") or []]
            unknown = [s for s in children if s not in names]
            if unknown:
                raise AnsibleFilterError(f"{where}: switches {unknown} are not defined")
            if not nodes and not children:
                raise AnsibleFilterError(f"{where}: give nodes, groups or switches")
            entries.append(
                {"kind": "Switch", "name": sw["name"], "nodes": nodes, "switches": children}
            )
    elif plugin == "block":
        for block in blocks:
            where = f"slurm_topology_blocks[{block.get('name')}]"
            nodes = _members(block, groups, where)
            if not nodes:
                raise AnsibleFilterError(f"{where}: give nodes or groups")
            entries.append({"kind": "Block", "name": block["name"], "nodes": nodes, "switches": []})
    else:
        raise AnsibleFilterError(
            f"slurm_topology_plugin must be tree, block or empty, not {plugin!r}"
        )
    return entries


# slurmdbd.conf names: Purge<Kind>After, and Archive<...> (irregular plurals).
_RETENTION_KINDS = {
    "Event": "ArchiveEvents",
    "Job": "ArchiveJobs",
    "Resv": "ArchiveResvs",
    "Step": "ArchiveSteps",
    "Suspend": "ArchiveSuspend",
    "TXN": "ArchiveTXN",
    "Usage": "ArchiveUsage",
}
_AGE_RE = re.compile(r"^\d+(hours?|days?|months?)$")


def slurm_dbd_retention(purge_after: Mapping[str, Any], archive: bool) -> dict[str, str]:
    """Purge<Kind>After (and Archive<Kind>=yes) from {Kind: age}."""
    out: dict[str, str] = {}
    for kind, age in purge_after.items():
        if kind not in _RETENTION_KINDS:
            raise AnsibleFilterError(
                f"slurm_dbd_purge_after.{kind}: unknown record kind; "
                f"known: {', '.join(_RETENTION_KINDS)}"
            )
        if not _AGE_RE.match(str(age)):
            raise AnsibleFilterError(
                f"slurm_dbd_purge_after.{kind}: {age!r} must be a number with hours, days or "
                "months (e.g. 12month)"
            )
        out[f"Purge{kind}After"] = str(age)
        if archive:
            out[_RETENTION_KINDS[kind]] = "yes"
    return out


def slurm_buffer_pool(memtotal_mb: Any, percent: Any, minimum_mb: int = 1024) -> str:
    """innodb_buffer_pool_size from the host's memory: `percent` of it, at
    least 1 GiB, in whole MiB (what MariaDB accepts as `NM`)."""
    total = int(memtotal_mb or 0)
    pct = int(percent)
    if not 1 <= pct <= 80:
        raise AnsibleFilterError(
            f"slurm_mariadb_buffer_pool_percent must be 1..80, not {percent!r}"
        )
    return f"{max(total * pct // 100, minimum_mb)}M"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "slurm_node_reserve": slurm_node_reserve,
            "slurm_headroom_errors": slurm_headroom_errors,
            "slurm_hardware_shortfall": slurm_hardware_shortfall,
            "slurm_cluster_drift": slurm_cluster_drift,
            "slurm_topology_entries": slurm_topology_entries,
            "slurm_buffer_pool": slurm_buffer_pool,
            "slurm_dbd_retention": slurm_dbd_retention,
        }
