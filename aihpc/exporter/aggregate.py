"""Counts the exporter publishes, from parsed nodes and jobs. Pure functions.

GPUs are counted from TRES and GRES, never from a job's request string:
a node's configured GPUs per type from its `gres`, allocated ones from its
`tres_used` (typed from `gres_used` when TRES carries no typed entries);
a job's from its allocated TRES (`gres/gpu=N`), which every way of asking
(`--gres`, typed GRES, `--gpus`, `--gpus-per-node`, `--gpus-per-task`) fills.

Free GPUs on a node that cannot take jobs (down, drained, draining, failing,
in maintenance, not responding) are "unavailable", not "idle".

Queue time is measured from EligibleTime, when Slurm first held the job able
to start (its dependencies met, its --begin reached, not held), not from
SubmitTime: a job waiting on another job's result, or held by its owner, is
not waiting for the cluster. Pending jobs' age is `now - EligibleTime`; the
wait of a started job is `StartTime - EligibleTime` (SubmitTime when Slurm
gives no EligibleTime). Both come from the one squeue call of the refresh.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate

from aihpc.slurm.jobs import JobInfo, array_task_count
from aihpc.slurm.nodes import NodeInfo
from aihpc.slurm.squeue_lean import shown_state
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

    Both squeue paths give the reason code (aihpc.slurm.squeue_lean maps the
    descriptions `squeue -O Reason` prints back to it); the cut and the
    length cap keep any other text from making one series per node set.
    """
    text = reason.split(":", 1)[0].strip()
    return text[:REASON_MAX] or "None"


# Upper bounds of the age and wait histograms, seconds: 1 and 5 minutes,
# 15 minutes, 1, 4 and 12 hours, 1 and 3 days, a week (+Inf after them).
AGE_BUCKETS: tuple[float, ...] = (60, 300, 900, 3600, 14400, 43200, 86400, 259200, 604800)
# Jobs that started at most this long ago feed the started-wait histogram
# (docs/exporter.md, "Queue wait"): long enough for 20 refreshes at the
# default 30 s interval, short enough that a job of a few minutes is still
# running when it is counted. The cache widens it to two intervals.
STARTED_WINDOW_SECONDS = 600.0
# Shown states of jobs that have started: they hold (or held) an allocation.
STARTED_STATES = frozenset({"RUNNING", "SUSPENDED", "COMPLETING", "STAGE_OUT"})
# Reasons of held jobs (priority 0: a user, an admin or Slurm put them on hold):
# they keep an EligibleTime from before the hold but do not wait for the cluster.
HELD_REASONS = frozenset({"JobHeldUser", "JobHeldAdmin", "JobHoldMaxRequeue", "ReservationDeleted"})


@dataclass
class Histogram:
    """A distribution of seconds over AGE_BUCKETS (per bucket, not cumulative)."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(AGE_BUCKETS) + 1))
    total: float = 0.0
    count: int = 0
    largest: float = 0.0

    def add(self, seconds: float, weight: int = 1) -> None:
        self.buckets[bisect_left(AGE_BUCKETS, seconds)] += weight
        self.total += seconds * weight
        self.count += weight
        self.largest = max(self.largest, seconds)

    def cumulative(self) -> list[int]:
        """Counts at or below each bound of AGE_BUCKETS, then the +Inf count."""
        return list(accumulate(self.buckets))


@dataclass
class JobCounts:
    jobs: Counter[tuple[str, str]] = field(default_factory=Counter)
    pending: Counter[tuple[str, str]] = field(default_factory=Counter)
    account_running: Counter[str] = field(default_factory=Counter)
    account_gpus: Counter[str] = field(default_factory=Counter)
    user_running: Counter[str] = field(default_factory=Counter)
    user_gpus: Counter[str] = field(default_factory=Counter)
    # per partition (every partition with a job): eligible pending jobs' age
    # (now - EligibleTime) and the wait (StartTime - EligibleTime) of jobs
    # started within the window
    pending_age: dict[str, Histogram] = field(default_factory=dict)
    started_wait: dict[str, Histogram] = field(default_factory=dict)
    started_window: float = STARTED_WINDOW_SECONDS


def count_jobs(
    jobs: Iterable[JobInfo],
    now: float | None = None,
    started_window: float = STARTED_WINDOW_SECONDS,
) -> JobCounts:
    """Counts from one squeue reply; `now` (Unix time) is when it was taken.

    A `squeue --json` record of still-pending array tasks counts once per
    task, as `squeue -r -O` lists them; states are counted as squeue's text
    shows them (aihpc.slurm.squeue_lean.shown_state), so both paths agree.
    """
    when = time.time() if now is None else now
    since = when - started_window
    out = JobCounts(started_window=started_window)
    ages: dict[str, Histogram] = {}
    waits: dict[str, Histogram] = {}
    for job in jobs:
        partition = job.partition
        state = shown_state(job.state, job.flags)
        weight = 1
        if job.array_job_id and job.array_task and not job.array_task.isdigit():
            weight = array_task_count(job.array_task)
        out.jobs[partition, state] += weight
        if partition not in ages:
            ages[partition] = Histogram()
            waits[partition] = Histogram()
        if state == "PENDING":
            reason = reason_label(job.reason)
            out.pending[partition, reason] += weight
            eligible = job.eligible_time
            # Not eligible yet (a dependency, held since submit, --begin ahead) or
            # held: not waiting for the cluster, not counted.
            if eligible is not None and eligible <= when and reason not in HELD_REASONS:
                ages[partition].add(when - eligible, weight)
            continue
        if state == "RUNNING":
            gpus = tres_gpus(job.tres_alloc)[0] if "gres/gpu" in job.tres_alloc else 0
            out.account_running[job.account] += 1
            out.user_running[job.user] += 1
            out.account_gpus[job.account] += gpus
            out.user_gpus[job.user] += gpus
        start = job.start_time
        if start is not None and start > since and state in STARTED_STATES:
            queued = job.eligible_time or job.submit_time or start
            waits[partition].add(max(0.0, float(start - queued)))
    out.pending_age, out.started_wait = ages, waits
    return out
