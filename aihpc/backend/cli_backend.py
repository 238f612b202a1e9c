"""The default backend: Slurm's command-line tools, argv lists, never a shell.

Queries are batched: `list` is one squeue call plus one sacct call for all
of a user's jobs, never one call per job (slurmctld and slurmdbd thank us).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aihpc.backend import logs as joblogs
from aihpc.errors import ClusterError, JobNotFoundError, UsageError
from aihpc.slurm import jobs as slurm_jobs
from aihpc.slurm.jobs import JobInfo, SubmitResult
from aihpc.slurm.run import QUERY_TIMEOUT, Runner, run_command
from aihpc.slurm.values import parse_version

if TYPE_CHECKING:
    from aihpc.request.model import JobRequest

JOB_ID_RE = re.compile(r"[0-9]+(?:_[0-9]+)?")
LIST_SINCE = "now-1days"  # sacct window for finished jobs in `aihpc list`
SUBMIT_TIMEOUT = 120.0


def check_job_id(job_id: str) -> str:
    if not JOB_ID_RE.fullmatch(job_id):
        raise UsageError(f"not a job id: {job_id!r} (expected 123 or 123_4)")
    return job_id


def _in_task_range(spec: str, task: int) -> bool:
    """Is `task` in an array range string such as "0-5%2" or "1,3,7-9"?"""
    for part in spec.split("%")[0].split(","):
        low, _, high = part.partition("-")
        valid = low.isdigit() and (high.isdigit() or not high)
        if valid and int(low) <= task <= int(high or low):
            return True
    return False


def matches(info: JobInfo, query: str) -> bool:
    if "_" in query:
        array_id, _, task = query.partition("_")
        if info.array_job_id != array_id or info.array_task is None:
            return False
        return info.array_task == task or _in_task_range(info.array_task, int(task))
    return query in (info.raw_id, info.array_job_id, info.job_id)


class CliBackend:
    name = "cli"

    def __init__(self, runner: Runner = run_command) -> None:
        self.run = runner

    # -- queries ---------------------------------------------------------
    def _json(self, argv: list[str]) -> Any:
        result = self.run(argv, QUERY_TIMEOUT)
        if result.returncode != 0:
            return None
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            raise ClusterError(f"{argv[0]} --json printed something that is not JSON") from None

    def squeue(self, *filters: str) -> list[JobInfo]:
        payload = self._json(["squeue", "--json", *filters])
        return [] if payload is None else slurm_jobs.parse_squeue(payload)

    def sacct(self, *filters: str) -> list[JobInfo]:
        payload = self._json(["sacct", "--json", *filters])
        return [] if payload is None else slurm_jobs.parse_sacct(payload)

    def status(self, job_id: str) -> list[JobInfo]:
        """All records of a job (one per array task), squeue first, then sacct."""
        check_job_id(job_id)
        base = job_id.partition("_")[0]
        # squeue exits non-zero for a job that already left the controller.
        found = [j for j in self.squeue(f"--jobs={base}") if matches(j, job_id)]
        if not found:
            found = [j for j in self.sacct(f"--jobs={base}") if matches(j, job_id)]
        if not found:
            raise JobNotFoundError(f"job {job_id} not found in squeue or sacct")
        return sorted(found, key=_order)

    def list(self, user: str) -> list[JobInfo]:
        """Active jobs (one squeue call) plus the last day's (one sacct call)."""
        active = self.squeue(f"--user={user}")
        finished = self.sacct(f"--user={user}", f"--starttime={LIST_SINCE}")
        merged = {j.job_id: j for j in finished}
        merged.update({j.job_id: j for j in active})  # the controller is fresher
        return sorted(merged.values(), key=_order)

    # -- actions ---------------------------------------------------------
    def submit(self, request: JobRequest) -> SubmitResult:
        result = self.run(list(request.sbatch_argv), SUBMIT_TIMEOUT)
        if result.returncode != 0:
            message = result.stderr.strip() or result.stdout.strip() or "no message"
            raise ClusterError(f"sbatch failed (exit {result.returncode}): {message}")
        return slurm_jobs.parse_sbatch(result.stdout)

    def cancel(self, job_id: str) -> None:
        check_job_id(job_id)
        result = self.run(["scancel", job_id], QUERY_TIMEOUT)
        if result.returncode != 0:
            raise ClusterError(f"scancel {job_id} failed: {result.stderr.strip()}")

    def logs(self, job_id: str, follow: bool = False, rank: int | None = 0) -> Iterator[str]:
        infos = self.status(job_id)
        job_dir = joblogs.job_dir_of(infos[0])
        meta = joblogs.metadata(job_dir)
        task = job_id.partition("_")[2] or None
        path = joblogs.log_path(job_dir, meta, task, rank)
        if not follow:
            return joblogs.read_all(path)

        def done() -> bool:
            return all(j.is_terminal for j in self.status(job_id))

        return joblogs.follow(path, done)


def _order(info: JobInfo) -> tuple[int, int, str]:
    base = info.array_job_id or info.raw_id
    task = info.array_task or ""
    return (int(base) if base.isdigit() else 0, int(task) if task.isdigit() else -1, info.job_id)


def sinfo_version(runner: Runner = run_command) -> tuple[int, int] | None:
    try:
        result = runner(["sinfo", "--version"], QUERY_TIMEOUT)
    except ClusterError:
        return None
    return parse_version(result.stdout) if result.returncode == 0 else None
