"""`aihpc stats JOBID`: what seff reports, with GPUs, for running jobs and sweeps too.

One `sacct -j JOBID` call (all array tasks and their steps), read through
aihpc.slurm.sacct_records; GPU utilisation from Prometheus when it has the
dcgm-exporter series, else a "no GPU metrics" line saying why.

Figures, per allocation (a job or one array task):
- GPUs: the allocation's `gres/gpu` TRES; GPU-hours = GPUs x elapsed.
- CPU efficiency: TotalCPU (user + system time of all steps) over
  elapsed x allocated CPUs. Slurm updates TotalCPU when a step ends, so a
  running job's figure covers its finished steps only (said in a note).
- Max RSS: the largest resident set of any task of any step, against the
  memory allocated per node (`mem` TRES / node count).
- Queue wait: start - submit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aihpc.errors import JobNotFoundError
from aihpc.report import gpu_metrics
from aihpc.slurm.hostlist import expand_hostlist
from aihpc.slurm.sacct_records import SacctRecord, parse_size
from aihpc.slurm.tres import parse_tres, tres_gpus


@dataclass
class StepStats:
    step: str
    name: str
    state: str
    exit_code: int | None
    signal: int | None
    elapsed_s: int
    max_rss_bytes: int | None


@dataclass
class AllocationStats:
    job_id: str
    raw_id: str
    name: str
    user: str
    account: str
    partition: str
    state: str
    exit_code: int | None
    signal: int | None
    nodes: str
    submit: int | None
    start: int | None
    end: int | None
    elapsed_s: int
    ncpus: int
    gpus: int
    gpu_types: dict[str, int]
    total_cpu_s: float
    mem_per_node_bytes: int | None
    max_rss_bytes: int | None = None
    steps: list[StepStats] = field(default_factory=list)
    gpu_usage: list[gpu_metrics.GpuUsage] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state in ("RUNNING", "COMPLETING", "SUSPENDED")

    @property
    def queue_wait_s(self) -> int | None:
        if self.submit is None:
            return None
        if self.start is None:
            return int(time.time()) - self.submit if self.state == "PENDING" else None
        return max(0, self.start - self.submit)

    @property
    def gpu_hours(self) -> float:
        return round(self.gpus * self.elapsed_s / 3600, 4)

    @property
    def cpu_efficiency(self) -> float | None:
        core_s = self.elapsed_s * self.ncpus
        return round(self.total_cpu_s / core_s, 4) if core_s else None

    @property
    def memory_efficiency(self) -> float | None:
        if not self.mem_per_node_bytes or self.max_rss_bytes is None:
            return None
        return round(self.max_rss_bytes / self.mem_per_node_bytes, 4)

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "raw_id": self.raw_id,
            "name": self.name,
            "user": self.user,
            "account": self.account,
            "partition": self.partition,
            "state": self.state,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "nodes": self.nodes,
            "submit": self.submit,
            "start": self.start,
            "end": self.end,
            "running": self.running,
            "elapsed_s": self.elapsed_s,
            "queue_wait_s": self.queue_wait_s,
            "ncpus": self.ncpus,
            "gpus": self.gpus,
            "gpu_types": self.gpu_types,
            "gpu_hours": self.gpu_hours,
            "total_cpu_s": round(self.total_cpu_s, 3),
            "cpu_efficiency": self.cpu_efficiency,
            "max_rss_bytes": self.max_rss_bytes,
            "mem_per_node_bytes": self.mem_per_node_bytes,
            "memory_efficiency": self.memory_efficiency,
            "steps": [vars(s) for s in self.steps],
            "gpu_usage": [vars(u) for u in self.gpu_usage],
        }


def _allocation(rec: SacctRecord) -> AllocationStats:
    total, typed = tres_gpus(rec.alloc_tres)
    mem = parse_size(parse_tres(rec.alloc_tres).get("mem", ""), "M")
    try:
        node_count = len(expand_hostlist(rec.nodes)) or 1
    except ValueError:
        node_count = 1
    return AllocationStats(
        job_id=rec.job_id,
        raw_id=rec.raw_id,
        name=rec.name,
        user=rec.user,
        account=rec.account,
        partition=rec.partition,
        state=rec.state,
        exit_code=rec.exit_code,
        signal=rec.signal,
        nodes=rec.nodes,
        submit=rec.submit,
        start=rec.start,
        end=rec.end,
        elapsed_s=rec.elapsed_s,
        ncpus=rec.ncpus,
        gpus=total,
        gpu_types=typed,
        total_cpu_s=rec.total_cpu_s,
        mem_per_node_bytes=mem // node_count if mem else None,
    )


def job_stats(records: Iterable[SacctRecord], job_id: str) -> list[AllocationStats]:
    """Allocations (job, or each array task) with their steps, in sacct's order."""
    allocations: dict[str, AllocationStats] = {}
    steps: list[SacctRecord] = []
    for rec in records:
        if rec.is_step:
            steps.append(rec)
        else:
            allocations[rec.job_id] = _allocation(rec)
    if "_" in job_id and "[" not in job_id:  # one array task asked for
        allocations = {k: v for k, v in allocations.items() if k == job_id}
    if not allocations:
        raise JobNotFoundError(f"sacct knows no job {job_id}")
    step_cpu: dict[str, float] = {}
    for rec in steps:
        alloc = allocations.get(rec.allocation_id)
        if alloc is None:
            continue
        alloc.steps.append(
            StepStats(
                rec.job_id.split(".", 1)[1],
                rec.name,
                rec.state,
                rec.exit_code,
                rec.signal,
                rec.elapsed_s,
                rec.max_rss_bytes,
            )
        )
        step_cpu[alloc.job_id] = step_cpu.get(alloc.job_id, 0.0) + rec.total_cpu_s
        if rec.max_rss_bytes is not None:
            alloc.max_rss_bytes = max(alloc.max_rss_bytes or 0, rec.max_rss_bytes)
    for alloc in allocations.values():
        # The allocation row sums its steps once they end; while it runs it may be 0.
        alloc.total_cpu_s = max(alloc.total_cpu_s, step_cpu.get(alloc.job_id, 0.0))
    return list(allocations.values())


def attach_gpu_usage(allocations: list[AllocationStats], prometheus_url: str) -> str:
    """Fill in gpu_usage where Prometheus has it; return the "no GPU metrics" note, if any."""
    with_gpus = [a for a in allocations if a.gpus and a.start is not None]
    if not with_gpus:
        return "no GPU metrics: no allocation holds GPUs"
    if not prometheus_url:
        return "no GPU metrics: no prometheus_url in the cluster profile or --prometheus"
    now = int(time.time())
    start = min(a.start for a in with_gpus if a.start is not None)
    end = max(a.end or now for a in with_gpus)
    try:
        usage = gpu_metrics.job_gpu_usage(prometheus_url, [a.raw_id for a in with_gpus], start, end)
    except gpu_metrics.MetricsUnavailable as exc:
        return f"no GPU metrics: {exc}"
    for alloc in with_gpus:
        alloc.gpu_usage = usage.get(alloc.raw_id, [])
    missing = [a.job_id for a in with_gpus if not a.gpu_usage]
    return f"no GPU metrics for {', '.join(missing)}" if missing else ""
