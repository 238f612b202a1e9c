"""`aihpc` end to end on the live local cluster, as user alice on the login node.

Needs the cluster up and converged with playbooks/site.yml (the aihpc role
installs the CLI on ctl1 and Debian's CPU torch on gpu1/gpu2): `make
cluster-up`, or the Molecule cluster scenario in scripts/test-cluster.sh.
Every command runs over ssh as `su - alice -c ...` on ctl1, from a copy of
examples/ in alice's home.

One uninterrupted DDP run (2 nodes x 2 processes, srun launcher, gloo) is the
module's reference: the DDP, `logs -f`, `status --json` and resume tests all
read it. The resume test's job waits about two minutes in the queue after
its requeue (Slurm holds a requeued job for AuthInfo cred_expire, 120 s by
default, then starts it at its next scheduling pass), so it is started
first and checked last: the reference, sweep and cancel tests use the nodes
meanwhile.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shlex
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from tests.clusterlib import ROOT, SSH_CONFIG, require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

LOGIN = "ctl1"
USER = "alice"
WORK = "aihpc-e2e"  # under alice's home
# Names carry a per-run token: jobs of this run are told apart from any other.
TOKEN = secrets.token_hex(3)
DDP = "examples/ddp/train.yaml"
SWEEP = "examples/sweep/train.yaml"
STEPS = 40
# Short, deterministic training; the resume run adds --step-sleep only.
REF_ARGS = ["--steps", str(STEPS), "--save-every", "10", "--seed", "7"]
POLL = 2.0

T = TypeVar("T")


# -- plumbing -------------------------------------------------------------
def ssh_root(command: str, timeout: float = 120, stdin: bytes | None = None) -> str:
    proc = subprocess.run(
        ["ssh", "-F", str(SSH_CONFIG), LOGIN, command],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, f"{command!r} on {LOGIN}: rc={proc.returncode}\n{out}\n{err}"
    return out


def as_alice(command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a shell command as alice (login shell, in ~/WORK); never raises on rc."""
    remote = f"su - {USER} -c " + shlex.quote(f"cd {WORK} && {command}")
    return subprocess.run(
        ["ssh", "-F", str(SSH_CONFIG), LOGIN, remote],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def aihpc(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return as_alice(shlex.join(["aihpc", *args]), timeout=timeout)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, (
        f"{proc.args[-1]}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Poll `probe` until it returns something other than None (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL)


@dataclass
class Job:
    job_id: str
    name: str
    job_dir: str
    array_size: int


def submit(spec: str, name: str, *overrides: str) -> Job:
    argv = ["submit", spec, "--json", "-o", f"name={name}"]
    for item in overrides:
        argv += ["-o", item]
    data = json.loads(ok(aihpc(*argv)))
    return Job(str(data["job_id"]), data["name"], data["job_dir"], int(data["array_size"]))


def args_override(args: list[str]) -> str:
    return "args=" + json.dumps(args)


def status(job_id: str) -> list[dict[str, Any]]:
    data = json.loads(ok(aihpc("status", job_id, "--json")))
    assert data["job_id"] == job_id
    jobs: list[dict[str, Any]] = data["jobs"]
    return jobs


def wait_ended(job_id: str, timeout: float) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        jobs = status(job_id)
        return jobs if jobs and all(j["terminal"] for j in jobs) else None

    try:
        return wait_for(f"job {job_id} to end", probe, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nlast status: {status(job_id)}\n{batch_log(job_id)}") from None


def sacct_states(job_id: str) -> dict[str, str]:
    out = ok(as_alice(f"sacct -j {job_id} -X -n -P -o JobID,State"))
    return dict(line.split("|", 1) for line in out.splitlines() if line.strip())


def wait_sacct(
    job_id: str, want: Callable[[dict[str, str]], bool], timeout: float = 60
) -> dict[str, str]:
    """sacct lags the controller a little (slurmdbd): poll for the expected rows."""

    def probe() -> dict[str, str] | None:
        rows = sacct_states(job_id)
        return rows if want(rows) else None

    try:
        return wait_for(f"sacct rows of {job_id}", probe, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {sacct_states(job_id)}") from None


def read_log(job_id: str, *extra: str) -> str:
    """`aihpc logs`; a log the job has not written yet reads as empty."""
    proc = aihpc("logs", job_id, *extra)
    if proc.returncode != 0 and "no log yet" in proc.stderr:
        return ""
    return ok(proc)


def rank0_log(job_id: str) -> str:
    return read_log(job_id)


def batch_log(job_id: str) -> str:
    return read_log(job_id, "--batch")


def wait_log(job_id: str, needle: str, timeout: float, batch: bool = False) -> str:
    """Poll a log (rank 0, or the batch script's) until it contains `needle`."""
    read = batch_log if batch else rank0_log

    def probe() -> str | None:
        text = read(job_id)
        return text if needle in text else None

    try:
        return wait_for(f"{needle!r} in the log of job {job_id}", probe, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{read(job_id)}\n{batch_log(job_id)}") from None


def results(log: str) -> list[dict[str, Any]]:
    return [json.loads(m) for m in re.findall(r"^AIHPC_RESULT (\{.*\})$", log, re.MULTILINE)]


# -- module fixtures --------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def workdir() -> Iterator[None]:
    """A fresh copy of examples/ in alice's home; aihpc must be on her PATH.

    Afterwards, jobs of this run still in the queue (a failed test) are
    cancelled so they do not hold the nodes; job directories are kept.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(
            ROOT / "examples",
            arcname="examples",
            filter=lambda info: None if "__pycache__" in info.name else info,
        )
    home = f"$(getent passwd {USER} | cut -d: -f6)"
    ssh_root(
        f'set -e; d="{home}/{WORK}"; rm -rf "$d"; mkdir -p "$d"; '
        f'tar -C "$d" -xf -; chown -R {USER}: "$d"',
        stdin=buffer.getvalue(),
    )
    found = as_alice("command -v aihpc && aihpc --version")
    if found.returncode != 0:
        pytest.fail(
            f"aihpc is not on {USER}'s PATH on {LOGIN}: converge playbooks/site.yml "
            f"(the aihpc role).\n{found.stdout}{found.stderr}"
        )
    yield
    as_alice(
        f"squeue -h -u {USER} -o '%A %j' | awk '$2 ~ /-{TOKEN}$/ {{print $1}}' | xargs -r scancel"
    )


def jobs_root() -> str:
    """<shared>/aihpc/jobs/<user>, <shared> from the cluster profile the CLI reads."""
    shared = ok(
        as_alice(
            "python3 -c 'import yaml; "
            'print(yaml.safe_load(open("/etc/aihpc/cluster.yaml"))["shared_dirs"]["shared"])\''
        )
    ).strip()
    return f"{shared}/aihpc/jobs/{USER}"


@dataclass
class Reference:
    job: Job
    follow: subprocess.CompletedProcess[str]
    after_follow: list[dict[str, Any]]
    result: dict[str, Any]


@pytest.fixture(scope="module")
def reference() -> Reference:
    """The uninterrupted run, followed to its end with `aihpc logs -f`."""
    job = submit(DDP, f"e2e-ref-{TOKEN}", args_override(REF_ARGS))
    follow = aihpc("logs", "-f", job.job_id, timeout=300)
    after = status(job.job_id)
    found = results(follow.stdout)
    assert found, f"no AIHPC_RESULT in `logs -f`:\n{follow.stdout}\n{batch_log(job.job_id)}"
    return Reference(job, follow, after, found[-1])


@dataclass
class Interrupted:
    job: Job
    checkpoint_step: int


@pytest.fixture(scope="module")
def interrupted() -> Interrupted:
    """A slowed-down copy of the reference run, sent Slurm's checkpoint signal mid-run."""
    job = submit(DDP, f"e2e-resume-{TOKEN}", args_override([*REF_ARGS, "--step-sleep", "0.5"]))
    wait_log(job.job_id, "step 10 loss", timeout=240)
    # What Slurm does signal_before seconds before the time limit: USR1 to the
    # batch shell only, whose trap asks the ranks to checkpoint, then requeues.
    ok(as_alice(f"scancel --signal=USR1 --batch {job.job_id}"))

    def checkpointed() -> int | None:
        match = re.search(r"^AIHPC_CHECKPOINTED step=(\d+)$", rank0_log(job.job_id), re.MULTILINE)
        return int(match.group(1)) if match else None

    try:
        step = wait_for(f"job {job.job_id} to checkpoint", checkpointed, timeout=120)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{rank0_log(job.job_id)}\n{batch_log(job.job_id)}") from None
    return Interrupted(job, step)


# -- tests, in the order they run ------------------------------------------
def test_over_request_is_refused_before_sbatch() -> None:
    name = f"e2e-over-{TOKEN}"
    count_queue = f"squeue -h -u {USER} | wc -l"
    count_dirs = f"ls -1 {jobs_root()} | wc -l"
    before = ok(as_alice(count_queue)), ok(as_alice(count_dirs))
    for override, reason in (
        ("nodes=3", "3 nodes requested, partition 'gpu' has 2"),
        ("gpus_per_node=5", "5 GPUs per node requested, partition 'gpu' nodes have 4"),
    ):
        proc = aihpc("submit", DDP, "-o", f"name={name}", "-o", override)
        assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
        assert "nothing was submitted" in proc.stderr
        assert reason in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
    assert (ok(as_alice(count_queue)), ok(as_alice(count_dirs))) == before
    # Nothing with this name ever reached slurmctld.
    assert ok(as_alice(f"sacct -n -X -S now-1hours --name={name} -o JobID")).strip() == ""


def test_checkpoint_signal_requeues(interrupted: Interrupted) -> None:
    job = interrupted.job
    # Mid-run: checkpointed after step 10 and well before the end.
    assert 10 <= interrupted.checkpoint_step < STEPS, interrupted.checkpoint_step
    log = wait_log(job.job_id, "aihpc: requeuing", timeout=120, batch=True)
    assert "aihpc: USR1 received: checkpoint requested" in log
    assert f"aihpc: requeuing {job.job_id} (restart 1 of 3)" in log
    ckpt = ok(as_alice(f"test -s {job.job_dir}/checkpoints/ckpt.pt && echo present"))
    assert ckpt.strip() == "present"


def test_ddp_two_nodes_two_procs(reference: Reference) -> None:
    result = reference.result
    assert result["world_size"] == 4
    assert len(result["hosts"]) == 2, result["hosts"]
    assert sorted(result["rank_hosts"]) == sorted(result["hosts"] * 2), result["rank_hosts"]
    assert result["steps"] == STEPS
    assert result["resumed_from"] is None
    assert result["loss_last"] < result["loss_first"], result
    wait_sacct(reference.job.job_id, lambda rows: rows.get(reference.job.job_id) == "COMPLETED")


def test_logs_follow_until_the_end(reference: Reference) -> None:
    assert reference.follow.returncode == 0, reference.follow.stderr
    out = reference.follow.stdout
    for step in range(10, STEPS + 1, 10):
        assert re.search(rf"^step {step} loss \d+\.\d+$", out, re.MULTILINE), out
    assert out.rstrip().splitlines()[-1].startswith("AIHPC_RESULT "), out
    # -f returned because the job ended, not before.
    assert reference.after_follow and all(j["terminal"] for j in reference.after_follow)


def test_status_json(reference: Reference) -> None:
    job = reference.job
    (info,) = status(job.job_id)
    assert info["job_id"] == job.job_id
    assert info["name"] == job.name
    assert info["user"] == USER
    assert info["state"] == "COMPLETED"
    assert info["terminal"] is True
    assert info["exit_code"] == 0
    assert info["partition"] == "gpu"
    assert info["node_count"] == 2
    assert info["workdir"] == f"{job.job_dir}/code"
    assert info["restart_count"] == 0
    assert info["array_job_id"] is None


def test_sweep_is_one_array_job() -> None:
    job = submit(SWEEP, f"e2e-sweep-{TOKEN}")
    assert job.array_size == 6
    jobs = wait_ended(job.job_id, timeout=300)
    assert len(jobs) == 6, jobs
    assert {j["array_job_id"] for j in jobs} == {job.job_id}
    assert sorted(j["job_id"] for j in jobs) == [f"{job.job_id}_{i}" for i in range(6)]
    assert {j["state"] for j in jobs} == {"COMPLETED"}, jobs
    rows = wait_sacct(job.job_id, lambda r: len(r) == 6 and set(r.values()) == {"COMPLETED"})
    assert sorted(rows) == [f"{job.job_id}_{i}" for i in range(6)]
    points = set()
    for i in range(6):
        (result,) = results(rank0_log(f"{job.job_id}_{i}"))
        assert result["task"] == i
        assert result["loss_last"] < result["loss_first"]
        points.add((result["lr"], result["seed"]))
    assert points == {(lr, seed) for lr in (0.01, 0.05) for seed in (1, 2, 3)}


def test_cancel() -> None:
    job = submit(
        DDP,
        f"e2e-cancel-{TOKEN}",
        "nodes=1",
        "procs_per_node=1",
        args_override(["--steps", "1000", "--step-sleep", "1"]),
    )
    wait_for(
        f"job {job.job_id} to run",
        lambda: True if status(job.job_id)[0]["state"] == "RUNNING" else None,
        timeout=240,
    )
    proc = aihpc("cancel", job.job_id)
    assert proc.returncode == 0, proc.stderr
    (info,) = wait_ended(job.job_id, timeout=120)
    assert info["state"] == "CANCELLED", info
    wait_sacct(job.job_id, lambda rows: rows.get(job.job_id, "").startswith("CANCELLED"))


def test_resumed_run_matches_uninterrupted(interrupted: Interrupted, reference: Reference) -> None:
    job = interrupted.job
    (info,) = wait_ended(job.job_id, timeout=480)
    assert info["state"] == "COMPLETED", (info, batch_log(job.job_id))
    assert info["restart_count"] >= 1
    log = rank0_log(job.job_id)
    step = interrupted.checkpoint_step
    assert f"resumed from step {step} (restart 1)" in log, log
    final = results(log)[-1]
    assert final["resumed_from"] == step
    assert final["restart_count"] == 1
    assert final["steps"] == STEPS
    assert final["weights_sha256"] == reference.result["weights_sha256"]
    assert final["loss_last"] == reference.result["loss_last"]
    wait_sacct(job.job_id, lambda rows: rows.get(job.job_id) == "COMPLETED")
