"""aihpc health: this node's health checks (also Slurm's HealthCheckProgram)."""

from __future__ import annotations

import click

from aihpc.health import engine, expect
from aihpc.health import main as health
from aihpc.health.checks import ALL

EPILOG = """\b
Examples:
  aihpc health                 # check this node, print one line per check
  aihpc health --json          # the same as JSON
  aihpc health --drain         # what Slurm runs: drain on failure, resume own drains
  aihpc health --resume-only   # what the timer runs: resume a drain it set, once healthy
  aihpc health --ack-xids      # after a GPU reset: forget pending critical Xids

\b
Exit codes: 0 healthy, 1 unhealthy, 2 could not run.
"""


@click.command(name="health", epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--expect",
    "expect_file",
    default=expect.DEFAULT_PATH,
    show_default=True,
    help="The node's expectations file.",
)
@click.option("--node", default="", help="Slurm node name (default: $SLURMD_NODENAME, hostname).")
@click.option("--drain", is_flag=True, help="Drain on failure; resume a drain it set itself.")
@click.option("--metrics-dir", default="", help="Write node_exporter textfile metrics here.")
@click.option("--state-dir", default=health.DEFAULT_STATE_DIR, show_default=True)
@click.option(
    "--budget",
    type=float,
    default=engine.BUDGET,
    show_default=True,
    help="Seconds for all checks together.",
)
@click.option("--check-timeout", type=float, default=engine.CHECK_TIMEOUT, show_default=True)
@click.option("--only", multiple=True, type=click.Choice(list(ALL)), help="Run only this check.")
@click.option("--ack-xids", is_flag=True, help="Forget pending critical Xids, then exit.")
@click.option(
    "--resume-only",
    is_flag=True,
    help="Only if aihpc health drained this node: re-check, resume when healthy.",
)
def health_(
    as_json: bool,
    expect_file: str,
    node: str,
    drain: bool,
    metrics_dir: str,
    state_dir: str,
    budget: float,
    check_timeout: float,
    only: tuple[str, ...],
    ack_xids: bool,
    resume_only: bool,
) -> int:
    """Check this node: GPUs, driver, Xids, ECC, IB, mounts, memory, daemons."""
    opts = health.Options(
        json=as_json,
        expect=expect_file,
        node=node,
        drain=drain,
        metrics_dir=metrics_dir,
        state_dir=state_dir,
        budget=budget,
        check_timeout=check_timeout,
        ack_xids=ack_xids,
        resume_only=resume_only,
        only=list(only),
    )
    return health.execute(opts)
