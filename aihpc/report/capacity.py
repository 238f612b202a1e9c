"""Capacity: which GPUs exist, and when they could not be allocated.

Capacity is GPUs present in the nodes (their configured GRES) times the
window's length, and nothing is subtracted from it: time a GPU was down,
drained, in planned maintenance or reserved is shown next to allocated and
idle time, so the parts add up to the capacity.

Per node, the unavailable stretches come from slurmdbd's node events (down,
drained) and from reservations (MAINT flag: planned down; others:
reserved). Where they overlap, one kind wins in that order: a drained node
that also goes down counts as down for the overlap. GPU time that a job held
during such a stretch (a draining node finishing its jobs) counts as
allocated, not lost: `LostTime.subtract_allocated` takes it out again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from aihpc.report.window import Window
from aihpc.slurm.events import DOWN, DRAINED, NodeEvent
from aihpc.slurm.hostlist import expand_hostlist
from aihpc.slurm.nodes import NodeInfo
from aihpc.slurm.reservations import Reservation
from aihpc.slurm.tres import gres_gpus

PLANNED = "planned_down"
RESERVED = "reserved"
LOST_KINDS = (DOWN, DRAINED, PLANNED, RESERVED)  # in priority order


@dataclass(frozen=True)
class NodeGpus:
    name: str
    gpus: dict[str, int]  # per GPU type
    partitions: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.gpus.values())


def node_gpus(nodes: Iterable[NodeInfo]) -> dict[str, NodeGpus]:
    return {n.name: NodeGpus(n.name, gres_gpus(n.gres), n.partitions) for n in nodes}


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    kind: str


def _segments(spans: list[tuple[int, int, str]]) -> list[Segment]:
    """Non-overlapping segments; where spans overlap, the kind first in LOST_KINDS wins."""
    cuts = sorted({t for s, e, _ in spans for t in (s, e)})
    out: list[Segment] = []
    for low, high in itertools.pairwise(cuts):
        kinds = [k for s, e, k in spans if s <= low and e >= high]
        if not kinds:
            continue
        kind = min(kinds, key=LOST_KINDS.index)
        if out and out[-1].kind == kind and out[-1].end == low:
            out[-1] = Segment(out[-1].start, high, kind)
        else:
            out.append(Segment(low, high, kind))
    return out


@dataclass
class LostTime:
    """Per node, the window's unavailable segments; GPU-seconds lost per kind."""

    window: Window
    nodes: dict[str, NodeGpus]
    segments: dict[str, list[Segment]] = field(default_factory=dict)
    # (node, kind, gpu type) -> GPU-seconds a job held during that kind of segment
    allocated_overlap: dict[tuple[str, str, str], float] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        window: Window,
        nodes: dict[str, NodeGpus],
        events: Iterable[NodeEvent],
        reservations: Iterable[Reservation],
    ) -> LostTime:
        spans: dict[str, list[tuple[int, int, str]]] = {}
        for event in events:
            kind = event.kind
            clipped = window.clip(event.start, event.end)
            if kind in (DOWN, DRAINED) and clipped and event.node in nodes:
                spans.setdefault(event.node, []).append((*clipped, kind))
        for resv in reservations:
            clipped = window.clip(resv.start, resv.end)
            if not clipped:
                continue
            kind = PLANNED if resv.is_maintenance else RESERVED
            for host in expand_hostlist(resv.nodes):
                if host in nodes:
                    spans.setdefault(host, []).append((*clipped, kind))
        return cls(window, nodes, {n: _segments(s) for n, s in spans.items()})

    def subtract_allocated(
        self, node: str, start: int, end: int, gpus_by_type: dict[str, float]
    ) -> None:
        """A job held these GPUs of `node` over [start, end): not lost time there."""
        for seg in self.segments.get(node, ()):
            overlap = min(end, seg.end) - max(start, seg.start)
            if overlap <= 0:
                continue
            for gpu_type, count in gpus_by_type.items():
                key = (node, seg.kind, gpu_type)
                self.allocated_overlap[key] = self.allocated_overlap.get(key, 0.0) + (
                    overlap * count
                )

    def lost_gpu_seconds(self, node: str) -> dict[str, dict[str, float]]:
        """kind -> GPU type -> GPU-seconds unavailable and not allocated, for one node."""
        out: dict[str, dict[str, float]] = {}
        info = self.nodes[node]
        for seg in self.segments.get(node, ()):
            for gpu_type, count in info.gpus.items():
                per_kind = out.setdefault(seg.kind, {})
                per_kind[gpu_type] = per_kind.get(gpu_type, 0.0) + (seg.end - seg.start) * count
        for (name, kind, gpu_type), held in self.allocated_overlap.items():
            if name == node and kind in out and gpu_type in out[kind]:
                out[kind][gpu_type] = max(0.0, out[kind][gpu_type] - held)
        return out

    def has_segments(self, node: str) -> bool:
        return bool(self.segments.get(node))
