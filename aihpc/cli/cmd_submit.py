"""aihpc submit."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from aihpc import api
from aihpc.cli.output import emit_json

EPILOG = """\b
Examples:
  aihpc submit train.yaml
  aihpc submit train.yaml --dry-run          # print the exact script and sbatch argv
  aihpc submit train.yaml -o nodes=2 -o env.WANDB_MODE=offline
  aihpc submit train.yaml -o 'sweep={lr: [1e-4, 3e-4]}' --json

-o KEY=VALUE takes dotted keys and YAML values, and wins over train.yaml,
AIHPC_* variables, ~/.config/aihpc/config.yaml and the cluster profile.
"""


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _progress_bar(total: int):  # type: ignore[no-untyped-def]
    """A rich progress bar for big snapshots on a terminal; rich is imported only here."""
    from rich.progress import Progress

    progress = Progress(transient=True)
    task = progress.add_task("copying code snapshot", total=total)
    progress.start()

    def update(done: int, _total: int) -> None:
        progress.update(task, completed=done)
        if done >= _total:
            progress.stop()

    return update


@click.command(epilog=EPILOG)
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--override", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key."
)
@click.option("--dry-run", is_flag=True, help="Print the script and sbatch argv; touch nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def submit(spec: Path, overrides: tuple[str, ...], dry_run: bool, as_json: bool) -> int:
    """Validate SPEC (train.yaml), snapshot the code and submit the job."""
    loaded = api.load(spec, overrides)
    request = api.plan(loaded)
    snap = request.snapshot
    if dry_run:
        if as_json:
            emit_json(request.to_json())
            return 0
        click.echo("# sbatch command (not run: --dry-run)")
        click.echo(shlex.join(request.sbatch_argv))
        if snap is not None:
            click.echo(
                f"# code snapshot: {len(snap.files)} files, {_size(snap.total_bytes)} "
                f"({snap.method}) from {snap.source} -> {snap.dest}"
            )
        click.echo(f"# job script {request.script_path}:")
        click.echo(request.script, nl=False)
        return 0
    progress = None
    if snap is not None and len(snap.files) > 200 and sys.stderr.isatty() and not as_json:
        progress = _progress_bar(len(snap.files))
    result = api.submit(request, progress=progress)
    if as_json:
        emit_json(
            {
                "job_id": result.job_id,
                "cluster": result.cluster,
                "name": request.name,
                "job_dir": request.job_dir,
                "array_size": len(request.sweep_rows),
            }
        )
        return 0
    what = f"array job of {len(request.sweep_rows)} tasks" if request.is_array else "job"
    click.echo(f"Submitted {what} {result.job_id} ({request.name})")
    click.echo(f"  job dir: {request.job_dir}")
    follow_id = f"{result.job_id}_0" if request.is_array else result.job_id
    click.echo(f"  follow:  aihpc logs -f {follow_id}")
    return 0
