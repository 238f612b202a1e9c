"""The Slurm commands the exporter runs, and how each reply is parsed.

One command per kind of data, each through the one parser in aihpc.slurm;
the lean squeue call runs through `env` to get epoch times
(aihpc.slurm.squeue_lean.squeue_lean_argv).
Every failure is classified (missing, timeout, exit, parse) so it becomes a
labelled error counter rather than an exception.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aihpc.errors import ClusterError
from aihpc.slurm.jobs import parse_squeue
from aihpc.slurm.nodes import parse_nodes, show_nodes_argv
from aihpc.slurm.run import CommandNotFoundError, CommandTimeoutError, Runner
from aihpc.slurm.sdiag import parse_sdiag, sdiag_argv
from aihpc.slurm.squeue_lean import parse_squeue_lean, squeue_lean_argv
from aihpc.slurm.sshare import parse_sshare, sshare_argv
from aihpc.slurm.values import errors

ERROR_REASONS = ("missing", "timeout", "exit", "parse")


@dataclass(frozen=True)
class Source:
    command: str  # the `command` label value
    argv: list[str]
    parse: Callable[[str], Any]


@dataclass(frozen=True)
class CommandResult:
    command: str
    data: Any  # the parsed reply; None when the command failed
    error: str = ""  # "" or one of ERROR_REASONS
    message: str = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def _json(parser: Callable[[Any], Any], what: str) -> Callable[[str], Any]:
    def parse(stdout: str) -> Any:
        try:
            payload = json.loads(stdout)
        except ValueError as exc:
            raise ClusterError(f"{what} printed invalid JSON: {exc}") from None
        try:
            return parser(payload)
        except ClusterError:
            problems = errors(payload)
            if problems:
                raise ClusterError(f"{what}: {'; '.join(problems)}") from None
            raise

    return parse


def sources(squeue: str = "lean") -> list[Source]:
    """The four commands of one refresh; `squeue` picks the lean or the JSON job path."""
    if squeue == "json":
        jobs = Source("squeue", ["squeue", "--all", "--json"], _json(parse_squeue, "squeue"))
    else:
        jobs = Source("squeue", squeue_lean_argv(), parse_squeue_lean)
    return [
        Source("scontrol", show_nodes_argv(), _json(parse_nodes, "scontrol show nodes")),
        jobs,
        Source("sdiag", sdiag_argv(), _json(parse_sdiag, "sdiag")),
        Source("sshare", sshare_argv(), _json(parse_sshare, "sshare")),
    ]


def fetch(source: Source, runner: Runner, timeout: float) -> CommandResult:
    """Run one command and parse it; never raises for Slurm's sake."""
    start = time.monotonic()

    def failed(reason: str, message: str) -> CommandResult:
        return CommandResult(source.command, None, reason, message, time.monotonic() - start)

    try:
        done = runner(source.argv, timeout)
    except CommandNotFoundError as exc:
        return failed("missing", str(exc))
    except CommandTimeoutError as exc:
        return failed("timeout", str(exc))
    except (ClusterError, OSError) as exc:
        return failed("exit", str(exc))
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        message = f"exit {done.returncode}: {detail[-1][:300] if detail else ''}"
        # `env VAR=... squeue` (the lean squeue call) exits 127 when squeue is missing.
        missing = source.argv[0] == "env" and done.returncode == 127
        return failed("missing" if missing else "exit", message)
    try:
        data = source.parse(done.stdout)
    except (ClusterError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return failed("parse", str(exc)[:300])
    return CommandResult(source.command, data, duration=time.monotonic() - start)
