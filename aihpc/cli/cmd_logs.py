"""aihpc logs."""

from __future__ import annotations

import sys

import click

from aihpc import api

EPILOG = """\b
Examples:
  aihpc logs 1234              # rank 0
  aihpc logs -f 1234 --rank 3  # follow rank 3 until the job ends
  aihpc logs 1234_2 --batch    # the batch script's own log, sweep task 2

Logs live in the job directory: logs/batch.log and logs/rank-<N>.log
(node-<N>.log with the torchrun launcher; sweeps: logs/task-<i>/...).
"""


@click.command(epilog=EPILOG)
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the job ends.")
@click.option("--rank", type=click.IntRange(min=0), default=0, show_default=True, help="Rank.")
@click.option("--batch", is_flag=True, help="Show the batch script log instead of a rank.")
def logs(job_id: str, follow: bool, rank: int, batch: bool) -> int:
    """Print the log of one rank of JOB_ID (or the batch log)."""
    for chunk in api.logs(job_id, follow=follow, rank=None if batch else rank):
        sys.stdout.write(chunk)
        sys.stdout.flush()
    return 0
