"""The request for `aihpc jupyter`: one node, JupyterLab, same job-dir layout."""

from __future__ import annotations

import json
import posixpath
from datetime import datetime

import jinja2

from aihpc import __version__
from aihpc.errors import SpecError, SpecIssue
from aihpc.request import render
from aihpc.request.flags import one_node_flags
from aihpc.request.materialize import LIB_DIR, job_dir_name
from aihpc.request.model import FileToWrite, JobRequest
from aihpc.spec.model import MEM_RE
from aihpc.spec.slurmtime import parse_minutes

JOB_NAME = "jupyter"


def _usage(field: str, reason: str) -> SpecError:
    return SpecError(SpecIssue("<command line>", 1, 1, field, reason))


def materialize_jupyter(
    *,
    partition: str,
    gpus: int,
    cpus: int | None,
    mem: str | None,
    time_limit: str | None,
    setup: list[str],
    notebook_dir: str,
    shared_dirs: dict[str, str],
    user: str,
    now: datetime,
    token: str,
    login_host: str,
) -> JobRequest:
    if mem is not None and not MEM_RE.fullmatch(mem):
        raise _usage("mem", f"not a memory size: {mem!r}")
    if time_limit is not None:
        try:
            parse_minutes(time_limit)
        except ValueError as exc:
            raise _usage("time", str(exc)) from None
    for line in setup:
        if "\n" in line or "\r" in line:
            raise _usage("setup", "each --setup is one line")
    job_dir = posixpath.join(
        shared_dirs["shared"], "aihpc", "jobs", user, job_dir_name(JOB_NAME, now, token)
    )
    # An empty code dir keeps the layout of training jobs (`aihpc logs` finds
    # the job directory as the parent of the working directory).
    code_dir = posixpath.join(job_dir, "code")
    script_path = posixpath.join(job_dir, "job.sbatch")
    context = {
        "aihpc_version": __version__,
        "job": {"name": JOB_NAME, "dir": job_dir, "lib_dir": posixpath.join(job_dir, LIB_DIR)},
        "setup": setup,
        "notebook_dir": notebook_dir,
    }
    try:
        script = render.render("jupyter", context)
    except jinja2.TemplateError as exc:  # a broken shipped template is our bug
        raise _usage("template", f"jupyter template error: {exc}") from None
    argv = [
        "sbatch",
        "--parsable",
        f"--job-name={JOB_NAME}",
        f"--chdir={code_dir}",
        f"--output={job_dir}/logs/batch.log",
        "--open-mode=append",
        "--nodes=1",
        "--ntasks=1",
        f"--partition={partition}",
        *one_node_flags(gpus, cpus, mem, time_limit),
        script_path,
    ]
    metadata = {
        "aihpc_version": __version__,
        "name": JOB_NAME,
        "job_dir": job_dir,
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
        job_dir=job_dir,
        script_path=script_path,
        script=script,
        sbatch_argv=tuple(argv),
        sweep_rows=(),
        snapshot=None,
        files=(
            FileToWrite(script_path, script, 0o755),
            FileToWrite(
                posixpath.join(job_dir, "aihpc-job.json"),
                json.dumps(metadata, indent=2, sort_keys=True) + "\n",
            ),
        ),
        dirs=(job_dir, posixpath.join(job_dir, "logs"), code_dir),
        metadata=metadata,
    )
