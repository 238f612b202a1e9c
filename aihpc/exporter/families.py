"""Every metric family the exporter serves: name, type, labels, help, source.

`FAMILIES` is the single list; docs/exporter.md's table is generated from it
(`python -m aihpc.exporter.families`), and a unit test keeps the two equal.
`slurm_families` turns one refresh's parsed command results into values;
nothing here imports prometheus_client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aihpc.exporter.aggregate import (
    AGE_BUCKETS,
    STARTED_WINDOW_SECONDS,
    Histogram,
    count_jobs,
    count_nodes,
)
from aihpc.slurm.sdiag import SchedulerStats
from aihpc.slurm.sshare import ShareInfo

Labels = tuple[str, ...]
Samples = list[tuple[Labels, float]]


@dataclass(frozen=True)
class Family:
    name: str  # as exposed; counters end in _total
    kind: str  # "gauge" or "counter"
    labels: Labels
    help: str
    command: str  # the Slurm command that feeds it; "" for the exporter's own


def _f(name: str, labels: str, command: str, text: str, kind: str = "gauge") -> Family:
    return Family(name, kind, tuple(labels.split()), text, command)


FAMILIES: tuple[Family, ...] = (
    # scontrol show nodes --json
    _f("aihpc_slurm_nodes", "state", "scontrol", "Nodes per state (each node once)."),
    _f(
        "aihpc_slurm_partition_nodes",
        "partition state",
        "scontrol",
        "Nodes per partition and state.",
    ),
    _f(
        "aihpc_slurm_node_reason_since_timestamp_seconds",
        "node state reason user",
        "scontrol",
        "When a node's reason (drain, down) was set, Unix time (0: unknown); one series per "
        "node with a reason.",
    ),
    _f("aihpc_slurm_gpus_total", "gpu_type", "scontrol", "GPUs configured (node GRES)."),
    _f(
        "aihpc_slurm_gpus",
        "gpu_type state",
        "scontrol",
        "GPUs by state: allocated, idle (free on a usable node), unavailable (free on a node "
        "that cannot take jobs).",
    ),
    _f(
        "aihpc_slurm_partition_gpus_total",
        "partition gpu_type",
        "scontrol",
        "GPUs configured per partition (a node in two partitions counts in both).",
    ),
    _f(
        "aihpc_slurm_partition_gpus",
        "partition gpu_type state",
        "scontrol",
        "GPUs per partition by state (allocated, idle, unavailable).",
    ),
    # squeue
    _f(
        "aihpc_slurm_jobs",
        "partition state",
        "squeue",
        "Jobs per partition and state as squeue shows it (a requeued or held pending job is "
        "PENDING, a booting one RUNNING; COMPLETING stays).",
    ),
    _f(
        "aihpc_slurm_jobs_pending",
        "partition reason",
        "squeue",
        "Pending jobs per partition and reason code (Slurm's state_reason; Other: a description "
        "the lean path cannot map).",
    ),
    _f("aihpc_slurm_account_jobs_running", "account", "squeue", "Running jobs per account."),
    _f(
        "aihpc_slurm_account_gpus_allocated",
        "account",
        "squeue",
        "GPUs allocated to running jobs per account (allocated TRES gres/gpu).",
    ),
    _f("aihpc_slurm_user_jobs_running", "user", "squeue", "Running jobs per user."),
    _f(
        "aihpc_slurm_user_gpus_allocated",
        "user",
        "squeue",
        "GPUs allocated to running jobs per user (allocated TRES gres/gpu).",
    ),
    # Gauge histograms (cumulative buckets of the current jobs; no rate()):
    # plain gauges named as a histogram's series, so histogram_quantile() reads them.
    _f(
        "aihpc_slurm_jobs_pending_age_seconds_bucket",
        "partition le",
        "squeue",
        "Eligible pending jobs whose age (now - EligibleTime) is at most le seconds; a gauge "
        "histogram.",
    ),
    _f(
        "aihpc_slurm_jobs_pending_age_seconds_sum",
        "partition",
        "squeue",
        "Sum of the eligible pending jobs' ages, seconds.",
    ),
    _f(
        "aihpc_slurm_jobs_pending_age_seconds_count",
        "partition",
        "squeue",
        "Eligible pending jobs (not counted: jobs held, waiting on a dependency, or before "
        "their --begin).",
    ),
    _f(
        "aihpc_slurm_jobs_pending_oldest_seconds",
        "partition",
        "squeue",
        "Age of the oldest eligible pending job (now - EligibleTime), seconds; 0: none.",
    ),
    _f(
        "aihpc_slurm_jobs_started_wait_seconds_bucket",
        "partition le",
        "squeue",
        "Jobs started within the window whose queue wait (StartTime - EligibleTime) was at "
        "most le seconds; a gauge histogram.",
    ),
    _f(
        "aihpc_slurm_jobs_started_wait_seconds_sum",
        "partition",
        "squeue",
        "Sum of the queue waits of the jobs started within the window, seconds.",
    ),
    _f(
        "aihpc_slurm_jobs_started_wait_seconds_count",
        "partition",
        "squeue",
        "Jobs started within the window and still listed by squeue.",
    ),
    _f(
        "aihpc_slurm_jobs_started_window_seconds",
        "",
        "squeue",
        "How far back the started-wait histogram looks, seconds.",
    ),
    # sdiag --json
    _f(
        "aihpc_slurm_scheduler_cycle_seconds",
        "scheduler stat",
        "sdiag",
        "Scheduling cycle time; scheduler main or backfill, stat last, max or mean.",
    ),
    _f(
        "aihpc_slurm_scheduler_cycles",
        "scheduler",
        "sdiag",
        "Scheduling cycles since the last sdiag reset (midnight).",
    ),
    _f(
        "aihpc_slurm_scheduler_cycles_per_minute",
        "",
        "sdiag",
        "Main scheduler cycles per minute.",
    ),
    _f(
        "aihpc_slurm_scheduler_depth_mean",
        "scheduler",
        "sdiag",
        "Mean number of jobs a scheduling cycle looked at.",
    ),
    _f(
        "aihpc_slurm_scheduler_queue_length",
        "scheduler",
        "sdiag",
        "Jobs in the scheduler's queue at its last cycle.",
    ),
    _f(
        "aihpc_slurm_backfilled_jobs_total",
        "",
        "sdiag",
        "Jobs started by the backfill scheduler since slurmctld started.",
        "counter",
    ),
    _f(
        "aihpc_slurm_backfill_last_cycle_timestamp_seconds",
        "",
        "sdiag",
        "When the last backfill cycle ran, Unix time (0: never).",
    ),
    _f("aihpc_slurm_backfill_active", "", "sdiag", "1 while a backfill cycle is running."),
    _f("aihpc_slurm_server_threads", "", "sdiag", "slurmctld server threads in use."),
    _f(
        "aihpc_slurm_agent_queue_size",
        "",
        "sdiag",
        "slurmctld outgoing RPCs waiting for retry.",
    ),
    _f(
        "aihpc_slurm_dbd_agent_queue_size",
        "",
        "sdiag",
        "Messages slurmctld has queued for slurmdbd (grows when slurmdbd is down or slow).",
    ),
    _f(
        "aihpc_slurm_scheduler_jobs_since_reset",
        "event",
        "sdiag",
        "Jobs submitted, started, completed, canceled, failed since the last sdiag reset.",
    ),
    # sshare --json
    _f(
        "aihpc_slurm_account_fairshare_factor",
        "account",
        "sshare",
        "Fair-share factor of the account association (sshare FairShare).",
    ),
    _f(
        "aihpc_slurm_account_fairshare_level",
        "account",
        "sshare",
        "Fair-share level of the account (sshare LevelFS; +Inf: no usage).",
    ),
    _f(
        "aihpc_slurm_account_shares_normalized",
        "account",
        "sshare",
        "Normalized shares of the account (sshare NormShares).",
    ),
    _f(
        "aihpc_slurm_account_usage_effective",
        "account",
        "sshare",
        "Effective usage of the account (sshare EffectvUsage).",
    ),
    # the exporter itself
    _f(
        "aihpc_slurm_command_up",
        "command",
        "",
        "1 if the command's last call succeeded and parsed, else 0.",
    ),
    _f(
        "aihpc_slurm_command_errors_total",
        "command reason",
        "",
        "Failed calls per command; reason missing, timeout, exit or parse.",
        "counter",
    ),
    _f(
        "aihpc_slurm_command_duration_seconds",
        "command",
        "",
        "Wall time of the command's last call, parsing included.",
    ),
    _f(
        "aihpc_exporter_scrape_duration_seconds",
        "",
        "",
        "Time this scrape took, a shared Slurm refresh included.",
    ),
    _f(
        "aihpc_exporter_data_age_seconds",
        "",
        "",
        "Age of the Slurm data this scrape served (at most the interval).",
    ),
)
BY_NAME: Mapping[str, Family] = {family.name: family for family in FAMILIES}


class Values:
    """Samples per family name, filled by the builders below."""

    def __init__(self) -> None:
        self.samples: dict[str, Samples] = {}

    def add(self, name: str, labels: Labels, value: float | None) -> None:
        family = BY_NAME[name]  # KeyError: a family missing from FAMILIES
        if len(labels) != len(family.labels):
            raise ValueError(f"{name} takes labels {family.labels}, got {labels}")
        if value is not None:
            self.samples.setdefault(name, []).append((labels, float(value)))

    def counts(self, name: str, counter: Mapping[Any, float]) -> None:
        # Present even when empty (no drained node, no pending job): the family
        # is then served with its HELP and TYPE, so Prometheus knows it exists.
        # Only a failing command leaves its families out altogether.
        self.samples.setdefault(name, [])
        for key, value in sorted(counter.items()):
            self.add(name, key if isinstance(key, tuple) else (key,), value)

    def merge(self, other: Values) -> None:
        for name, samples in other.samples.items():
            self.samples.setdefault(name, []).extend(samples)

    def series(self) -> list[tuple[Family, Samples]]:
        """Families in FAMILIES order; a family whose command failed is left out."""
        return [(f, self.samples[f.name]) for f in FAMILIES if f.name in self.samples]


@dataclass(frozen=True)
class When:
    """The moment of a refresh, for families that measure ages."""

    now: float  # Unix time the refresh began
    started_window: float = STARTED_WINDOW_SECONDS


# The `le` label values of the histograms, as Prometheus writes them.
LE_LABELS: tuple[str, ...] = (*(f"{float(bound):.1f}" for bound in AGE_BUCKETS), "+Inf")


def _histogram(values: Values, name: str, per_partition: Mapping[str, Histogram]) -> None:
    for suffix in ("_bucket", "_sum", "_count"):
        values.samples.setdefault(name + suffix, [])  # HELP and TYPE even without a job
    for partition, histogram in sorted(per_partition.items()):
        for le, count in zip(LE_LABELS, histogram.cumulative(), strict=True):
            values.add(name + "_bucket", (partition, le), count)
        values.add(name + "_sum", (partition,), histogram.total)
        values.add(name + "_count", (partition,), histogram.count)


def _nodes(values: Values, nodes: Iterable[Any], _when: When) -> None:
    counts = count_nodes(nodes)
    values.counts("aihpc_slurm_nodes", counts.nodes)
    values.counts("aihpc_slurm_partition_nodes", counts.partition_nodes)
    values.counts("aihpc_slurm_node_reason_since_timestamp_seconds", counts.reasons)
    values.counts("aihpc_slurm_gpus_total", counts.gpus_total)
    values.counts("aihpc_slurm_gpus", counts.gpus)
    values.counts("aihpc_slurm_partition_gpus_total", counts.partition_gpus_total)
    values.counts("aihpc_slurm_partition_gpus", counts.partition_gpus)


def _jobs(values: Values, jobs: Iterable[Any], when: When) -> None:
    counts = count_jobs(jobs, when.now, when.started_window)
    values.counts("aihpc_slurm_jobs", counts.jobs)
    values.counts("aihpc_slurm_jobs_pending", counts.pending)
    values.counts("aihpc_slurm_account_jobs_running", counts.account_running)
    values.counts("aihpc_slurm_account_gpus_allocated", counts.account_gpus)
    values.counts("aihpc_slurm_user_jobs_running", counts.user_running)
    values.counts("aihpc_slurm_user_gpus_allocated", counts.user_gpus)
    _histogram(values, "aihpc_slurm_jobs_pending_age_seconds", counts.pending_age)
    values.counts(
        "aihpc_slurm_jobs_pending_oldest_seconds",
        {partition: h.largest for partition, h in counts.pending_age.items()},
    )
    _histogram(values, "aihpc_slurm_jobs_started_wait_seconds", counts.started_wait)
    values.add("aihpc_slurm_jobs_started_window_seconds", (), counts.started_window)


def _seconds(microseconds: int | None) -> float | None:
    return None if microseconds is None else microseconds / 1e6


def _sdiag(values: Values, stats: SchedulerStats, _when: When) -> None:
    cycle = "aihpc_slurm_scheduler_cycle_seconds"
    for scheduler, last, peak, mean in (
        ("main", stats.main_cycle_last_us, stats.main_cycle_max_us, stats.main_cycle_mean_us),
        ("backfill", stats.bf_cycle_last_us, stats.bf_cycle_max_us, stats.bf_cycle_mean_us),
    ):
        values.add(cycle, (scheduler, "last"), _seconds(last))
        values.add(cycle, (scheduler, "max"), _seconds(peak))
        values.add(cycle, (scheduler, "mean"), _seconds(mean))
    values.add("aihpc_slurm_scheduler_cycles", ("main",), stats.main_cycles)
    values.add("aihpc_slurm_scheduler_cycles", ("backfill",), stats.bf_cycles)
    values.add("aihpc_slurm_scheduler_cycles_per_minute", (), stats.main_cycles_per_minute)
    values.add("aihpc_slurm_scheduler_depth_mean", ("main",), stats.main_depth_mean)
    values.add("aihpc_slurm_scheduler_depth_mean", ("backfill",), stats.bf_depth_mean)
    values.add("aihpc_slurm_scheduler_queue_length", ("main",), stats.main_queue_length)
    values.add("aihpc_slurm_scheduler_queue_length", ("backfill",), stats.bf_queue_length)
    values.add("aihpc_slurm_backfilled_jobs_total", (), stats.bf_backfilled_jobs)
    values.add(
        "aihpc_slurm_backfill_last_cycle_timestamp_seconds", (), stats.bf_last_cycle_time or 0
    )
    values.add("aihpc_slurm_backfill_active", (), int(stats.bf_active))
    values.add("aihpc_slurm_server_threads", (), stats.server_threads)
    values.add("aihpc_slurm_agent_queue_size", (), stats.agent_queue_size)
    values.add("aihpc_slurm_dbd_agent_queue_size", (), stats.dbd_agent_queue_size)
    values.counts("aihpc_slurm_scheduler_jobs_since_reset", stats.jobs)


def _sshare(values: Values, shares: Iterable[ShareInfo], _when: When) -> None:
    seen: set[str] = set()
    for share in shares:
        # The root association and per-partition rows are skipped; the first
        # row of an account wins (sshare lists each account once without -p).
        if share.kind != "account" or not share.parent or share.name in seen:
            continue
        seen.add(share.name)
        key = (share.name,)
        values.add("aihpc_slurm_account_fairshare_factor", key, share.fairshare_factor)
        values.add("aihpc_slurm_account_fairshare_level", key, share.fairshare_level)
        values.add("aihpc_slurm_account_shares_normalized", key, share.shares_normalized)
        values.add("aihpc_slurm_account_usage_effective", key, share.usage_effective)


BUILDERS: dict[str, Callable[[Values, Any, When], None]] = {
    "scontrol": _nodes,
    "squeue": _jobs,
    "sdiag": _sdiag,
    "sshare": _sshare,
}


def command_values(command: str, parsed: Any, when: When | None = None) -> Values:
    """Values of the families one command feeds, from its parsed reply
    (`when`: the refresh's moment; now and the default window if left out)."""
    values = Values()
    BUILDERS[command](values, parsed, when or When(time.time()))
    return values


def docs_table() -> str:
    """The Markdown table of docs/exporter.md, from FAMILIES."""
    rows = ["| Family | Type | Labels | From | Meaning |", "|---|---|---|---|---|"]
    for f in FAMILIES:
        labels = ", ".join(f"`{label}`" for label in f.labels) or "-"
        source = f"`{f.command}`" if f.command else "exporter"
        rows.append(f"| `{f.name}` | {f.kind} | {labels} | {source} | {f.help} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(docs_table(), end="")
