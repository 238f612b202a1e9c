"""aihpc list."""

from __future__ import annotations

import click

from aihpc import api
from aihpc.cli.output import emit_json, job_rows

EPILOG = """\b
Examples:
  aihpc list
  aihpc list --json | jq '.[] | select(.state == "RUNNING")'
"""


@click.command(name="list", epilog=EPILOG)
@click.option("--user", default=None, help="Whose jobs (default: you).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(user: str | None, as_json: bool) -> int:
    """List your queued and running jobs and those that ended in the last 24 hours."""
    jobs = api.list_jobs(user)
    if as_json:
        emit_json([j.to_json() for j in jobs])
    elif jobs:
        click.echo(job_rows(jobs))
    else:
        click.echo("no jobs in the last 24 hours")
    return 0
