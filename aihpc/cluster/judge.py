"""The one judge: measurements.json (from playbooks/validate.yml) -> the report.

The playbook runs the tools on the nodes and keeps their raw output, as
Ansible registered it ({"rc", "stdout", "stderr"} or {"skipped": true}; a
loop's {"results": [... "item" ...]}). This module reads figures out of
that output (aihpc.cluster.measure), derives the expectations from the
inventory facts the playbook recorded beside them (aihpc.cluster.expected)
and decides pass, fail or n/a. `python -m aihpc.cluster.judge RUN_DIR` is
what the playbook's last task runs; `aihpc cluster validate` calls the
same `judge()`.

measurements.json, schema 1 (keys the playbook writes):

    cluster, fraction, compute: [node], storage_expect_mbps: {name: MB/s}
    nodes: <scontrol show nodes --json, registered on the controller>
    two_node: <srun -N2 hostname>
    nccl: {binary, reason, runs: <loop over {scope, nodes, ranks}>}
    hosts: {name: {hardware: {gpu_type, gpus, pcie_cards, nics, nic_gbits},
                   fingerprint, munge: {peer, result}, gpu_job, gpu_isolation,
                   storage: {write, read: <loops over {name, path}>},
                   ib: {rates, peer, client: <loop over hca>}}}
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeGuard

from aihpc.cluster import expected, measure
from aihpc.cluster.report import Check, Report, failed, not_applicable, passed, verdict
from aihpc.errors import ClusterError
from aihpc.slurm.nodes import parse_nodes

SCHEMA = 1
MEASUREMENTS = "measurements.json"
REPORT_JSON = "report.json"
REPORT_TABLE = "report.txt"
# Fingerprint keys compared across nodes: a mixed fleet is a finding.
SAME_EVERYWHERE = ("slurm", "driver", "cuda", "nccl", "ofed")
SAME_ON_GPU_NODES = frozenset({"driver", "cuda", "nccl"})
ABSENT = "ABSENT"  # printed by the storage tasks for a directory this node lacks

Reg = dict[str, Any]


# -- registered results ------------------------------------------------------
def _ran(reg: Any) -> TypeGuard[Reg]:
    return isinstance(reg, dict) and not reg.get("skipped") and "rc" in reg


def _rc(reg: Reg) -> int:
    rc = reg.get("rc")
    return rc if isinstance(rc, int) else -1


def _text(reg: Reg, key: str = "stdout") -> str:
    value = reg.get(key, "")
    return value if isinstance(value, str) else ""


def _why(reg: Reg) -> str:
    """A short reason from a failed command: its last stderr line or Ansible's msg."""
    lines = [x for x in (_text(reg, "stderr") or _text(reg)).splitlines() if x.strip()]
    detail = lines[-1].strip() if lines else str(reg.get("msg", "")).strip()
    return f"rc={_rc(reg)}" + (f": {detail[:160]}" if detail else "")


def _items(loop: Any) -> Iterator[tuple[Any, Reg]]:
    if isinstance(loop, dict):
        for reg in loop.get("results", []) or []:
            if isinstance(reg, dict):
                yield reg.get("item"), reg


def _hardware(name: str, data: dict[str, Any]) -> expected.NodeHardware:
    hw = data.get("hardware", {}) or {}
    return expected.NodeHardware(
        name=name,
        gpu_type=str(hw.get("gpu_type", "") or ""),
        gpus=int(hw.get("gpus", 0) or 0),
        pcie_cards=bool(hw.get("pcie_cards", False)),
        nics=int(hw.get("nics", 0) or 0),
        nic_gbits=float(hw.get("nic_gbits", 0) or 0),
    )


