"""aihpc jupyter."""

from __future__ import annotations

import shlex

import click

from aihpc.cli.output import emit_json

EPILOG = """\b
Examples:
  aihpc jupyter --time 2:00:00 --setup 'source ~/venvs/lab/bin/activate'
  aihpc jupyter -p gpu --gpus 1 --json

JupyterLab must be importable on the node (python3 -m jupyterlab) after the
--setup lines run. The token is written to <job dir>/jupyter.json (mode 0600).
"""


@click.command(epilog=EPILOG)
@click.option("-p", "--partition", default=None, help="Partition (default: the profile's).")
@click.option("--gpus", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--cpus", type=click.IntRange(min=1), default=None)
@click.option("--mem", default=None, help="Memory, e.g. 16G.")
@click.option("--time", "time_limit", default=None, help="Time limit, e.g. 4:00:00.")
@click.option("--setup", multiple=True, help="Raw shell line run before JupyterLab (repeatable).")
@click.option("--notebook-dir", default=None, help="JupyterLab root (default: current dir).")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait.")
@click.option("--dry-run", is_flag=True, help="Print the script and sbatch argv only.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def jupyter(
    partition: str | None,
    gpus: int,
    cpus: int | None,
    mem: str | None,
    time_limit: str | None,
    setup: tuple[str, ...],
    notebook_dir: str | None,
    timeout: float,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Start JupyterLab in a one-node job and print the ssh tunnel command."""
    from aihpc import api

    request = api.jupyter_request(
        partition=partition,
        gpus=gpus,
        cpus=cpus,
        mem=mem,
        time_limit=time_limit,
        setup=setup,
        notebook_dir=notebook_dir,
    )
    if dry_run:
        click.echo(shlex.join(request.sbatch_argv))
        click.echo(request.script, nl=False)
        return 0
    backend = api.backend()
    result = api.submit(request, backend)
    if not as_json:
        click.echo(f"Submitted JupyterLab job {result.job_id}; waiting for it to start ...")
    info = api.wait_for_jupyter(request, result.job_id, backend, timeout=timeout)
    login = str(request.metadata.get("login_host", ""))
    ssh, url = api.tunnel_command(info, login, api.current_user())
    if as_json:
        emit_json({"job_id": result.job_id, "ssh": ssh, "url": url, **info})
        return 0
    click.echo(f"On your laptop:  {ssh}")
    click.echo(f"Then open:       {url}")
    click.echo(f"Stop it with:    aihpc cancel {result.job_id}")
    return 0
