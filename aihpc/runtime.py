"""Helpers for training code running under aihpc. Standard library only.

Import it from your training script (`from aihpc import runtime`); aihpc
puts a copy on PYTHONPATH in every job, so nothing needs installing on the
nodes. Everything here is a thin reading of environment variables, so plain
torch code can do the same without this module:

========================  ==============================================
AIHPC_CHECKPOINT_DIR      where to save and look for checkpoints
AIHPC_RESTART_COUNT       0 on the first run, n after the n-th requeue
AIHPC_CHECKPOINT_FLAG     a file that appears when the job must checkpoint
AIHPC_COMPLETE_FLAG       create this file when training has finished: a
                          checkpoint request that comes too late then does
                          not requeue a finished job
AIHPC_JOB_DIR             the job directory (logs, code copy, metadata)
AIHPC_TASK_ID             the sweep task index (array jobs only)
AIHPC_SWEEP_TABLE         JSON lines, one row per sweep task
AIHPC_CHECKPOINT_POLL     seconds between flag checks (default 1)
RANK, LOCAL_RANK,         set per process by the srun launcher
WORLD_SIZE, NODE_RANK     (torchrun sets its own)
MASTER_ADDR, MASTER_PORT  first host of the allocation, port from job id
========================  ==============================================
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CHECKPOINT_DIR = "checkpoints"  # outside aihpc: relative to the cwd
# Seconds between two stat() calls of the flag file (AIHPC_CHECKPOINT_POLL overrides).
DEFAULT_POLL_INTERVAL = 1.0

_flag_seen = False
_flag_checked_at = float("-inf")
_term_seen = False
# atomic_path's temporary files: `.<name>.<random>` beside the target.
PARTIAL_PREFIX = "."


def _env_int(*names: str, default: int = 0) -> int:
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except ValueError:
                continue
    return default


def in_job() -> bool:
    """True inside a job started by aihpc."""
    return "AIHPC_JOB_DIR" in os.environ


def job_dir() -> Path | None:
    value = os.environ.get("AIHPC_JOB_DIR")
    return Path(value) if value else None


def checkpoint_dir(create: bool = True) -> Path:
    """The checkpoint directory (per sweep task in array jobs), created if asked."""
    path = Path(os.environ.get("AIHPC_CHECKPOINT_DIR") or DEFAULT_CHECKPOINT_DIR)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def restart_count() -> int:
    """How many times this job was requeued (0 on the first run)."""
    return _env_int("AIHPC_RESTART_COUNT", "SLURM_RESTART_COUNT")


@dataclass(frozen=True)
class RankInfo:
    rank: int
    local_rank: int
    world_size: int
    node_rank: int
    master_addr: str
    master_port: int

    @property
    def is_main(self) -> bool:
        """True on global rank 0: the process that should print and save alone."""
        return self.rank == 0


def rank_info() -> RankInfo:
    """torch's env:// variables, falling back to Slurm's when they are not set."""
    return RankInfo(
        rank=_env_int("RANK", "SLURM_PROCID"),
        local_rank=_env_int("LOCAL_RANK", "SLURM_LOCALID"),
        world_size=_env_int("WORLD_SIZE", "SLURM_NTASKS", default=1),
        node_rank=_env_int("NODE_RANK", "GROUP_RANK", "SLURM_NODEID"),
        master_addr=os.environ.get("MASTER_ADDR", "127.0.0.1"),
        master_port=_env_int("MASTER_PORT", default=29500),
    )


def checkpoint_requested() -> bool:
    """True once the job has been asked to checkpoint (time limit or preemption near).

    The batch script creates $AIHPC_CHECKPOINT_FLAG on shared storage when
    Slurm signals it. The answer stays True once seen, and the file is
    checked at most once a second, so calling this every step is cheap. On
    NFS a new file can take the attribute-cache time to appear on other
    nodes; in DDP, agree across ranks (e.g. all_reduce with MAX) so all
    ranks stop at the same step.
    """
    global _flag_seen, _flag_checked_at
    if _flag_seen or _term_seen:
        return True
    flag = os.environ.get("AIHPC_CHECKPOINT_FLAG")
    if not flag:
        return False
    try:
        interval = float(os.environ.get("AIHPC_CHECKPOINT_POLL", DEFAULT_POLL_INTERVAL))
    except ValueError:
        interval = DEFAULT_POLL_INTERVAL
    now = time.monotonic()
    if now - _flag_checked_at < interval:
        return False
    _flag_checked_at = now
    _flag_seen = os.path.exists(flag)
    return _flag_seen


def _on_term(signum: int, frame: object) -> None:
    global _term_seen
    del signum, frame
    _term_seen = True


def stop_on_sigterm() -> None:
    """Treat SIGTERM as a checkpoint request instead of dying at once.

    Slurm sends TERM to every task when it preempts the job without the
    user signal, and when it ends or requeues it; KILL follows after
    GraceTime (preemption) or KillWait. Call this once at start-up (from the
    main thread); then checkpoint_requested() turns True on TERM, the loop
    saves at the end of its current step and exits. A second TERM changes
    nothing.
    """
    signal.signal(signal.SIGTERM, _on_term)


def mark_complete() -> None:
    """Say training has finished (call once, from any rank, at the end).

    A checkpoint request (USR1) can arrive in the last steps, after the
    training loop has stopped looking. Without this mark the batch script
    cannot tell "stopped to checkpoint" from "finished" and requeues the job;
    the rerun then only loads the final checkpoint and exits. Plain torch
    code: create the file named by $AIHPC_COMPLETE_FLAG.
    """
    flag = os.environ.get("AIHPC_COMPLETE_FLAG")
    if flag:
        Path(flag).touch()


def _reset_for_tests() -> None:
    global _flag_seen, _flag_checked_at, _term_seen
    _flag_seen = False
    _flag_checked_at = float("-inf")
    _term_seen = False


def sweep_params() -> dict[str, str]:
    """This array task's sweep values ({} outside a sweep)."""
    table = os.environ.get("AIHPC_SWEEP_TABLE")
    task = os.environ.get("AIHPC_TASK_ID")
    if not table or task is None:
        return {}
    with open(table, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if str(row["index"]) == task:
                return {str(k): str(v) for k, v in row["params"].items()}
    return {}


def is_partial(path: str | os.PathLike[str]) -> bool:
    """True for a file atomic_path is still writing (or left behind by a crash)."""
    return Path(path).name.startswith(PARTIAL_PREFIX)


def latest_checkpoint(
    pattern: str = "*", directory: str | os.PathLike[str] | None = None
) -> Path | None:
    """The newest complete checkpoint matching `pattern` in the checkpoint dir, or None.

    Partial files (atomic_path's temporaries, a save that a dead node never
    finished) are skipped; "newest" is the latest modification time, then
    the name. Use it when each save writes a new name (`step-00050.pt`).
    """
    root = Path(directory) if directory is not None else checkpoint_dir(create=False)
    if not root.is_dir():
        return None
    found = [p for p in root.glob(pattern) if not is_partial(p) and p.exists()]
    if not found:
        return None
    return max(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename still holds
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it over `path` on success.

    A job killed while saving leaves the previous checkpoint intact, and
    never a half-written file under the real name:
    `with atomic_path(ckpt) as tmp: torch.save(state, tmp)`. The data is
    flushed to disk (fsync) before the rename, so a node that loses power
    right after cannot leave a complete name with incomplete content. The
    temporary is `.<name>.<random>`: resume code must skip such names
    (latest_checkpoint() and `aihpc submit --resume-from` do).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{PARTIAL_PREFIX}{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
