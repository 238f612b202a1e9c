"""aihpc.slurm.nodes on recorded 24.11 output and on shapes this cluster cannot make."""

from __future__ import annotations

import json

import pytest

from aihpc.errors import ClusterError
from aihpc.slurm.nodes import NodeInfo, node_info, parse_nodes, show_nodes_argv
from tests.unit.conftest import FIXTURES

RECORDED = json.loads((FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json").read_text())


def test_recorded_nodes() -> None:
    gpu1, gpu2 = parse_nodes(RECORDED)
    assert (gpu1.name, gpu1.state, gpu1.flags, gpu1.state_label) == (
        "gpu1",
        "ALLOCATED",
        (),
        "allocated",
    )
    assert gpu1.gres == "gpu:h100:4" and gpu1.gres_used == "gpu:h100:3(IDX:0-2)"
    assert gpu1.is_available and not gpu1.is_drain
    assert (gpu2.state, gpu2.flags, gpu2.state_label) == ("IDLE", ("DRAIN",), "drained")
    assert gpu2.reason == "fixture: admin maintenance"
    assert gpu2.reason_user == "root"
    assert gpu2.reason_time == 1796179796
    assert (gpu2.cpus, gpu2.real_memory_mb, gpu2.partitions) == (2, 4000, ("gpu",))
    assert gpu2.tres == "cpu=2,mem=4000M,billing=2,gres/gpu=4"
    assert not gpu2.is_available and gpu2.is_drained and not gpu2.is_down


@pytest.mark.parametrize(
    ("state", "label", "available"),
    [
        (["MIXED", "DRAIN"], "draining", False),
        (["DOWN", "NOT_RESPONDING"], "down", False),
        (["IDLE", "NOT_RESPONDING"], "down", False),
        (["DOWN", "DRAIN", "NOT_RESPONDING"], "down", False),
        (["IDLE", "MAINTENANCE", "RESERVED"], "idle", False),
        (["MIXED"], "mixed", True),
        (["IDLE", "COMPLETING"], "idle", True),
        ("IDLE+DRAIN", "drained", False),  # sinfo's and older releases' spelling
    ],
)
def test_state_words(state: object, label: str, available: bool) -> None:
    node = node_info({"name": "n1", "state": state})
    assert node.state_label == label
    assert node.is_available is available


def test_unset_reason_time_is_none() -> None:
    node = node_info({"name": "n1", "state": ["IDLE"], "reason_changed_at": {"set": False}})
    assert node.reason_time is None and node.reason == "" and node == NodeInfo("n1", "IDLE")


def test_empty_and_broken_replies() -> None:
    assert parse_nodes({"nodes": [], "warnings": [{"description": "No nodes to dump"}]}) == []
    with pytest.raises(ClusterError, match="no node list"):
        parse_nodes({"errors": [{"description": "Unable to contact slurm controller"}]})


def test_argv_names_nodes_in_one_call() -> None:
    assert show_nodes_argv() == ["scontrol", "show", "nodes", "--json"]
    assert show_nodes_argv("gpu1", "gpu2") == ["scontrol", "show", "nodes", "gpu1,gpu2", "--json"]
