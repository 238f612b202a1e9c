"""`aihpc` entry point. Imports nothing but the standard library up front.

`aihpc --help` and `aihpc --version` are answered from a static text
(FAST_HELP, checked against click's own rendering by a unit test), because
importing click alone costs about as much as starting Python. Everything
else goes to the click app in aihpc.cli.app, whose subcommands load lazily.
"""

from __future__ import annotations

import os
import sys

from aihpc import __version__

FAST_HELP = """\
Usage: aihpc [OPTIONS] COMMAND [ARGS]...

  Train multi-node PyTorch on Slurm from one YAML file.

Options:
  --version   Show the version and exit.
  -h, --help  Show this message and exit.

Commands:
  submit    Submit a training job described by train.yaml.
  status    Show one job (all its array tasks).
  list      List your jobs: queued, running, last 24 h.
  logs      Print or follow a job's logs, per rank.
  cancel    Cancel a job or one array task.
  shell     Open an interactive shell on a compute node.
  jupyter   Start JupyterLab in a job, print the tunnel.
  health    Check this node (Slurm's HealthCheckProgram).
  exporter  Serve Slurm metrics to Prometheus.
  cluster   Deploy, validate and operate the cluster.
  stats     One job's efficiency: GPUs, CPU, memory, wait.
  report    GPU utilisation, GPU-hours and money report.

  Examples:
    aihpc submit train.yaml --dry-run     # show the script and sbatch argv
    aihpc submit train.yaml -o nodes=2    # override any key
    aihpc logs -f 1234 --rank 0           # follow rank 0
    aihpc list

  Shell completion (bash; zsh: zsh_source, fish: fish_source):
    eval "$(_AIHPC_COMPLETE=bash_source aihpc)"

  Exit codes: 0 ok, 1 job or cluster failure, 2 usage or validation error.
"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if "_AIHPC_COMPLETE" not in os.environ:
        if args in (["--help"], ["-h"]):
            sys.stdout.write(FAST_HELP)
            sys.exit(0)
        if args == ["--version"]:
            sys.stdout.write(f"aihpc, version {__version__}\n")
            sys.exit(0)
        if args[:1] == ["submit"]:
            # The plain forms of the most common command skip click (~35 ms).
            from aihpc.cli import fast_submit

            parsed = fast_submit.parse(args[1:])
            if parsed is not None:
                fast_submit.run(parsed)
    from aihpc.cli.app import run

    run(args)