# -- checks --------------------------------------------------------------------
def fingerprint(
    hosts: dict[str, Any], gpu_nodes: set[str]
) -> tuple[dict[str, dict[str, str]], list[Check]]:
    prints: dict[str, dict[str, str]] = {}
    checks: list[Check] = []
    for name, data in sorted(hosts.items()):
        reg = data.get("fingerprint")
        prints[name] = measure.key_values(_text(reg)) if _ran(reg) else {}
        if not _ran(reg) or _rc(reg) != 0:
            checks.append(
                failed("fingerprint", name, basis="could not read versions: " + _why(reg or {}))
            )
        smi_error = prints[name].get("nvidia_smi_error")
        if name in gpu_nodes and smi_error:
            basis = smi_error
            if "mismatch" in smi_error.lower():
                basis += " (the loaded kernel module is older than the userspace: reboot the node)"
            checks.append(
                failed("gpu driver", name, "nvidia-smi failed", "nvidia-smi works", basis)
            )
    for key in SAME_EVERYWHERE:
        scope = sorted(gpu_nodes) if key in SAME_ON_GPU_NODES else sorted(prints)
        values = {n: prints.get(n, {}).get(key) for n in scope}
        seen = {v for v in values.values() if v}
        if not seen:
            checks.append(not_applicable(f"same {key}", "all", f"{key} not readable on any node"))
            continue
        missing = sorted(n for n, v in values.items() if not v)
        measured = (
            seen.pop()
            if len(seen) == 1 and not missing
            else ", ".join(f"{n}={v or '-'}" for n, v in sorted(values.items()))
        )
        ok = len({v for v in values.values() if v}) == 1 and not missing
        basis = "one version on every node" if ok else "versions differ or are missing"
        checks.append(verdict(ok, f"same {key}", "all", measured, "identical", basis))
    return prints, checks


def node_states(nodes_reg: Any, compute: list[str]) -> list[Check]:
    if not _ran(nodes_reg) or _rc(nodes_reg) != 0:
        return [
            failed("node idle", n, basis="scontrol show nodes: " + _why(nodes_reg or {}))
            for n in compute
        ]
    try:
        found = {n.name: n for n in parse_nodes(json.loads(_text(nodes_reg)))}
    except (ValueError, ClusterError) as exc:  # garbage or no node list: one finding
        return [failed("node idle", n, basis=f"unreadable scontrol JSON: {exc}") for n in compute]
    checks = []
    for name in compute:
        node = found.get(name)
        if node is None:
            checks.append(
                failed(
                    "node idle", name, "not in Slurm", "idle", "inventory node unknown to slurmctld"
                )
            )
            continue
        state = "+".join((node.state, *node.flags)).lower()
        ok = node.state == "IDLE" and node.is_available
        basis = "scontrol show nodes" + (f"; reason: {node.reason}" if node.reason else "")
        checks.append(verdict(ok, "node idle", name, state, "idle", basis))
    return checks


def munge(hosts: dict[str, Any]) -> list[Check]:
    checks = []
    for name, data in sorted(hosts.items()):
        entry = data.get("munge") or {}
        reg, peer = entry.get("result"), entry.get("peer", "?")
        if not _ran(reg):
            checks.append(not_applicable("munge", name, "no peer to exchange a credential with"))
            continue
        status = measure.unmunge_status(_text(reg))
        ok = _rc(reg) == 0 and status is not None and status[1] == 0
        measured = f"{status[0]} ({status[1]})" if status else _why(reg)
        basis = f"unmunge on {name} of a credential made on {peer}"
        checks.append(verdict(ok, "munge", name, measured, "Success (0)", basis))
    return checks


