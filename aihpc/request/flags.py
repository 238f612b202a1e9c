"""Resource flags and the srun argv of the one-node commands (`shell`, `jupyter`).

Pure and import-free, so `aihpc shell` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aihpc.spec.session import SessionSpec


def one_node_flags(
    gpus: int, cpus: int | None, mem: str | None, time_limit: str | None
) -> list[str]:
    """srun/sbatch options for a one-node allocation; an unset value adds nothing."""
    flags: list[str] = []
    if gpus:
        flags.append(f"--gres=gpu:{gpus}")
    if cpus:
        flags.append(f"--cpus-per-task={cpus}")
    if mem:
        flags.append(f"--mem={mem}")
    if time_limit:
        flags.append(f"--time={time_limit}")
    return flags


def shell_argv(spec: SessionSpec) -> list[str]:
    """`srun --pty` for an interactive login shell on one node of a partition."""
    argv = ["srun", "--pty", f"--partition={spec.partition}", "--nodes=1", "--ntasks=1"]
    return [*argv, *one_node_flags(spec.gpus, spec.cpus, spec.mem, spec.time), "bash", "-l"]
