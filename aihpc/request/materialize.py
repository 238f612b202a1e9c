"""`materialize`: a validated spec -> a JobRequest. Pure: no subprocess, no writes.

Everything variable (user, time, random suffix, file list of the snapshot)
is an argument, so the same inputs always give the same script and argv;
golden-file tests rely on that.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from aihpc import __version__, layout
from aihpc.errors import SpecError, SpecIssue
from aihpc.layout import JobLayout
from aihpc.request import render, sweep
from aihpc.request.model import FileToWrite, JobRequest, SnapshotFiles, SnapshotPlan
from aihpc.spec.model import PLACEHOLDER_RE, TrainSpec
from aihpc.spec.templates import LAUNCHER_TEMPLATES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # resume_from only: its module brings aihpc.slurm and aihpc.runtime (~3 ms).
    from aihpc.request.resume import ResumePlan
    from aihpc.spec.profile import ClusterProfile

SRUN_WAIT_SECONDS = 60  # after the first task exits, how long srun waits for the others
# After a task failed, how long the batch script waits for each allocated
# node's slurmd to accept a connection before calling the node dead.
NODE_PROBE_TIMEOUT = 5
USER_RE = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]*")


def expand_placeholders(value: str, values: Mapping[str, str]) -> str:
    """Replace `{key}`; unknown keys were rejected by the spec checks already."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), value)


