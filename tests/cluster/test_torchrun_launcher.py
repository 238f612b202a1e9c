"""The torchrun launcher end to end, with a torch that has libuv.

Debian's python3-torch (what the nodes have) is built without libuv, and its
torchrun cannot even start. Researchers bring their own torch; so does this
test: scripts/test-torchrun.sh (`make test-torchrun`) installs PyPI's torch
into a venv on the shared volume and sets AIHPC_TORCHRUN_VENV to it. The job
activates the venv through `setup:`, as a researcher's train.yaml would.

Also shown here: the checkpoint request reaches ranks under torchrun (which
forwards no USR1) through the flag file, and the resumed run ends with the
weights of an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.cluster import jobs
from tests.clusterlib import require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

VENV = os.environ.get("AIHPC_TORCHRUN_VENV", "")
if not VENV:
    pytest.skip(
        "AIHPC_TORCHRUN_VENV is not set: make test-torchrun installs a torch with libuv",
        allow_module_level=True,
    )
TORCH = os.environ.get("AIHPC_TORCH_VERSION", "2.9.1")
STEPS = 40
ARGS = ["--steps", str(STEPS), "--save-every", "10", "--seed", "11"]


def torchrun_job(name: str, args: list[str]) -> str:
    job = jobs.submit(
        jobs.DDP,
        f"{name}-{jobs.TOKEN}",
        "launcher=torchrun",
        # PyPI's torch is the CUDA build: torchrun and 2 workers importing it
        # need more than the default 2 x 500 MB per node.
        "mem=3G",
        "setup=" + json.dumps([f"source {VENV}/bin/activate"]),
        jobs.args_override(args),
    )
    return job.job_id


@pytest.fixture(scope="module")
def resumed_job() -> tuple[str, int]:
    """Started first: after its requeue Slurm holds it about two minutes."""
    job_id = torchrun_job("trun-resume", [*ARGS, "--step-sleep", "0.5"])
    jobs.wait_log(job_id, "step 10 loss", timeout=300)
    jobs.ok(jobs.as_alice(f"scancel --signal=USR1 --batch {job_id}"))

    def checkpointed() -> int | None:
        match = re.search(r"^AIHPC_CHECKPOINTED step=(\d+)$", jobs.rank0_log(job_id), re.MULTILINE)
        return int(match.group(1)) if match else None

    step = jobs.wait_for(f"job {job_id} to checkpoint", checkpointed, timeout=120)
    return job_id, step


@pytest.fixture(scope="module")
def reference(resumed_job: tuple[str, int]) -> dict[str, object]:
    del resumed_job  # requested so the resumed job is submitted (and held) first
    job_id = torchrun_job("trun-ref", ARGS)
    (info,) = jobs.wait_ended(job_id, timeout=420)
    assert info["state"] == "COMPLETED", (info, jobs.batch_log(job_id))
    jobs.wait_sacct(job_id, lambda rows: rows.get(job_id) == "COMPLETED")
    (result,) = jobs.results(jobs.rank0_log(job_id))
    return result


def test_torchrun_trains_on_two_nodes(reference: dict[str, object]) -> None:
    assert reference["launcher"] == "torchrun"
    assert str(reference["torch"]).startswith(TORCH), reference["torch"]
    assert reference["world_size"] == 4
    hosts = reference["hosts"]
    assert isinstance(hosts, list) and len(hosts) == 2, hosts
    assert sorted(reference["rank_hosts"]) == sorted(hosts * 2)  # type: ignore[call-overload]
    assert reference["steps"] == STEPS
    assert reference["loss_last"] < reference["loss_first"]  # type: ignore[operator]


def test_torchrun_checkpoint_requeue_resume(
    resumed_job: tuple[str, int], reference: dict[str, object]
) -> None:
    job_id, step = resumed_job
    assert 10 <= step < STEPS
    (info,) = jobs.wait_ended(job_id, timeout=600)
    assert info["state"] == "COMPLETED", (info, jobs.batch_log(job_id))
    assert f"aihpc: requeuing {job_id} (restart 1 of 3)" in jobs.batch_log(job_id)
    log = jobs.rank0_log(job_id)
    assert f"resumed from step {step} (restart 1)" in log, log
    final = jobs.results(log)[-1]
    assert final["launcher"] == "torchrun"
    assert final["resumed_from"] == step
    assert final["weights_sha256"] == reference["weights_sha256"]
    assert jobs.status(job_id)[0]["restart_count"] >= 1
