"""roles/infiniband/library/infiniband_facts.py on fake sysfs trees.

The trees (tests/fixtures/infiniband/, written by generate.py there) follow
what the kernel writes: an XE9680 with 8x ConnectX-7 NDR, a 400GbE RoCE node,
a VM with a Soft-RoCE device and a node without any HCA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.modload import load_source, run_module_ok
from tests.unit.conftest import FIXTURES, REPO

MODULE = REPO / "roles" / "infiniband" / "library" / "infiniband_facts.py"
TREES = FIXTURES / "infiniband"


ib = load_source("infiniband_facts", MODULE)


def collect(tree: str) -> dict[str, Any]:
    result: dict[str, Any] = ib.collect(str(TREES / tree / "sys"))
    return result


def test_ndr_node_has_eight_active_ndr_hcas() -> None:
    facts = collect("ndr-8hca")
    names = [f"mlx5_{n}" for n in range(8)]
    assert facts["present"] is True
    assert facts["hca_names"] == names
    assert facts["active_hcas"] == names
    assert facts["link_layers"] == ["InfiniBand"]
    hca = facts["hcas"]["mlx5_0"]
    assert hca["hca_type"] == "MT4129"
    assert hca["node_type"] == "CA"
    assert hca["node_guid"] == "a088:c203:00b1:c200"
    assert hca["pci_device"] == "0000:1a:00.0"
    port = hca["ports"]["1"]
    assert port["state"] == "ACTIVE" and port["state_num"] == 4
    assert port["phys_state"] == "LinkUp" and port["phys_state_num"] == 5
    assert port["rate"] == "400 Gb/sec (4X NDR)"
    assert (port["rate_gbps"], port["width"], port["speed"]) == (400.0, "4X", "NDR")
    assert port["link_layer"] == "InfiniBand"
    assert port["lid"] == "0x1a0"
    assert port["sm_lid"] == "0x1"
    # One GID in use (the port GID); the zero entries are not reported, and an
    # IB GID has no netdev.
    assert port["gids"] == [
        {
            "index": 0,
            "gid": "fe80:0000:0000:0000:a088:c203:00b1:c200",
            "type": "IB/RoCE v1",
            "ndev": None,
        }
    ]
    # The IPoIB netdev of each HCA, from device/net.
    assert [facts["hcas"][n]["netdevs"] for n in names] == [[f"ib{n}"] for n in range(8)]
    assert facts["hcas"]["mlx5_7"]["pci_device"] == "0000:e4:00.0"


def test_roce_node_reports_the_gid_table_and_the_down_port() -> None:
    facts = collect("roce-400g")
    assert facts["hca_names"] == ["mlx5_0", "mlx5_1"]
    assert facts["active_hcas"] == ["mlx5_0"]
    assert facts["link_layers"] == ["Ethernet"]
    up = facts["hcas"]["mlx5_0"]["ports"]["1"]
    assert up["link_layer"] == "Ethernet"
    assert [(g["index"], g["type"]) for g in up["gids"]] == [
        (0, "IB/RoCE v1"),
        (1, "RoCE v2"),
        (2, "IB/RoCE v1"),
        (3, "RoCE v2"),
    ]
    # 198.51.100.101 as an IPv4-mapped GID.
    assert up["gids"][3]["gid"] == "0000:0000:0000:0000:0000:ffff:c633:6465"
    assert {g["ndev"] for g in up["gids"]} == {"ens1f0np0"}
    assert up["netdevs"] == ["ens1f0np0"]
    down = facts["hcas"]["mlx5_1"]["ports"]["1"]
    assert (down["state"], down["phys_state"]) == ("DOWN", "Disabled")
    assert down["gids"] == []
    assert facts["hcas"]["mlx5_1"]["netdevs"] == ["ens1f1np1"]


def test_soft_roce_device_names_its_parent_netdev() -> None:
    facts = collect("soft-roce")
    assert facts["hca_names"] == ["rxe0"]
    assert facts["active_hcas"] == ["rxe0"]
    rxe = facts["hcas"]["rxe0"]
    assert rxe["pci_device"] is None
    assert rxe["hca_type"] is None
    assert rxe["netdevs"] == ["eth0"]
    assert [g["type"] for g in rxe["ports"]["1"]["gids"]] == ["RoCE v2", "RoCE v2"]


def test_a_node_without_hca_is_empty_not_an_error() -> None:
    assert collect("no-hca") == {
        "present": False,
        "hcas": {},
        "hca_names": [],
        "active_hcas": [],
        "link_layers": [],
    }


def test_a_missing_sysfs_root_is_empty(tmp_path: Path) -> None:
    assert ib.collect(str(tmp_path / "nothing"))["present"] is False


def test_unreadable_attributes_are_none(tmp_path: Path) -> None:
    """The kernel fails reads of some attributes (EINVAL): no value, no crash."""
    port = tmp_path / "class" / "infiniband" / "mlx5_0" / "ports" / "1"
    (port / "gids").mkdir(parents=True)
    (port / "gids" / "0").write_text("fe80:0000:0000:0000:0000:0000:0000:0001\n")
    # A directory where a file should be: reading it raises an OSError.
    (port / "gid_attrs" / "types" / "0").mkdir(parents=True)
    (port / "state").write_text("garbage\n")
    facts = ib.collect(str(tmp_path))
    got = facts["hcas"]["mlx5_0"]["ports"]["1"]
    assert got["gids"] == [
        {"index": 0, "gid": "fe80:0000:0000:0000:0000:0000:0000:0001", "type": None, "ndev": None}
    ]
    assert (got["state"], got["state_num"], got["rate_gbps"]) == ("garbage", None, None)
    assert facts["active_hcas"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("400 Gb/sec (4X NDR)", (400.0, "4X", "NDR")),
        ("200 Gb/sec (2X NDR)", (200.0, "2X", "NDR")),
        ("56 Gb/sec (4X FDR)", (56.0, "4X", "FDR")),
        ("2.5 Gb/sec (1X SDR)", (2.5, "1X", "SDR")),
        ("10 Gb/sec", (10.0, None, None)),
        ("", (None, None, None)),
    ],
)
def test_parse_rate(text: str, expected: tuple[Any, Any, Any]) -> None:
    rate = ib.parse_rate(text)
    assert (rate["rate_gbps"], rate["width"], rate["speed"]) == expected


def test_hca_names_sort_naturally() -> None:
    assert sorted(["mlx5_10", "mlx5_2", "mlx5_1"], key=ib.natural_key) == [
        "mlx5_1",
        "mlx5_2",
        "mlx5_10",
    ]


def test_module_runs_like_ansible_runs_it(tmp_path: Path) -> None:
    result = run_module_ok(MODULE, {"sysfs_root": str(TREES / "roce-400g" / "sys")}, tmp_path)
    assert result["changed"] is False
    assert result["ansible_facts"]["infiniband"]["active_hcas"] == ["mlx5_0"]
