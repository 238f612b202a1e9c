"""examples/ddp/train.py through the real job script, on this machine, with torch.

srun and scontrol are replaced by small local stand-ins: srun starts one
process per task with SLURM_PROCID & co. and writes rank-%t.log like Slurm;
scontrol answers `show hostnames` and records `requeue`. Everything else is
real: the rendered batch script, its USR1 trap and flag file, the job-side
aihpc.runtime copy, gloo, checkpoint and resume.

Proves: world size, loss decreasing, and that a run interrupted by USR1,
requeued and resumed ends with exactly the weights of an uninterrupted run.
Skipped when torch is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aihpc import jobdir
from aihpc.request.materialize import materialize
from aihpc.request.model import JobRequest, SnapshotFiles
from aihpc.spec.model import TrainSpec
from tests.unit.conftest import REPO

if importlib.util.find_spec("torch") is None:  # find, not import: torch takes seconds
    pytest.skip("torch is not installed", allow_module_level=True)

SRUN = f"""#!{sys.executable}
# Local stand-in for srun: one process per task, Slurm's task variables, --output=%t files.
import os, subprocess, sys
args = sys.argv[1:]
opts = {{}}
while args and args[0].startswith("--"):
    key, _, value = args.pop(0)[2:].partition("=")
    opts[key] = value
ntasks = int(opts.get("ntasks", "1"))
per_node = int(opts.get("ntasks-per-node", ntasks))
procs = []
for task in range(ntasks):
    env = dict(os.environ, SLURM_PROCID=str(task), SLURM_LOCALID=str(task % per_node),
               SLURM_NODEID=str(task // per_node), SLURM_NTASKS=str(ntasks))
    out = open(opts["output"].replace("%t", str(task)), "a") if "output" in opts else None
    procs.append(subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT))
sys.exit(max(p.wait() for p in procs))
"""
SCONTROL = """#!/bin/sh
case "$1" in
  show) echo 127.0.0.1 ;;
  requeue) echo "$2" >> "$STUB_REQUEUES" ;;
esac
"""


def _free_job_id() -> int:
    """A job id whose derived MASTER_PORT (10000 + id % 20000) is free here."""
    for _ in range(100):
        port = random.randint(10000, 29999)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return 20000 + port  # any id with id % 20000 == port - 10000
    raise RuntimeError("no free port")


def _prepare(tmp: Path, args: list[str]) -> JobRequest:
    spec = TrainSpec.model_validate(
        {
            "name": "ddp",
            "script": "train.py",
            "args": args,
            # 2 x 2: more than two ranks is where DDP's gradient buckets
            # get rebuilt differently after a resume (train.py settles them).
            "nodes": 2,
            "procs_per_node": 2,
            "env": {"GLOO_SOCKET_IFNAME": "lo", "AIHPC_CHECKPOINT_POLL": "0"},
            "checkpoint": {"signal_before": 120, "max_restarts": 2},
            "jobs_dir": str(tmp / "jobs"),
        }
    )
    request = materialize(
        spec,
        None,
        workdir=REPO / "examples" / "ddp",
        template="srun",
        user="tester",
        now=datetime.now(),
        token=f"{random.randrange(16**6):06x}",
        snapshot=SnapshotFiles("aihpcignore", ("train.py",), 0),
    )
    jobdir.prepare(request)
    return request


def _env(tmp: Path, job_id: int, **extra: str) -> dict[str, str]:
    bin_dir = tmp / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        for name, text in (
            ("srun", SRUN),
            ("scontrol", SCONTROL),
            ("python3", f'#!/bin/sh\nexec {sys.executable} "$@"\n'),
        ):
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp),
        "SLURM_JOB_ID": str(job_id),
        "SLURM_JOB_NODELIST": "localhost",
        "STUB_REQUEUES": str(tmp / "requeues"),
    }
    env.update(extra)
    return env


def _result(request: JobRequest) -> dict[str, Any]:
    log = (Path(request.job_dir) / "logs" / "rank-0.log").read_text()
    lines = [x for x in log.splitlines() if x.startswith("AIHPC_RESULT ")]
    assert lines, log[-3000:]
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("AIHPC_RESULT "))
    return result


def _run(request: JobRequest, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", request.script_path], env=env, capture_output=True, text=True, timeout=120
    )


def test_interrupted_requeued_resumed_run_equals_uninterrupted(tmp_path: Path) -> None:
    steps = ["--steps", "20", "--save-every", "5"]

    straight = _prepare(tmp_path, steps)
    done = _run(straight, _env(tmp_path, _free_job_id()))
    assert done.returncode == 0, done.stderr[-3000:]
    reference = _result(straight)
    assert reference["world_size"] == 4
    assert reference["loss_last"] < reference["loss_first"]
    assert reference["resumed_from"] is None

    interrupted = _prepare(tmp_path, [*steps, "--step-sleep", "0.1"])
    job_id = _free_job_id()
    proc = subprocess.Popen(
        ["bash", interrupted.script_path],
        env=_env(tmp_path, job_id),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    rank0 = Path(interrupted.job_dir) / "logs" / "rank-0.log"
    deadline = time.monotonic() + 60
    try:
        while not (rank0.exists() and "step 10 " in rank0.read_text()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never reached step 10"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGUSR1)  # what Slurm does signal_before seconds early
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err[-3000:]
    assert (tmp_path / "requeues").read_text() == f"{job_id}\n"
    log = rank0.read_text()
    assert "AIHPC_CHECKPOINTED" in log and "AIHPC_RESULT" not in log

    # Slurm starts the same script again after the requeue.
    again = _run(interrupted, _env(tmp_path, _free_job_id(), SLURM_RESTART_COUNT="1"))
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = _result(interrupted)
    assert 10 <= resumed["resumed_from"] < 20
    assert resumed["restart_count"] == 1
    assert resumed["weights_sha256"] == reference["weights_sha256"]
    assert resumed["loss_first"] == reference["loss_first"]
    assert resumed["loss_last"] == reference["loss_last"]
