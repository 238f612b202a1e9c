"""roles/slurm/filter_plugins/slurm_node_checks.py: node reserve, headroom,
`slurmd -C`, cluster-wide consistency, topology, slurmdbd retention, MariaDB.

The `slurmd -C` outputs are shaped exactly like Slurm 24.11's (the NodeName
line with CPUs Boards SocketsPerBoard CoresPerSocket ThreadsPerCore
RealMemory, then UpTime on its own line); the gpu1 one uses the figures of
the local container cluster (2 CPUs, the host's 24 GiB).
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from tests.modload import load_source
from tests.unit.conftest import REPO

nc = load_source(
    "slurm_node_checks", REPO / "roles" / "slurm" / "filter_plugins" / "slurm_node_checks.py"
)
sc = load_source(
    "slurm_config_filters_for_checks",
    REPO / "roles" / "slurm" / "filter_plugins" / "slurm_config.py",
)

SLURMD_C_GPU1 = (
    "NodeName=gpu1 CPUs=2 Boards=1 SocketsPerBoard=2 CoresPerSocket=1 ThreadsPerCore=1 "
    "RealMemory=23989\nUpTime=0-01:02:03\n"
)
SLURMD_C_XE9680 = (
    "NodeName=h100-01 CPUs=224 Boards=1 SocketsPerBoard=2 CoresPerSocket=56 ThreadsPerCore=2 "
    "RealMemory=2063731\nUpTime=12-03:44:10\n"
)

H100 = {
    "slurm_node_params": {
        "CPUs": 224,
        "Sockets": 2,
        "CoresPerSocket": 56,
        "ThreadsPerCore": 2,
        "RealMemory": 2000000,
    },
    "slurm_node_gpus": {"vendor": "nvidia", "type": "h100", "count": 8},
}
CPU_NODE = {"slurm_node_params": {"CPUs": 64, "RealMemory": 250000}}


def specs(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    base = sc.slurm_node_specs(list(hostvars), hostvars)
    return list(nc.slurm_node_reserve(base, hostvars))


def test_gpu_nodes_reserve_cores_and_memory_by_default() -> None:
    hv = {"h100-01": H100, "cpu-01": CPU_NODE}
    out = {s["name"]: s["params"] for s in specs(hv)}
    # 2 cores per socket; 3 % of 2000000 MiB = 60000, within 4-64 GiB.
    assert out["h100-01"]["CoreSpecCount"] == 4
    assert out["h100-01"]["MemSpecLimit"] == 60000
    assert "CoreSpecCount" not in out["cpu-01"] and "MemSpecLimit" not in out["cpu-01"]
    line = sc.slurm_node_lines(specs({"h100-01": H100}))[0]
    assert "RealMemory=2000000 CoreSpecCount=4 MemSpecLimit=60000 Gres=gpu:h100:8" in line


def test_memory_reserve_is_clamped_and_overridable() -> None:
    big = {**H100, "slurm_node_params": {**H100["slurm_node_params"], "RealMemory": 4000000}}
    small = {**H100, "slurm_node_params": {"CPUs": 8, "RealMemory": 32000}}
    out = {s["name"]: s["params"] for s in specs({"big": big, "small": small})}
    assert out["big"]["MemSpecLimit"] == 65536
    assert out["small"]["MemSpecLimit"] == 4096
    assert out["small"]["CoreSpecCount"] == 2  # one socket when Sockets is not given
    none = {**H100, "slurm_node_core_spec_count": 0, "slurm_node_mem_spec_limit": "0"}
    own = {**H100, "slurm_node_mem_spec_limit": 30000}
    out = {s["name"]: s["params"] for s in specs({"none": none, "own": own})}
    assert "CoreSpecCount" not in out["none"] and "MemSpecLimit" not in out["none"]
    assert out["own"]["MemSpecLimit"] == 30000


def test_a_small_gpu_node_keeps_at_most_a_quarter_back() -> None:
    """A 2-CPU, 2000 MB node (a test container): 2 cores and the 4 GiB floor
    would be more than the node has; a quarter of each is the most taken."""
    tiny = {**H100, "slurm_node_params": {"CPUs": 2, "RealMemory": 2000}}
    vm = {**H100, "slurm_node_params": {"CPUs": 16, "Sockets": 2, "RealMemory": 12000}}
    out = {s["name"]: s["params"] for s in specs({"tiny": tiny, "vm": vm})}
    assert "CoreSpecCount" not in out["tiny"]  # 2 // 4 = 0: nothing kept back
    assert out["tiny"]["MemSpecLimit"] == 500
    assert out["vm"]["CoreSpecCount"] == 4  # 2 per socket, within 16 // 4
    assert out["vm"]["MemSpecLimit"] == 3000  # the 4096 floor capped at 12000 // 4


def test_reserve_refuses_a_bad_value_naming_host_and_variable() -> None:
    bad = {**H100, "slurm_node_mem_spec_limit": "lots"}
    with pytest.raises(AnsibleFilterError, match="host h100-09: slurm_node_mem_spec_limit"):
        specs({"h100-09": bad})


def partition(**params: Any) -> dict[str, Any]:
    return {"name": "h100", "groups": ["h100_nodes"], "params": params}


GROUPS = {"h100_nodes": ["h100-01", "h100-02"]}


def test_headroom_accepts_what_the_reserve_leaves() -> None:
    hv = {"h100-01": H100, "h100-02": H100}
    parts = [partition(DefMemPerGPU=242500, DefCpuPerGPU=27)]
    assert nc.slurm_headroom_errors(parts, GROUPS, specs(hv)) == []


def test_headroom_refuses_per_gpu_defaults_that_eat_the_reserve_with_figures() -> None:
    hv = {"h100-01": H100, "h100-02": H100}
    parts = [partition(DefMemPerGPU=250000, DefCpuPerGPU=28)]
    errors = nc.slurm_headroom_errors(parts, GROUPS, specs(hv))
    # One message per figure, not one per node of the group.
    assert errors == [
        "partition h100: DefMemPerGPU 250000 x 8 GPUs = 2000000 MiB > RealMemory 2000000 - "
        "MemSpecLimit 60000 = 1940000 MiB; at most 242500",
        "partition h100: DefCpuPerGPU 28 x 8 GPUs = 224 CPUs > CPUs 224 - CoreSpecCount 4 x "
        "ThreadsPerCore 2 = 216; at most 27",
    ]


def test_slurmd_c_parse_and_an_honest_inventory_passes() -> None:
    found = nc.parse_slurmd_c(SLURMD_C_XE9680)
    assert found["CPUs"] == 224 and found["Sockets"] == 2 and found["RealMemory"] == 2063731
    assert nc.slurm_hardware_shortfall(SLURMD_C_XE9680, H100["slurm_node_params"], "h100-01") == []
    local = {"CPUs": 2, "RealMemory": 4000}
    assert nc.slurm_hardware_shortfall(SLURMD_C_GPU1, local, "gpu1") == []


def test_slurmd_c_refuses_an_over_claiming_inventory_with_the_figures() -> None:
    claims = {"CPUs": 4, "RealMemory": 64000, "ThreadsPerCore": 2}
    assert nc.slurm_hardware_shortfall(SLURMD_C_GPU1, claims, "gpu1") == [
        "gpu1: slurm_node_params.CPUs is 4, slurmd -C finds 2",
        "gpu1: slurm_node_params.ThreadsPerCore is 2, slurmd -C finds 1",
        "gpu1: slurm_node_params.RealMemory is 64000 MiB, slurmd -C finds 23989 MiB",
    ]


def test_slurmd_c_without_a_node_line_is_an_error_not_a_pass() -> None:
    with pytest.raises(AnsibleFilterError, match="no NodeName line"):
        nc.parse_slurmd_c("slurmd: error: Unable to open /dev/nvidia0\n")


def test_cluster_drift_names_the_variable_and_hosts() -> None:
    same = {"slurm_cluster_name": "rack1", "slurm_configless": True}
    hostvars = {
        "head01": dict(same),
        "h100-01": dict(same),
        "h100-17": {**same, "slurm_cluster_name": "rack2"},
    }
    names = ["slurm_cluster_name", "slurm_configless"]
    errors = nc.slurm_cluster_drift(list(hostvars), hostvars, names)
    assert len(errors) == 1
    assert errors[0].startswith("slurm_cluster_name differs: ")
    assert 'head01, h100-01 (2 host(s)): "rack1"' in errors[0]
    assert 'h100-17 (1 host(s)): "rack2"' in errors[0]
    assert nc.slurm_cluster_drift(["head01", "h100-01"], hostvars, names) == []


def test_topology_tree_and_block() -> None:
    groups = {"h100_nodes": ["h100-01", "h100-02"], "l40s_nodes": ["l40s-01"]}
    tree = nc.slurm_topology_entries(
        "tree",
        [
            {"name": "leaf1", "groups": ["h100_nodes"]},
            {"name": "leaf2", "nodes": ["l40s-01"]},
            {"name": "spine", "switches": ["leaf1", "leaf2"]},
        ],
        [],
        groups,
    )
    assert [(e["name"], e["nodes"], e["switches"]) for e in tree] == [
        ("leaf1", ["h100-01", "h100-02"], []),
        ("leaf2", ["l40s-01"], []),
        ("spine", [], ["leaf1", "leaf2"]),
    ]
    block = nc.slurm_topology_entries(
        "block", [], [{"name": "nvl1", "groups": ["h100_nodes"]}], groups
    )
    assert block[0]["kind"] == "Block" and block[0]["nodes"] == ["h100-01", "h100-02"]
    with pytest.raises(AnsibleFilterError, match=r"slurm_topology_switches\[spine\]: switches"):
        nc.slurm_topology_entries("tree", [{"name": "spine", "switches": ["nope"]}], [], groups)
    with pytest.raises(AnsibleFilterError, match="group 'gone' does not exist"):
        nc.slurm_topology_entries("block", [], [{"name": "b", "groups": ["gone"]}], groups)
    with pytest.raises(AnsibleFilterError, match="tree, block or empty"):
        nc.slurm_topology_entries("dragonfly", [], [], groups)


def test_dbd_retention_names_and_refusals() -> None:
    out = nc.slurm_dbd_retention({"Job": "12month", "TXN": "90days", "Event": "1month"}, True)
    assert out == {
        "PurgeJobAfter": "12month",
        "ArchiveJobs": "yes",
        "PurgeTXNAfter": "90days",
        "ArchiveTXN": "yes",
        "PurgeEventAfter": "1month",
        "ArchiveEvents": "yes",
    }
    assert nc.slurm_dbd_retention({"Step": "2month"}, False) == {"PurgeStepAfter": "2month"}
    with pytest.raises(AnsibleFilterError, match=r"slurm_dbd_purge_after\.Jobs: unknown"):
        nc.slurm_dbd_retention({"Jobs": "12month"}, True)
    with pytest.raises(AnsibleFilterError, match=r"slurm_dbd_purge_after\.Job: '1 year'"):
        nc.slurm_dbd_retention({"Job": "1 year"}, True)


def test_buffer_pool_from_memory() -> None:
    assert nc.slurm_buffer_pool(524288, 25) == "131072M"
    assert nc.slurm_buffer_pool(2048, 25) == "1024M"  # the 1 GiB floor
    with pytest.raises(AnsibleFilterError, match=r"1\.\.80"):
        nc.slurm_buffer_pool(524288, 95)
