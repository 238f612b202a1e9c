"""aihpc status."""

from __future__ import annotations

from typing import Any

import click

from aihpc import api, layout
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
    rows = _restarts(jobs[0].workdir, job_id)
    if as_json:
        emit_json({"job_id": job_id, "jobs": [j.to_json() for j in jobs], "restarts": rows})
        return 0
    click.echo(job_rows(jobs))
    code_dir = "/" + layout.CODE
    if jobs[0].workdir.endswith(code_dir):
        click.echo(f"job dir: {jobs[0].workdir[: -len(code_dir)]}")
    if rows:
        from aihpc.backend.logs import restart_lines

        click.echo(f"restarts and failures ({len(rows)}):")
        for line in restart_lines(rows):
            click.echo(line)
    return 0


def _restarts(workdir: str, job_id: str) -> list[dict[str, Any]]:
    """The job's run/restarts.jsonl rows ([] for a job that is not aihpc's)."""
    from pathlib import Path

    from aihpc.backend.logs import restarts

    code_dir = "/" + layout.CODE
    if not workdir.endswith(code_dir):
        return []
    task = job_id.partition("_")[2] or None
    return restarts(Path(workdir[: -len(code_dir)]), task)
