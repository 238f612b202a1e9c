"""Job logs live in the job directory; any backend finds them the same way.

The job's working directory is `<job_dir>/code` (sbatch --chdir), which
squeue and sacct both report, so a job id leads to its job directory on
any login node without a local index.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aihpc.errors import ClusterError, UsageError
from aihpc.slurm.jobs import JobInfo

CHUNK = 64 * 1024


def job_dir_of(info: JobInfo) -> Path:
    """The aihpc job directory of a job, or an error saying it is not one."""
    if not info.workdir:
        raise ClusterError(f"Slurm reports no working directory for job {info.job_id}")
    job_dir = Path(info.workdir).parent
    if not (job_dir / "aihpc-job.json").is_file():
        raise ClusterError(
            f"job {info.job_id} was not submitted by aihpc (no aihpc-job.json in {job_dir})"
        )
    return job_dir


def metadata(job_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((job_dir / "aihpc-job.json").read_text(encoding="utf-8"))
    return data


def log_path(job_dir: Path, meta: dict[str, Any], task: str | None, rank: int | None) -> Path:
    """Batch log when rank is None, else the log of that rank (node for torchrun)."""
    array_size = int(meta.get("array_size", 0))
    if array_size and task is None:
        raise UsageError(
            f"this job is an array of {array_size} tasks; name one, e.g. "
            f"<id>_0 .. <id>_{array_size - 1}"
        )
    logs = job_dir / "logs"
    if rank is None or meta.get("launcher") == "jupyter":  # JupyterLab logs to the batch log
        return logs / (f"batch-{task}.log" if array_size else "batch.log")
    world = int(meta.get("world_size", 1))
    if rank < 0 or rank >= world:
        raise UsageError(f"--rank {rank} is outside 0..{world - 1}")
    task_dir = logs / f"task-{task}" if array_size else logs
    if meta.get("launcher") == "torchrun":
        # torchrun runs one Slurm task per node: rank r lives in its node's log.
        return task_dir / f"node-{rank // int(meta.get('procs_per_node', 1))}.log"
    return task_dir / f"rank-{rank}.log"


def follow(
    path: Path,
    is_done: Callable[[], bool],
    *,
    poll: float = 0.5,
    check_every: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """Yield the file's text as it grows until the job is done and the file drained.

    Waits for the file to appear (a pending job has none yet). The job state
    is asked for at most every `check_every` seconds: one squeue call, not
    one per poll.
    """
    offset = 0
    last_check = float("-inf")
    done = False
    while True:
        if path.exists():
            with path.open("rb") as handle:
                handle.seek(offset)
                while chunk := handle.read(CHUNK):
                    offset += len(chunk)
                    yield chunk.decode("utf-8", errors="replace")
        if done:
            return
        if clock() - last_check >= check_every:
            last_check = clock()
            done = is_done()  # read once more after this, then stop
            if done:
                continue
        sleep(poll)


def read_all(path: Path) -> Iterator[str]:
    if not path.exists():
        raise ClusterError(f"no log yet at {path}")
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk.decode("utf-8", errors="replace")
