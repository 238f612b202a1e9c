"""Running a Slurm command: an argv list, never a shell, always with a timeout.

A `Runner` is injected wherever Slurm is called, so tests replay recorded
output and the exporter can share one call between concurrent scrapes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from aihpc.errors import ClusterError

QUERY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[list[str], float], Completed]


def run_command(argv: list[str], timeout: float) -> Completed:
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, errors="replace"
        )
    except FileNotFoundError:
        raise ClusterError(f"{argv[0]} not found: run aihpc on a Slurm login node") from None
    except subprocess.TimeoutExpired:
        raise ClusterError(f"{argv[0]} did not answer within {timeout:.0f}s") from None
    return Completed(proc.returncode, proc.stdout, proc.stderr)
