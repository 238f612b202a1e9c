"""Jobs as squeue, sacct and sbatch report them: `JobInfo` and `SubmitResult`.

Written against recorded samples in tests/fixtures/slurm/. The one parser of
squeue/sacct job records; the job backend and the operator commands share it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from aihpc.errors import ClusterError
from aihpc.slurm.values import exit_status, number, states, timestamp

# Base states after which a job will not change again (until a requeue).
TERMINAL_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "TIMEOUT",
    }
)


@dataclass(frozen=True)
class SubmitResult:
    job_id: str
    cluster: str | None = None


@dataclass(frozen=True)
class JobInfo:
    """One job or array task, as squeue/sacct/pyslurm report it."""

    job_id: str  # "123", "123_4" for an array task, "123_[0-5%2]" for pending tasks
    name: str
    user: str
    state: str  # base state, e.g. RUNNING
    flags: tuple[str, ...] = ()  # extra state flags, e.g. REQUEUED
    reason: str = ""
    partition: str = ""
    nodes: str = ""
    node_count: int | None = None
    submit_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    time_limit_min: int | None = None  # None: unlimited or unset
    exit_code: int | None = None
    signal: int | None = None
    workdir: str = ""
    stdout: str = ""
    restart_count: int = 0
    array_job_id: str | None = None
    array_task: str | None = None
    raw_id: str = ""  # Slurm's own id of this record (array tasks have one each)
    source: str = ""
    account: str = ""
    # Allocated TRES (running jobs; squeue -O tres-alloc shows the request while
    # pending): every way of asking for GPUs ends up here as gres/gpu=N.
    tres_alloc: str = ""
    # When the job was selected for preemption (squeue/scontrol show job); None: never.
    preempt_time: int | None = None
    batch_host: str = ""  # the node running the batch script (squeue/scontrol only)
    # When Slurm first held the job able to start (dependencies met, --begin
    # reached, not held): EligibleTime. None while it is not (yet) eligible.
    eligible_time: int | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def base_id(self) -> str:
        """The id that names the whole job: the array id for array tasks."""
        return self.array_job_id or self.job_id

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["flags"] = list(self.flags)
        data["terminal"] = self.is_terminal
        return data


BASE_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "CONFIGURING",
        "COMPLETING",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PENDING",
        "PREEMPTED",
        "RUNNING",
        "REQUEUED",
        "RESIZING",
        "REVOKED",
        "SUSPENDED",
        "TIMEOUT",
    }
)
_SBATCH_RE = re.compile(r"^\s*([0-9]+)(?:;(\S+))?\s*$")


def _job_id(raw: int | None, array_id: int | None, task: int | None, task_string: str) -> str:
    if array_id:
        if task is not None:
            return f"{array_id}_{task}"
        if task_string:
            return f"{array_id}_[{task_string}]"
    return str(raw)


def _array(
    array_id: int | None, task: int | None, task_string: str
) -> tuple[str | None, str | None]:
    if not array_id:
        return None, None
    return str(array_id), str(task) if task is not None else (task_string or None)


def squeue_job(job: dict[str, Any]) -> JobInfo:
    raw = number(job.get("job_id"))
    array_id = number(job.get("array_job_id"))
    task = number(job.get("array_task_id"))
    task_string = str(job.get("array_task_string") or "")
    state, flags = states(job.get("job_state"), BASE_STATES)
    code, signal = exit_status(job.get("exit_code"))
    array_job, array_task = _array(array_id, task, task_string)
    return JobInfo(
        job_id=_job_id(raw, array_id, task, task_string),
        name=str(job.get("name", "")),
        user=str(job.get("user_name", "")),
        state=state,
        flags=flags,
        reason=str(job.get("state_reason", "") or ""),
        partition=str(job.get("partition", "")),
        nodes=str(job.get("nodes", "") or ""),
        node_count=number(job.get("node_count")),
        submit_time=timestamp(job.get("submit_time")),
        start_time=timestamp(job.get("start_time")),
        end_time=timestamp(job.get("end_time")),
        time_limit_min=number(job.get("time_limit")),
        exit_code=code,
        signal=signal,
        workdir=str(job.get("current_working_directory", "") or ""),
        stdout=str(job.get("standard_output", "") or ""),
        restart_count=number(job.get("restart_cnt")) or 0,
        array_job_id=array_job,
        array_task=array_task,
        raw_id=str(raw),
        source="squeue",
        account=str(job.get("account", "") or ""),
        tres_alloc=str(job.get("tres_alloc_str", "") or ""),
        preempt_time=timestamp(job.get("preempt_time")),
        batch_host=str(job.get("batch_host", "") or ""),
        eligible_time=timestamp(job.get("eligible_time")),
    )


def sacct_job(job: dict[str, Any]) -> JobInfo:
    raw = number(job.get("job_id"))
    array = job.get("array") or {}
    array_id = number(array.get("job_id"))
    task = number(array.get("task_id"))
    task_string = str(array.get("task", "") or "")
    state_obj = job.get("state") or {}
    state, flags = states(
        state_obj.get("current") if isinstance(state_obj, dict) else state_obj, BASE_STATES
    )
    reason = state_obj.get("reason", "") if isinstance(state_obj, dict) else ""
    times = job.get("time") or {}
    code, signal = exit_status(job.get("exit_code"))
    array_job, array_task = _array(array_id, task, task_string)
    return JobInfo(
        job_id=_job_id(raw, array_id, task, task_string),
        name=str(job.get("name", "")),
        user=str(job.get("user", "")),
        state=state,
        flags=flags,
        reason=str(reason or ""),
        partition=str(job.get("partition", "")),
        nodes=str(job.get("nodes", "") or ""),
        node_count=number(job.get("allocation_nodes")),
        submit_time=timestamp(times.get("submission")),
        start_time=timestamp(times.get("start")),
        end_time=timestamp(times.get("end")),
        time_limit_min=number(times.get("limit")),
        exit_code=code,
        signal=signal,
        workdir=str(job.get("working_directory", "") or ""),
        stdout=str(job.get("stdout_expanded") or job.get("stdout") or ""),
        restart_count=number(job.get("restart_cnt")) or 0,
        array_job_id=array_job,
        array_task=array_task,
        raw_id=str(raw),
        source="sacct",
        account=str(job.get("account", "") or ""),
        eligible_time=timestamp(times.get("eligible")),
    )


def array_task_count(tasks: str) -> int:
    """How many array tasks a record stands for, from Slurm's task expression.

    `squeue --json` keeps the still-pending tasks of an array in one record
    whose `array_task_string` is ``0-3``, ``1,3,5-9``, ``0-99:3`` (a step)
    or any of these with a ``%N`` throttle; `squeue -r -O` prints one line
    per task instead. A plain task id (a started task's own record) is 1.
    Slurm cuts the expression at SLURM_BITSTR_LEN (64 characters by default)
    and ends it with ``...``; only the complete items before the cut count.
    """
    text = tasks.split("%", 1)[0].strip()
    if not text or text.isdigit():
        return 1
    if text.endswith("..."):
        text = text[:-3].rpartition(",")[0]  # the item cut in two is dropped
    count = 0
    for item in text.split(","):
        span, _, step_text = item.partition(":")
        first_text, dash, last_text = span.partition("-")
        if not first_text.isdigit() or (dash and not last_text.isdigit()):
            continue
        first = int(first_text)
        last = int(last_text) if dash else first
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else 1
        count += max(0, (last - first) // step + 1)
    return max(count, 1)


def _jobs(payload: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("jobs"), list):
        raise ClusterError(f"{what} --json returned no job list")
    return [j for j in payload["jobs"] if isinstance(j, dict)]


def parse_squeue(payload: Any) -> list[JobInfo]:
    return [squeue_job(job) for job in _jobs(payload, "squeue")]


def parse_sacct(payload: Any) -> list[JobInfo]:
    return [sacct_job(job) for job in _jobs(payload, "sacct")]


def parse_sbatch(stdout: str) -> SubmitResult:
    """`sbatch --parsable` prints `jobid[;cluster]`; site wrappers may add lines."""
    for line in reversed(stdout.splitlines()):
        match = _SBATCH_RE.match(line)
        if match:
            return SubmitResult(match.group(1), match.group(2))
    raise ClusterError(f"could not find a job id in sbatch output: {stdout.strip()[:200]!r}")
