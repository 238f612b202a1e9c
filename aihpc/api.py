"""The Python API behind the CLI: spec -> request -> backend.

    loaded = api.load("train.yaml", ["nodes=2"])   # validate (SpecError on problems)
    request = api.plan(loaded)                     # pure data: script + sbatch argv
    result = api.submit(request)                   # job dir, snapshot, sbatch

Heavy modules (pydantic, jinja2, yaml) are imported inside the functions
that need them, so `aihpc list` and `aihpc --help` stay fast.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from aihpc.errors import ClusterError, SpecError, SpecIssue

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from aihpc.backend.base import Backend
    from aihpc.request.model import JobRequest
    from aihpc.slurm.jobs import JobInfo, SubmitResult
    from aihpc.spec.loader import LoadedSpec


def current_user() -> str:
    return getpass.getuser()


def new_token() -> str:
    """The random part of a job directory name (what secrets.token_hex(3) returns;
    `secrets` itself costs ~7 ms of imports on the submit path)."""
    return os.urandom(3).hex()


def backend(environ: dict[str, str] | None = None) -> Backend:
    from aihpc.backend.select import get_backend

    return get_backend(environ)


# -- submit ---------------------------------------------------------------
def load(
    spec_file: str | os.PathLike[str],
    overrides: list[str] | tuple[str, ...] = (),
    environ: dict[str, str] | None = None,
    preview: bool = False,
) -> LoadedSpec:
    """Validate a spec with all layers; raises SpecError (exit 2) on any problem.

    `preview` (a dry run): without a cluster profile, assume and say so in
    `loaded.notices` instead of failing. The account and QOS are checked for
    the current user against the profile's policy.
    """
    from aihpc.spec.loader import load_spec

    return load_spec(spec_file, overrides, environ=environ, preview=preview, user=current_user())


def plan(
    loaded: LoadedSpec,
    *,
    user: str | None = None,
    now: datetime | None = None,
    token: str | None = None,
    backend_: Backend | None = None,
) -> JobRequest:
    """The request for a loaded spec: lists the snapshot files, renders, no writes.

    With `resume_from`, the earlier job is looked up (squeue/sacct) and its
    checkpoints checked here, so a dry run refuses what a submit would."""
    from aihpc import snapshot
    from aihpc.request.materialize import materialize

    files = snapshot.list_files(loaded.workdir)
    spec = loaded.spec
    if spec.script is not None and spec.script not in files.files:
        origin = loaded.origins.get(("script",))
        raise SpecError(
            SpecIssue(
                origin.file if origin else str(loaded.spec_file),
                origin.line if origin else 1,
                origin.column if origin else 1,
                "script",
                f"{spec.script} would not be in the code snapshot ({files.method})",
                "git add it" if files.method == "git" else "check .aihpcignore",
            )
        )
    who = user or current_user()
    resume = None
    if spec.resume_from is not None:
        from aihpc.request.resume import plan_resume

        resume = plan_resume(spec.resume_from, status(spec.resume_from, backend_), who)
    return materialize(
        spec,
        loaded.profile,
        workdir=loaded.workdir,
        template=loaded.template,
        user=who,
        now=now or datetime.now(),
        token=token or new_token(),
        snapshot=files,
        spec_file=str(loaded.spec_file),
        resume=resume,
    )


def submit(
    request: JobRequest,
    backend_: Backend | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SubmitResult:
    """Create the job directory (logs, code copy, script), then sbatch."""
    from aihpc import jobdir

    chosen = backend_ or backend()
    jobdir.prepare(request, progress)
    try:
        result = chosen.submit(request)
    except BaseException:
        import shutil

        # Nothing was queued: do not leave a job directory that looks like a job.
        shutil.rmtree(request.job_dir, ignore_errors=True)
        raise
    jobdir.record_job_id(request, result.job_id, result.cluster)
    return result


# -- follow-up commands ---------------------------------------------------
def status(job_id: str, backend_: Backend | None = None) -> list[JobInfo]:
    return (backend_ or backend()).status(job_id)


def list_jobs(user: str | None = None, backend_: Backend | None = None) -> list[JobInfo]:
    return (backend_ or backend()).list(user or current_user())


def logs(
    job_id: str, follow: bool = False, rank: int | None = 0, backend_: Backend | None = None
) -> Iterator[str]:
    return (backend_ or backend()).logs(job_id, follow, rank)


def cancel(job_id: str, backend_: Backend | None = None) -> None:
    (backend_ or backend()).cancel(job_id)


# -- interactive ----------------------------------------------------------
def shell_argv(
    partition: str | None = None,
    gpus: int = 0,
    cpus: int | None = None,
    mem: str | None = None,
    time_limit: str | None = None,
    environ: dict[str, str] | None = None,
) -> list[str]:
    """`srun --pty` for an interactive shell on one node of a partition."""
    from aihpc.request.flags import shell_argv as argv_for
    from aihpc.spec.session import load_session

    loaded = load_session(
        partition=partition, gpus=gpus, cpus=cpus, mem=mem, time_limit=time_limit, environ=environ
    )
    return argv_for(loaded.spec)


def jupyter_request(
    *,
    partition: str | None = None,
    gpus: int = 0,
    cpus: int | None = None,
    mem: str | None = None,
    time_limit: str | None = None,
    setup: tuple[str, ...] = (),
    notebook_dir: str | None = None,
    environ: dict[str, str] | None = None,
    user: str | None = None,
    now: datetime | None = None,
    token: str | None = None,
) -> JobRequest:
    """A one-node job running JupyterLab (rendered from jupyter.sbatch.j2)."""
    from aihpc.request.jupyter import materialize_jupyter
    from aihpc.spec.session import load_session

    loaded = load_session(
        partition=partition,
        gpus=gpus,
        cpus=cpus,
        mem=mem,
        time_limit=time_limit,
        setup=setup,
        notebook_dir=notebook_dir or os.getcwd(),
        needs_jobs_dir=True,
        environ=environ,
    )
    profile = loaded.profile
    return materialize_jupyter(
        loaded.spec,
        shared_dirs=dict(profile.shared_dirs) if profile else {},
        user=user or current_user(),
        now=now or datetime.now(),
        token=token or new_token(),
        login_host=profile.login_host if profile else "",
    )


def wait_for_jupyter(
    request: JobRequest,
    job_id: str,
    backend_: Backend,
    timeout: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Wait until the job wrote jupyter.json (it is running), or fail if it ended."""
    from aihpc.layout import JobLayout, batch_log

    paths = JobLayout(request.job_dir)
    info_file = Path(paths.jupyter_info)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if info_file.exists():
            data: dict[str, Any] = json.loads(info_file.read_text(encoding="utf-8"))
            return data
        if all(j.is_terminal for j in backend_.status(job_id)):
            raise ClusterError(
                f"the JupyterLab job {job_id} ended before starting; see "
                f"{paths.root}/{batch_log(None)}"
            )
        sleep(2.0)
    raise ClusterError(f"JupyterLab job {job_id} did not start within {timeout:.0f}s")


def tunnel_command(info: dict[str, Any], login_host: str, user: str) -> tuple[str, str]:
    """(ssh command to run on your laptop, URL to open)."""
    port = int(info["port"])
    host = str(info["host"])
    ssh = f"ssh -N -L {port}:{host}:{port} {user}@{login_host or '<login-node>'}"
    return ssh, f"http://localhost:{port}/lab?token={info['token']}"
