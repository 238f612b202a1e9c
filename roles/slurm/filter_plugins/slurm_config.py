"""Filters that turn the inventory into slurm.conf, gres.conf and the profile.

Kept in Python (not Jinja loops) because hostlist compression and grouping
identical nodes are easier to get right, and to unit-test, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_NAME_RE = re.compile(r"^(.*?)(\d+)$")

# GPU device files by vendor when the inventory does not list them.
_DEVICE_PATTERNS = {
    "nvidia": ("/dev/nvidia", 0),
    "amd": ("/dev/dri/renderD", 128),
}


def _render_number(number: int, width: int) -> str:
    return f"{number:0{width}d}" if width else str(number)


def _render_range(start: int, end: int, width: int) -> str:
    if start == end:
        return _render_number(start, width)
    return f"{_render_number(start, width)}-{_render_number(end, width)}"


def hostlist_compress(names: Iterable[str]) -> str:
    """['gpu01', 'gpu02', 'gpu04', 'login'] -> 'gpu[01-02,04],login'.

    Names group by prefix (everything before the trailing digits) and by digit
    width, the way Slurm expands them back: in "lo-hi" Slurm pads every number
    to the width of "lo". So gpu01..gpu16 is one group, gpu[01-16] (the
    unpadded "10".."16" render the same at width 2), gpu1..gpu10 is gpu[1-10],
    and gpu1 next to gpu01 stay two different hosts.
    """
    parsed: list[tuple[str, str] | str] = []
    padded_widths: dict[str, set[int]] = {}
    for name in dict.fromkeys(names):  # unique, order kept
        match = _NAME_RE.match(name)
        if not match:
            parsed.append(name)
            continue
        prefix, digits = match.groups()
        parsed.append((prefix, digits))
        if digits.startswith("0") and len(digits) > 1:
            padded_widths.setdefault(prefix, set()).add(len(digits))

    groups: dict[tuple[str, int], list[int]] = {}
    order: list[tuple[str, int] | str] = []
    for item in parsed:
        if isinstance(item, str):
            order.append(item)
            continue
        prefix, digits = item
        if digits.startswith("0") and len(digits) > 1:
            width = len(digits)
        else:
            # An unpadded number renders unchanged at any width up to its own
            # length, so it joins the widest such padded group (h100-10 joins
            # h100-01..09), else the unpadded group.
            fits = [w for w in padded_widths.get(prefix, ()) if w <= len(digits)]
            width = max(fits, default=0)
        key = (prefix, width)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(int(digits))

    parts: list[str] = []
    for entry in order:
        if isinstance(entry, str):
            parts.append(entry)
            continue
        prefix, width = entry
        numbers = sorted(set(groups[entry]))
        if len(numbers) == 1:
            parts.append(f"{prefix}{_render_number(numbers[0], width)}")
            continue
        ranges = []
        start = prev = numbers[0]
        for n in numbers[1:]:
            if n == prev + 1:
                prev = n
                continue
            ranges.append(_render_range(start, prev, width))
            start = prev = n
        ranges.append(_render_range(start, prev, width))
        parts.append(f"{prefix}[{','.join(ranges)}]")
    return ",".join(parts)


def _gpu_files(gpus: Mapping[str, Any]) -> str:
    if gpus.get("files"):
        return str(gpus["files"])
    vendor = str(gpus.get("vendor", "nvidia"))
    if vendor not in _DEVICE_PATTERNS:
        raise ValueError(f"slurm_node_gpus.vendor must be nvidia or amd, not {vendor!r}")
    base, first = _DEVICE_PATTERNS[vendor]
    count = int(gpus["count"])
    last = first + count - 1
    return f"{base}{first}" if count == 1 else f"{base}[{first}-{last}]"


def _autodetect(gpus: Mapping[str, Any]) -> str:
    # YAML 1.1 reads a bare `off` as False: accept both spellings.
    value = gpus.get("autodetect", "off")
    if value is False or value is None:
        return "off"
    return str(value)


def slurm_node_specs(hosts: Iterable[str], hostvars: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One spec per compute host, from its inventory variables only.

    Facts are not used: `--limit` runs must render the same slurm.conf as
    full runs, and facts of hosts outside the limit may be missing.
    """
    specs = []
    for host in hosts:
        hv = hostvars[host]
        params = dict(hv.get("slurm_node_params") or {})
        if not params.get("CPUs") and not params.get("CoresPerSocket"):
            raise ValueError(
                f"host {host}: slurm_node_params needs at least CPUs (and RealMemory); "
                "set it in the group_vars of the node group"
            )
        gpus = dict(hv.get("slurm_node_gpus") or {})
        features = list(hv.get("slurm_node_features") or [])
        specs.append(
            {
                "name": host,
                "params": params,
                "gpus": gpus,
                "features": features,
            }
        )
    return specs


