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

from aihpc.exporter.aggregate import count_jobs, count_nodes, node_gpus_allocated, reason_label
from aihpc.slurm.nodes import parse_nodes
from aihpc.slurm.squeue_lean import parse_squeue_lean
from aihpc.slurm.tres import UNTYPED
from tests.unit.slurm_synth import SLURM, big_cluster, node, recorded, squeue_lean


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


def test_handmade_jobs_every_way_of_asking_for_gpus() -> None:
    counts = count_jobs(parse_squeue_lean((SLURM / "squeue_lean_handmade.txt").read_text()))
    # vision: --gres=gpu:2 and --gres=gpu:a100:2; the suspended job holds none here
    # nlp: --gpus=4 on 2 nodes, --gpus-per-node=8 -N2 (16), --gpus-per-task=1 -n4, MIG 3
    assert counts.account_gpus == {"vision": 4, "nlp": 27, "ops": 0}
    assert counts.account_running == {"vision": 2, "nlp": 4, "ops": 1}
    assert counts.user_gpus == {"bob": 4, "carol": 20, "dave": 7, "erin": 0}
    assert counts.user_running == {"bob": 2, "carol": 2, "dave": 2, "erin": 1}
    assert counts.jobs == {
        ("gpu", "RUNNING"): 5,
        ("mig", "RUNNING"): 1,
        ("cpu", "RUNNING"): 1,
        ("gpu", "PENDING"): 4,
        ("gpu,all", "PENDING"): 1,
        ("gpu", "SUSPENDED"): 1,
    }
    assert counts.pending == {
        ("gpu", "Priority"): 2,  # one array task per line
        ("gpu", "ReqNodeNotAvail, UnavailableNodes"): 1,
        ("gpu,all", "Resources"): 1,
        ("gpu", "Dependency|a|b"): 1,
    }


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
