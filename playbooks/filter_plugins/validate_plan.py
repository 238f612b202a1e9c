"""Filters for playbooks/validate.yml: which nodes meet in which test run.

Plain Python (not Jinja loops): the pairing rules are easier to read and to
test here (tests/unit/test_cluster_plan.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def validate_pairs(hosts: Sequence[str], round_number: int = 1) -> list[list[str]]:
    """Disjoint pairs for tests between two nodes that run at the same time.

    Round 1 pairs (0,1), (2,3), ...; round 2 pairs an odd node out with the
    first node, so every node is measured once.
    """
    names = list(hosts)
    if round_number == 1:
        return [[names[i], names[i + 1]] for i in range(0, len(names) - 1, 2)]
    if len(names) >= 3 and len(names) % 2 == 1:
        return [[names[0], names[-1]]]
    return []


def validate_nccl_runs(nodes: Sequence[str], gpus: Mapping[str, Any]) -> list[dict[str, Any]]:
    """all_reduce_perf runs: each node alone, disjoint pairs, then all nodes (if > 2)."""
    names = list(nodes)

    def run(scope: str, members: list[str]) -> dict[str, Any]:
        return {"scope": scope, "nodes": members, "gpus": min(int(gpus[n]) for n in members)}

    runs = [run("node", [n]) for n in names]
    runs += [run("pair", pair) for pair in validate_pairs(names, 1)]
    if len(names) > 2:
        runs.append(run("all", names))
    return runs


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"validate_pairs": validate_pairs, "validate_nccl_runs": validate_nccl_runs}
