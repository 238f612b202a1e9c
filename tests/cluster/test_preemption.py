"""A `high` job preempts a running `preemptible` aihpc DDP job (issue 11, job side).

Needs the policy role's QOS (`preemptible`: PreemptMode=requeue, GraceTime
300; `high` preempts it), PreemptType=preempt/qos and alice allowed both
QOS. The preempted job checkpoints, requeues, resumes and ends with the
weights of an uninterrupted run. Records time from preemption to resume and
the steps lost.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.cluster.jobs import (
    DDP,
    TOKEN,
    aihpc,
    args_override,
    as_alice,
    batch_log,
    ok,
    rank0_log,
    results,
    submit,
    wait_ended,
    wait_log,
)
from tests.clusterlib import require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

ARGS = ["--steps", "120", "--save-every", "10", "--seed", "5", "--log-every", "1"]


def test_preempted_job_checkpoints_requeues_and_resumes_identically() -> None:
    reference = submit(DDP, f"pre-ref-{TOKEN}", args_override(ARGS))
    (ref_end,) = wait_ended(reference.job_id, timeout=600)
    assert ref_end["state"] == "COMPLETED", batch_log(reference.job_id)
    ref = results(rank0_log(reference.job_id))[-1]

    job = submit(
        DDP, f"pre-low-{TOKEN}", "qos=preemptible", args_override([*ARGS, "--step-sleep", "0.3"])
    )
    wait_log(job.job_id, "step 30 loss", timeout=300)
    steps = re.findall(r"^step (\d+) loss", rank0_log(job.job_id), re.MULTILINE)
    before = int(steps[-1])
    high = (
        ok(as_alice("sbatch --parsable -q high -N 2 -p gpu --wrap 'sleep 20'"))
        .strip()
        .split(";")[0]
    )
    preempted_at = time.time()
    log = wait_log(job.job_id, "after preemption", timeout=400, batch=True)
    # What Slurm 24.11 sent (the docs quote this): USR1 to the batch shell with
    # PreemptParameters=send_user_signal, else TERM.
    assert "USR1 received" in log or "TERM received" in log, log
    checkpoint = re.search(r"^AIHPC_CHECKPOINTED step=(\d+)$", rank0_log(job.job_id), re.M)
    assert checkpoint, rank0_log(job.job_id)
    lost = int(checkpoint.group(1)) - before
    wait_ended(high, timeout=600)
    wait_log(job.job_id, "resumed from step", timeout=600)
    resumed_at = time.time()
    (end,) = wait_ended(job.job_id, timeout=900)
    assert end["state"] == "COMPLETED", batch_log(job.job_id)
    final = results(rank0_log(job.job_id))[-1]
    assert final["weights_sha256"] == ref["weights_sha256"]
    restarts = json.loads(ok(aihpc("status", job.job_id, "--json")))["restarts"]
    assert "preemption" in [r["cause"] for r in restarts], restarts
    print(f"preemption: to resume {resumed_at - preempted_at:.1f}s, steps past the last log {lost}")
