"""The train.yaml model: the user-facing contract, validated with pydantic v2.

Every field carries a description; `aihpc.spec.docgen` turns them into
docs/train-yaml-reference.md, so the reference cannot drift from the code.
Checks that need the filesystem or the cluster profile live in
`aihpc.spec.checks`; this module only judges the values themselves.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
)

from aihpc.spec import slurmtime

NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
SLURM_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
SWEEP_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MEM_RE = re.compile(r"[0-9]+[KMGT]?")

# Set by the job script or the launcher at run time; a value from train.yaml
# would break rendezvous or point the job at the wrong directories. Other
# AIHPC_* names (e.g. AIHPC_CHECKPOINT_POLL) stay available.
RESERVED_ENV = frozenset(
    {
        "RANK",
        "LOCAL_RANK",
        "WORLD_SIZE",
        "NODE_RANK",
        "MASTER_ADDR",
        "MASTER_PORT",
        "AIHPC_JOB_NAME",
        "AIHPC_JOB_DIR",
        "AIHPC_CODE_DIR",
        "AIHPC_SUBMIT_DIR",
        "AIHPC_LAUNCHER",
        "AIHPC_RESTART_COUNT",
        "AIHPC_CHECKPOINT_DIR",
        "AIHPC_MAX_RESTARTS",
        "AIHPC_TASK_ID",
        "AIHPC_LOG_DIR",
        "AIHPC_RUN_DIR",
        "AIHPC_SWEEP_TABLE",
        "AIHPC_CHECKPOINT_FLAG",
    }
)
# Change how bash itself parses or starts the batch script.
SHELL_ENV = frozenset({"IFS", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "CDPATH"})
RESERVED_ENV_PREFIXES = ("SLURM_",)
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


def _one_line(value: str) -> str:
    """Refuse characters that would split or hide a one-line value (#SBATCH, paths, logs)."""
    for char in value:
        if char in "\n\r\u2028\u2029":
            raise ValueError("must be a single line (no newline)")
        if (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            raise ValueError(f"control character {char!r} is not allowed")
    return value


def _no_nul(value: str) -> str:
    """NUL cannot travel through argv or the environment."""
    if "\x00" in value:
        raise ValueError("NUL character is not allowed")
    return value


def _matches(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{what} (got {value!r})")
        return value

    return AfterValidator(check)


OneLine = Annotated[str, AfterValidator(_one_line)]
ArgText = Annotated[str, AfterValidator(_no_nul)]
JobName = Annotated[str, _matches(NAME_RE, "must match [A-Za-z0-9._-]{1,64}")]
SlurmName = Annotated[
    str, _matches(SLURM_NAME_RE, "must be letters, digits, '.', '_' or '-' (max 64)")
]


def _check_time(value: str) -> str:
    _one_line(value)
    slurmtime.parse_minutes(value)  # raises ValueError with the accepted formats
    return value


def _check_mem(value: str) -> str:
    if not MEM_RE.fullmatch(value):
        raise ValueError(
            f"must be a number with an optional K/M/G/T suffix, like 64G (got {value!r})"
        )
    return value


def _check_relpath(value: str) -> str:
    _one_line(value)
    if value.startswith("/"):
        raise ValueError("must be a path relative to workdir")
    parts = value.replace("\\", "/").split("/")
    if ".." in parts:
        raise ValueError("must stay inside workdir (no '..')")
    if not value.strip() or value.endswith("/"):
        raise ValueError("must name a file")
    return value


def _check_env_key(key: str) -> str:
    if not ENV_KEY_RE.fullmatch(key):
        raise ValueError(f"{key!r} is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)")
    if key in RESERVED_ENV or key.startswith(RESERVED_ENV_PREFIXES):
        raise ValueError(f"{key} is set by aihpc/Slurm at run time and cannot be overridden")
    if key in SHELL_ENV:
        raise ValueError(f"{key} changes how bash runs the job script and cannot be set")
    return key


def _check_mount(value: str) -> str:
    _one_line(value)
    if "," in value:
        raise ValueError("a mount cannot contain ',' (it separates mounts for pyxis)")
    parts = value.split(":")
    if len(parts) > 3 or not parts[0]:
        raise ValueError("must be SRC[:DST[:FLAGS]]")
    for part in parts[:2]:
        if not (part.startswith("/") or part.startswith("{")):
            raise ValueError(f"mount paths must be absolute (got {part!r})")
    return value


EnvKey = Annotated[str, AfterValidator(_check_env_key)]


def _check_env(env: dict[str, str]) -> dict[str, str]:
    gloo = env.get("GLOO_SOCKET_IFNAME", "")
    if any(item.startswith(("=", "^")) for item in gloo.split(",")):
        raise ValueError(
            "GLOO_SOCKET_IFNAME takes plain interface names such as eth0 "
            "('=' and '^' are NCCL_SOCKET_IFNAME syntax)"
        )
    return env


SweepKey = Annotated[
    str, _matches(SWEEP_KEY_RE, "sweep keys become --options: letters, digits, '_', '.', '-'")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Checkpoint(_Strict):
    """Checkpoint, signal and requeue settings."""

    dir: OneLine = Field(
        "{job_dir}/checkpoints",
        description="Directory for checkpoints, on shared storage. Placeholders: {shared}, "
        "{home}, {scratch} and other profile shared_dirs, {name}, {user}, {job_dir}. "
        "Sweep tasks get their own `task-<i>` subdirectory. Exported as AIHPC_CHECKPOINT_DIR.",
    )
    signal_before: Annotated[int, Field(gt=0, le=65535)] = Field(
        300,
        description="Seconds before the time limit at which Slurm sends USR1 to the batch "
        "script (`--signal=B:USR1@N`). The script then asks the training processes to "
        "checkpoint and requeues the job.",
    )
    max_restarts: NonNegativeInt = Field(
        3,
        description="How many times the job may requeue itself (compared with "
        "SLURM_RESTART_COUNT). 0 still checkpoints but never requeues.",
    )


class Container(_Strict):
    """Run the training processes in a container."""

    image: Annotated[str, AfterValidator(_one_line), Field(min_length=1)] = Field(
        description="Image reference: for pyxis e.g. `nvcr.io#nvidia/pytorch:24.05-py3`, "
        "for apptainer a .sif path or `docker://...` URI.",
    )
    mounts: list[Annotated[str, AfterValidator(_check_mount)]] = Field(
        default_factory=list,
        description="Extra bind mounts `SRC[:DST[:FLAGS]]`, absolute paths. The job "
        "directory and the checkpoint directory are always mounted at the same path.",
    )
    runtime: Literal["pyxis", "apptainer"] = Field(
        "pyxis",
        description="`pyxis` (srun --container-image) or `apptainer` (apptainer exec).",
    )


class TrainSpec(_Strict):
    """A training job: what to run, on how many nodes, with which resources."""

    name: JobName = Field(
        description="Job name, `[A-Za-z0-9._-]{1,64}`. Used for the Slurm job name and the "
        "job directory.",
    )
    script: Annotated[str, AfterValidator(_check_relpath)] | None = Field(
        None,
        description="Python file to run, relative to workdir. Exactly one of script/module.",
    )
    module: (
        Annotated[str, _matches(MODULE_RE, "must be a dotted Python module name like pkg.train")]
        | None
    ) = Field(None, description="Python module to run with `python3 -m`, e.g. `pkg.train`.")
    args: list[ArgText] = Field(
        default_factory=list,
        description="Arguments for the script, passed exactly as written (numbers keep "
        "their spelling: `1e-4` stays `1e-4`).",
    )
    nodes: PositiveInt = Field(1, description="Number of nodes.")
    gpus_per_node: NonNegativeInt = Field(
        0, description="GPUs per node. 0 = CPU-only training (use the gloo backend)."
    )
    procs_per_node: PositiveInt | None = Field(
        None,
        description="Training processes per node. Default: gpus_per_node, or 1 when "
        "gpus_per_node is 0. Set it to run several CPU processes per node.",
    )
    gpu_type: SlurmName | None = Field(
        None, description="GPU type, e.g. `h100` -> `--gres=gpu:h100:N`. Must be in the profile."
    )
    cpus_per_task: PositiveInt | None = Field(
        None,
        description="CPUs per training process (`--cpus-per-task`). Also sets "
        "OMP_NUM_THREADS (default 1).",
    )
    mem: Annotated[str, AfterValidator(_check_mem)] | None = Field(
        None, description="Memory per node (`--mem`), e.g. `64G`; a bare number is MB."
    )
    time: Annotated[str, AfterValidator(_check_time)] | None = Field(
        None,
        description="Time limit: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.",
    )
    partition: SlurmName | None = Field(
        None, description="Partition. Default: the profile's default_partition."
    )
    account: SlurmName | None = Field(None, description="Slurm account (`--account`).")
    qos: SlurmName | None = Field(None, description="Slurm QOS (`--qos`).")
    env: Annotated[dict[EnvKey, ArgText], AfterValidator(_check_env)] = Field(
        default_factory=dict,
        description="Environment variables, written as quoted `export` lines (commas and "
        "spaces survive). They win over the profile's network.env and aihpc defaults.",
    )
    workdir: OneLine = Field(
        ".",
        description="Directory to snapshot and run from, relative to train.yaml. Git-tracked "
        "files if it is in a git repository, else everything not matched by `.aihpcignore`.",
    )
    setup: list[OneLine] = Field(
        default_factory=list,
        description="Raw shell lines run in the batch script before launch, in the code "
        "snapshot directory. NOT quoted: the one field that is shell. $AIHPC_SUBMIT_DIR is "
        "the original workdir (e.g. `source $AIHPC_SUBMIT_DIR/.venv/bin/activate`).",
    )
    checkpoint: Checkpoint | None = Field(
        None,
        description="Checkpoint/requeue settings. Absent: no signal, no requeue "
        "(AIHPC_CHECKPOINT_DIR is still set).",
    )
    sweep: dict[SweepKey, Annotated[list[ArgText], Field(min_length=1)]] | None = Field(
        None,
        description="Hyper-parameter sweep: the cartesian product becomes one array job; "
        "each task gets `--key value` appended to args (first key varies slowest).",
    )
    max_parallel: PositiveInt | None = Field(
        None, description="Array tasks running at once (`--array=...%N`). Only with sweep."
    )
    container: Container | None = Field(None, description="Run inside a container.")
    template: OneLine | None = Field(
        None,
        description="Job template: a name in job_templates/ (`srun`, `torchrun`) or a path "
        "to your own Jinja2 template (same context and quoting). Default: the launcher's.",
    )
    launcher: Literal["srun", "torchrun"] = Field(
        "srun",
        description="`srun`: one Slurm task per process (env:// rendezvous, checkpoint "
        "signals reach every rank). `torchrun`: one task per node running torchrun with "
        "c10d rendezvous (needs a torch built with libuv).",
    )
    jobs_dir: OneLine = Field(
        "{shared}/aihpc/jobs/{user}",
        description="Where job directories are created: "
        "`<jobs_dir>/<name>-<YYYYmmdd-HHMMSS>-<random>`. Must be on shared storage.",
    )

    # Cross-field rules (exactly one of script/module, gpu_type needs GPUs, ...)
    # live in aihpc.spec.checks, where an error can name the field it is about.

    @property
    def processes_per_node(self) -> int:
        """Effective processes per node (see `procs_per_node`)."""
        if self.procs_per_node is not None:
            return self.procs_per_node
        return self.gpus_per_node or 1

    @property
    def world_size(self) -> int:
        return self.nodes * self.processes_per_node
