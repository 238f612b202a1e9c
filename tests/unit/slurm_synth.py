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
    state: str  # base state: RUNNING, PENDING, SUSPENDED, COMPLETED (with COMPLETING)...
    partition: str
    user: str
    account: str
    reason: str  # squeue --json state_reason (the code)
    tres_alloc: str  # allocated TRES (running) or the request (pending, lean form)
    submit: int = 0  # epoch seconds; 0: unset (squeue -O prints N/A)
    eligible: int = 0
    start: int = 0
    flags: tuple[str, ...] = ()  # state flags after the base state (JSON's job_state list)
    description: str = ""  # state_description: what squeue -O Reason prints instead
    tasks: str = ""  # a pending array's task expression ("0-3"): one JSON record


def job_record(job: Job) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(_RUNNING if job.state != "PENDING" else _PENDING)
    record.update(
        job_id=job.job_id,
        job_state=[job.state, *job.flags],
        partition=job.partition,
        user_name=job.user,
        account=job.account,
        state_reason=job.reason,
        state_description=job.description,
        name=f"train-{job.job_id}",
        tres_alloc_str=job.tres_alloc if job.state != "PENDING" else "",
        submit_time=_envelope(job.submit),
        eligible_time=_envelope(job.eligible),
        start_time=_envelope(job.start),
    )
    if job.tasks:
        record.update(
            array_job_id=_envelope(job.job_id),
            array_task_id={"set": False, "infinite": False, "number": 0},
            array_task_string=job.tasks,
        )
    return record


def squeue_json(jobs: list[Job]) -> str:
    payload = copy.deepcopy(_JOBS)
    payload["jobs"] = [job_record(job) for job in jobs]
    return json.dumps(payload)


# What squeue -O State prints: the first of these flags a job has, else its base
# state (Slurm 24.11 job_state_string).
_SHOWN_FLAGS = (
    "COMPLETING",
    "STAGE_OUT",
    "CONFIGURING",
    "RESIZING",
    "REQUEUED",
    "REQUEUE_FED",
    "REQUEUE_HOLD",
    "SPECIAL_EXIT",
    "STOPPED",
    "REVOKED",
    "RESV_DEL_HOLD",
    "SIGNALING",
)


def _task_ids(tasks: str) -> list[str]:
    ids: list[str] = []
    for item in tasks.split("%")[0].split(","):
        span, _, step = item.partition(":")
        first, _, last = span.partition("-")
        ids += [str(i) for i in range(int(first), int(last or first) + 1, int(step or 1))]
    return ids


def _time(epoch: int) -> str:
    return str(epoch) if epoch else "N/A"  # SLURM_TIME_FORMAT=%s; 0 prints N/A


def squeue_lean(jobs: list[Job]) -> str:
    """The lines `env SLURM_TIME_FORMAT=%s squeue -r -O JobID:|,...,tres-alloc:|` prints."""
    lines = []
    for j in jobs:
        shown = next((f for f in _SHOWN_FLAGS if f in j.flags), j.state)
        rest = (
            f"{shown}|{j.partition}|{j.user}|{j.account}|{_time(j.submit)}|"
            f"{_time(j.eligible)}|{_time(j.start)}|{j.description or j.reason}|{j.tres_alloc}|\n"
        )
        for task in _task_ids(j.tasks) if j.tasks else ["N/A"]:
            lines.append(f"{j.job_id}|{j.job_id}|{task}|{rest}")
    return "".join(lines)


# The moment big_cluster's times are relative to, and the description slurmctld
# sets with Resources when too many of a partition's nodes are down or drained.
BIG_NOW = 1_796_200_000
DRAINED_DESCRIPTION = (
    "Nodes required for job are DOWN, DRAINED or reserved for jobs in higher priority partitions"
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
    with 1-8 GPUs (started up to 20 minutes before BIG_NOW), the rest pend on
    Priority or Resources (half of those with Slurm's "Nodes required ..."
    description), eligible up to a week before BIG_NOW.
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
        reason = "None" if running else ("Priority" if i % 2 else "Resources")
        start = BIG_NOW - (i * 31) % 1200 if running else 0
        eligible = (start or BIG_NOW) - (i * 7919) % (86400 if running else 604800)
        jobs.append(
            Job(
                job_id=1000 + i,
                state="RUNNING" if running else "PENDING",
                partition=("h100", "mig", "l40s")[i % len(KINDS)],
                user=f"user{i % 50:02d}",
                account=f"acct{i % 10}",
                reason=reason,
                tres_alloc=f"cpu={gpus * 4},mem={gpus * 16}G,node=1,billing={gpus * 4},"
                f"gres/gpu={gpus},gres/gpu:{kind}={gpus}",
                submit=eligible - i % 120,
                eligible=eligible,
                start=start,
                description=DRAINED_DESCRIPTION if reason == "Resources" and i % 4 == 0 else "",
            )
        )
    return nodes_json(records), jobs
