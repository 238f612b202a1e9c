"""The submit step's side effects: create the job directory before sbatch.

Slurm does not create the directory of `--output`, and the job must run
from a code copy that exists at submit time, so all of it happens here,
before the backend is called.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from aihpc import snapshot
from aihpc.errors import UsageError
from aihpc.request.materialize import LIB_DIR
from aihpc.request.model import JobRequest

# Job-side files: stdlib only, they run on the nodes with the nodes' python3.
JOBSIDE_FILES = (
    "__init__.py",
    "runtime.py",
    "jobside/__init__.py",
    "jobside/sweep_args.py",
    "jobside/jupyter_info.py",
)


def install_jobside(job_dir: Path) -> None:
    package = Path(__file__).resolve().parent
    for rel in JOBSIDE_FILES:
        target = job_dir / LIB_DIR / "aihpc" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package / rel, target)


def prepare(request: JobRequest, progress: Callable[[int, int], None] | None = None) -> None:
    job_dir = Path(request.job_dir)
    job_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        job_dir.mkdir()
    except FileExistsError:
        raise UsageError(f"job directory {job_dir} already exists") from None
    for directory in request.dirs:
        Path(directory).mkdir(parents=True, exist_ok=True)
    install_jobside(job_dir)
    for item in request.files:
        path = Path(item.path)
        path.write_text(item.content, encoding="utf-8")
        os.chmod(path, item.mode)
    if request.snapshot is not None:
        snapshot.copy(request.snapshot, progress)


def record_job_id(request: JobRequest, job_id: str, cluster: str | None) -> None:
    text = job_id if cluster is None else f"{job_id};{cluster}"
    (Path(request.job_dir) / "job_id").write_text(text + "\n", encoding="utf-8")
