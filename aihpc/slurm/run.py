"""Running a Slurm command: an argv list, never a shell, always with a timeout.

A `Runner` is injected wherever Slurm is called, so tests replay recorded
output and the exporter can share one call between concurrent scrapes.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aihpc.errors import ClusterError

QUERY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[list[str], float], Completed]


class CommandNotFoundError(ClusterError):
    """The Slurm client command is not installed (or not on PATH)."""


class CommandTimeoutError(ClusterError):
    """The command did not answer within its timeout (slurmctld busy or down)."""


def run_command(argv: list[str], timeout: float) -> Completed:
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, errors="replace"
        )
    except FileNotFoundError:
        raise CommandNotFoundError(
            f"{argv[0]} not found: run aihpc on a Slurm login node"
        ) from None
    except subprocess.TimeoutExpired:
        raise CommandTimeoutError(f"{argv[0]} did not answer within {timeout:.0f}s") from None
    return Completed(proc.returncode, proc.stdout, proc.stderr)


@contextmanager
def stream_lines(
    argv: list[str], timeout: float, env: dict[str, str] | None = None
) -> Iterator[Iterator[str]]:
    """Run `argv` and yield its stdout line by line, as it is printed.

    For outputs too large to hold (a month of `sacct` rows): the caller
    aggregates while reading. The same errors as `run_command`: a missing
    binary, a command still running after `timeout` seconds (it is killed),
    and a non-zero exit (ClusterError with the end of stderr), raised when
    the lines run out so a partial read never passes for a whole one.
    """
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                errors="replace",
                env=env,
            )
        except FileNotFoundError:
            raise CommandNotFoundError(
                f"{argv[0]} not found: run aihpc on a Slurm login node"
            ) from None
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(timeout, expire)
        timer.start()
        try:
            assert proc.stdout is not None
            yield iter(proc.stdout)
            proc.stdout.close()
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if expired.is_set():
            raise CommandTimeoutError(f"{argv[0]} did not finish within {timeout:.0f}s")
        if code != 0:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace").strip()
            raise ClusterError(f"{argv[0]} failed (exit {code}): {tail}")
