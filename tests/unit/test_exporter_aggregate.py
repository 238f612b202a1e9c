"""Node and job counts (aihpc.exporter.aggregate).

Recorded: the 24.11 cluster with gpu1 allocated (3 of 4 GPUs by two jobs)
and gpu2 drained. Hand-made (tests/fixtures/slurm/*handmade*, records copied
from the recorded ones): three GPU types plus MIG-like ones on one node,
draining/drained/down nodes, a CPU-only and an untyped-GPU node, and a
running job for each way of asking for GPUs.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from aihpc.exporter.aggregate import (
    AGE_BUCKETS,
    STARTED_WINDOW_SECONDS,
    Histogram,
    JobCounts,
    count_jobs,
    count_nodes,
    node_gpus_allocated,
    reason_label,
)
from aihpc.slurm.jobs import parse_squeue
from aihpc.slurm.nodes import parse_nodes
from aihpc.slurm.squeue_lean import parse_squeue_lean
from aihpc.slurm.tres import UNTYPED
from tests.unit.slurm_synth import (
    BIG_NOW,
    DRAINED_DESCRIPTION,
    SLURM,
    Job,
    big_cluster,
    node,
    recorded,
    squeue_json,
    squeue_lean,
)


def test_recorded_nodes() -> None:
    counts = count_nodes(parse_nodes(recorded("scontrol_show_nodes_24.11.json")))
    assert counts.nodes == {"allocated": 1, "drained": 1}
    assert counts.gpus_total == {"h100": 8}
    # gpu1: 3 allocated, 1 idle; gpu2 drained: its 4 free GPUs are unavailable
    assert counts.gpus == {
        ("h100", "allocated"): 3,
        ("h100", "idle"): 1,
        ("h100", "unavailable"): 4,
    }
    assert counts.partition_gpus_total == {("gpu", "h100"): 8}
    assert counts.reasons == {("gpu2", "drained", "fixture: admin maintenance", "root"): 1796179796}


def test_handmade_nodes() -> None:
    nodes = parse_nodes(recorded("scontrol_show_nodes_handmade.json"))
    counts = count_nodes(nodes)
    assert counts.nodes == {
        "mixed": 3,
        "allocated": 1,
        "draining": 1,
        "drained": 1,
        "down": 1,
        "idle": 2,
    }
    assert counts.gpus_total == {
        "a100": 4,
        "nvidia_a100_3g.40gb": 2,
        "h100": 32,
        "l40s": 4,
        "1g.10gb": 7,
        UNTYPED: 2,
    }
    gpus = {key: value for key, value in counts.gpus.items() if value}
    assert gpus == {
        ("a100", "allocated"): 2,
        ("a100", "idle"): 2,
        ("nvidia_a100_3g.40gb", "allocated"): 1,
        ("nvidia_a100_3g.40gb", "idle"): 1,
        # h1 full (8), h2 draining (4 used, 4 unavailable), h3 drained, h4 down
        ("h100", "allocated"): 12,
        ("h100", "unavailable"): 20,
        ("l40s", "idle"): 4,
        ("1g.10gb", "allocated"): 3,
        ("1g.10gb", "idle"): 4,
        (UNTYPED, "allocated"): 1,
        (UNTYPED, "idle"): 1,
    }
    # every type reports all three states, zeros included
    assert len(counts.gpus) == 6 * 3
    # a node in two partitions counts in both
    assert counts.partition_gpus_total["gpu", "h100"] == 32
    assert counts.partition_gpus_total["all", "h100"] == 32
    assert counts.partition_gpus["gpu", "a100", "allocated"] == 2
    assert ("cpu", UNTYPED) in counts.partition_gpus_total
    assert counts.partition_nodes["cpu", "idle"] == 1  # c1, no GPUs
    assert sorted((n, s, u) for n, s, _, u in counts.reasons) == [
        ("h2", "draining", "root"),
        ("h3", "drained", "alice"),
        ("h4", "down", "slurm"),
    ]


def test_node_allocation_sources() -> None:
    """tres_used is the count; gres_used or the node's one type gives the type."""
    by_name = {n.name: n for n in parse_nodes(recorded("scontrol_show_nodes_handmade.json"))}
    # typed TRES entries
    assert node_gpus_allocated(by_name["a1"]) == {"a100": 2, "nvidia_a100_3g.40gb": 1}
    # untyped TRES, gres_used agrees and names the type
    assert node_gpus_allocated(by_name["m1"]) == {"1g.10gb": 3}
    # idle node: empty tres_used
    assert node_gpus_allocated(by_name["l1"]) == {"l40s": 0}
    # TRES and gres_used disagree (gres_used lags): TRES wins, the one type gets it
    [lagging] = parse_nodes(
        {
            "nodes": [
                node(
                    "x1",
                    "gpu:h100:8",
                    state=("MIXED",),
                    gres_used="gpu:h100:2(IDX:0-1)",
                    tres_used="cpu=4,gres/gpu=4",
                )
            ]
        }
    )
    assert node_gpus_allocated(lagging) == {"h100": 4}


HANDMADE_NOW = 1796200000  # the moment squeue_lean_handmade.txt's times are relative to


