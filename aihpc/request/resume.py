"""`resume_from`: start a new job from the newest checkpoint of an earlier one.

The earlier job is found through the backend (squeue, else sacct), its job
directory through its working directory (as `aihpc logs` does), and its
checkpoint directory in its aihpc-job.json. Only the same user's jobs are
accepted, and only complete checkpoints: atomic_path's partial files
(`.name.*`) are left behind. The new job's checkpoint directory receives
hard links (copies across filesystems) before sbatch, so the training
script resumes exactly as after a requeue, with nothing to change in it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aihpc import layout
from aihpc.errors import ClusterError, UsageError
from aihpc.runtime import is_partial
from aihpc.slurm.jobs import JobInfo
from aihpc.spec.records import record


@record(frozen=True)
class ResumePlan:
    job_id: str
    source_dir: str  # the earlier job's checkpoint directory
    entries: tuple[str, ...]  # complete checkpoint files/directories in it, by name


def checkpoint_entries(directory: Path) -> tuple[str, ...]:
    """Names of the complete checkpoints in `directory` (partials and flags skipped)."""
    if not directory.is_dir():
        return ()
    return tuple(sorted(p.name for p in directory.iterdir() if not is_partial(p)))


def plan_resume(job_id: str, infos: list[JobInfo], user: str) -> ResumePlan:
    """Check the earlier job and its checkpoints; UsageError (exit 2) with the reason."""
    info = infos[0]
    if info.user and info.user != user:
        raise UsageError(
            f"resume_from: job {job_id} belongs to {info.user}, not to you ({user}); "
            "only your own jobs' checkpoints can be resumed"
        )
    try:
        job_dir = layout.job_dir_from_workdir(info.workdir, info.job_id)
    except ClusterError as exc:
        raise UsageError(f"resume_from: {exc}") from None
    meta = layout.read_metadata(job_dir)
    if int(meta.get("array_size", 0)):
        raise UsageError(f"resume_from: job {job_id} is a sweep; resume one task's run instead")
    source = Path(str(meta.get("checkpoint_dir") or job_dir / "checkpoints"))
    try:
        owner = source.stat().st_uid
    except OSError:
        raise UsageError(
            f"resume_from: job {job_id} has no checkpoint directory ({source})"
        ) from None
    if owner != os.geteuid():
        raise UsageError(
            f"resume_from: the checkpoints of job {job_id} ({source}) belong to uid {owner}, "
            f"not to you (uid {os.geteuid()})"
        )
    entries = checkpoint_entries(source)
    if not entries:
        raise UsageError(
            f"resume_from: job {job_id} has no usable checkpoint in {source} "
            "(empty, or only partially written files)"
        )
    return ResumePlan(job_id, str(source), entries)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def install(plan: ResumePlan, dest: Path) -> None:
    """Link the earlier job's checkpoints into `dest` (the new job's checkpoint dir)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in plan.entries:
        src = Path(plan.source_dir) / name
        if src.is_dir():
            shutil.copytree(src, dest / name, copy_function=_link_or_copy)
        elif src.exists():
            _link_or_copy(str(src), str(dest / name))
