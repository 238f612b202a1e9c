"""aihpc shell."""

from __future__ import annotations

import os
import shlex

import click

EPILOG = """\b
Examples:
  aihpc shell                       # default partition, 1 node
  aihpc shell -p gpu --gpus 1 --time 1:00:00
  aihpc shell --dry-run             # print the srun command
"""


@click.command(epilog=EPILOG)
@click.option("-p", "--partition", default=None, help="Partition (default: the profile's).")
@click.option("--gpus", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--cpus", type=click.IntRange(min=1), default=None, help="CPUs for the shell.")
@click.option("--mem", default=None, help="Memory, e.g. 8G.")
@click.option("--time", "time_limit", default=None, help="Time limit, e.g. 1:00:00.")
@click.option("--dry-run", is_flag=True, help="Print the srun command instead of running it.")
def shell(
    partition: str | None,
    gpus: int,
    cpus: int | None,
    mem: str | None,
    time_limit: str | None,
    dry_run: bool,
) -> int:
    """Open an interactive login shell on a compute node (srun --pty)."""
    from aihpc import api

    argv = api.shell_argv(partition, gpus, cpus, mem, time_limit)
    if dry_run:
        click.echo(shlex.join(argv))
        return 0
    try:
        os.execvp(argv[0], argv)  # the shell replaces aihpc; Ctrl-C goes to srun
    except FileNotFoundError:
        from aihpc.errors import ClusterError

        raise ClusterError("srun not found: run aihpc on a Slurm login node") from None
    return 0  # not reached
