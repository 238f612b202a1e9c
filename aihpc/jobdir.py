"""The submit step's side effects: create the job directory before sbatch.

Slurm does not create the directory of `--output`, and the job must run
from a code copy that exists at submit time, so all of it happens here,
before the backend is called.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from aihpc import layout, snapshot
from aihpc.errors import UsageError
from aihpc.request.model import JobRequest

# Job-side files: stdlib only, they run on the nodes with the nodes' python3.
JOBSIDE_FILES = (
    "__init__.py",
    "runtime.py",
    "jobside/__init__.py",
    "jobside/sweep_args.py",
    "jobside/jupyter_info.py",
    # probe.py judges node health and preemption with the one Slurm parser:
    # the data layer's stdlib-only modules travel with it.
    "jobside/probe.py",
    "errors.py",
    "slurm/__init__.py",
    "slurm/values.py",
    "slurm/run.py",
    "slurm/hostlist.py",
    "slurm/jobs.py",
    "slurm/nodes.py",
)


def install_jobside(job_dir: Path) -> None:
    package = Path(__file__).resolve().parent
    for rel in JOBSIDE_FILES:
        target = job_dir / layout.LIB / "aihpc" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package / rel, target)


def ensure_owner_dir(path: Path) -> None:
    """Create or check the directory that holds one user's job directories.

    The jobs root is usually sticky and world-writable like /tmp
    (<shared>/aihpc/jobs), so anyone could create `jobs/alice` first and then
    swap alice's code copies under her queued jobs. Use the directory only
    if it is a real directory owned by us (or root), and writable by nobody
    else unless it is sticky.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = path.lstat()
    problem = ""
    # The owner of a directory may rename anything in it, sticky or not;
    # others may do so only without the sticky bit.
    if not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory (a symlink or file)"
    elif st.st_uid not in (os.geteuid(), 0):
        problem = f"is owned by uid {st.st_uid}, not by you (uid {os.geteuid()}) or root"
    elif st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        problem = (
            f"is writable by group or others without the sticky bit "
            f"(mode {stat.S_IMODE(st.st_mode):04o})"
        )
    if problem:
        raise UsageError(
            f"job directory parent {path} {problem}; others could change your jobs' "
            "code. Ask an administrator to fix it, or set jobs_dir elsewhere."
        )


def prepare(request: JobRequest, progress: Callable[[int, int], None] | None = None) -> None:
    job_dir = Path(request.job_dir)
    ensure_owner_dir(job_dir.parent)
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
    if request.resume is not None:
        from aihpc.request import resume

        resume.install(request.resume, Path(request.checkpoint_dir))


def record_job_id(request: JobRequest, job_id: str, cluster: str | None) -> None:
    text = job_id if cluster is None else f"{job_id};{cluster}"
    Path(layout.JobLayout(request.job_dir).job_id).write_text(text + "\n", encoding="utf-8")
