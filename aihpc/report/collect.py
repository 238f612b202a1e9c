"""Reading a report's inputs from Slurm: four calls, whatever the window holds.

1. `scontrol show nodes --json`: the GPUs present (capacity);
2. `sacctmgr show event`: when nodes were down or drained;
3. `scontrol show reservations --json`: maintenance and reservations;
4. ONE `sacct` over the window, read line by line while it prints.

Prometheus (optional) adds one query for idle allocated GPU-hours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from aihpc.errors import ClusterError
from aihpc.report import gpu_metrics
from aihpc.report.accumulate import Accumulator
from aihpc.report.build import Filters, build_report
from aihpc.report.capacity import LostTime, node_gpus
from aihpc.report.prices import ReportSettings
from aihpc.report.window import Window
from aihpc.slurm.events import events_argv, parse_events
from aihpc.slurm.nodes import parse_nodes, show_nodes_argv
from aihpc.slurm.reservations import parse_reservations, reservations_argv
from aihpc.slurm.run import QUERY_TIMEOUT, Runner, run_command, stream_lines
from aihpc.slurm.sacct_records import iter_window_rows, sacct_env, sacct_window_argv

Streamer = Callable[
    [list[str], float, dict[str, str] | None], AbstractContextManager[Iterator[str]]
]
# A month of a large cluster's rows takes sacct a while to print.
SACCT_STREAM_TIMEOUT = 1800.0


def _json(runner: Runner, argv: list[str]) -> Any:
    done = runner(argv, QUERY_TIMEOUT)
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    try:
        return json.loads(done.stdout)
    except ValueError as exc:
        raise ClusterError(f"{' '.join(argv)} printed no JSON: {exc}") from None


def collect_report(
    window: Window,
    filters: Filters,
    settings: ReportSettings,
    *,
    top_n: int = 10,
    idle_threshold: float = 10.0,
    runner: Runner = run_command,
    streamer: Streamer = stream_lines,
) -> tuple[dict[str, Any], set[str]]:
    """The report dict and the user/account names seen (for the public view)."""
    nodes = node_gpus(parse_nodes(_json(runner, show_nodes_argv())))
    if filters.partition:
        nodes = {n: i for n, i in nodes.items() if filters.partition in i.partitions}
    with streamer(events_argv(window.start, window.end), QUERY_TIMEOUT, sacct_env()) as lines:
        events = parse_events(lines)
    reservations = parse_reservations(_json(runner, reservations_argv()))
    metrics: dict[str, Any] = {"available": False, "threshold_pct": idle_threshold}
    idle: dict[str, float] | None = None
    if settings.prometheus_url:
        try:
            idle = gpu_metrics.idle_gpu_seconds_by_job(
                settings.prometheus_url, window.start, window.end, idle_threshold
            )
            metrics.update(available=True, source=settings.prometheus_url)
        except gpu_metrics.MetricsUnavailable as exc:
            metrics["note"] = f"no GPU metrics: {exc}"
    else:
        metrics["note"] = "no GPU metrics: no prometheus_url in the cluster profile or --prometheus"
    lost = LostTime.build(window, nodes, events, reservations)
    acc = Accumulator(window, nodes, lost, top_n=top_n, idle_by_job=idle)
    extra = []
    if filters.partition:
        extra += ["-r", filters.partition]
    if filters.account:
        extra += ["-A", filters.account]
    with streamer(
        sacct_window_argv(window.start, window.end, extra), SACCT_STREAM_TIMEOUT, sacct_env()
    ) as lines:
        acc.add_rows(iter_window_rows(lines))
    report = build_report(acc, nodes, events, reservations, settings.prices, filters, metrics)
    return report, acc.names
