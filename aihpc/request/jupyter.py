"""The request for `aihpc jupyter`: one node, JupyterLab, same job-dir layout."""

from __future__ import annotations

from datetime import datetime

from aihpc import __version__, layout
from aihpc.errors import SpecError, SpecIssue
from aihpc.request import render
from aihpc.request.flags import one_node_flags
from aihpc.request.materialize import (
    check_user,
    expand_placeholders,
    job_layout,
    metadata_file,
    sbatch_head,
)
from aihpc.request.model import FileToWrite, JobRequest
from aihpc.spec.session import SessionSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

JOB_NAME = "jupyter"


def materialize_jupyter(
    spec: SessionSpec,
    *,
    shared_dirs: dict[str, str],
    user: str,
    now: datetime,
    token: str,
    login_host: str,
) -> JobRequest:
    check_user(user)
    places = {**shared_dirs, "name": JOB_NAME, "user": user}
    paths = job_layout(expand_placeholders(spec.jobs_dir, places), JOB_NAME, now, token)
    # An empty code dir keeps the layout of training jobs (`aihpc logs` finds
    # the job directory as the parent of the working directory).
    context: dict[str, Any] = {
        "aihpc_version": __version__,
        "layout": layout.template_names(),
        "job": {"name": JOB_NAME, "dir": paths.root, "lib_dir": paths.lib},
        "setup": list(spec.setup),
        "notebook_dir": spec.notebook_dir,
    }
    try:
        script = render.render("jupyter", context)
    except Exception as exc:  # a broken shipped template is our bug
        if not render.is_template_error(exc):
            raise
        raise SpecError(
            SpecIssue("<command line>", 1, 1, "template", f"jupyter template error: {exc}")
        ) from None
    argv = [
        *sbatch_head(JOB_NAME, paths, array=False),
        "--nodes=1",
        "--ntasks=1",
        f"--partition={spec.partition}",
        *one_node_flags(spec.gpus, spec.cpus, spec.mem, spec.time),
        paths.script,
    ]
    metadata = {
        "aihpc_version": __version__,
        "name": JOB_NAME,
        "job_dir": paths.root,
        "launcher": "jupyter",
        "nodes": 1,
        "procs_per_node": 1,
        "world_size": 1,
        "array_size": 0,
        "login_host": login_host,
        "created": now.isoformat(timespec="seconds"),
        "sbatch_argv": argv,
    }
    return JobRequest(
        name=JOB_NAME,
        job_dir=paths.root,
        script_path=paths.script,
        script=script,
        sbatch_argv=tuple(argv),
        sweep_rows=(),
        snapshot=None,
        files=(FileToWrite(paths.script, script, 0o755), metadata_file(paths, metadata)),
        dirs=paths.dirs(),
        metadata=metadata,
    )
