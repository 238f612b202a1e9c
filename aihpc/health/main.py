"""The health run: load expectations, run the checks, act in Slurm, write metrics.

Shared by `python -m aihpc.health` (what the HealthCheckProgram wrapper runs:
standard library only, no click) and `aihpc health` (aihpc.cli.cmd_health).
Exit codes: 0 healthy, 1 unhealthy, 2 could not run (bad expectations, no
check could run, another run holding the lock).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aihpc.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, AihpcError
from aihpc.health import engine, expect, metrics, provenance
from aihpc.health.checks import ALL
from aihpc.health.checks.gpu_xid import acknowledge
from aihpc.health.context import Context
from aihpc.health.model import Report
from aihpc.slurm.run import Runner, run_command

DEFAULT_STATE_DIR = "/var/lib/aihpc/health"
LOCK_WAIT = 5.0


@dataclass
class Options:
    json: bool = False
    expect: str = expect.DEFAULT_PATH
    node: str = ""
    drain: bool = False
    metrics_dir: str = ""
    state_dir: str = DEFAULT_STATE_DIR
    budget: float = engine.BUDGET
    check_timeout: float = engine.CHECK_TIMEOUT
    ack_xids: bool = False
    # Slurm's default HealthCheckNodeState (NONDRAINED_IDLE) never runs the
    # program on a drained node, so a timer runs it with resume_only: it acts
    # only while this program holds a drain, and then only to resume it.
    resume_only: bool = False
    root: str = "/"
    only: list[str] = field(default_factory=list)


def node_name(given: str) -> str:
    # slurmd exports SLURMD_NODENAME to the health program and the epilog; the
    # short host name is the usual node name when run by hand.
    return given or os.environ.get("SLURMD_NODENAME", "") or socket.gethostname().split(".")[0]


def run(opts: Options, runner: Runner = run_command) -> Report:
    """One run; raises AihpcError (exit 2 for bad input) when it cannot start."""
    unknown_checks = [c for c in opts.only if c not in ALL]
    if unknown_checks:
        raise expect.ExpectationError(
            f"--only: unknown check {', '.join(unknown_checks)} (known: {', '.join(ALL)})"
        )
    if opts.budget <= 0 or opts.budget >= 55 or opts.check_timeout <= 0:
        raise expect.ExpectationError(
            "--budget must be between 0 and 55 s (Slurm kills the program at 60 s), "
            "--check-timeout above 0"
        )
    expectations = expect.load(Path(opts.root) / opts.expect.lstrip("/"))
    state_dir = Path(opts.state_dir)
    ctx = Context(expectations, runner, root=Path(opts.root), state_dir=state_dir)
    checks = {k: v for k, v in ALL.items() if not opts.only or k in opts.only}
    started, clock = time.time(), time.monotonic()
    results = engine.run_checks(checks, ctx, opts.check_timeout, opts.budget)
    report = Report(node_name(opts.node), started, time.monotonic() - clock, results)
    if opts.drain or opts.resume_only:
        provenance.reconcile(report, runner, state_dir, may_drain=not opts.resume_only)
    report.duration = time.monotonic() - clock
    if opts.metrics_dir:
        text = metrics.render(report, provenance.holds_drain(state_dir))
        metrics.write(Path(opts.metrics_dir), text)
    return report


def exit_code(report: Report) -> int:
    if report.failed:
        return EXIT_FAILURE
    return EXIT_OK if report.ran_anything else EXIT_USAGE


def format_text(report: Report) -> str:
    width = max((len(r.check) for r in report.results), default=5)
    lines = [f"{r.status.value:<8} {r.check:<{width}}  {r.summary}" for r in report.results]
    verdict = "healthy" if report.healthy else "UNHEALTHY"
    lines.append(f"{report.node}: {verdict} in {report.duration:.2f}s")
    if report.action != "none" or report.action_detail:
        lines.append(
            f"slurm: {report.action}"
            + (f" ({report.action_detail})" if report.action_detail else "")
        )
    return "\n".join(lines) + "\n"


class _Lock:
    """One run at a time per node (the health program and the epilog may overlap)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "lock"
        self.handle: TextIO | None = None

    def __enter__(self) -> _Lock:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.handle = open(self.path, "a", encoding="utf-8")  # held until __exit__
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.handle.close()
                    raise expect.ExpectationError(
                        f"another aihpc health run holds {self.path}; try again"
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def execute(opts: Options, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run, print, return the exit code; never raises for bad input or a broken node."""
    try:
        if opts.ack_xids:
            count = acknowledge(Path(opts.state_dir))
            out.write(f"acknowledged {count} pending critical Xid(s)\n")
            return EXIT_OK
        if opts.resume_only and not provenance.holds_drain(Path(opts.state_dir)):
            out.write("no drain set by aihpc health on this node: nothing to resume\n")
            return EXIT_OK
        if opts.drain or opts.resume_only:
            with _Lock(Path(opts.state_dir)):
                report = run(opts)
        else:
            report = run(opts)
    except AihpcError as exc:
        err.write(f"aihpc health: {exc}\n")
        return exc.exit_code if exc.exit_code == EXIT_USAGE else EXIT_USAGE
    except OSError as exc:
        err.write(f"aihpc health: cannot run: {exc}\n")
        return EXIT_USAGE
    if opts.json:
        out.write(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        out.write(format_text(report))
    return exit_code(report)
