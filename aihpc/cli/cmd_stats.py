"""aihpc stats: one job's efficiency, seff-like, with GPUs (running jobs and sweeps too)."""

from __future__ import annotations

import re

import click

from aihpc.cli.output import duration, emit_json
from aihpc.errors import UsageError

EPILOG = """\b
Examples:
  aihpc stats 1234          # a job, or every task of a sweep
  aihpc stats 1234_3 --json # one array task
"""
_JOB_ID = re.compile(r"^[0-9]+(?:_[0-9]+)?$")


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


@click.command(epilog=EPILOG)
@click.argument("job_id")
@click.option(
    "--prometheus",
    default=None,
    metavar="URL",
    help="Prometheus with dcgm-exporter data (default: the cluster profile's prometheus_url).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(job_id: str, prometheus: str | None, as_json: bool) -> int:
    """Efficiency of JOB_ID: exit per step, GPU-hours, CPU and memory use, queue wait."""
    if not _JOB_ID.match(job_id):
        raise UsageError(f"JOB_ID {job_id!r}: expected 123 or 123_4")
    if prometheus is not None and not prometheus.startswith(("http://", "https://")):
        raise UsageError(f"--prometheus {prometheus!r}: expected an http(s) URL")
    from aihpc.report.prices import load_settings
    from aihpc.report.stats import attach_gpu_usage, job_stats
    from aihpc.slurm.run import QUERY_TIMEOUT, stream_lines
    from aihpc.slurm.sacct_records import iter_records, sacct_env, sacct_job_argv

    url = prometheus if prometheus is not None else load_settings().prometheus_url
    with stream_lines(sacct_job_argv(job_id), QUERY_TIMEOUT, sacct_env()) as lines:
        allocations = job_stats(list(iter_records(lines)), job_id)
    note = attach_gpu_usage(allocations, url)
    if as_json:
        emit_json(
            {
                "job_id": job_id,
                "allocations": [a.to_json() for a in allocations],
                "gpu_metrics_note": note or None,
            }
        )
        return 0
    for alloc in allocations:
        exit_text = f"exit {alloc.exit_code}" + (f" signal {alloc.signal}" if alloc.signal else "")
        click.echo(
            f"job {alloc.job_id} ({alloc.name})  {alloc.user}/{alloc.account}  "
            f"{alloc.partition}  {alloc.state}  {exit_text}"
        )
        click.echo(
            f"  nodes {alloc.nodes or '-'}  elapsed {duration(alloc.elapsed_s)}  "
            f"queue wait {duration(alloc.queue_wait_s)}"
        )
        types = ", ".join(f"{n} {t}" for t, n in alloc.gpu_types.items()) or "untyped"
        gpus = f"{alloc.gpus} ({types})" if alloc.gpus else "0"
        click.echo(f"  GPUs {gpus}  GPU-hours {alloc.gpu_hours:.3f}")
        cpu_note = " (running: finished steps only)" if alloc.running else ""
        click.echo(
            f"  CPU efficiency {_pct(alloc.cpu_efficiency)} ({alloc.total_cpu_s:.0f} s CPU of "
            f"{alloc.ncpus} CPUs x {duration(alloc.elapsed_s)}){cpu_note}"
        )
        click.echo(
            f"  max RSS {_size(alloc.max_rss_bytes)} of {_size(alloc.mem_per_node_bytes)} per node "
            f"({_pct(alloc.memory_efficiency)})"
        )
        for step in alloc.steps:
            code = "-" if step.exit_code is None else f"{step.exit_code}:{step.signal or 0}"
            click.echo(
                f"  step {step.step:<8} {step.state:<12} exit {code:<6} "
                f"{duration(step.elapsed_s)}  max RSS {_size(step.max_rss_bytes)}"
            )
        for usage in alloc.gpu_usage:
            memory = "-" if usage.max_memory_mib is None else f"{usage.max_memory_mib:.0f} MiB"
            click.echo(
                f"  GPU {usage.gpu} on {usage.host}: utilisation mean {usage.mean_util_pct:.1f}% "
                f"max {usage.max_util_pct:.0f}%, memory peak {memory}"
            )
    if note:
        click.echo(note)
    return 0
