"""Node selection by host list and state, and the drain record, on recorded 24.11 nodes.

scontrol_show_nodes_24.11.json: gpu1 allocated, gpu2 drained by root.
"""

from __future__ import annotations

import json

import pytest

from aihpc.cluster import nodeset
from aihpc.errors import UsageError
from aihpc.slurm.nodes import NodeInfo, parse_nodes
from tests.unit.conftest import FIXTURES

NODES = parse_nodes(json.loads((FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json").read_text()))


def test_select_by_host_list_state_or_both() -> None:
    assert nodeset.select(NODES, "gpu[1-2]", None) == ["gpu1", "gpu2"]
    assert nodeset.select(NODES, None, "drain") == ["gpu2"]
    assert nodeset.select(NODES, "gpu1", "drain") == []
    assert nodeset.select(NODES, None, "ALLOCATED") == ["gpu1"]


def test_bad_selections_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="not Slurm nodes: gpu3"):
        nodeset.select(NODES, "gpu[1-3]", None)
    with pytest.raises(UsageError, match="bad node list"):
        nodeset.select(NODES, "gpu[1-", None)
    with pytest.raises(UsageError, match="--state 'sleepy'"):
        nodeset.select(NODES, None, "sleepy")
    with pytest.raises(UsageError, match="name the nodes"):
        nodeset.select(NODES, None, None)


def test_the_drain_tag_records_who_and_when() -> None:
    text = nodeset.tag_reason(" PSU swap ", "alice", nodeset.stamp(1796180000))
    assert text == "PSU swap [by alice via aihpc 2026-12-02T02:53Z]"
    record = nodeset.read_reason(
        NodeInfo("gpu9", "IDLE", ("DRAIN",), reason=text, reason_user="root")
    )
    assert (record.reason, record.by, record.when) == ("PSU swap", "alice", "2026-12-02T02:53Z")


def test_an_untagged_reason_falls_back_to_slurms_record() -> None:
    gpu2 = next(n for n in NODES if n.name == "gpu2")
    record = nodeset.read_reason(gpu2)
    assert record.reason == gpu2.reason and record.by == gpu2.reason_user
    assert record.when.endswith("Z")


def test_operator_prefers_the_sudo_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "bob")
    assert nodeset.operator() == "bob"
    monkeypatch.delenv("SUDO_USER")
    assert nodeset.operator()  # the login name, whatever this machine says
