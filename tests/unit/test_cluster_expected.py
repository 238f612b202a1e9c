"""Expected bandwidths come from the inventory's hardware, with their formula."""

from __future__ import annotations

import pytest

from aihpc.cluster import expected
from aihpc.cluster.expected import NodeHardware

H100 = NodeHardware("h100-01", "h100", 8, nics=8, nic_gbits=400)
L40S = NodeHardware("l40s-01", "l40s", 4, pcie_cards=True, nics=1, nic_gbits=400)


def test_busbw_is_algbw_times_two_n_minus_one_over_n() -> None:
    assert expected.busbw(100.0, 8) == pytest.approx(175.0)
    assert expected.busbw(100.0, 2) == pytest.approx(100.0)
    assert expected.busbw(100.0, 1) == 0.0


def test_h100_inside_a_node_is_bounded_by_nvlink4() -> None:
    expect = expected.intra_node(H100)
    assert expect.bound == 450.0
    assert expect.threshold == pytest.approx(360.0)
    assert "NVLink4: 18 links x 25 GB/s = 450 GB/s" in expect.basis
    assert expect.meets(443.8) and not expect.meets(300.0)  # field figure 450-480 passes


def test_across_h100_nodes_the_eight_ndr_nics_are_the_bottleneck() -> None:
    expect = expected.inter_node([H100, NodeHardware("h100-02", "h100", 8, nics=8, nic_gbits=400)])
    assert expect.bound == 400.0  # 8 x 400 Gb/s / 8 < 450 GB/s NVLink
    assert "8 NICs x 400 Gb/s / 8 = 400 GB/s" in expect.basis
    assert expect.meets(375.0)  # the field's 370-385 GB/s passes
    assert not expect.meets(200.0)


def test_the_slowest_node_sets_the_bound() -> None:
    expect = expected.inter_node([H100, L40S])
    assert expect.bound == 32.0  # L40S on PCIe Gen4 (below its one NIC's 50 GB/s)
    assert "PCIe Gen4 x16" in expect.basis


def test_pcie_h100_is_not_nvlink() -> None:
    card = NodeHardware("h100-pcie", "h100", 2, pcie_cards=True)
    assert expected.intra_node(card).bound == 64.0


def test_unknown_gpu_or_missing_nics_give_no_expectation_and_say_why() -> None:
    odd = expected.intra_node(NodeHardware("x", "quantum9000", 8))
    assert odd.bound is None and "quantum9000" in odd.basis and odd.expected_text() == "-"
    assert not odd.meets(1e9)
    no_nic = expected.inter_node([NodeHardware("a", "h100", 8), NodeHardware("b", "h100", 8)])
    assert no_nic.bound is None and "no NIC count" in no_nic.basis


def test_rdma_expectation_is_in_gbits() -> None:
    expect = expected.rdma_link(400, "inventory")
    assert expect.expected_text() == ">= 320.0 Gb/s"
    assert "line rate 400 Gb/s (inventory)" in expect.basis
