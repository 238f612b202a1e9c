"""roles/infiniband/filter_plugins/infiniband_fabric.py: nccl.conf and the
profile environment from the fabric variables and the facts of the fake
sysfs trees (an 8-HCA NDR node, a RoCE node, a Soft-RoCE VM)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.modload import load_source
from tests.unit.conftest import FIXTURES, REPO

PLUGIN = REPO / "roles" / "infiniband" / "filter_plugins" / "infiniband_fabric.py"
FACTS_MODULE = REPO / "roles" / "infiniband" / "library" / "infiniband_facts.py"


fab = load_source("infiniband_fabric_filters", PLUGIN)
facts_module = load_source("infiniband_facts_for_filters", FACTS_MODULE)


def facts(tree: str) -> dict[str, Any]:
    result: dict[str, Any] = facts_module.collect(str(FIXTURES / "infiniband" / tree / "sys"))
    return result


# The role's defaults, as vars/main.yml builds __infiniband_fabric.
BASE: dict[str, Any] = {
    "nccl_hcas": [],
    "hcas": [],
    "link_layer": "auto",
    "socket_ifname": "",
    "ipoib_interface": "",
    "gid_index": -1,
    "gpudirect": False,
    "gdr_level": "",
    "soft_roce": {"enabled": False, "netdev": "eth0", "name": "rxe0"},
    "extra": {},
    "profile_extra": {},
}

NDR_HCAS = [f"mlx5_{n}" for n in range(8)]


def fabric(**overrides: Any) -> dict[str, Any]:
    return {**BASE, **overrides}


def test_ib_ndr_h100_node() -> None:
    """XE9680: 8 NDR rails, IPoIB on ib0, GPUDirect RDMA."""
    env = fab.infiniband_nccl_env(
        fabric(hcas=NDR_HCAS, ipoib_interface="ib0", gpudirect=True, gdr_level="PHB"),
        facts("ndr-8hca"),
    )
    assert list(env.items()) == [
        ("NCCL_IB_HCA", "=mlx5_0,mlx5_1,mlx5_2,mlx5_3,mlx5_4,mlx5_5,mlx5_6,mlx5_7"),
        ("NCCL_SOCKET_IFNAME", "=ib0"),
        ("NCCL_NET_GDR_LEVEL", "PHB"),
    ]
    assert fab.infiniband_nccl_conf_lines(env) == [
        "NCCL_IB_HCA==mlx5_0,mlx5_1,mlx5_2,mlx5_3,mlx5_4,mlx5_5,mlx5_6,mlx5_7",
        "NCCL_SOCKET_IFNAME==ib0",
        "NCCL_NET_GDR_LEVEL=PHB",
    ]


def test_ib_hcas_come_from_the_facts_when_not_configured() -> None:
    env = fab.infiniband_nccl_env(fabric(), facts("ndr-8hca"))
    assert env == {"NCCL_IB_HCA": "=" + ",".join(NDR_HCAS)}
    assert fab.fabric_link_layer(fabric(), facts("ndr-8hca")) == "infiniband"


def test_a_fabric_wide_nccl_list_is_cut_to_the_host_hcas() -> None:
    """One NCCL list in the fabric's group_vars; an L40S node has one HCA."""
    one = fabric(nccl_hcas=NDR_HCAS, hcas=["mlx5_0"])
    assert fab.infiniband_nccl_env(one, None)["NCCL_IB_HCA"] == "=mlx5_0"
    # From the facts when the host's HCAs are not configured.
    roce = fab.infiniband_nccl_env(fabric(nccl_hcas=NDR_HCAS), facts("roce-400g"))
    assert roce["NCCL_IB_HCA"] == "=mlx5_0,mlx5_1"
    # No overlap (a renamed HCA): the NCCL list as configured.
    other = fabric(nccl_hcas=["mlx5_4"], hcas=["mlx5_0"])
    assert fab.infiniband_nccl_env(other, None)["NCCL_IB_HCA"] == "=mlx5_4"


def test_no_gdr_level_without_gpudirect() -> None:
    env = fab.infiniband_nccl_env(fabric(hcas=NDR_HCAS, gdr_level="PHB"), facts("ndr-8hca"))
    assert "NCCL_NET_GDR_LEVEL" not in env


