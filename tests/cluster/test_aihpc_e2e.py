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

import re
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest

from tests.cluster.jobs import (
    DDP,
    SWEEP,
    TOKEN,
    USER,
    Job,
    aihpc,
    args_override,
    as_alice,
    batch_log,
    jobs_root,
    ok,
    rank0_log,
    results,
    status,
    submit,
    wait_ended,
    wait_for,
    wait_log,
    wait_sacct,
)
from tests.clusterlib import require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

STEPS = 40
# Short, deterministic training; the resume run adds --step-sleep only.
REF_ARGS = ["--steps", str(STEPS), "--save-every", "10", "--seed", "7"]


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
    # Count only what carries this test's name: alice's other jobs (the
    # Molecule verify's, other tests') may start or end meanwhile.
    count_queue = f"squeue -h -u {USER} --name={name} | wc -l"
    count_dirs = f"find {jobs_root()} -mindepth 1 -maxdepth 1 -name '{name}-*' | wc -l"
    before = ok(as_alice(count_queue)), ok(as_alice(count_dirs))
    assert before == ("0\n", "0\n"), before
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
    assert result["launcher"] == "srun"
    assert result["torch"].startswith("2.6"), result["torch"]  # Debian's python3-torch
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
