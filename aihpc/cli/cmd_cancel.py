"""aihpc cancel."""

from __future__ import annotations

import click

from aihpc import api

EPILOG = """\b
Examples:
  aihpc cancel 1234      # the job, or every task of an array
  aihpc cancel 1234_5    # one sweep task
"""


@click.command(epilog=EPILOG)
@click.argument("job_id")
def cancel(job_id: str) -> int:
    """Cancel JOB_ID."""
    api.cancel(job_id)
    click.echo(f"cancelled {job_id}")
    return 0
