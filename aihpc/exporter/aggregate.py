"""Counts the exporter publishes, from parsed nodes and jobs. Pure functions.

GPUs are counted from TRES and GRES, never from a job's request string:
a node's configured GPUs per type from its `gres`, allocated ones from its
`tres_used` (typed from `gres_used` when TRES carries no typed entries);
a job's from its allocated TRES (`gres/gpu=N`), which every way of asking
(`--gres`, typed GRES, `--gpus`, `--gpus-per-node`, `--gpus-per-task`) fills.

Free GPUs on a node that cannot take jobs (down, drained, draining, failing,
in maintenance, not responding) are "unavailable", not "idle".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from aihpc.slurm.jobs import JobInfo
from aihpc.slurm.nodes import NodeInfo
from aihpc.slurm.tres import gpus_by_type, gres_gpus, parse_tres, tres_gpus

GPU_STATES = ("allocated", "idle", "unavailable")
REASON_MAX = 100


def node_gpus_allocated(node: NodeInfo) -> dict[str, int]:
    """GPUs in use on a node, per type."""
    configured = list(gres_gpus(node.gres))
    tres = parse_tres(node.tres_used)
    used = gres_gpus(node.gres_used)
    if not any(key == "gres/gpu" or key.startswith("gres/gpu:") for key in tres):
        # No GPU entry in tres_used: an idle node (empty string), or a release
        # whose tres_used lacks GRES; gres_used carries the per-type counts.
        return used
    total, typed = tres_gpus(node.tres_used)
    if not typed and sum(used.values()) == total:
        return used
    return gpus_by_type(total, typed, configured)


@dataclass
class NodeCounts:
    nodes: Counter[str] = field(default_factory=Counter)
    partition_nodes: Counter[tuple[str, str]] = field(default_factory=Counter)
    gpus_total: Counter[str] = field(default_factory=Counter)
    gpus: Counter[tuple[str, str]] = field(default_factory=Counter)
    partition_gpus_total: Counter[tuple[str, str]] = field(default_factory=Counter)
    partition_gpus: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # (node, state, reason, set by) -> epoch seconds the reason was set (0: unknown)
    reasons: dict[tuple[str, str, str, str], int] = field(default_factory=dict)


def count_nodes(nodes: Iterable[NodeInfo]) -> NodeCounts:
    out = NodeCounts()
    for node in nodes:
        state = node.state_label
        out.nodes[state] += 1
        for partition in node.partitions:
            out.partition_nodes[partition, state] += 1
        if node.reason:
            out.reasons[node.name, state, node.reason, node.reason_user] = node.reason_time or 0
        configured = gres_gpus(node.gres)
        if not configured:
            continue
        allocated = node_gpus_allocated(node)
        free_state = "idle" if node.is_available else "unavailable"
        for gpu_type, total in configured.items():
            alloc = min(allocated.get(gpu_type, 0), total)
            per_state = {"allocated": alloc, free_state: total - alloc}
            out.gpus_total[gpu_type] += total
            for partition in node.partitions:
                out.partition_gpus_total[partition, gpu_type] += total
            for gpu_state in GPU_STATES:  # zeros too, so "allocated" reads 0, not absent
                value = per_state.get(gpu_state, 0)
                out.gpus[gpu_type, gpu_state] += value
                for partition in node.partitions:
                    out.partition_gpus[partition, gpu_type, gpu_state] += value
    return out


def reason_label(reason: str) -> str:
    """A pending reason as a bounded label: node lists after ':' are dropped.

    squeue -O prints a description when Slurm has one ("Nodes required for
    job are DOWN, ..."), and "ReqNodeNotAvail, UnavailableNodes:gpu[1-9]"
    would make one series per node set.
    """
    text = reason.split(":", 1)[0].strip()
    return text[:REASON_MAX] or "None"


@dataclass
class JobCounts:
    jobs: Counter[tuple[str, str]] = field(default_factory=Counter)
    pending: Counter[tuple[str, str]] = field(default_factory=Counter)
    account_running: Counter[str] = field(default_factory=Counter)
    account_gpus: Counter[str] = field(default_factory=Counter)
    user_running: Counter[str] = field(default_factory=Counter)
    user_gpus: Counter[str] = field(default_factory=Counter)


def count_jobs(jobs: Iterable[JobInfo]) -> JobCounts:
    out = JobCounts()
    for job in jobs:
        out.jobs[job.partition, job.state] += 1
        if job.state == "PENDING":
            out.pending[job.partition, reason_label(job.reason)] += 1
        elif job.state == "RUNNING":
            gpus = tres_gpus(job.tres_alloc)[0] if "gres/gpu" in job.tres_alloc else 0
            out.account_running[job.account] += 1
            out.user_running[job.user] += 1
            out.account_gpus[job.account] += gpus
            out.user_gpus[job.user] += gpus
    return out