def _gres_string(gpus: Mapping[str, Any]) -> str:
    count = int(gpus.get("count", 0))
    if count <= 0:
        return ""
    gpu_type = gpus.get("type")
    return f"gpu:{gpu_type}:{count}" if gpu_type else f"gpu:{count}"


def _node_key(spec: Mapping[str, Any]) -> tuple[Any, ...]:
    gpus = spec["gpus"]
    return (
        tuple(sorted((k, str(v)) for k, v in spec["params"].items())),
        _gres_string(gpus),
        _autodetect(gpus) if gpus else "",
        _gpu_files(gpus) if gpus and int(gpus.get("count", 0)) > 0 else "",
        tuple(spec["features"]),
    )


def _group_identical(specs: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    grouped: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for spec in specs:
        grouped.setdefault(_node_key(spec), []).append(spec)
    return list(grouped.values())


def slurm_node_lines(specs: Iterable[Mapping[str, Any]]) -> list[str]:
    """NodeName lines, identical nodes folded into one hostlist."""
    lines = []
    for group in _group_identical(specs):
        first = group[0]
        names = hostlist_compress(s["name"] for s in group)
        words = [f"NodeName={names}"]
        words += [f"{k}={v}" for k, v in first["params"].items()]
        gres = _gres_string(first["gpus"])
        if gres:
            words.append(f"Gres={gres}")
        if first["features"]:
            words.append("Features=" + ",".join(first["features"]))
        words.append("State=UNKNOWN")
        lines.append(" ".join(words))
    return lines


def slurm_gres_lines(specs: Iterable[Mapping[str, Any]]) -> list[str]:
    """gres.conf lines: AutoDetect=nvml|rsmi, or explicit typed device files."""
    lines = []
    for group in _group_identical(specs):
        gpus = group[0]["gpus"]
        if not gpus or int(gpus.get("count", 0)) <= 0:
            continue
        names = hostlist_compress(s["name"] for s in group)
        mode = _autodetect(gpus)
        if mode in ("nvml", "rsmi", "nrt", "oneapi"):
            # Slurm matches the detected model ("h100_80gb_hbm3") against the
            # type in slurm.conf's Gres=gpu:h100:8 by substring, so the
            # inventory's short type name is enough.
            lines.append(f"NodeName={names} AutoDetect={mode}")
        elif mode == "off":
            line = f"NodeName={names} AutoDetect=off Name=gpu"
            if gpus.get("type"):
                line += f" Type={gpus['type']}"
            line += f" File={_gpu_files(gpus)}"
            lines.append(line)
        else:
            raise ValueError(f"slurm_node_gpus.autodetect must be off, nvml or rsmi, not {mode!r}")
    return lines


def _default_flags(partitions: list[Mapping[str, Any]]) -> list[bool]:
    """Which partitions are Default=YES.

    With none marked, the first one is: Slurm has no default partition then
    (sbatch without -p fails), while the cluster profile names the first.
    """
    flags = [bool(part.get("default")) for part in partitions]
    if flags and not any(flags):
        flags[0] = True
    return flags


def slurm_partition_lines(
    partitions: Iterable[Mapping[str, Any]], groups: Mapping[str, list[str]]
) -> list[str]:
    parts = list(partitions)
    lines = []
    for part, is_default in zip(parts, _default_flags(parts), strict=True):
        hosts = _partition_hosts(part, groups)
        words = [f"PartitionName={part['name']}", f"Nodes={hostlist_compress(hosts)}"]
        words.append("Default=" + ("YES" if is_default else "NO"))
        params = {"State": "UP", **dict(part.get("params") or {})}
        words += [f"{k}={v}" for k, v in params.items()]
        lines.append(" ".join(words))
    return lines


def _partition_hosts(part: Mapping[str, Any], groups: Mapping[str, list[str]]) -> list[str]:
    hosts: list[str] = []
    for group in part.get("groups") or []:
        if group not in groups:
            raise ValueError(f"partition {part['name']}: inventory group {group!r} does not exist")
        hosts += groups[group]
    hosts += list(part.get("hosts") or [])
    if not hosts:
        raise ValueError(f"partition {part['name']}: no hosts (give groups or hosts)")
    return list(dict.fromkeys(hosts))


def slurm_profile_partitions(
    partitions: Iterable[Mapping[str, Any]],
    groups: Mapping[str, list[str]],
    specs: Iterable[Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """The partition table of /etc/aihpc/cluster.yaml (see docs/cluster-profile.md)."""
    by_name = {s["name"]: s for s in specs}
    parts = list(partitions)
    out: dict[str, dict[str, Any]] = {}
    for part, is_default in zip(parts, _default_flags(parts), strict=True):
        hosts = [h for h in _partition_hosts(part, groups) if h in by_name]
        nodes = [by_name[h] for h in hosts]
        gpu_counts = [int(n["gpus"].get("count", 0)) for n in nodes] or [0]
        gpu_types = sorted({str(n["gpus"]["type"]) for n in nodes if n["gpus"].get("type")})
        cpus = [int(n["params"].get("CPUs", 0)) for n in nodes if n["params"].get("CPUs")]
        mems = [
            int(n["params"].get("RealMemory", 0)) for n in nodes if n["params"].get("RealMemory")
        ]
        out[str(part["name"])] = {
            "nodes": len(nodes),
            "gpus_per_node": max(gpu_counts),
            "gpu_types": gpu_types,
            "cpus_per_node": min(cpus) if cpus else 0,
            "mem_per_node_mb": min(mems) if mems else 0,
            "max_time": str((part.get("params") or {}).get("MaxTime", "UNLIMITED")),
            "default": is_default,
        }
    return out


def slurm_conf_lines(config: Mapping[str, Any], repeat_keys: Iterable[str] = ()) -> list[str]:
    """Key=Value lines from the merged config dict.

    None drops a key (how a user removes a default); lists join with commas,
    except keys Slurm wants repeated (SlurmctldHost), which get one line each.
    """
    repeat = set(repeat_keys)
    lines = []
    for key, value in config.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "YES" if value else "NO"
        if isinstance(value, list | tuple):
            if key in repeat:
                lines += [f"{key}={v}" for v in value]
                continue
            value = ",".join(str(v) for v in value)
        lines.append(f"{key}={value}")
    return lines


def slurm_stringify_values(mapping: Mapping[str, Any]) -> dict[str, str]:
    """The profile promises string values (they become `export` lines)."""
    return {str(k): str(v) for k, v in mapping.items()}


def slurm_accounting_tres(specs: Iterable[Mapping[str, Any]]) -> list[str]:
    """AccountingStorageTRES: gres/gpu and every typed gres/gpu:<type> of the nodes.

    With the typed ones, sacct and sreport report GPU-hours per model, and
    limits and budgets can name a model (GrpTRES=gres/gpu:h100=16).
    """
    types = [str(s["gpus"]["type"]) for s in specs if s["gpus"].get("type")]
    has_gpus = any(int(s["gpus"].get("count", 0)) > 0 for s in specs)
    if not has_gpus:
        return []
    return ["gres/gpu", *[f"gres/gpu:{t}" for t in dict.fromkeys(types)]]


def _price(prices: Mapping[str, Any], gpu_type: str, partition: str) -> int:
    if gpu_type not in prices:
        raise ValueError(
            f"partition {partition}: GPU type {gpu_type!r} has no price in slurm_gpu_prices "
            f"(billing units per GPU-hour); known: {', '.join(sorted(prices)) or 'none'}"
        )
    price = prices[gpu_type]
    # The billing TRES is a whole number in slurmdbd: a fractional weight
    # would be rounded away per job. Integers keep the arithmetic exact.
    if isinstance(price, bool) or not isinstance(price, int) or price < 0:
        raise ValueError(
            f"slurm_gpu_prices.{gpu_type}: {price!r} must be a whole number >= 0 "
            "(billing units per GPU-hour, e.g. 100 for an H100, 40 for an L40S)"
        )
    return price


def slurm_billed_partitions(
    partitions: Iterable[Mapping[str, Any]],
    groups: Mapping[str, list[str]],
    specs: Iterable[Mapping[str, Any]],
    prices: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The partitions with TRESBillingWeights from the per-GPU-type price table.

    One GPU-hour of a partition's GPU type bills its price: GRES/gpu=<price>
    when the partition has one GPU type (every GPU job carries gres/gpu,
    typed request or not), GRES/gpu:<type>=<price> per type when it mixes
    types. CPU and Mem weigh 0 unless the partition's `billing` sets them;
    with PriorityFlags=MAX_TRES the job's billing is the largest weighted
    TRES on a node, so a 2-GPU job bills 2 x price per hour. A partition
    that sets TRESBillingWeights in params keeps its own; with an empty
    table every GPU-hour bills 1.
    """
    by_name = {s["name"]: s for s in specs}
    out = []
    for part in partitions:
        part = dict(part)
        params = dict(part.get("params") or {})
        nodes = [by_name[h] for h in _partition_hosts(part, groups) if h in by_name]
        gpu_nodes = [n for n in nodes if int(n["gpus"].get("count", 0)) > 0]
        # CPU-only partitions keep Slurm's default billing (CPUs).
        if gpu_nodes and "TRESBillingWeights" not in params:
            types = sorted({str(n["gpus"]["type"]) for n in gpu_nodes if n["gpus"].get("type")})
            untyped = any(not n["gpus"].get("type") for n in gpu_nodes)
            weights: dict[str, Any] = {"CPU": 0, "Mem": 0}
            if not prices:
                weights["GRES/gpu"] = 1  # no price table: every GPU-hour bills 1
            elif untyped:
                raise ValueError(
                    f"partition {part['name']}: its GPUs have no type (slurm_node_gpus.type); "
                    "the price table slurm_gpu_prices is per GPU type"
                )
            elif len(types) == 1:
                weights["GRES/gpu"] = _price(prices, types[0], str(part["name"]))
            else:
                for gpu_type in types:
                    weights[f"GRES/gpu:{gpu_type}"] = _price(prices, gpu_type, str(part["name"]))
            weights.update(dict(part.get("billing") or {}))
            params["TRESBillingWeights"] = ",".join(f"{k}={v}" for k, v in weights.items())
        part["params"] = params
        out.append(part)
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "hostlist_compress": hostlist_compress,
            "slurm_node_specs": slurm_node_specs,
            "slurm_node_lines": slurm_node_lines,
            "slurm_gres_lines": slurm_gres_lines,
            "slurm_partition_lines": slurm_partition_lines,
            "slurm_profile_partitions": slurm_profile_partitions,
            "slurm_conf_lines": slurm_conf_lines,
            "slurm_stringify_values": slurm_stringify_values,
            "slurm_accounting_tres": slurm_accounting_tres,
            "slurm_billed_partitions": slurm_billed_partitions,
        }
