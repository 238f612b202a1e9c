"""The backend interface and the job record every backend returns.

No heavy imports: `aihpc list` loads this, and must not pull in jinja2 or
pydantic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aihpc.request.model import JobRequest

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


class Backend(Protocol):
    """submit / status / list / logs / cancel, whatever talks to Slurm."""

    name: str

    def submit(self, request: JobRequest) -> SubmitResult: ...

    def status(self, job_id: str) -> list[JobInfo]: ...

    def list(self, user: str) -> list[JobInfo]: ...

    def logs(self, job_id: str, follow: bool = False, rank: int | None = 0) -> Iterator[str]: ...

    def cancel(self, job_id: str) -> None: ...
