"""The default backend: Slurm's command-line tools, argv lists, never a shell.

Queries are batched: `list` is one squeue call plus one sacct call for all
of a user's jobs, never one call per job (slurmctld and slurmdbd thank us).
Output is parsed by the shared Slurm data layer, aihpc.slurm.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aihpc.backend.base import JobBackend, check_job_id, job_order, matches
from aihpc.errors import ClusterError
from aihpc.slurm import jobs as slurm_jobs
from aihpc.slurm.jobs import JobInfo, SubmitResult
from aihpc.slurm.run import QUERY_TIMEOUT, Runner, run_command
from aihpc.slurm.values import parse_version

if TYPE_CHECKING:
    from aihpc.request.model import JobRequest

SUBMIT_TIMEOUT = 120.0

# Kept importable from here for callers of the earlier layout.
__all__ = ["CliBackend", "check_job_id", "job_order", "matches", "sinfo_version"]


class CliBackend(JobBackend):
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

    # -- hooks -----------------------------------------------------------
    def active_jobs(self, user: str) -> list[JobInfo]:
        return self.squeue(f"--user={user}")

    def finished_jobs(self, user: str, since: str) -> list[JobInfo]:
        return self.sacct(f"--user={user}", f"--starttime={since}")

    def find_active(self, job_id: str) -> list[JobInfo]:
        # squeue exits non-zero for a job that already left the controller.
        return self.squeue(f"--jobs={job_id.partition('_')[0]}")

    def find_finished(self, job_id: str) -> list[JobInfo]:
        return self.sacct(f"--jobs={job_id.partition('_')[0]}")

    def submit(self, request: JobRequest) -> SubmitResult:
        result = self.run(list(request.sbatch_argv), SUBMIT_TIMEOUT)
        if result.returncode != 0:
            message = result.stderr.strip() or result.stdout.strip() or "no message"
            raise ClusterError(f"sbatch failed (exit {result.returncode}): {message}")
        return slurm_jobs.parse_sbatch(result.stdout)

    def cancel_job(self, job_id: str) -> None:
        result = self.run(["scancel", job_id], QUERY_TIMEOUT)
        if result.returncode != 0:
            raise ClusterError(f"scancel {job_id} failed: {result.stderr.strip()}")


def sinfo_version(runner: Runner = run_command) -> tuple[int, int] | None:
    try:
        result = runner(["sinfo", "--version"], QUERY_TIMEOUT)
    except ClusterError:
        return None
    return parse_version(result.stdout) if result.returncode == 0 else None
