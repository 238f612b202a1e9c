"""Job logs live in the job directory; any backend finds them the same way.

The job's working directory is `<job_dir>/code` (sbatch --chdir), which
squeue and sacct both report, so a job id leads to its job directory on
any login node without a local index. Every name comes from aihpc.layout,
the same functions the request stage and the templates use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aihpc import layout
from aihpc.errors import ClusterError, UsageError
from aihpc.slurm.jobs import JobInfo

CHUNK = 64 * 1024


def job_dir_of(info: JobInfo) -> Path:
    """The aihpc job directory of a job, or an error saying it is not one."""
    return layout.job_dir_from_workdir(info.workdir, info.job_id)


def metadata(job_dir: Path) -> dict[str, Any]:
    return layout.read_metadata(job_dir)


def log_path(job_dir: Path, meta: dict[str, Any], task: str | None, rank: int | None) -> Path:
    """Batch log when rank is None, else the log of that rank (node for torchrun)."""
    array_size = int(meta.get("array_size", 0))
    if array_size and task is None:
        raise UsageError(
            f"this job is an array of {array_size} tasks; name one, e.g. "
            f"<id>_0 .. <id>_{array_size - 1}"
        )
    task = task if array_size else None
    launcher = str(meta.get("launcher", "srun"))
    if rank is None or launcher == "jupyter":  # JupyterLab logs to the batch log
        return job_dir / layout.batch_log(task)
    world = int(meta.get("world_size", 1))
    if rank < 0 or rank >= world:
        raise UsageError(f"--rank {rank} is outside 0..{world - 1}")
    # torchrun runs one Slurm task per node: rank r lives in its node's log.
    return job_dir / layout.rank_log(launcher, rank, int(meta.get("procs_per_node", 1)), task)


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


def restarts(job_dir: Path, task: str | None = None) -> list[dict[str, Any]]:
    """run/restarts.jsonl: one row per restart or failure the batch script judged."""
    path = Path(layout.JobLayout(str(job_dir)).run_dir(task)) / layout.RESTARTS
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a node dying mid-write
        if isinstance(row, dict):
            rows.append(row)
    return rows


def failure_note(job_dir: Path, task: str | None = None) -> str:
    """run/failure.log (the first failed rank's last lines), or ''."""
    path = Path(layout.JobLayout(str(job_dir)).run_dir(task)) / layout.FAILURE
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


CAUSE_WORDS = {
    "node_failure": "node failure",
    "preemption": "preemption",
    "time_limit": "time limit",
    "program_error": "program error",
}


def restart_lines(rows: list[dict[str, Any]]) -> list[str]:
    """`aihpc status` lines: when, why, which nodes, requeued or not."""
    import time as _time

    out = []
    for row in rows:
        when = _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(int(row.get("time", 0))))
        cause = CAUSE_WORDS.get(str(row.get("cause")), str(row.get("cause")))
        nodes = f" ({row['nodes']})" if row.get("nodes") else ""
        done = "requeued" if row.get("requeued") else "not requeued"
        out.append(
            f"  {when}  run {row.get('restart_count', '?')}: {cause}{nodes}, "
            f"step exit {row.get('step_exit', '?')}, {done}"
        )
    return out
