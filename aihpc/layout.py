"""The job directory and the run-time contract: every name in one place.

A job directory looks like this (docs/researcher-guide.md shows it too):

    <job_dir>/job.sbatch            the rendered batch script
    <job_dir>/aihpc-job.json        what was submitted (read by `aihpc logs`)
    <job_dir>/code/                 the code snapshot, the job's --chdir
    <job_dir>/lib/aihpc/            job-side aihpc.runtime, on PYTHONPATH
    <job_dir>/logs/batch.log        the batch script (batch-<i>.log for sweeps)
    <job_dir>/logs/rank-<r>.log     one per rank (node-<n>.log with torchrun)
    <job_dir>/logs/task-<i>/...     sweep task i's rank or node logs
    <job_dir>/run/                  checkpoint and completion flags
    <job_dir>/run/exits/task-<t>    a failed Slurm task's exit status and host
    <job_dir>/run/restarts.jsonl    one line per restart or failure, with its cause
    <job_dir>/run/failure.log       the first failed rank's last lines (program error)
    <job_dir>/sweep.jsonl           sweep table, one row per array task
    <job_dir>/job_id                the Slurm job id, after sbatch

The request stage builds the paths, the templates receive the names as
`layout.*` (all plain shell words, so the renderer's quoting leaves them as
they are), and the backend finds logs with the same functions. Standard
library only: every layer, and the job side, may import it.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from aihpc.errors import ClusterError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCRIPT = "job.sbatch"
METADATA = "aihpc-job.json"
CODE = "code"
LIB = "lib"
LOGS = "logs"
RUN = "run"
CHECKPOINTS = "checkpoints"
SWEEP_TABLE = "sweep.jsonl"
JOB_ID = "job_id"
JUPYTER_INFO = "jupyter.json"
TASK_PREFIX = "task-"  # logs/task-<i>, run/task-<i>, <checkpoint dir>/task-<i>
CHECKPOINT_FLAG = "checkpoint-requested"
COMPLETE_FLAG = "complete"
EXITS = "exits"  # run/exits/task-<t>: written by the task wrapper when a task fails
RESTARTS = "restarts.jsonl"
FAILURE = "failure.log"
SWEEP_ARGS_TOOL = "lib/aihpc/jobside/sweep_args.py"
PROBE_TOOL = "lib/aihpc/jobside/probe.py"
# Restart causes, as run/restarts.jsonl and `aihpc status` name them.
CAUSES = ("node_failure", "preemption", "time_limit", "program_error")
JUPYTER_INFO_TOOL = "lib/aihpc/jobside/jupyter_info.py"

# Per-process log names by launcher: srun runs one Slurm task per rank,
# torchrun one per node. `{}` is the task number (%t in srun --output).
TASK_LOG = {"srun": "rank-{}.log", "torchrun": "node-{}.log"}
DEFAULT_CHECKPOINT_DIR = "{job_dir}/" + CHECKPOINTS

# The run-time contract: every variable the shipped templates export. They
# are reserved in train.yaml `env` (a user value exported after ours would
# silently win), and tests/unit/test_layout.py checks this list against the
# `export` lines of job_templates/.
CONTRACT_ENV = frozenset(
    {
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
        "AIHPC_COMPLETE_FLAG",
        "MASTER_ADDR",
        "MASTER_PORT",
        # exported per rank by the srun launcher
        "RANK",
        "LOCAL_RANK",
        "WORLD_SIZE",
        "NODE_RANK",
    }
)


def job_dir_name(name: str, stamp: str, token: str) -> str:
    """`<name>-<YYYYmmdd-HHMMSS>-<token>`: sortable by time, unique by token."""
    return f"{name}-{stamp}-{token}"


def batch_output(array: bool) -> str:
    """The sbatch --output pattern relative to the job dir (%a: array task)."""
    return posixpath.join(LOGS, "batch-%a.log" if array else "batch.log")


def batch_log(task: str | None) -> str:
    """The batch log of the job, or of sweep task `task`, relative to the job dir."""
    return posixpath.join(LOGS, "batch.log" if task is None else f"batch-{task}.log")


def rank_log(launcher: str, rank: int, procs_per_node: int, task: str | None) -> str:
    """The log holding `rank`'s output, relative to the job dir."""
    logs = LOGS if task is None else posixpath.join(LOGS, TASK_PREFIX + task)
    number = rank // procs_per_node if launcher == "torchrun" else rank
    return posixpath.join(logs, TASK_LOG.get(launcher, TASK_LOG["srun"]).format(number))