def _handmade() -> JobCounts:
    jobs = parse_squeue_lean((SLURM / "squeue_lean_handmade.txt").read_text())
    return count_jobs(jobs, HANDMADE_NOW)


def test_handmade_jobs_every_way_of_asking_for_gpus() -> None:
    counts = _handmade()
    # vision: --gres=gpu:2 and --gres=gpu:a100:2; the suspended job holds none here
    # nlp: --gpus=4 on 2 nodes, --gpus-per-node=8 -N2 (16), --gpus-per-task=1 -n4, MIG 3,
    # and a CONFIGURING job (booting nodes: running) with 2
    assert counts.account_gpus == {"vision": 4, "nlp": 29, "ops": 0}
    assert counts.account_running == {"vision": 2, "nlp": 5, "ops": 1}
    assert counts.user_gpus == {"bob": 4, "carol": 20, "dave": 9, "erin": 0}
    assert counts.user_running == {"bob": 2, "carol": 2, "dave": 3, "erin": 1}
    assert counts.jobs == {
        ("gpu", "RUNNING"): 6,
        ("mig", "RUNNING"): 1,
        ("cpu", "RUNNING"): 1,
        ("gpu", "PENDING"): 8,  # REQUEUE_HOLD is a pending job
        ("gpu,all", "PENDING"): 1,
        ("gpu", "SUSPENDED"): 1,
        ("gpu", "COMPLETING"): 1,
    }
    assert counts.pending == {
        ("gpu", "Priority"): 2,  # one array task per line
        ("gpu", "ReqNodeNotAvail"): 1,  # "ReqNodeNotAvail, UnavailableNodes:h[2-4]"
        ("gpu,all", "Resources"): 1,
        ("gpu", "Other"): 1,  # "Dependency|a|b" (robustness only)
        ("gpu", "JobHeldUser"): 2,  # held at submit; "job requeued in held state"
        ("gpu", "BeginTime"): 1,
        ("gpu", "AccountNotAllowed"): 1,  # "uid 1005 not in group permitted ..."
    }


def test_pending_age_counts_eligible_jobs_from_their_eligible_time() -> None:
    ages = _handmade().pending_age
    assert set(ages) == {"gpu", "gpu,all", "mig", "cpu"}  # every partition with a job
    gpu = ages["gpu"]
    # Counted: array 20 (2 tasks, eligible 9940 s ago), 21 (1000 s), 30 (10 s).
    # Not counted: 24 (dependency: no EligibleTime), 25 (held at submit), 26 (held
    # on requeue, although eligible before), 27 (--begin in the future).
    assert gpu.count == 4
    assert gpu.total == 2 * 9940 + 1000 + 10
    assert gpu.largest == 9940
    assert gpu.cumulative() == [1, 1, 1, 2, 4, 4, 4, 4, 4, 4]
    assert len(gpu.cumulative()) == len(AGE_BUCKETS) + 1
    assert ages["gpu,all"].largest == 2 * 86400 + 10000  # submitted two days before
    assert ages["gpu,all"].cumulative()[6:8] == [0, 1]  # over a day, under three
    assert ages["mig"].count == 0 and ages["mig"].largest == 0


def test_started_wait_counts_jobs_started_in_the_window() -> None:
    counts = _handmade()
    waits = counts.started_wait
    assert counts.started_window == STARTED_WINDOW_SECONDS == 600
    # Started in the last 10 minutes: 11 (waited 700 s), 12 (30 s), 14 (100 s),
    # 28 (COMPLETING, 600 s), 29 (CONFIGURING, 90 s) in gpu; 15 (850 s) in mig.
    # Started earlier: 10, 13, 16 and the suspended 23.
    assert waits["gpu"].count == 5
    assert waits["gpu"].total == 700 + 30 + 100 + 600 + 90
    assert waits["gpu"].cumulative()[:4] == [1, 3, 5, 5]
    assert waits["mig"].count == 1 and waits["mig"].total == 850
    assert waits["cpu"].count == 0
    wider = count_jobs(
        parse_squeue_lean((SLURM / "squeue_lean_handmade.txt").read_text()),
        HANDMADE_NOW,
        started_window=5 * 3600,
    )
    assert wider.started_wait["gpu"].count == 5 + 3  # 10, 13 and the suspended 23
    assert wider.started_wait["cpu"].count == 1


def test_the_bucket_bounds_are_inclusive() -> None:
    histogram = Histogram()
    for seconds in (0, 60, 60.5, 604800, 604801):
        histogram.add(seconds)
    assert histogram.cumulative() == [2, 3, 3, 3, 3, 3, 3, 3, 4, 5]
    assert histogram.count == 5 and histogram.largest == 604801


def test_an_array_record_counts_once_per_task() -> None:
    [meta] = parse_squeue(recorded("squeue_24.11.json"))[-1:]
    assert (meta.job_id, meta.array_task) == ("200_[2-5%2]", "2-5%2")
    counts = count_jobs([meta], float(meta.eligible_time or 0) + 30)
    assert counts.jobs == {(meta.partition, "PENDING"): 4}
    assert counts.pending == {(meta.partition, "JobArrayTaskLimit"): 4}
    assert counts.pending_age[meta.partition].count == 4


