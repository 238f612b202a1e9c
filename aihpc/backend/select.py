"""Pick the backend: pyslurm when installed and matching Slurm, else the CLIs.

AIHPC_BACKEND=cli|pyslurm|auto (default auto). In auto mode a missing
pyslurm is the normal case and stays silent; an installed pyslurm that
cannot be used prints one line saying why.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import TextIO

from aihpc.backend.base import Backend
from aihpc.backend.cli_backend import CliBackend, sinfo_version
from aihpc.errors import UsageError
from aihpc.slurm.run import Runner, run_command
from aihpc.slurm.values import parse_version

BACKEND_ENV = "AIHPC_BACKEND"


def _pyslurm_or_reason(runner: Runner) -> tuple[Backend | None, str]:
    if importlib.util.find_spec("pyslurm") is None:
        return None, "pyslurm is not installed"
    try:
        module = importlib.import_module("pyslurm")
    except Exception as exc:  # a broken build raises more than ImportError
        return None, f"pyslurm failed to import ({exc.__class__.__name__}: {exc})"
    version_text = str(getattr(module, "__version__", "") or "")
    theirs = parse_version(version_text)
    ours = sinfo_version(runner)
    if theirs is None or ours is None or theirs != ours:
        slurm = "unknown" if ours is None else f"{ours[0]}.{ours[1]}"
        return None, f"pyslurm {version_text or '?'} does not match Slurm {slurm}"
    from aihpc.backend.pyslurm_backend import PyslurmBackend

    return PyslurmBackend(module, runner), ""


def get_backend(
    environ: dict[str, str] | None = None,
    stderr: TextIO | None = None,
    runner: Runner = run_command,
) -> Backend:
    env = os.environ if environ is None else environ
    err = sys.stderr if stderr is None else stderr
    choice = env.get(BACKEND_ENV, "auto")
    if choice == "cli":
        return CliBackend(runner)
    if choice not in ("auto", "pyslurm"):
        raise UsageError(f"{BACKEND_ENV} must be cli, pyslurm or auto (got {choice!r})")
    backend, reason = _pyslurm_or_reason(runner)
    if backend is not None:
        return backend
    if choice == "pyslurm" or reason != "pyslurm is not installed":
        print(f"aihpc: using the Slurm CLI backend: {reason}", file=err)
    return CliBackend(runner)