class JobLayout:
    """The absolute paths of one job directory (POSIX strings: they go to Slurm).

    Immutable, compared and hashed by `root`. A plain class, not a dataclass:
    building a dataclass costs ~0.4 ms of every command's start-up (issue 14).
    """

    __slots__ = ("root",)
    root: str

    def __init__(self, root: str) -> None:
        object.__setattr__(self, "root", root)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"JobLayout is immutable: cannot assign to {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"JobLayout is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JobLayout) and other.__class__ is JobLayout:
            return self.root == other.root
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.root,))

    def __repr__(self) -> str:
        return f"JobLayout(root={self.root!r})"

    def _at(self, name: str) -> str:
        return posixpath.join(self.root, name)

    @property
    def script(self) -> str:
        return self._at(SCRIPT)

    @property
    def metadata(self) -> str:
        return self._at(METADATA)

    @property
    def code(self) -> str:
        return self._at(CODE)

    @property
    def lib(self) -> str:
        return self._at(LIB)

    @property
    def logs(self) -> str:
        return self._at(LOGS)

    @property
    def sweep_table(self) -> str:
        return self._at(SWEEP_TABLE)

    @property
    def job_id(self) -> str:
        return self._at(JOB_ID)

    @property
    def jupyter_info(self) -> str:
        return self._at(JUPYTER_INFO)

    def run_dir(self, task: str | None = None) -> str:
        """run/ of the job, or of sweep task `task` (flags, restarts.jsonl, failure.log)."""
        return self._at(RUN if task is None else posixpath.join(RUN, TASK_PREFIX + task))

    def batch_output(self, array: bool) -> str:
        return self._at(batch_output(array))

    def dirs(self) -> tuple[str, ...]:
        """Created before sbatch: Slurm does not create the --output directory."""
        return (self.root, self.logs, self.code)


def template_names() -> dict[str, str]:
    """The names the templates use, as `layout.<key>` (all plain shell words)."""
    return {
        "logs": LOGS,
        "run": RUN,
        "task_prefix": TASK_PREFIX,
        "checkpoint_flag": CHECKPOINT_FLAG,
        "complete_flag": COMPLETE_FLAG,
        "sweep_args_tool": SWEEP_ARGS_TOOL,
        "probe_tool": PROBE_TOOL,
        "exits": EXITS,
        "restarts": RESTARTS,
        "failure": FAILURE,
        "jupyter_info_tool": JUPYTER_INFO_TOOL,
        "jupyter_info": JUPYTER_INFO,
        "srun_log": TASK_LOG["srun"].format("%t"),
        "torchrun_log": TASK_LOG["torchrun"].format("%t"),
    }


def job_dir_from_workdir(workdir: str, job_id: str) -> Path:
    """The aihpc job directory of a job from its working directory (`<job_dir>/code`),
    or an error saying that the job is not an aihpc job."""
    if not workdir:
        raise ClusterError(f"Slurm reports no working directory for job {job_id}")
    path = Path(workdir)
    job_dir = path.parent
    if path.name != CODE or not (job_dir / METADATA).is_file():
        raise ClusterError(f"job {job_id} was not submitted by aihpc (no {METADATA} in {job_dir})")
    return job_dir


def read_metadata(job_dir: Path) -> dict[str, Any]:
    """What was submitted, as `materialize` wrote it into the job directory."""
    data: dict[str, Any] = json.loads((job_dir / METADATA).read_text(encoding="utf-8"))
    return data
