"""A backend that reads job state through pyslurm (the Slurm C API).

Used only when pyslurm is installed AND built for the running Slurm's
major.minor (pyslurm's version follows Slurm's: 25.11.x is for 25.11).
Queries go through the library (no process per query); submission still
goes through `sbatch` with the exact argv that --dry-run shows, so both
backends submit identical jobs.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from aihpc.backend.cli_backend import CliBackend
from aihpc.errors import ClusterError
from aihpc.slurm.jobs import BASE_STATES, JobInfo
from aihpc.slurm.run import Runner, run_command
from aihpc.slurm.values import states


def _state(job: Any) -> tuple[str, tuple[str, ...]]:
    return states(str(getattr(job, "state", "") or "UNKNOWN"), BASE_STATES)


def job_info(job: Any) -> JobInfo:
    """A pyslurm.Job (or pyslurm.db.Job) as a JobInfo."""
    state, flags = _state(job)
    raw = str(getattr(job, "id", ""))
    array_id = getattr(job, "array_id", None)
    task = getattr(job, "array_task_id", None)
    job_id = f"{array_id}_{task}" if array_id and task is not None else raw
    return JobInfo(
        job_id=job_id,
        name=str(getattr(job, "name", "") or ""),
        user=str(getattr(job, "user_name", "") or ""),
        state=state,
        flags=flags,
        reason=str(getattr(job, "state_reason", "") or ""),
        partition=str(getattr(job, "partition", "") or ""),
        nodes=str(getattr(job, "allocated_nodes", "") or ""),
        node_count=getattr(job, "num_nodes", None),
        submit_time=getattr(job, "submit_time", None) or None,
        start_time=getattr(job, "start_time", None) or None,
        end_time=getattr(job, "end_time", None) or None,
        time_limit_min=getattr(job, "time_limit", None),
        exit_code=getattr(job, "exit_code", None),
        signal=getattr(job, "exit_code_signal", None) or None,
        workdir=str(getattr(job, "working_directory", "") or ""),
        stdout=str(getattr(job, "standard_output", "") or ""),
        restart_count=int(getattr(job, "requeue_count", 0) or 0),
        array_job_id=str(array_id) if array_id else None,
        array_task=str(task) if array_id and task is not None else None,
        raw_id=raw,
        source="pyslurm",
    )


class PyslurmBackend(CliBackend):
    """Controller queries and cancels through pyslurm; accounting and sbatch as the CLI.

    Overrides hooks only: listing, ordering and status matching are the
    base class's, so both backends answer `aihpc list` in the same order.
    """

    name = "pyslurm"

    def __init__(self, module: ModuleType, runner: Runner = run_command) -> None:
        super().__init__(runner)
        self.pyslurm = module

    def active_jobs(self, user: str) -> list[JobInfo]:
        try:
            jobs = self.pyslurm.Jobs.load()
        except Exception as exc:
            raise ClusterError(f"pyslurm could not load jobs: {exc}") from None
        return [job_info(j) for j in jobs.values() if getattr(j, "user_name", None) == user]

    def find_active(self, job_id: str) -> list[JobInfo]:
        if "_" in job_id:
            return super().find_active(job_id)  # array tasks: squeue lists each task
        try:
            job = self.pyslurm.Job.load(int(job_id))
        except Exception:  # pyslurm.RPCError: gone from the controller -> accounting
            return []
        return [] if job is None else [job_info(job)]

    def cancel_job(self, job_id: str) -> None:
        if "_" in job_id:
            super().cancel_job(job_id)
            return
        try:
            self.pyslurm.Job(int(job_id)).cancel()
        except Exception as exc:
            raise ClusterError(f"cancel {job_id} failed: {exc}") from None
