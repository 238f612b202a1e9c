"""Parsers for Slurm's machine-readable output (24.11, data_parser v0.0.42).

Written against recorded samples in tests/fixtures/. Slurm's JSON wraps
numbers as {"set": bool, "infinite": bool, "number": n} and reports states
as lists (["PENDING", "REQUEUED"]); older releases used bare ints and
strings, which are accepted too.
"""

from __future__ import annotations

import re
from typing import Any

from aihpc.backend.base import JobInfo, SubmitResult
from aihpc.errors import ClusterError

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
_VERSION_RE = re.compile(r"([0-9]+)\.([0-9]+)")


def number(value: Any) -> int | None:
    """An int from a bare number or a {"set","infinite","number"} envelope.

    Unset and infinite give None (callers document which one they mean).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        return int(value) if value.strip().lstrip("-").isdigit() else None
    if isinstance(value, dict):
        if not value.get("set", True) or value.get("infinite", False):
            return None
        return number(value.get("number"))
    return None


def _states(value: Any) -> tuple[str, tuple[str, ...]]:
    """(base state, other flags) from a list or a string like "CANCELLED by 1000"."""
    if isinstance(value, str):
        items = [value.split()[0]] if value.strip() else []
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        items = []
    base = next((s for s in items if s in BASE_STATES), items[0] if items else "UNKNOWN")
    return base, tuple(s for s in items if s != base)


def _exit(value: Any) -> tuple[int | None, int | None]:
    """(return code, signal) from the 24.11 object or a legacy "code:signal" form."""
    if isinstance(value, dict):
        code = number(value.get("return_code"))
        signal_obj = value.get("signal") or {}
        signal = number(signal_obj.get("id")) if isinstance(signal_obj, dict) else None
        return code, signal or None
    if isinstance(value, str) and ":" in value:
        code_text, _, signal_text = value.partition(":")
        return number(code_text), number(signal_text) or None
    return number(value), None


def _time(value: Any) -> int | None:
    result = number(value)
    return result if result else None  # 0 means "not yet"


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
    state, flags = _states(job.get("job_state"))
    code, signal = _exit(job.get("exit_code"))
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
        submit_time=_time(job.get("submit_time")),
        start_time=_time(job.get("start_time")),
        end_time=_time(job.get("end_time")),
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
    )


def sacct_job(job: dict[str, Any]) -> JobInfo:
    raw = number(job.get("job_id"))
    array = job.get("array") or {}
    array_id = number(array.get("job_id"))
    task = number(array.get("task_id"))
    task_string = str(array.get("task", "") or "")
    state_obj = job.get("state") or {}
    state, flags = _states(state_obj.get("current") if isinstance(state_obj, dict) else state_obj)
    reason = state_obj.get("reason", "") if isinstance(state_obj, dict) else ""
    times = job.get("time") or {}
    code, signal = _exit(job.get("exit_code"))
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
        submit_time=_time(times.get("submission")),
        start_time=_time(times.get("start")),
        end_time=_time(times.get("end")),
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
    )


def _jobs(payload: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("jobs"), list):
        raise ClusterError(f"{what} --json returned no job list")
    return [j for j in payload["jobs"] if isinstance(j, dict)]


def parse_squeue(payload: Any) -> list[JobInfo]:
    return [squeue_job(job) for job in _jobs(payload, "squeue")]


def parse_sacct(payload: Any) -> list[JobInfo]:
    return [sacct_job(job) for job in _jobs(payload, "sacct")]


def errors(payload: Any) -> list[str]:
    """The `errors` array of a Slurm JSON reply, as readable strings."""
    found = payload.get("errors", []) if isinstance(payload, dict) else []
    out = []
    for item in found or []:
        if isinstance(item, dict):
            out.append(str(item.get("description") or item.get("error") or item))
        else:
            out.append(str(item))
    return out


def parse_sbatch(stdout: str) -> SubmitResult:
    """`sbatch --parsable` prints `jobid[;cluster]`; site wrappers may add lines."""
    for line in reversed(stdout.splitlines()):
        match = _SBATCH_RE.match(line)
        if match:
            return SubmitResult(match.group(1), match.group(2))
    raise ClusterError(f"could not find a job id in sbatch output: {stdout.strip()[:200]!r}")


def parse_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from `sinfo --version` ("slurm 24.11.5") or a package version."""
    match = _VERSION_RE.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None