def grace_seconds(signal_before: int) -> int:
    """How long the batch script waits for a checkpoint before requeuing anyway.

    Half of signal_before, or all but 60 s of it when that is longer: the
    remainder leaves time for `scontrol requeue` before the time limit.
    """
    return max(signal_before // 2, signal_before - 60)


def gloo_ifname(value: str) -> str:
    """NCCL's "=eth0" (exact name) means plain "eth0" to gloo.

    Gloo takes a comma-separated list of exact interface names and fails with
    "Unable to find address for: =eth0" on NCCL's prefix syntax; the profile
    may use NCCL's spelling for both variables.
    """
    return ",".join(item.removeprefix("=") for item in value.split(","))


def _gres(spec: TrainSpec) -> str | None:
    if spec.gpus_per_node == 0:
        return None
    if spec.gpu_type:
        return f"gpu:{spec.gpu_type}:{spec.gpus_per_node}"
    return f"gpu:{spec.gpus_per_node}"


def _env(spec: TrainSpec, profile: ClusterProfile | None, launcher: str) -> list[dict[str, str]]:
    """Weakest first: aihpc defaults < profile network.env < train.yaml env."""
    merged: dict[str, str] = {
        "NCCL_DEBUG": "WARN",
        "OMP_NUM_THREADS": str(spec.cpus_per_task or 1),
    }
    if launcher == "srun":
        # Debian's torch 2.6 has no libuv; env:// with the plain TCPStore works.
        merged["USE_LIBUV"] = "0"
    if profile is not None:
        merged.update(profile.network.env)
        if "GLOO_SOCKET_IFNAME" in merged:
            merged["GLOO_SOCKET_IFNAME"] = gloo_ifname(merged["GLOO_SOCKET_IFNAME"])
    merged.update(spec.env)
    return [{"name": k, "value": v} for k, v in merged.items()]


def sbatch_head(name: str, paths: JobLayout, array: bool) -> list[str]:
    """The sbatch options every aihpc job starts with: name, --chdir, --output."""
    return [
        "sbatch",
        "--parsable",
        f"--job-name={name}",
        f"--chdir={paths.code}",
        f"--output={paths.batch_output(array)}",
        "--open-mode=append",
    ]


def _sbatch_argv(spec: TrainSpec, launcher: str, paths: JobLayout, rows: int) -> tuple[str, ...]:
    per_node_tasks = spec.processes_per_node if launcher == "srun" else 1
    argv = [
        *sbatch_head(spec.name, paths, bool(rows)),
        f"--nodes={spec.nodes}",
        f"--ntasks-per-node={per_node_tasks}",
    ]
    if spec.cpus_per_task is not None:
        # cpus_per_task is per training process; a torchrun task hosts all of a node's.
        factor = 1 if launcher == "srun" else spec.processes_per_node
        argv.append(f"--cpus-per-task={spec.cpus_per_task * factor}")
    gres = _gres(spec)
    if gres:
        argv.append(f"--gres={gres}")
    for option, value in (
        ("mem", spec.mem),
        ("time", spec.time),
        ("partition", spec.partition),
        ("account", spec.account),
        ("qos", spec.qos),
    ):
        if value is not None:
            argv.append(f"--{option}={value}")
    if spec.checkpoint is not None:
        argv += [f"--signal=B:USR1@{spec.checkpoint.signal_before}", "--requeue"]
    if rows:
        argv.append(f"--array={sweep.array_spec(rows, spec.max_parallel)}")
    argv.append(paths.script)
    return tuple(argv)


def job_dir_name(name: str, now: datetime, token: str) -> str:
    return layout.job_dir_name(name, now.strftime("%Y%m%d-%H%M%S"), token)


def job_layout(jobs_dir: str, name: str, now: datetime, token: str) -> JobLayout:
    return JobLayout(posixpath.join(jobs_dir, job_dir_name(name, now, token)))


def check_user(user: str) -> None:
    if not USER_RE.fullmatch(user):
        raise SpecError(SpecIssue("<environment>", 1, 1, "user", f"odd user name {user!r}"))


def metadata_file(paths: JobLayout, metadata: dict[str, Any]) -> FileToWrite:
    return FileToWrite(paths.metadata, json.dumps(metadata, indent=2, sort_keys=True) + "\n")


def context(
    spec: TrainSpec,
    profile: ClusterProfile | None,
    *,
    launcher: str,
    paths: JobLayout,
    submit_dir: str,
    checkpoint_dir: str,
    rows: int,
    mounts: list[str],
) -> dict[str, Any]:
    """The template context, documented in docs/researcher-guide.md (user templates)."""
    procs = spec.processes_per_node
    ckpt = spec.checkpoint
    return {
        "aihpc_version": __version__,
        "layout": layout.template_names(),
        "job": {
            "name": spec.name,
            "dir": paths.root,
            "code_dir": paths.code,
            "submit_dir": submit_dir,
            "lib_dir": paths.lib,
            "launcher": launcher,
            "nodes": spec.nodes,
            "procs_per_node": procs,
            "world_size": spec.nodes * procs,
            "gpus_per_node": spec.gpus_per_node,
            "cpus_per_task": spec.cpus_per_task,
            "node_cpus_per_task": None
            if spec.cpus_per_task is None
            else spec.cpus_per_task * procs,
            "checkpoint_dir": checkpoint_dir,
            "srun_wait": SRUN_WAIT_SECONDS,
            "probe_timeout": NODE_PROBE_TIMEOUT,
        },
        "program": {
            "script": spec.script,
            "module": spec.module,
            "args": list(spec.args),
        },
        "env": _env(spec, profile, launcher),
        "setup": list(spec.setup),
        "checkpoint": None
        if ckpt is None
        else {
            "signal_before": ckpt.signal_before,
            "max_restarts": ckpt.max_restarts,
            "grace": grace_seconds(ckpt.signal_before),
        },
        "sweep": None if not rows else {"table": paths.sweep_table, "size": rows},
        "container": None
        if spec.container is None
        else {
            "runtime": spec.container.runtime,
            "image": spec.container.image,
            "mounts": mounts,
            "gpus": spec.gpus_per_node > 0,
        },
        "cluster": None
        if profile is None
        else {"name": profile.cluster, "login_host": profile.login_host},
    }


def _template_error(template: str | Path, exc: Exception) -> SpecError:
    """A jinja2.TemplateError as a spec issue: the template file, its line, the reason."""
    line = getattr(exc, "lineno", None) or 1
    where = getattr(exc, "filename", None) or str(template)
    message = getattr(exc, "message", None)
    return SpecError(SpecIssue(where, line, 1, "template", f"template error: {message}"))


def materialize(
    spec: TrainSpec,
    profile: ClusterProfile | None,
    *,
    workdir: Path,
    template: str | Path,
    user: str,
    now: datetime,
    token: str,
    snapshot: SnapshotFiles | None,
    spec_file: str = "",
    resume: ResumePlan | None = None,
) -> JobRequest:
    """Build the full request. Raises SpecError only for template errors."""
    check_user(user)
    launcher = spec.launcher
    places: dict[str, str] = dict(profile.shared_dirs) if profile else {}
    places.update(name=spec.name, user=user)
    paths = job_layout(expand_placeholders(spec.jobs_dir, places), spec.name, now, token)
    job_dir = paths.root
    places["job_dir"] = job_dir
    checkpoint_dir = expand_placeholders(
        spec.checkpoint.dir if spec.checkpoint else layout.DEFAULT_CHECKPOINT_DIR, places
    )
    rows = sweep.expand(spec.sweep)
    mounts: list[str] = []
    if spec.container is not None:
        # The job dir (code, logs, flag) and checkpoints must be visible inside.
        mounts = [f"{job_dir}:{job_dir}"]
        if not checkpoint_dir.startswith(job_dir + "/"):
            mounts.append(f"{checkpoint_dir}:{checkpoint_dir}")
        mounts += [expand_placeholders(m, places) for m in spec.container.mounts]

    ctx = context(
        spec,
        profile,
        launcher=launcher,
        paths=paths,
        submit_dir=str(workdir),
        checkpoint_dir=checkpoint_dir,
        rows=len(rows),
        mounts=mounts,
    )
    try:
        script = render.render(template, ctx)
    except Exception as exc:
        if not render.is_template_error(exc):
            raise
        raise _template_error(template, exc) from None

    argv = _sbatch_argv(spec, launcher, paths, len(rows))
    metadata = {
        "aihpc_version": __version__,
        "name": spec.name,
        "job_dir": job_dir,
        "launcher": launcher,
        "nodes": spec.nodes,
        "procs_per_node": spec.processes_per_node,
        "world_size": spec.world_size,
        "array_size": len(rows),
        "template": str(template),
        "spec_file": spec_file,
        "submit_dir": str(workdir),
        "checkpoint_dir": checkpoint_dir,
        "created": now.isoformat(timespec="seconds"),
        "sbatch_argv": list(argv),
        "spec": spec.model_dump(mode="json"),
    }
    if resume is not None:
        metadata["resumed_from"] = {"job_id": resume.job_id, "checkpoint_dir": resume.source_dir}
    files = [FileToWrite(paths.script, script, 0o755), metadata_file(paths, metadata)]
    if rows:
        files.append(FileToWrite(paths.sweep_table, sweep.table(rows)))
    plan = None
    if snapshot is not None:
        plan = SnapshotPlan(
            source=str(workdir),
            dest=paths.code,
            method=snapshot.method,
            files=snapshot.files,
            total_bytes=snapshot.total_bytes,
        )
    return JobRequest(
        name=spec.name,
        job_dir=job_dir,
        script_path=paths.script,
        script=script,
        sbatch_argv=argv,
        sweep_rows=rows,
        snapshot=plan,
        files=tuple(files),
        dirs=paths.dirs(),
        metadata=metadata,
        resume=resume,
        checkpoint_dir=checkpoint_dir,
    )


__all__ = ["LAUNCHER_TEMPLATES", "SnapshotFiles", "materialize"]