@pytest.mark.parametrize(("n_jobs"), [60, 3000])
def test_lean_and_json_give_the_same_counts(n_jobs: int) -> None:
    """The same synthetic jobs through both squeue forms: equal counts, ages, waits."""
    _, jobs = big_cluster(30, n_jobs)
    jobs += TRICKY
    lean = count_jobs(parse_squeue_lean(squeue_lean(jobs)), BIG_NOW)
    full = count_jobs(parse_squeue(json.loads(squeue_json(jobs))), BIG_NOW)
    assert lean == full
    assert sum(h.count for h in lean.started_wait.values()) > 0
    assert lean.pending[("gpu", "Resources")] == 2  # one of them described


# Shapes where squeue's text and JSON say things differently (see
# aihpc.slurm.squeue_lean): descriptions, flags printed as the state, arrays.
TRICKY = [
    Job(
        9001,
        "PENDING",
        "gpu",
        "ann",
        "a",
        "Resources",
        "cpu=1",
        100,
        200,
        0,
        (),
        DRAINED_DESCRIPTION,
    ),
    Job(9002, "PENDING", "gpu", "ann", "a", "Resources", "cpu=1", 100, 200),
    Job(
        9003,
        "PENDING",
        "gpu",
        "ann",
        "a",
        "ReqNodeNotAvail",
        "cpu=1",
        1,
        2,
        0,
        (),
        "ReqNodeNotAvail, UnavailableNodes:h[1-3]",
    ),
    Job(
        9004,
        "PENDING",
        "gpu",
        "ann",
        "a",
        "JobHeldUser",
        "cpu=1",
        1,
        2,
        0,
        ("REQUEUE_HOLD",),
        "job requeued in held state",
    ),
    Job(9005, "PENDING", "gpu", "ann", "a", "BeginTime", "cpu=1", 1, 2, 0, ("REQUEUED",)),
    Job(9006, "PENDING", "gpu", "bob", "b", "Priority", "cpu=1", 1, 3, 0, (), "", "0-9:3%2"),
    Job(9007, "PENDING", "gpu", "bob", "b", "Dependency", "cpu=1", 5, 0),
    Job(
        9008,
        "RUNNING",
        "gpu",
        "bob",
        "b",
        "None",
        "cpu=2,gres/gpu=2",
        BIG_NOW - 500,
        BIG_NOW - 500,
        BIG_NOW - 20,
        ("CONFIGURING",),
    ),
    Job(
        9009,
        "COMPLETED",
        "gpu",
        "bob",
        "b",
        "None",
        "cpu=2,gres/gpu=2",
        BIG_NOW - 900,
        BIG_NOW - 900,
        BIG_NOW - 300,
        ("COMPLETING",),
    ),
    Job(
        9010,
        "PENDING",
        "gpu",
        "cid",
        "c",
        "AccountNotAllowed",
        "cpu=1",
        10,
        10,
        0,
        (),
        "uid 1007 not in group permitted to use this partition (gpu). groups allowed: ml",
    ),
]


def test_recorded_jobs() -> None:
    counts = count_jobs(parse_squeue_lean((SLURM / "squeue_lean_24.11.txt").read_text()))
    assert counts.account_gpus == {"research": 3}
    assert counts.user_running == {"alice": 2}
    assert counts.jobs == {("gpu", "PENDING"): 5, ("gpu", "RUNNING"): 2}


def test_reason_label_is_bounded() -> None:
    assert reason_label("ReqNodeNotAvail, UnavailableNodes:gpu[1-999]") == (
        "ReqNodeNotAvail, UnavailableNodes"
    )
    assert reason_label("") == "None"
    assert len(reason_label("x" * 500)) == 100


def test_hundreds_of_nodes_and_thousands_of_jobs() -> None:
    nodes_text, jobs = big_cluster(300, 3000)
    counts = count_nodes(parse_nodes(json.loads(nodes_text)))
    assert sum(counts.nodes.values()) == 300
    assert counts.nodes["drained"] == 3 and counts.nodes["down"] == 3
    assert counts.gpus_total == {"h100": 800, "nvidia_a100_3g.40gb": 1400, "l40s": 400}
    for gpu_type, total in counts.gpus_total.items():
        states = sum(counts.gpus[gpu_type, s] for s in ("allocated", "idle", "unavailable"))
        assert states == total
        assert counts.partition_gpus_total["all", gpu_type] == total
    job_counts = count_jobs(parse_squeue_lean(squeue_lean(jobs)))
    running = [j for j in jobs if j.state == "RUNNING"]
    expected = sum(int(j.tres_alloc.split("gres/gpu=")[1].split(",")[0]) for j in running)
    assert sum(job_counts.account_gpus.values()) == expected
    assert sum(job_counts.user_gpus.values()) == expected
    assert job_counts.user_running == Counter(j.user for j in running)
    assert job_counts.account_running == Counter(j.account for j in running)
    assert sum(job_counts.jobs.values()) == 3000
