"""The backend interface and the job record every backend returns.

No heavy imports: `aihpc list` loads this, and must not pull in jinja2 or
pydantic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from aihpc.slurm.jobs import JobInfo, SubmitResult

if TYPE_CHECKING:
    from aihpc.request.model import JobRequest


class Backend(Protocol):
    """submit / status / list / logs / cancel, whatever talks to Slurm."""

    name: str

    def submit(self, request: JobRequest) -> SubmitResult: ...

    def status(self, job_id: str) -> list[JobInfo]: ...

    def list(self, user: str) -> list[JobInfo]: ...

    def logs(self, job_id: str, follow: bool = False, rank: int | None = 0) -> Iterator[str]: ...

    def cancel(self, job_id: str) -> None: ...
