"""Which nodes meet in which validate run (playbooks/filter_plugins/validate_plan.py)."""

from __future__ import annotations

from tests.modload import load_source
from tests.unit.conftest import REPO

plan = load_source("validate_plan", REPO / "playbooks" / "filter_plugins" / "validate_plan.py")


def test_pairs_are_disjoint_and_an_odd_node_gets_a_second_round() -> None:
    hosts = ["n1", "n2", "n3", "n4", "n5"]
    assert plan.validate_pairs(hosts, 1) == [["n1", "n2"], ["n3", "n4"]]
    assert plan.validate_pairs(hosts, 2) == [["n1", "n5"]]
    assert plan.validate_pairs(hosts[:4], 2) == []
    assert plan.validate_pairs(["n1"], 1) == []


def test_nccl_runs_one_node_pairs_then_all() -> None:
    runs = plan.validate_nccl_runs(["a", "b", "c"], {"a": 8, "b": 8, "c": 4})
    assert [(r["scope"], r["nodes"], r["gpus"]) for r in runs] == [
        ("node", ["a"], 8),
        ("node", ["b"], 8),
        ("node", ["c"], 4),
        ("pair", ["a", "b"], 8),
        ("all", ["a", "b", "c"], 4),
    ]
    two = plan.validate_nccl_runs(["a", "b"], {"a": 4, "b": 4})
    assert [r["scope"] for r in two] == ["node", "node", "pair"]  # no "all" run on 2 nodes


def test_the_filters_are_registered() -> None:
    assert set(plan.FilterModule().filters()) == {"validate_pairs", "validate_nccl_runs"}