def test_roce_gid_index_comes_from_the_gid_table() -> None:
    """mlx5 on 400GbE: index 3 is RoCE v2 of the IPv4 address."""
    env = fab.infiniband_nccl_env(
        fabric(nccl_hcas=["mlx5_0"], socket_ifname="ens1f0np0"), facts("roce-400g")
    )
    assert list(env.items()) == [
        ("NCCL_IB_HCA", "=mlx5_0"),
        ("NCCL_SOCKET_IFNAME", "=ens1f0np0"),
        ("NCCL_IB_GID_INDEX", "3"),
    ]
    assert fab.fabric_link_layer(fabric(nccl_hcas=["mlx5_0"]), facts("roce-400g")) == "ethernet"


def test_roce_without_facts_uses_the_configured_or_default_index() -> None:
    roce = fabric(hcas=["mlx5_0", "mlx5_1"], link_layer="ethernet", socket_ifname="^lo,docker")
    assert fab.infiniband_nccl_env(roce, None) == {
        "NCCL_IB_HCA": "=mlx5_0,mlx5_1",
        "NCCL_SOCKET_IFNAME": "^lo,docker",
        "NCCL_IB_GID_INDEX": "3",
    }
    pinned = fab.infiniband_nccl_env({**roce, "gid_index": 5}, facts("roce-400g"))
    assert pinned["NCCL_IB_GID_INDEX"] == "5"


def test_soft_roce_vm_uses_the_rxe_device() -> None:
    """The kernel lane: no HCA configured, rxe0 on eth0."""
    soft = fabric(soft_roce={"enabled": True, "netdev": "eth0", "name": "rxe0"})
    # Before the device exists (first run, facts empty) and after.
    for host_facts, index in [(None, "3"), (facts("soft-roce"), "1")]:
        env = fab.infiniband_nccl_env(soft, host_facts)
        assert list(env.items()) == [
            ("NCCL_IB_HCA", "=rxe0"),
            ("NCCL_SOCKET_IFNAME", "=eth0"),
            ("NCCL_IB_GID_INDEX", index),
        ]
    profile = fab.infiniband_profile_env(fab.infiniband_nccl_env(soft, facts("soft-roce")), soft)
    assert profile["GLOO_SOCKET_IFNAME"] == "eth0"


def test_no_hca_and_no_soft_roce_sets_nothing() -> None:
    assert fab.infiniband_nccl_env(fabric(), facts("no-hca")) == {}
    assert fab.infiniband_profile_env({}, fabric()) == {}


def test_extra_settings_come_last_as_strings() -> None:
    env = fab.infiniband_nccl_env(
        fabric(
            hcas=["mlx5_0"],
            extra={"NCCL_IB_QPS_PER_CONNECTION": 4, "NCCL_IB_PCI_RELAXED_ORDERING": True},
        ),
        None,
    )
    assert list(env.items())[-2:] == [
        ("NCCL_IB_QPS_PER_CONNECTION", "4"),
        ("NCCL_IB_PCI_RELAXED_ORDERING", "1"),
    ]


def test_profile_env_adds_a_plain_gloo_interface() -> None:
    ib = fabric(hcas=NDR_HCAS, ipoib_interface="ib0", profile_extra={"NCCL_DEBUG": "WARN"})
    profile = fab.infiniband_profile_env(fab.infiniband_nccl_env(ib, None), ib)
    assert profile == {
        "NCCL_IB_HCA": "=" + ",".join(NDR_HCAS),
        "NCCL_SOCKET_IFNAME": "=ib0",
        "GLOO_SOCKET_IFNAME": "ib0",
        "NCCL_DEBUG": "WARN",
    }
    # gloo knows no exclusion list: none is set from one.
    excluded = fabric(socket_ifname="^lo,docker")
    assert "GLOO_SOCKET_IFNAME" not in fab.infiniband_profile_env({}, excluded)


def test_explicit_link_layer_wins_over_the_facts() -> None:
    assert (
        fab.fabric_link_layer(fabric(link_layer="infiniband"), facts("roce-400g")) == "infiniband"
    )
    with pytest.raises(ValueError, match="link_layer"):
        fab.fabric_link_layer(fabric(link_layer="omnipath"), None)


def test_conf_lines_refuse_what_nccl_cannot_read() -> None:
    with pytest.raises(ValueError, match=r"nccl\.conf cannot hold"):
        fab.infiniband_nccl_conf_lines({"NCCL_X": "a\nb"})
    with pytest.raises(ValueError, match=r"nccl\.conf cannot hold"):
        fab.infiniband_nccl_conf_lines({"NCCL X": "1"})


def test_filters_are_registered() -> None:
    names = set(fab.FilterModule().filters())
    assert {"infiniband_nccl_env", "infiniband_profile_env", "infiniband_nccl_conf_lines"} <= names
