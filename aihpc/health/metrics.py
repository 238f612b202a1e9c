"""The run's results for node_exporter's textfile collector (Prometheus text format).

Written to a temporary file in the same directory and renamed over the old
one, so node_exporter never reads half a file. Names in docs/health.md.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from aihpc.health.model import Report

FILE = "aihpc_health.prom"


def render(report: Report, drained: bool, now: float | None = None) -> str:
    finished = report.started_at + report.duration if now is None else now
    lines = [
        "# HELP aihpc_health_check_status aihpc health check result: 0 ok, 1 fail, 2 unknown.",
        "# TYPE aihpc_health_check_status gauge",
    ]
    lines += [
        f'aihpc_health_check_status{{check="{r.check}"}} {r.status.metric}' for r in report.results
    ]
    lines += [
        "# HELP aihpc_health_check_duration_seconds Time each aihpc health check took.",
        "# TYPE aihpc_health_check_duration_seconds gauge",
    ]
    lines += [
        f'aihpc_health_check_duration_seconds{{check="{r.check}"}} {r.duration:.3f}'
        for r in report.results
    ]
    lines += [
        "# HELP aihpc_health_last_run_timestamp_seconds When aihpc health last finished.",
        "# TYPE aihpc_health_last_run_timestamp_seconds gauge",
        f"aihpc_health_last_run_timestamp_seconds {finished:.3f}",
        "# HELP aihpc_health_duration_seconds Wall time of the last aihpc health run.",
        "# TYPE aihpc_health_duration_seconds gauge",
        f"aihpc_health_duration_seconds {report.duration:.3f}",
        "# HELP aihpc_health_healthy 1 when no aihpc health check failed.",
        "# TYPE aihpc_health_healthy gauge",
        f"aihpc_health_healthy {1 if report.healthy else 0}",
        "# HELP aihpc_health_drained 1 while aihpc health holds its own drain on this node.",
        "# TYPE aihpc_health_drained gauge",
        f"aihpc_health_drained {1 if drained else 0}",
    ]
    return "\n".join(lines) + "\n"


def write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{FILE}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return directory / FILE
