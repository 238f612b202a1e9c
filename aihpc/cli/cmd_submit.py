"""aihpc submit."""

from __future__ import annotations

from pathlib import Path

import click

from aihpc.cli.submit_run import submit_job

EPILOG = """\b
Examples:
  aihpc submit train.yaml
  aihpc submit train.yaml --dry-run          # print the exact script and sbatch argv
  aihpc submit train.yaml -o nodes=2 -o env.WANDB_MODE=offline
  aihpc submit train.yaml -o 'sweep={lr: [1e-4, 3e-4]}' --json
  aihpc submit train.yaml --resume-from 1234  # continue job 1234's run

-o KEY=VALUE takes dotted keys and YAML values, and wins over train.yaml,
AIHPC_* variables, ~/.config/aihpc/config.yaml and the cluster profile.
"""


@click.command(epilog=EPILOG)
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--override", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key."
)
@click.option("--dry-run", is_flag=True, help="Print the script and sbatch argv; touch nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--resume-from",
    "resume_from",
    metavar="JOBID",
    default=None,
    help="Start from the newest checkpoint of an earlier job of yours.",
)
def submit(
    spec: Path, overrides: tuple[str, ...], dry_run: bool, as_json: bool, resume_from: str | None
) -> int:
    """Validate SPEC (train.yaml), snapshot the code and submit the job."""
    # aihpc.cli.main runs the plain forms of this command without click
    # (aihpc.cli.fast_submit); both go through submit_job.
    return submit_job(spec, overrides, dry_run, as_json, click.echo, resume_from)
