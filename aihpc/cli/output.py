"""Plain-text and JSON output helpers (no rich: `aihpc list` must start fast)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import click

from aihpc.slurm.jobs import JobInfo


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def duration(seconds: int | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def elapsed(job: JobInfo, now: float | None = None) -> str:
    if job.start_time is None:
        return "-"
    end = job.end_time if job.is_terminal and job.end_time else (now or time.time())
    return duration(int(end - job.start_time))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def job_rows(jobs: Sequence[JobInfo]) -> str:
    headers = ("JOBID", "NAME", "STATE", "ELAPSED", "NODES", "REASON/EXIT")
    rows = []
    for job in jobs:
        state = job.state + ("+" + "+".join(job.flags) if job.flags else "")
        if job.is_terminal:
            detail = f"exit {job.exit_code}" if job.exit_code is not None else ""
            if job.signal:
                detail += f" signal {job.signal}"
        else:
            detail = job.reason if job.reason not in ("None", "") else ""
        rows.append((job.job_id, job.name, state, elapsed(job), job.nodes or "-", detail))
    return table(headers, rows)


def stderr(message: str) -> None:
    print(message, file=sys.stderr)
