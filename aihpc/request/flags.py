"""Resource flags shared by the one-node commands (`shell` and `jupyter`).

Pure and import-free, so `aihpc shell` stays fast.
"""

from __future__ import annotations


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
