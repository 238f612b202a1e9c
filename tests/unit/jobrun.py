"""Run a rendered job script for real, with Slurm's and the trainer's commands stubbed.

`srun`, `scontrol`, `torchrun` and `python3` on PATH are small bash stubs that
record their argv (NUL-separated, so any byte survives) and environment into a
calls directory. The `srun` stub then runs its command the way one Slurm task
would (SLURM_PROCID etc. set), so the per-rank wrapper in the script runs
too. `python3 -I ...` (the sweep table reader) is passed to the real
interpreter; any other `python3` call is "the training script".
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aihpc import jobdir
from aihpc.request.materialize import materialize
from aihpc.request.model import JobRequest, SnapshotFiles
from aihpc.spec.model import TrainSpec

RECORD = r"""#!/bin/bash
set -eu
n=$(ls "$STUB_CALLS" | wc -l)
dir="$STUB_CALLS/$(printf %03d "$n")-$(basename "$0")"
mkdir "$dir.tmp"
printf '%s\0' "$@" > "$dir.tmp/argv"
env -0 > "$dir.tmp/env"
mv "$dir.tmp" "$dir"  # readers never see half a record
"""

STUBS = {
    "scontrol": RECORD
    + r"""
if [ "${1:-}" = show ] && [ "${2:-}" = hostnames ]; then
  printf '%s\n' node1 node2
fi
# `show nodes ... --json` / `show job ... --json`: recorded-shape replies from files.
if [ "${1:-}" = show ] && [ "${2:-}" = nodes ] && [ -n "${STUB_NODES_JSON:-}" ]; then
  cat "$STUB_NODES_JSON"
fi
if [ "${1:-}" = show ] && [ "${2:-}" = job ] && [ -n "${STUB_JOB_JSON:-}" ]; then
  cat "$STUB_JOB_JSON"
fi
""",
    "srun": RECORD
    + r"""
while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do shift; done
export SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NODEID=0 SLURM_NTASKS="${STUB_NTASKS:-1}"
if [ -n "${STUB_SRUN_HANG:-}" ]; then
  # Like srun waiting for the tasks of a node that died: the task is over,
  # srun is not.
  "$@" || true
  exec sleep "$STUB_SRUN_HANG"
fi
exec "$@"
""",
    # The agent: it ends as its workers do (STUB_TRAINER), like python3 below.
    "torchrun": RECORD
    + r"""
if [ -n "${STUB_TRAINER:-}" ]; then exec bash -c "$STUB_TRAINER"; fi
""",
    "python3": r"""#!/bin/bash
if [ "${1:-}" = -I ]; then exec "$REAL_PYTHON" "$@"; fi
"""
    + RECORD.removeprefix("#!/bin/bash\n")
    + r"""
if [ -n "${STUB_TRAINER:-}" ]; then exec bash -c "$STUB_TRAINER"; fi
""",
}


@dataclass(frozen=True)
class Call:
    name: str
    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[Call]


def install_stubs(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in STUBS.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)


def read_calls(calls_dir: Path) -> list[Call]:
    calls = []
    for entry in sorted(calls_dir.iterdir()):
        if entry.name.endswith(".tmp"):
            continue
        argv_raw = (entry / "argv").read_bytes()
        argv = [a.decode("utf-8", "surrogateescape") for a in argv_raw.split(b"\0")[:-1]]
        env = {}
        for item in (entry / "env").read_bytes().split(b"\0"):
            if b"=" in item:
                key, _, value = item.partition(b"=")
                env[key.decode()] = value.decode("utf-8", "surrogateescape")
        calls.append(Call(entry.name.split("-", 1)[1], argv, env))
    return calls


def prepare(spec: TrainSpec, project: Path) -> JobRequest:
    """Materialize into spec.jobs_dir and create the job directory for real."""
    request = materialize(
        spec,
        None,
        workdir=project,
        template=spec.launcher,
        user="tester",
        now=datetime(2025, 1, 2, 3, 4, 5),
        token="abcdef",
        snapshot=SnapshotFiles("aihpcignore", ("train.py",), 1),
    )
    jobdir.prepare(request)
    return request


def base_env(root: Path, **extra: str) -> dict[str, str]:
    calls = root / "calls"
    calls.mkdir(exist_ok=True)
    install_stubs(root / "bin")
    env = {
        "PATH": f"{root / 'bin'}:/usr/bin:/bin",
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "STUB_CALLS": str(calls),
        "REAL_PYTHON": sys.executable,
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NODELIST": "node[1-2]",
    }
    env.update(extra)
    return env


def run_script(request: JobRequest, env: dict[str, str], timeout: float = 30) -> Run:
    proc = subprocess.run(
        ["bash", request.script_path],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=request.job_dir,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, read_calls(Path(env["STUB_CALLS"])))


def spec_for(tmp: Path, **fields: object) -> TrainSpec:
    data: dict[str, object] = {
        "name": "job",
        "script": "train.py",
        "jobs_dir": str(tmp / "jobs"),
    }
    data.update(fields)
    return TrainSpec.model_validate(data)


def project_dir(tmp: Path) -> Path:
    project = tmp / "project"
    project.mkdir(exist_ok=True)
    (project / "train.py").write_text("")
    return project


__all__ = ["Call", "Run", "base_env", "os", "prepare", "project_dir", "run_script", "spec_for"]
