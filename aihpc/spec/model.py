"""The train.yaml model: the user-facing contract, checked by aihpc.spec.typed.

Every field carries a description; `aihpc.spec.docgen` turns them into
docs/train-yaml-reference.md, so the reference cannot drift from the code.
Checks that need the filesystem or the cluster profile live in
`aihpc.spec.checks`; this module only judges the values themselves.
"""

# spec_field is dataclasses.field plus the field's kind and description.

from __future__ import annotations

import re
from collections.abc import Callable

from aihpc.layout import CONTRACT_ENV, DEFAULT_CHECKPOINT_DIR
from aihpc.spec import slurmtime
from aihpc.spec.records import record
from aihpc.spec.typed import (
    Int,
    Leaf,
    ListOf,
    MapOf,
    Model,
    Nested,
    OneOf,
    Optional,
    Problem,
    Str,
    spec_field,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
SLURM_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
SWEEP_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MEM_RE = re.compile(r"[0-9]+[KMGT]?")

# Set by the job script or the launcher at run time (the run-time contract in
# aihpc.layout); a value from train.yaml would be exported after ours and win,
# breaking rendezvous or pointing the job at the wrong directories or flags.
# Other AIHPC_* names (e.g. AIHPC_CHECKPOINT_POLL) stay available.
RESERVED_ENV = CONTRACT_ENV
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


def _matches(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{what} (got {value!r})")
        return value

    return check


OneLine = Str((_one_line,))
ArgText = Str((_no_nul,))
JobName = Str((_matches(NAME_RE, "must match [A-Za-z0-9._-]{1,64}"),))
SlurmName = Str((_matches(SLURM_NAME_RE, "must be letters, digits, '.', '_' or '-' (max 64)"),))
PositiveInt = Int(gt=0)
NonNegativeInt = Int(ge=0)


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


def _check_env(env: dict[str, str]) -> dict[str, str]:
    gloo = env.get("GLOO_SOCKET_IFNAME", "")
    if any(item.startswith(("=", "^")) for item in gloo.split(",")):
        raise ValueError(
            "GLOO_SOCKET_IFNAME takes plain interface names such as eth0 "
            "('=' and '^' are NCCL_SOCKET_IFNAME syntax)"
        )
    return env


JOB_ID_RE = re.compile(r"[0-9]+(?:_[0-9]+)?")


class JobId(Leaf):
    """A Slurm job id, written as a number or a string (`1234`, `"1234_5"`)."""

    def check(self, value: Any, path: tuple[str | int, ...], out: list[Problem]) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return str(value)
        if isinstance(value, str) and JOB_ID_RE.fullmatch(value):
            return value
        out.append(Problem(path, "value_error", f"must be a job id like 1234 (got {value!r})"))
        return None

    def plain_schema(self) -> dict[str, Any]:
        return {"type": "string"}


_check_sweep_key = _matches(
    SWEEP_KEY_RE, "sweep keys become --options: letters, digits, '_', '.', '-'"
)


@record(frozen=True)
class Checkpoint(Model):
    """Checkpoint, signal and requeue settings."""

    dir: str = spec_field(
        OneLine,
        DEFAULT_CHECKPOINT_DIR,
        description="Directory for checkpoints, on shared storage. Placeholders: {shared}, "
        "{home}, {scratch} and other profile shared_dirs, {name}, {user}, {job_dir}. "
        "Sweep tasks get their own `task-<i>` subdirectory. Exported as AIHPC_CHECKPOINT_DIR.",
    )
    signal_before: int = spec_field(
        Int(gt=0, le=65535),
        300,
        description="Seconds before the time limit at which Slurm sends USR1 to the batch "
        "script (`--signal=B:USR1@N`). The script then asks the training processes to "
        "checkpoint and requeues the job.",
    )
    max_restarts: int = spec_field(
        NonNegativeInt,
        3,
        description="How many times the job may requeue itself (compared with "
        "SLURM_RESTART_COUNT). 0 still checkpoints but never requeues.",
    )


@record(frozen=True)
class Container(Model):
    """Run the training processes in a container."""

    image: str = spec_field(
        Str((_one_line,), min_length=1),
        description="Image reference: for pyxis e.g. `nvcr.io#nvidia/pytorch:24.05-py3`, "
        "for apptainer a .sif path or `docker://...` URI.",
    )
    mounts: list[str] = spec_field(
        ListOf(Str((_check_mount,))),
        factory=list,
        description="Extra bind mounts `SRC[:DST[:FLAGS]]`, absolute paths. The job "
        "directory and the checkpoint directory are always mounted at the same path.",
    )
    runtime: str = spec_field(
        OneOf(("pyxis", "apptainer")),
        "pyxis",
        description="`pyxis` (srun --container-image) or `apptainer` (apptainer exec).",
    )


@record(frozen=True)
class TrainSpec(Model):
    """A training job: what to run, on how many nodes, with which resources."""

    name: str = spec_field(
        JobName,
        description="Job name, `[A-Za-z0-9._-]{1,64}`. Used for the Slurm job name and the "
        "job directory.",
    )
    script: str | None = spec_field(
        Optional(Str((_check_relpath,))),
        None,
        description="Python file to run, relative to workdir. Exactly one of script/module.",
    )
    module: str | None = spec_field(
        Optional(Str((_matches(MODULE_RE, "must be a dotted Python module name like pkg.train"),))),
        None,
        description="Python module to run with `python3 -m`, e.g. `pkg.train`.",
    )
    args: list[str] = spec_field(
        ListOf(ArgText),
        factory=list,
        description="Arguments for the script, passed exactly as written (numbers keep "
        "their spelling: `1e-4` stays `1e-4`).",
    )
    nodes: int = spec_field(PositiveInt, 1, description="Number of nodes.")
    gpus_per_node: int = spec_field(
        NonNegativeInt,
        0,
        description="GPUs per node. 0 = CPU-only training (use the gloo backend).",
    )
    procs_per_node: int | None = spec_field(
        Optional(PositiveInt),
        None,
        description="Training processes per node. Default: gpus_per_node, or 1 when "
        "gpus_per_node is 0. Set it to run several CPU processes per node.",
    )
    gpu_type: str | None = spec_field(
        Optional(SlurmName),
        None,
        description="GPU type, e.g. `h100` -> `--gres=gpu:h100:N`. Must be in the profile.",
    )
    cpus_per_task: int | None = spec_field(
        Optional(PositiveInt),
        None,
        description="CPUs per training process (`--cpus-per-task`). Also sets "
        "OMP_NUM_THREADS (default 1).",
    )
    mem: str | None = spec_field(
        Optional(Str((_check_mem,))),
        None,
        description="Memory per node (`--mem`), e.g. `64G`; a bare number is MB.",
    )
    time: str | None = spec_field(
        Optional(Str((_check_time,))),
        None,
        description="Time limit: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.",
    )
    partition: str | None = spec_field(
        Optional(SlurmName),
        None,
        description="Partition. Default: the profile's default_partition.",
    )
    account: str | None = spec_field(
        Optional(SlurmName), None, description="Slurm account (`--account`)."
    )
    qos: str | None = spec_field(Optional(SlurmName), None, description="Slurm QOS (`--qos`).")
    env: dict[str, str] = spec_field(
        MapOf(ArgText, key_rules=(_check_env_key,), after=(_check_env,)),
        factory=dict,
        description="Environment variables, written as quoted `export` lines (commas and "
        "spaces survive). They win over the profile's network.env and aihpc defaults.",
    )
    workdir: str = spec_field(
        OneLine,
        ".",
        description="Directory to snapshot and run from, relative to train.yaml. Git-tracked "
        "files if it is in a git repository, else everything not matched by `.aihpcignore`.",
    )
    setup: list[str] = spec_field(
        ListOf(OneLine),
        factory=list,
        description="Raw shell lines run in the batch script before launch, in the code "
        "snapshot directory. NOT quoted: the one field that is shell. $AIHPC_SUBMIT_DIR is "
        "the original workdir (e.g. `source $AIHPC_SUBMIT_DIR/.venv/bin/activate`).",
    )
    checkpoint: Checkpoint | None = spec_field(
        Optional(Nested(Checkpoint)),
        None,
        description="Checkpoint/requeue settings. Absent: no signal, no requeue "
        "(AIHPC_CHECKPOINT_DIR is still set).",
    )
    sweep: dict[str, list[str]] | None = spec_field(
        Optional(MapOf(ListOf(ArgText, min_length=1), key_rules=(_check_sweep_key,))),
        None,
        description="Hyper-parameter sweep: the cartesian product becomes one array job; "
        "each task gets `--key value` appended to args (first key varies slowest).",
    )
    max_parallel: int | None = spec_field(
        Optional(PositiveInt),
        None,
        description="Array tasks running at once (`--array=...%N`). Only with sweep.",
    )
    container: Container | None = spec_field(
        Optional(Nested(Container)), None, description="Run inside a container."
    )
    template: str | None = spec_field(
        Optional(OneLine),
        None,
        description="Job template: a name in job_templates/ (`srun`, `torchrun`) or a path "
        "to your own Jinja2 template (same context and quoting). Default: the launcher's.",
    )
    launcher: str = spec_field(
        OneOf(("srun", "torchrun")),
        "srun",
        description="`srun`: one Slurm task per process (env:// rendezvous, checkpoint "
        "signals reach every rank). `torchrun`: one task per node running torchrun with "
        "c10d rendezvous (needs a torch built with libuv).",
    )
    resume_from: str | None = spec_field(
        Optional(JobId()),
        None,
        description="Start from the newest complete checkpoint of an earlier job of yours "
        "(its id; also `aihpc submit --resume-from ID`). Its checkpoints are linked into this "
        "job's checkpoint directory before sbatch. Refused when that job has none, or is "
        "another user's.",
    )
    jobs_dir: str = spec_field(
        OneLine,
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