def gpu_jobs(hosts: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    for name, data in sorted(hosts.items()):
        hw = _hardware(name, data)
        if hw.gpus <= 0:
            continue
        vendor = str((data.get("hardware") or {}).get("gpu_vendor", "") or "nvidia")
        if vendor != "nvidia":
            reason = f"the device check reads /dev/nvidia* only; this node's GPUs are {vendor}"
            checks += [
                not_applicable("gpu job", name, reason),
                not_applicable("gpu isolation", name, reason),
            ]
            continue
        checks.append(_device_check("gpu job", name, data.get("gpu_job"), hw.gpus, hw.gpus))
        if hw.gpus > 1:
            checks.append(
                _device_check("gpu isolation", name, data.get("gpu_isolation"), 1, hw.gpus)
            )
        else:
            checks.append(not_applicable("gpu isolation", name, "one GPU: nothing to isolate from"))
    return checks


def _device_check(check: str, node: str, reg: Any, want: int, total: int) -> Check:
    request = f"srun -w {node} --gres=gpu:{want}"
    if not _ran(reg):
        return not_applicable(check, node, "job not run (earlier step failed or skipped)")
    if _rc(reg) != 0:
        return failed(check, node, _why(reg), f"{want} of {total}", request)
    probe = measure.device_probe(_text(reg))
    allowed, denied = probe.allowed, probe.denied
    measured = f"CVD={','.join(probe.visible) or '-'} open={len(allowed)} denied={len(denied)}"
    ok = (
        len(probe.visible) == want
        and len(allowed) == want
        and len(allowed) + len(denied) == total
        and (probe.smi_gpus is None or probe.smi_gpus == want)
    )
    if probe.smi_gpus is not None:
        measured += f" nvidia-smi={probe.smi_gpus}"
    basis = f"{request}: own devices open (ENXIO without a driver), the other {total - want} EPERM"
    return verdict(ok, check, node, measured, f"{want} of {total}", basis)


def two_node(reg: Any, compute: list[str]) -> list[Check]:
    if len(compute) < 2:
        return [not_applicable("2-node job", "all", "fewer than two compute nodes")]
    if not _ran(reg):
        return [not_applicable("2-node job", "all", "job not run (earlier step failed or skipped)")]
    hosts = sorted({line.strip() for line in _text(reg).splitlines() if line.strip()})
    ok = _rc(reg) == 0 and len(hosts) == 2
    measured = ",".join(hosts) if _rc(reg) == 0 else _why(reg)
    return [
        verdict(
            ok,
            "2-node job",
            "all",
            measured,
            "2 distinct hosts",
            "srun -N2 --ntasks-per-node=1 hostname",
        )
    ]


def nccl(section: dict[str, Any], hosts: dict[str, Any], fraction: float) -> list[Check]:
    reason = str(section.get("reason", "") or "")
    runs = list(_items(section.get("runs")))
    if reason or not runs:
        return [not_applicable("nccl all_reduce", "all", reason or "no nccl-tests run")]
    checks = []
    for spec, reg in runs:
        spec = spec or {}
        nodes = [str(n) for n in spec.get("nodes", [])]
        scope = str(spec.get("scope", "?"))
        label = f"nccl all_reduce ({scope})"
        where = ",".join(nodes)
        hardware = [_hardware(n, hosts.get(n, {})) for n in nodes]
        if len(nodes) == 1:
            expect = expected.intra_node(hardware[0], fraction)
        else:
            expect = expected.inter_node(hardware, fraction)
        if not _ran(reg):
            checks.append(not_applicable(label, where, "not run"))
            continue
        result = measure.all_reduce(_text(reg))
        if _rc(reg) != 0 or result is None:
            checks.append(failed(label, where, _why(reg), expect.expected_text(), expect.basis))
            continue
        measured = f"busbw {result.busbw:.1f} GB/s @ {result.size} B"
        basis = "busbw = algbw x 2(n-1)/n; " + expect.basis
        if scope != "node" and len(nodes) == 2:
            basis += "; NCCL_ALGO=RING"
        if result.wrong:
            checks.append(
                failed(
                    label,
                    where,
                    measured + f", {result.wrong} wrong",
                    expect.expected_text(),
                    basis,
                )
            )
        elif expect.bound is None:
            checks.append(
                not_applicable(label, where, f"measured {measured}, no expectation: {expect.basis}")
            )
        else:
            checks.append(
                verdict(
                    expect.meets(result.busbw),
                    label,
                    where,
                    measured,
                    expect.expected_text(),
                    basis,
                )
            )
    return checks


def rdma(hosts: dict[str, Any], fraction: float) -> list[Check]:
    checks: list[Check] = []
    for name, data in sorted(hosts.items()):
        ib = data.get("ib") or {}
        if ib.get("reason"):
            continue
        hw = _hardware(name, data)
        rates = {
            hca: measure.link_rate_gbits(rate)
            for hca, _, rate in (
                line.partition(" ") for line in _text(ib.get("rates") or {}).splitlines()
            )
        }
        for hca, reg in _items(ib.get("client")):
            label, where = "ib_write_bw", f"{ib.get('peer', '?')}->{name} {hca}"
            if hw.nic_gbits > 0:
                expect = expected.rdma_link(hw.nic_gbits, "inventory", fraction)
            else:
                expect = expected.rdma_link(
                    rates.get(str(hca)) or 0.0, "port rate from sysfs", fraction
                )
            if not _ran(reg):
                checks.append(not_applicable(label, where, "not run"))
                continue
            bw = measure.perftest_bw(_text(reg))
            if _rc(reg) != 0 or bw is None:
                checks.append(failed(label, where, _why(reg), expect.expected_text(), expect.basis))
            else:
                checks.append(
                    verdict(
                        expect.meets(bw),
                        label,
                        where,
                        f"{bw:.1f} Gb/s",
                        expect.expected_text(),
                        expect.basis,
                    )
                )
    if not checks:
        reasons = sorted(
            {str((d.get("ib") or {}).get("reason", "")) for d in hosts.values()} - {""}
        )
        checks.append(not_applicable("ib_write_bw", "all", "; ".join(reasons) or "no IB device"))
    return checks


def storage(hosts: dict[str, Any], expect_mbps: dict[str, float]) -> list[Check]:
    checks: list[Check] = []
    for name, data in sorted(hosts.items()):
        section = data.get("storage") or {}
        reads = {str((item or {}).get("key")): reg for item, reg in _items(section.get("read"))}
        for item, write in _items(section.get("write")):
            # The playbook loops over dict2items of {name: path}.
            item = item or {}
            dir_name, path = str(item.get("key")), str(item.get("value"))
            for op, reg in (("write", write), ("read", reads.get(dir_name))):
                checks.append(
                    _storage_check(
                        f"{dir_name} {op}", name, path, op, reg, expect_mbps.get(dir_name)
                    )
                )
    if not checks:
        checks.append(
            not_applicable("storage", "all", "no shared or scratch directory in the inventory")
        )
    return checks


def _storage_check(
    label: str, node: str, path: str, op: str, reg: Any, want: float | None
) -> Check:
    if not _ran(reg) or (_rc(reg) == 0 and ABSENT in _text(reg).split()):
        return not_applicable(label, node, f"{path} does not exist on {node}")
    rate = measure.dd_rate(_text(reg, "stderr"))
    method = "dd conv=fdatasync" if op == "write" else "dd iflag=direct"
    if op == "read" and "CACHED" in _text(reg):
        method = "dd, page cache (O_DIRECT refused)"
    if _rc(reg) != 0 or rate is None:
        return failed(label, node, _why(reg), "-", f"{method} on {path}")
    measured = f"{rate:.0f} MB/s"
    if want is None:
        return passed(
            label, node, measured, "-", f"{method} on {path}; no expected figure in inventory"
        )
    return verdict(
        rate >= want, label, node, measured, f">= {want:g} MB/s", f"{method} on {path}; inventory"
    )


# -- the whole run ---------------------------------------------------------------
def judge(data: dict[str, Any]) -> Report:
    if data.get("schema") != SCHEMA:
        raise ValueError(f"measurements schema {data.get('schema')!r}, expected {SCHEMA}")
    hosts: dict[str, Any] = data.get("hosts", {}) or {}
    compute = [str(n) for n in data.get("compute", [])]
    fraction = float(data.get("fraction", expected.DEFAULT_FRACTION))
    gpu_nodes = {n for n, d in hosts.items() if _hardware(n, d).gpus > 0}
    report = Report(cluster=str(data.get("cluster", "")))
    prints, checks = fingerprint(hosts, gpu_nodes)
    report.fingerprint = prints
    report.add(checks)
    report.add(node_states(data.get("nodes"), compute))
    report.add(munge(hosts))
    report.add(gpu_jobs(hosts))
    report.add(two_node(data.get("two_node"), compute))
    report.add(nccl(data.get("nccl") or {}, hosts, fraction))
    report.add(rdma({n: d for n, d in hosts.items() if n in compute}, fraction))
    expect = {str(k): float(v) for k, v in (data.get("storage_expect_mbps") or {}).items()}
    report.add(storage({n: d for n, d in hosts.items() if n in compute}, expect))
    return report


def judge_run_dir(run_dir: Path) -> Report:
    """Judge RUN_DIR/measurements.json; write report.json and report.txt beside it."""
    source = run_dir / MEASUREMENTS
    try:
        data = json.loads(source.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from None
    report = judge(data)
    (run_dir / REPORT_JSON).write_text(report.dumps())
    (run_dir / REPORT_TABLE).write_text(report.fingerprint_table() + "\n" + report.table())
    return report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m aihpc.cluster.judge RUN_DIR", file=sys.stderr)
        return 2
    try:
        report = judge_run_dir(Path(args[0]))
    except ValueError as exc:
        print(f"aihpc: error: {exc}", file=sys.stderr)
        return 2
    print(report.fingerprint_table())
    print(report.table(), end="")
    print(f"report: {Path(args[0]) / REPORT_JSON}")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
