"""roles/slurm/filter_plugins/slurm_config.py: hostlists, node/gres/partition lines."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.modload import load_source
from tests.unit.conftest import REPO

PLUGIN = REPO / "roles" / "slurm" / "filter_plugins" / "slurm_config.py"


sc = load_source("slurm_config_filters", PLUGIN)


# --- a small Slurm hostlist expander, written from Slurm's rules -------------
# "pre[lo-hi,n]" -> pre + each number, padded to the width of the text of
# "lo" (Slurm's hostlist.c takes the range width from its first number).
def expand(hostlist: str) -> list[str]:
    names: list[str] = []
    for item in re.findall(r"[^,\[]+(?:\[[^\]]*\])?|\[[^\]]*\]", hostlist):
        item = item.lstrip(",")
        match = re.fullmatch(r"(.*)\[([^\]]*)\]", item)
        if not match:
            names.append(item)
            continue
        prefix, body = match.groups()
        for part in body.split(","):
            lo, _, hi = part.partition("-")
            width = len(lo)
            for n in range(int(lo), int(hi or lo) + 1):
                names.append(f"{prefix}{n:0{width}d}")
    return names


def test_expander_follows_slurm() -> None:
    assert expand("gpu[01-03,10],login") == ["gpu01", "gpu02", "gpu03", "gpu10", "login"]
    assert expand("h100-[09-10]") == ["h100-09", "h100-10"]
    assert expand("n[9-10]") == ["n9", "n10"]
    assert expand("a1,b") == ["a1", "b"]


# --- hostlist_compress --------------------------------------------------------
@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([f"h100-{i:02d}" for i in range(1, 17)], "h100-[01-16]"),
        ([f"mi300x-{i:02d}" for i in range(1, 9)], "mi300x-[01-08]"),
        ([f"gpu{i}" for i in range(1, 11)], "gpu[1-10]"),
        (["gpu01", "gpu02", "gpu04", "login"], "gpu[01-02,04],login"),
        (["node1"], "node1"),
        (["h100-07"], "h100-07"),
        (["head", "login"], "head,login"),
        (["gpu1", "gpu01"], "gpu1,gpu01"),
        (["a099", "a100", "a101"], "a[099-101]"),
        (["gpu3", "gpu1", "gpu2", "gpu2"], "gpu[1-3]"),
        (["rack1-n01", "rack1-n02", "rack2-n01"], "rack1-n[01-02],rack2-n01"),
        (["x0", "x00"], "x0,x00"),
        ([], ""),
    ],
)
def test_hostlist_compress(names: list[str], expected: str) -> None:
    assert sc.hostlist_compress(names) == expected
    assert sorted(expand(expected)) == sorted(dict.fromkeys(names))


def test_hostlist_padded_run_crosses_a_power_of_ten() -> None:
    # The regression: "10".."16" have no leading zero but render the same at
    # width 2, so they must fold into the h100-0N group.
    names = [f"h100-{i:02d}" for i in (1, 2, 3, 9, 10, 11, 16)]
    assert sc.hostlist_compress(names) == "h100-[01-03,09-11,16]"


def test_hostlist_prefix_ends_before_trailing_digits() -> None:
    assert sc.hostlist_compress(["h100-01", "h100-02", "h200-01"]) == "h100-[01-02],h200-01"


_prefixes = st.sampled_from(["gpu", "h100-", "node", "rack1-n", "a"])
_host = st.one_of(
    st.builds(lambda p, n: f"{p}{n}", _prefixes, st.integers(0, 120)),
    st.builds(lambda p, n, w: f"{p}{n:0{w}d}", _prefixes, st.integers(0, 120), st.integers(2, 4)),
    st.sampled_from(["login", "head", "storage-a"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_host, max_size=40))
def test_hostlist_round_trip(names: list[str]) -> None:
    compressed = sc.hostlist_compress(names)
    expanded = expand(compressed)
    assert len(expanded) == len(set(expanded))  # no host twice
    assert sorted(expanded) == sorted(set(names))
    assert sc.hostlist_compress(expanded) == compressed  # stable
    # Ranges are maximal: no two neighbours in a bracket could have merged.
    for body in re.findall(r"\[([^\]]*)\]", compressed):
        bounds = [
            (int(p.partition("-")[0]), int(p.partition("-")[2] or p)) for p in body.split(",")
        ]
        assert all(hi + 1 < lo for (_, hi), (lo, _) in itertools.pairwise(bounds))


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(1, 200), min_size=1, max_size=60))
def test_hostlist_padded_numbers_fold_into_one_group(numbers: set[int]) -> None:
    names = [f"gpu{n:03d}" for n in numbers]
    compressed = sc.hostlist_compress(names)
    assert compressed.count("gpu") == 1
    assert sorted(expand(compressed)) == sorted(names)


# --- node specs and NodeName lines --------------------------------------------
H100 = {
    "slurm_node_params": {
        "CPUs": 224,
        "Sockets": 2,
        "CoresPerSocket": 56,
        "ThreadsPerCore": 2,
        "RealMemory": 2000000,
    },
    "slurm_node_gpus": {"vendor": "nvidia", "type": "h100", "count": 8, "autodetect": "nvml"},
    "slurm_node_features": ["h100", "ib"],
}
MI300X = {
    "slurm_node_params": {"CPUs": 384, "RealMemory": 2300000},
    "slurm_node_gpus": {"vendor": "amd", "type": "mi300x", "count": 8, "autodetect": "rsmi"},
}
L40S = {
    "slurm_node_params": {"CPUs": 128, "RealMemory": 760000},
    "slurm_node_gpus": {
        "vendor": "nvidia",
        "type": "l40s",
        "count": 4,
        "autodetect": False,  # YAML 1.1 reads a bare `off` as false
        "files": "/dev/nvidia[0-3]",
    },
}
CPU = {"slurm_node_params": {"CPUs": 64, "RealMemory": 250000}}


def _hostvars() -> dict[str, dict[str, Any]]:
    hv: dict[str, dict[str, Any]] = {}
    hv.update({f"h100-{i:02d}": H100 for i in range(1, 17)})
    hv.update({f"mi300x-{i:02d}": MI300X for i in range(1, 9)})
    hv.update({f"l40s-{i:02d}": L40S for i in range(1, 5)})
    hv.update({"cpu1": CPU, "cpu2": CPU})
    return hv


def _specs() -> list[dict[str, Any]]:
    hv = _hostvars()
    return sc.slurm_node_specs(list(hv), hv)


def test_node_lines_fold_identical_nodes() -> None:
    assert sc.slurm_node_lines(_specs()) == [
        "NodeName=h100-[01-16] CPUs=224 Sockets=2 CoresPerSocket=56 ThreadsPerCore=2 "
        "RealMemory=2000000 Gres=gpu:h100:8 Features=h100,ib State=UNKNOWN",
        "NodeName=mi300x-[01-08] CPUs=384 RealMemory=2300000 Gres=gpu:mi300x:8 State=UNKNOWN",
        "NodeName=l40s-[01-04] CPUs=128 RealMemory=760000 Gres=gpu:l40s:4 State=UNKNOWN",
        "NodeName=cpu[1-2] CPUs=64 RealMemory=250000 State=UNKNOWN",
    ]


def test_node_lines_split_nodes_that_differ() -> None:
    big = {**CPU, "slurm_node_params": {"CPUs": 64, "RealMemory": 500000}}
    hv = {"cpu1": CPU, "cpu2": big, "cpu3": CPU}
    lines = sc.slurm_node_lines(sc.slurm_node_specs(list(hv), hv))
    assert lines == [
        "NodeName=cpu[1,3] CPUs=64 RealMemory=250000 State=UNKNOWN",
        "NodeName=cpu2 CPUs=64 RealMemory=500000 State=UNKNOWN",
    ]


def test_node_param_order_does_not_split_groups() -> None:
    a = {"slurm_node_params": {"CPUs": 8, "RealMemory": 1000}}
    b = {"slurm_node_params": {"RealMemory": 1000, "CPUs": 8}}
    hv = {"n1": a, "n2": b}
    assert sc.slurm_node_lines(sc.slurm_node_specs(list(hv), hv)) == [
        "NodeName=n[1-2] CPUs=8 RealMemory=1000 State=UNKNOWN"
    ]


def test_untyped_gpus() -> None:
    hv = {"n1": {**CPU, "slurm_node_gpus": {"count": 2}}}
    assert "Gres=gpu:2 " in sc.slurm_node_lines(sc.slurm_node_specs(["n1"], hv))[0]


def test_node_specs_require_cpus() -> None:
    with pytest.raises(ValueError, match="host n1: slurm_node_params needs at least CPUs"):
        sc.slurm_node_specs(["n1"], {"n1": {}})
    # Sockets x cores is enough for Slurm to work the CPUs out.
    hv = {"n1": {"slurm_node_params": {"CoresPerSocket": 4, "Sockets": 1}}}
    assert sc.slurm_node_specs(["n1"], hv)[0]["params"]["CoresPerSocket"] == 4


# --- gres.conf ----------------------------------------------------------------
def test_gres_lines_per_group() -> None:
    assert sc.slurm_gres_lines(_specs()) == [
        "NodeName=h100-[01-16] AutoDetect=nvml",
        "NodeName=mi300x-[01-08] AutoDetect=rsmi",
        "NodeName=l40s-[01-04] AutoDetect=off Name=gpu Type=l40s File=/dev/nvidia[0-3]",
    ]


@pytest.mark.parametrize(
    ("gpus", "expected"),
    [
        (
            {"vendor": "nvidia", "type": "a100", "count": 4, "autodetect": "off"},
            "NodeName=n1 AutoDetect=off Name=gpu Type=a100 File=/dev/nvidia[0-3]",
        ),
        (
            {"vendor": "amd", "type": "mi250", "count": 8},
            "NodeName=n1 AutoDetect=off Name=gpu Type=mi250 File=/dev/dri/renderD[128-135]",
        ),
        (
            {"vendor": "amd", "count": 1, "autodetect": None},
            "NodeName=n1 AutoDetect=off Name=gpu File=/dev/dri/renderD128",
        ),
        ({"vendor": "nvidia", "count": 1}, "NodeName=n1 AutoDetect=off Name=gpu File=/dev/nvidia0"),
        ({"type": "h100", "count": 8, "autodetect": "nvml"}, "NodeName=n1 AutoDetect=nvml"),
        ({"vendor": "amd", "count": 8, "autodetect": "rsmi"}, "NodeName=n1 AutoDetect=rsmi"),
    ],
)
def test_gres_line_modes(gpus: dict[str, Any], expected: str) -> None:
    hv = {"n1": {**CPU, "slurm_node_gpus": gpus}}
    assert sc.slurm_gres_lines(sc.slurm_node_specs(["n1"], hv)) == [expected]


def test_gres_skips_nodes_without_gpus() -> None:
    hv = {"n1": CPU, "n2": {**CPU, "slurm_node_gpus": {"count": 0}}}
    assert sc.slurm_gres_lines(sc.slurm_node_specs(["n1", "n2"], hv)) == []


@pytest.mark.parametrize(
    ("gpus", "message"),
    [
        ({"count": 2, "autodetect": "nvidia-smi"}, "autodetect must be off, nvml or rsmi"),
        ({"count": 2, "vendor": "intel"}, "vendor must be nvidia or amd"),
    ],
)
def test_gres_refuses_unknown_settings(gpus: dict[str, Any], message: str) -> None:
    hv = {"n1": {**CPU, "slurm_node_gpus": gpus}}
    with pytest.raises(ValueError, match=message):
        sc.slurm_gres_lines(sc.slurm_node_specs(["n1"], hv))


# --- partitions -----------------------------------------------------------------
GROUPS = {
    "h100_nodes": [f"h100-{i:02d}" for i in range(1, 17)],
    "mi300x_nodes": [f"mi300x-{i:02d}" for i in range(1, 9)],
    "l40s_nodes": [f"l40s-{i:02d}" for i in range(1, 5)],
    "cpu_nodes": ["cpu1", "cpu2"],
}
PARTITIONS = [
    {
        "name": "h100",
        "groups": ["h100_nodes"],
        "default": True,
        "params": {"MaxTime": "7-00:00:00", "DefMemPerGPU": 250000},
    },
    {"name": "amd", "groups": ["mi300x_nodes"], "params": {"MaxTime": 2880}},
    {"name": "all-gpus", "groups": ["h100_nodes", "mi300x_nodes"], "hosts": ["l40s-01"]},
    {"name": "cpu", "hosts": ["cpu1", "cpu2"], "params": {"State": "DOWN"}},
]


def test_partition_lines() -> None:
    assert sc.slurm_partition_lines(PARTITIONS, GROUPS) == [
        "PartitionName=h100 Nodes=h100-[01-16] Default=YES State=UP MaxTime=7-00:00:00 "
        "DefMemPerGPU=250000",
        "PartitionName=amd Nodes=mi300x-[01-08] Default=NO State=UP MaxTime=2880",
        "PartitionName=all-gpus Nodes=h100-[01-16],mi300x-[01-08],l40s-01 Default=NO State=UP",
        "PartitionName=cpu Nodes=cpu[1-2] Default=NO State=DOWN",
    ]


def test_first_partition_is_default_when_none_is() -> None:
    parts = [{"name": "a", "hosts": ["cpu1"]}, {"name": "b", "hosts": ["cpu2"]}]
    lines = sc.slurm_partition_lines(parts, GROUPS)
    assert [" Default=YES " in line for line in lines] == [True, False]
    profile = sc.slurm_profile_partitions(parts, GROUPS, _specs())
    assert [p["default"] for p in profile.values()] == [True, False]


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"name": "x", "groups": ["nope"]}, "inventory group 'nope' does not exist"),
        ({"name": "x"}, "no hosts"),
    ],
)
def test_partition_errors(part: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sc.slurm_partition_lines([part], GROUPS)


def test_profile_partitions() -> None:
    profile = sc.slurm_profile_partitions(PARTITIONS, GROUPS, _specs())
    assert profile["h100"] == {
        "nodes": 16,
        "gpus_per_node": 8,
        "gpu_types": ["h100"],
        "cpus_per_node": 224,
        "mem_per_node_mb": 2000000,
        "max_time": "7-00:00:00",
        "default": True,
    }
    assert profile["amd"]["max_time"] == "2880"
    mixed = profile["all-gpus"]
    assert mixed["nodes"] == 25
    assert mixed["gpus_per_node"] == 8  # the most on one node
    assert mixed["gpu_types"] == ["h100", "l40s", "mi300x"]
    assert mixed["cpus_per_node"] == 128  # the fewest on one node
    assert mixed["mem_per_node_mb"] == 760000
    assert mixed["max_time"] == "UNLIMITED"
    assert profile["cpu"]["gpus_per_node"] == 0
    assert profile["cpu"]["gpu_types"] == []


def test_profile_ignores_partition_hosts_that_are_not_compute_nodes() -> None:
    parts = [{"name": "p", "hosts": ["cpu1", "not-a-node"]}]
    assert sc.slurm_profile_partitions(parts, GROUPS, _specs())["p"]["nodes"] == 1


# --- Key=Value lines ------------------------------------------------------------
def test_conf_lines() -> None:
    config = {
        "ClusterName": "rack1",
        "SlurmctldHost": ["head01", "head02(192.0.2.11)"],
        "GresTypes": None,  # a default removed by the user
        "Prolog": "",
        "JobRequeue": 1,
        "Waittime": 0,
        "ReturnToService": False,
        "UsePAM": True,
        "AccountingStorageTRES": ["gres/gpu", "gres/gpu:h100"],
        "SchedulerParameters": ("bf_continue", "bf_window=10080"),
    }
    assert sc.slurm_conf_lines(config, ["SlurmctldHost"]) == [
        "ClusterName=rack1",
        "SlurmctldHost=head01",
        "SlurmctldHost=head02(192.0.2.11)",
        "JobRequeue=1",
        "Waittime=0",
        "ReturnToService=NO",
        "UsePAM=YES",
        "AccountingStorageTRES=gres/gpu,gres/gpu:h100",
        "SchedulerParameters=bf_continue,bf_window=10080",
    ]


def test_conf_lines_join_repeat_keys_only_when_listed() -> None:
    assert sc.slurm_conf_lines({"SlurmctldHost": ["a", "b"]}) == ["SlurmctldHost=a,b"]
    assert sc.slurm_conf_lines({"SlurmctldHost": "a"}, ["SlurmctldHost"]) == ["SlurmctldHost=a"]


def test_filter_module_exports_every_filter() -> None:
    names = set(sc.FilterModule().filters())
    assert names == {
        "hostlist_compress",
        "slurm_stringify_values",
        "slurm_node_specs",
        "slurm_node_lines",
        "slurm_gres_lines",
        "slurm_partition_lines",
        "slurm_profile_partitions",
        "slurm_conf_lines",
        "slurm_accounting_tres",
        "slurm_billed_partitions",
    }
