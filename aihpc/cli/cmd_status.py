"""aihpc status."""

from __future__ import annotations

import click

from aihpc import api
from aihpc.cli.output import emit_json, job_rows

EPILOG = """\b
Examples:
  aihpc status 1234
  aihpc status 1234_3 --json
"""


@click.command(epilog=EPILOG)
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(job_id: str, as_json: bool) -> int:
    """Show JOB_ID (123, or 123_4 for one array task); exit 1 if unknown."""
    jobs = api.status(job_id)
    if as_json:
        emit_json({"job_id": job_id, "jobs": [j.to_json() for j in jobs]})
        return 0
    click.echo(job_rows(jobs))
    if jobs[0].workdir.endswith("/code"):
        click.echo(f"job dir: {jobs[0].workdir[: -len('/code')]}")
    return 0
