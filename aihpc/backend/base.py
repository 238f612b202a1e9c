"""The backend interface, and the base class that owns what every backend shares.

`JobBackend` implements status, list and logs once: the id check, the
merge of active jobs over finished ones, the one sort order, and the log
lookup. A backend supplies only the hooks that differ (where active and
finished jobs come from, how to submit and cancel).

No heavy imports: `aihpc list` loads this, and must not pull in jinja2 or
pydantic (or even the spec validator).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from aihpc.backend import logs as joblogs
from aihpc.errors import JobNotFoundError, UsageError
from aihpc.slurm.jobs import JobInfo, SubmitResult

if TYPE_CHECKING:
    from aihpc.request.model import JobRequest

JOB_ID_RE = re.compile(r"[0-9]+(?:_[0-9]+)?")
LIST_SINCE = "now-1days"  # accounting window for finished jobs in `aihpc list`


class Backend(Protocol):
    """submit / status / list / logs / cancel, whatever talks to Slurm."""

    name: str

    def submit(self, request: JobRequest) -> SubmitResult: ...

    def status(self, job_id: str) -> list[JobInfo]: ...

    def list(self, user: str) -> list[JobInfo]: ...

    def logs(self, job_id: str, follow: bool = False, rank: int | None = 0) -> Iterator[str]: ...

    def cancel(self, job_id: str) -> None: ...


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


def job_order(info: JobInfo) -> tuple[int, int, str]:
    """Numeric job id, then numeric array task: 99 < 100 < 1000, 5_2 < 5_10."""
    base = info.array_job_id or info.raw_id or info.job_id.partition("_")[0]
    task = info.array_task or ""
    return (int(base) if base.isdigit() else 0, int(task) if task.isdigit() else -1, info.job_id)


def merge_jobs(active: list[JobInfo], finished: list[JobInfo]) -> list[JobInfo]:
    """One record per job id, the controller's over accounting's, in job order."""
    merged = {j.job_id: j for j in finished}
    merged.update({j.job_id: j for j in active})  # the controller is fresher
    return sorted(merged.values(), key=job_order)


def _then(chunks: Iterator[str], tail: Callable[[], str]) -> Iterator[str]:
    yield from chunks
    note = tail()
    if note:
        yield "\n" + note


class JobBackend(ABC):
    """Shared behaviour; subclasses implement the hooks below."""

    name = "base"

    # -- hooks -----------------------------------------------------------
    @abstractmethod
    def active_jobs(self, user: str) -> list[JobInfo]:
        """The user's jobs the controller still knows (pending, running, ...)."""

    @abstractmethod
    def finished_jobs(self, user: str, since: str) -> list[JobInfo]:
        """The user's jobs in accounting since `since` (a Slurm time expression)."""

    @abstractmethod
    def find_active(self, job_id: str) -> list[JobInfo]:
        """Controller records of a checked job id ("123" or "123_4"); [] if none."""

    @abstractmethod
    def find_finished(self, job_id: str) -> list[JobInfo]:
        """Accounting records of a checked job id; [] if none."""

    @abstractmethod
    def submit(self, request: JobRequest) -> SubmitResult:
        """sbatch the request; its job id (and cluster)."""

    @abstractmethod
    def cancel_job(self, job_id: str) -> None:
        """Cancel a checked job id."""

    # -- shared ----------------------------------------------------------
    def status(self, job_id: str) -> list[JobInfo]:
        """All records of a job (one per array task): the controller's, else accounting's."""
        check_job_id(job_id)
        found = [j for j in self.find_active(job_id) if matches(j, job_id)]
        if not found:
            found = [j for j in self.find_finished(job_id) if matches(j, job_id)]
        if not found:
            raise JobNotFoundError(f"job {job_id} not found in squeue or sacct")
        return sorted(found, key=job_order)

    def list(self, user: str) -> list[JobInfo]:
        """Active jobs merged over those that ended within LIST_SINCE."""
        return merge_jobs(self.active_jobs(user), self.finished_jobs(user, LIST_SINCE))

    def cancel(self, job_id: str) -> None:
        self.cancel_job(check_job_id(job_id))

    def logs(self, job_id: str, follow: bool = False, rank: int | None = 0) -> Iterator[str]:
        infos = self.status(job_id)
        job_dir = joblogs.job_dir_of(infos[0])
        meta = joblogs.metadata(job_dir)
        task = job_id.partition("_")[2] or None
        path = joblogs.log_path(job_dir, meta, task, rank)
        # A program error: the first failed rank's last lines end the output,
        # whichever rank's log was asked for (rank 0 often shows only the
        # peers' connection errors).
        if not follow:
            return _then(joblogs.read_all(path), lambda: joblogs.failure_note(job_dir, task))

        def done() -> bool:
            return all(j.is_terminal for j in self.status(job_id))

        return _then(joblogs.follow(path, done), lambda: joblogs.failure_note(job_dir, task))
