"""Nodes as `scontrol show nodes --json` reports them: `NodeInfo`.

Written against tests/fixtures/slurm/scontrol_show_nodes_24.11.json
(24.11.5: one allocated node, one drained by root with a reason). The one
parser of node records: the exporter, the health check and `aihpc cluster`
read node state, drain reason and its provenance through it.

Slurm reports a node's state as a list: one base state (IDLE, ALLOCATED,
MIXED, DOWN, ERROR, FUTURE, UNKNOWN) and flags (DRAIN, COMPLETING,
NOT_RESPONDING, MAINTENANCE, RESERVED, POWERED_DOWN, FAIL, ...). "drained"
and "draining" are not states of their own: DRAIN on an idle node means
drained, DRAIN on a node still running jobs means draining.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aihpc.errors import ClusterError
from aihpc.slurm.values import number, states

NODE_BASE_STATES = frozenset(
    {"IDLE", "ALLOCATED", "MIXED", "DOWN", "ERROR", "FUTURE", "UNKNOWN", "PLANNED"}
)
# A node with any of these cannot take new jobs (on top of a DOWN base state).
UNAVAILABLE_FLAGS = frozenset({"DRAIN", "NOT_RESPONDING", "FAIL", "MAINTENANCE", "POWERED_DOWN"})
BUSY_STATES = frozenset({"ALLOCATED", "MIXED"})


@dataclass(frozen=True)
class NodeInfo:
    name: str
    state: str  # base state, e.g. IDLE
    flags: tuple[str, ...] = ()  # e.g. ("DRAIN",)
    reason: str = ""
    reason_user: str = ""  # who set the reason, as Slurm recorded it
    reason_time: int | None = None  # when the reason was set (epoch seconds)
    partitions: tuple[str, ...] = ()
    cpus: int = 0
    alloc_cpus: int = 0
    real_memory_mb: int = 0
    alloc_memory_mb: int = 0
    free_memory_mb: int | None = None
    gres: str = ""  # configured GRES, e.g. "gpu:h100:4"
    gres_used: str = ""  # e.g. "gpu:h100:3(IDX:0-2)"
    tres: str = ""  # configured TRES, e.g. "cpu=2,mem=4000M,billing=2,gres/gpu=4"
    tres_used: str = ""
    address: str = ""
    port: int = 0  # slurmd's port (SlurmdPort, or the node's Port=); 0 when not reported
    boot_time: int | None = None
    slurmd_start_time: int | None = None
    version: str = ""

    @property
    def is_drain(self) -> bool:
        """DRAIN is set: drained (idle) or draining (jobs still running)."""
        return "DRAIN" in self.flags

    @property
    def is_drained(self) -> bool:
        return self.is_drain and self.state not in BUSY_STATES

    @property
    def is_draining(self) -> bool:
        return self.is_drain and self.state in BUSY_STATES

    @property
    def is_down(self) -> bool:
        return self.state == "DOWN" or "NOT_RESPONDING" in self.flags or "FAIL" in self.flags

    @property
    def is_available(self) -> bool:
        """Can take new jobs: up, responding, not drained, failing or in maintenance."""
        return self.state not in ("DOWN", "ERROR", "FUTURE", "UNKNOWN") and not (
            UNAVAILABLE_FLAGS & set(self.flags)
        )

    @property
    def state_label(self) -> str:
        """One word per node, as sinfo would say it: drained, draining, down, idle, ..."""
        if self.is_down:
            return "down"
        if self.is_drained:
            return "drained"
        if self.is_draining:
            return "draining"
        return self.state.lower()


def node_info(node: dict[str, Any]) -> NodeInfo:
    state, flags = states(node.get("state"), NODE_BASE_STATES)
    return NodeInfo(
        name=str(node.get("name", "")),
        state=state,
        flags=flags,
        reason=str(node.get("reason", "") or ""),
        reason_user=str(node.get("reason_set_by_user", "") or ""),
        reason_time=number(node.get("reason_changed_at")) or None,
        partitions=tuple(str(p) for p in node.get("partitions") or ()),
        cpus=number(node.get("cpus")) or 0,
        alloc_cpus=number(node.get("alloc_cpus")) or 0,
        real_memory_mb=number(node.get("real_memory")) or 0,
        alloc_memory_mb=number(node.get("alloc_memory")) or 0,
        free_memory_mb=number(node.get("free_mem")),
        gres=str(node.get("gres", "") or ""),
        gres_used=str(node.get("gres_used", "") or ""),
        tres=str(node.get("tres", "") or ""),
        tres_used=str(node.get("tres_used", "") or ""),
        address=str(node.get("address", "") or ""),
        port=number(node.get("port")) or 0,
        boot_time=number(node.get("boot_time")) or None,
        slurmd_start_time=number(node.get("slurmd_start_time")) or None,
        version=str(node.get("version", "") or ""),
    )


def parse_nodes(payload: Any) -> list[NodeInfo]:
    """The nodes of a `scontrol show nodes --json` (or `show node NAME --json`) reply."""
    if not isinstance(payload, dict) or not isinstance(payload.get("nodes"), list):
        raise ClusterError("scontrol show nodes --json returned no node list")
    return [node_info(n) for n in payload["nodes"] if isinstance(n, dict)]


def show_nodes_argv(*names: str) -> list[str]:
    """The one command that reads node records (all nodes, or the named ones)."""
    return ["scontrol", "show", "nodes", *([",".join(names)] if names else []), "--json"]
