"""Slurm output of shapes the 2-node test cluster cannot produce, for tests and bench.

Every record is a copy of a record recorded from the real 24.11.5 cluster
(tests/fixtures/slurm/*_24.11.*) with only the fields that vary replaced, so
the shape (envelopes, field names, every other field) stays exactly Slurm's.
Used by the exporter tests (hundreds of nodes, three GPU types, MIG-like
names, drained/down nodes) and by bench/exporter (1,000 nodes, 10,000 jobs).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aihpc.slurm.tres import split_outside_parens

SLURM = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"


def recorded(name: str) -> Any:
    return json.loads((SLURM / name).read_text())


_NODES = recorded("scontrol_show_nodes_24.11.json")
_JOBS = recorded("squeue_running_24.11.json")
_NODE = next(n for n in _NODES["nodes"] if n["name"] == "gpu2")
_RUNNING = next(j for j in _JOBS["jobs"] if j["job_id"] == 1)
_PENDING = next(j for j in _JOBS["jobs"] if j["job_id"] == 3)


def _envelope(number: float) -> dict[str, Any]:
    return {"set": True, "infinite": False, "number": number}


def node(
    name: str,
    gres: str,
    *,
    state: tuple[str, ...] = ("IDLE",),
    partitions: tuple[str, ...] = ("gpu",),
    gres_used: str = "",
    tres_used: str = "",
    reason: str = "",
    reason_time: int = 0,
    reason_user: str = "",
) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(_NODE)
    # `tres` is not what the exporter counts (it reads gres and tres_used); keep it coherent.
    gpus = sum(int(p.split("(")[0].split(":")[-1]) for p in split_outside_parens(gres))
    record.update(
        name=name,
        hostname=name,
        address=name,
        gres=gres,
        gres_used=gres_used,
        state=list(state),
        partitions=list(partitions),
        tres=f"cpu=64,mem=512000M,billing=64,gres/gpu={gpus}",
        tres_used=tres_used,
        reason=reason,
        reason_changed_at=_envelope(reason_time),
        reason_set_by_user=reason_user,
    )
    return record


def nodes_json(records: list[dict[str, Any]]) -> str:
    payload = copy.deepcopy(_NODES)
    payload["nodes"] = records
    return json.dumps(payload)


@dataclass(frozen=True)
class Job:
    job_id: int
    state: str  # RUNNING or PENDING
    partition: str
    user: str
    account: str
    reason: str  # squeue --json state_reason; lean prints the same for these
    tres_alloc: str  # allocated TRES (running) or the request (pending, lean form)


def job_record(job: Job) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(_RUNNING if job.state == "RUNNING" else _PENDING)
    record.update(
        job_id=job.job_id,
        job_state=[job.state],
        partition=job.partition,
        user_name=job.user,
        account=job.account,
        state_reason=job.reason,
        name=f"train-{job.job_id}",
        tres_alloc_str=job.tres_alloc if job.state == "RUNNING" else "",
    )
    return record


def squeue_json(jobs: list[Job]) -> str:
    payload = copy.deepcopy(_JOBS)
    payload["jobs"] = [job_record(job) for job in jobs]
    return json.dumps(payload)


def squeue_lean(jobs: list[Job]) -> str:
    """The lines `squeue -O JobID:|,ArrayJobID:|,...,tres-alloc:|` prints for `jobs`."""
    return "".join(
        f"{j.job_id}|{j.job_id}|N/A|{j.state}|{j.partition}|{j.user}|{j.account}|"
        f"{j.reason}|{j.tres_alloc}|\n"
        for j in jobs
    )


# Three GPU kinds: plain typed with socket affinity, a MIG-like type, and
# another typed kind whose gres_used index list has commas.
KINDS = (
    ("h100", "gpu:h100:8(S:0-1)", 8),
    ("nvidia_a100_3g.40gb", "gpu:nvidia_a100_3g.40gb:14(S:0)", 14),
    ("l40s", "gpu:l40s:4(S:0,1)", 4),
)


def big_cluster(n_nodes: int, n_jobs: int) -> tuple[str, list[Job]]:
    """A cluster of `n_nodes` nodes (kinds in turn, 1% drained, 1% down) and jobs.

    Jobs cycle through 50 users in 10 accounts and 3 partitions; 60% run
    with 1-8 GPUs, the rest pend on Priority or Resources.
    """
    records = []
    for i in range(n_nodes):
        gpu_type, gres, count = KINDS[i % len(KINDS)]
        partition = ("h100", "mig", "l40s")[i % len(KINDS)]
        used = (i * 7) % (count + 1)
        state: tuple[str, ...] = ("MIXED",) if used else ("IDLE",)
        reason, reason_user, reason_time = "", "", 0
        if i % 100 == 17:
            state, reason, reason_user, reason_time = (
                ("IDLE", "DRAIN"),
                "NHC: xid 79",
                "root",
                1_796_000_000 + i,
            )
            used = 0
        elif i % 100 == 42:
            state, reason, reason_user, reason_time = (
                ("DOWN", "NOT_RESPONDING"),
                "Not responding",
                "slurm",
                1_796_000_100 + i,
            )
            used = 0
        records.append(
            node(
                f"node{i:04d}",
                gres,
                state=state,
                partitions=(partition, "all"),
                gres_used=f"gpu:{gpu_type}:{used}(IDX:0-{max(used - 1, 0)})",
                tres_used=f"cpu={used},mem=1000M,gres/gpu={used}" if used else "",
                reason=reason,
                reason_time=reason_time,
                reason_user=reason_user,
            )
        )
    jobs = []
    for i in range(n_jobs):
        running = i % 10 < 6
        gpus = 1 + i % 8
        kind = KINDS[i % len(KINDS)][0]
        jobs.append(
            Job(
                job_id=1000 + i,
                state="RUNNING" if running else "PENDING",
                partition=("h100", "mig", "l40s")[i % len(KINDS)],
                user=f"user{i % 50:02d}",
                account=f"acct{i % 10}",
                reason="None" if running else ("Priority" if i % 2 else "Resources"),
                tres_alloc=f"cpu={gpus * 4},mem={gpus * 16}G,node=1,billing={gpus * 4},"
                f"gres/gpu={gpus},gres/gpu:{kind}={gpus}",
            )
        )
    return nodes_json(records), jobs
