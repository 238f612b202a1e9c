"""Scheduler statistics as `sdiag --json` reports them: `SchedulerStats`.

Written against tests/fixtures/slurm/sdiag_24.11.json (24.11.5). Cycle times
come in microseconds and are kept so; the exporter converts to seconds.
Counters such as jobs_submitted reset at midnight (or `sdiag --reset`);
bf_backfilled_jobs counts since slurmctld started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aihpc.errors import ClusterError
from aihpc.slurm.values import number

JOB_EVENTS = ("submitted", "started", "completed", "canceled", "failed")


@dataclass(frozen=True)
class SchedulerStats:
    server_threads: int | None
    agent_queue_size: int | None
    dbd_agent_queue_size: int | None
    main_cycle_last_us: int | None
    main_cycle_max_us: int | None
    main_cycle_mean_us: int | None
    main_cycles: int | None
    main_cycles_per_minute: int | None
    main_depth_mean: int | None
    main_queue_length: int | None
    bf_cycle_last_us: int | None
    bf_cycle_max_us: int | None
    bf_cycle_mean_us: int | None
    bf_cycles: int | None
    bf_depth_mean: int | None
    bf_queue_length: int | None
    bf_backfilled_jobs: int | None
    bf_last_cycle_time: int | None  # epoch seconds; None: never ran
    bf_active: bool
    jobs: dict[str, int]  # JOB_EVENTS -> count since the last reset


def parse_sdiag(payload: Any) -> SchedulerStats:
    stats = payload.get("statistics") if isinstance(payload, dict) else None
    if not isinstance(stats, dict):
        raise ClusterError("sdiag --json returned no statistics object")

    def get(key: str) -> int | None:
        return number(stats.get(key))

    return SchedulerStats(
        server_threads=get("server_thread_count"),
        agent_queue_size=get("agent_queue_size"),
        dbd_agent_queue_size=get("dbd_agent_queue_size"),
        main_cycle_last_us=get("schedule_cycle_last"),
        main_cycle_max_us=get("schedule_cycle_max"),
        main_cycle_mean_us=get("schedule_cycle_mean"),
        main_cycles=get("schedule_cycle_total"),
        main_cycles_per_minute=get("schedule_cycle_per_minute"),
        main_depth_mean=get("schedule_cycle_mean_depth"),
        main_queue_length=get("schedule_queue_length"),
        bf_cycle_last_us=get("bf_cycle_last"),
        bf_cycle_max_us=get("bf_cycle_max"),
        bf_cycle_mean_us=get("bf_cycle_mean"),
        bf_cycles=get("bf_cycle_counter"),
        bf_depth_mean=get("bf_depth_mean"),
        bf_queue_length=get("bf_queue_len"),
        bf_backfilled_jobs=get("bf_backfilled_jobs"),
        bf_last_cycle_time=get("bf_when_last_cycle") or None,
        bf_active=bool(stats.get("bf_active")),
        jobs={event: get(f"jobs_{event}") or 0 for event in JOB_EVENTS},
    )


def sdiag_argv() -> list[str]:
    return ["sdiag", "--json"]
