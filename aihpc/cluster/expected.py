"""Expected bandwidths, derived from what the inventory says the hardware is.

Fixed per-SKU thresholds drift and misfire, so the expectation is computed
from the hardware (GPU model -> its interconnect, NIC count x line rate) and
every figure carries its formula, printed beside the measurement.

NCCL's all_reduce_perf reports busbw = algbw x 2(n-1)/n, which is comparable
to a link's per-direction bandwidth whatever the rank count. The bound for a
run is its bottleneck: the GPU interconnect inside a node, and for runs over
several nodes the smaller of that and the node's NICs (count x line rate).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FRACTION = 0.8


@dataclass(frozen=True)
class Link:
    """A GPU's interconnect: per-GPU, per-direction bandwidth in GB/s."""

    name: str
    links: int
    gbytes_per_link: float

    @property
    def gbytes(self) -> float:
        return self.links * self.gbytes_per_link

    def formula(self) -> str:
        if self.links == 1:
            return f"{self.name} {self.gbytes:g} GB/s/GPU/direction"
        return (
            f"{self.name}: {self.links} links x {self.gbytes_per_link:g} GB/s "
            f"= {self.gbytes:g} GB/s/GPU/direction"
        )


NVLINK2 = Link("NVLink2", 6, 25.0)
NVLINK3 = Link("NVLink3", 12, 25.0)
NVLINK4 = Link("NVLink4", 18, 25.0)
NVLINK5 = Link("NVLink5", 18, 50.0)
INFINITY_FABRIC_MI300 = Link("Infinity Fabric (MI300X)", 7, 64.0)
PCIE4 = Link("PCIe Gen4 x16", 1, 32.0)
PCIE5 = Link("PCIe Gen5 x16", 1, 64.0)

# Slurm GRES type (slurm_node_gpus.type) -> (link on an SXM/OAM board, link as a PCIe card).
GPU_LINKS: dict[str, tuple[Link, Link]] = {
    "v100": (NVLINK2, PCIE4),
    "a100": (NVLINK3, PCIE4),
    "a800": (NVLINK3, PCIE4),
    "h100": (NVLINK4, PCIE5),
    "h800": (NVLINK4, PCIE5),
    "h200": (NVLINK4, PCIE5),
    "gh200": (NVLINK4, PCIE5),
    "b200": (NVLINK5, PCIE5),
    "gb200": (NVLINK5, PCIE5),
    "mi300x": (INFINITY_FABRIC_MI300, PCIE5),
    "l40s": (PCIE4, PCIE4),
    "l40": (PCIE4, PCIE4),
    "l4": (PCIE4, PCIE4),
    "a40": (PCIE4, PCIE4),
    "a10": (PCIE4, PCIE4),
}


@dataclass(frozen=True)
class NodeHardware:
    """What the inventory says about one node's GPUs and NICs."""

    name: str
    gpu_type: str = ""
    gpus: int = 0
    pcie_cards: bool = False  # nvidia_gpu_profile: pcie (no NVLink/NVSwitch board)
    nics: int = 0
    nic_gbits: float = 0.0  # line rate of one NIC, Gb/s


@dataclass(frozen=True)
class Expectation:
    """A bound (GB/s), the pass threshold, and the text that explains both."""

    bound: float | None
    fraction: float
    basis: str
    unit: str = "GB/s"

    @property
    def threshold(self) -> float | None:
        return None if self.bound is None else self.bound * self.fraction

    def expected_text(self) -> str:
        return "-" if self.threshold is None else f">= {self.threshold:.1f} {self.unit}"

    def meets(self, measured: float) -> bool:
        return self.threshold is not None and measured >= self.threshold


def busbw(algbw: float, ranks: int) -> float:
    """NCCL's all-reduce bus bandwidth from the algorithm bandwidth."""
    return algbw * 2 * (ranks - 1) / ranks if ranks > 0 else 0.0


def gpu_link(node: NodeHardware) -> Link | None:
    links = GPU_LINKS.get(node.gpu_type.lower())
    if links is None:
        return None
    return links[1] if node.pcie_cards else links[0]


def _pass_rule(bound: float, fraction: float) -> str:
    return f"pass >= {fraction:.0%} = {bound * fraction:.1f} GB/s"


def intra_node(node: NodeHardware, fraction: float = DEFAULT_FRACTION) -> Expectation:
    """all_reduce_perf over the GPUs of one node."""
    link = gpu_link(node)
    if link is None:
        return Expectation(None, fraction, f"no interconnect figure for GPU type {node.gpu_type!r}")
    basis = f"{link.formula()}; {_pass_rule(link.gbytes, fraction)}"
    return Expectation(link.gbytes, fraction, basis)


def nic_bound(node: NodeHardware) -> float:
    return node.nics * node.nic_gbits / 8


def inter_node(nodes: list[NodeHardware], fraction: float = DEFAULT_FRACTION) -> Expectation:
    """all_reduce_perf across `nodes`: the slowest node's GPU link or its NICs."""
    if not nodes:
        return Expectation(None, fraction, "no nodes")
    parts: list[tuple[float, str]] = []
    for node in nodes:
        link = gpu_link(node)
        if link is None:
            return Expectation(
                None, fraction, f"{node.name}: no interconnect figure for {node.gpu_type!r}"
            )
        if node.nics <= 0 or node.nic_gbits <= 0:
            return Expectation(None, fraction, f"{node.name}: no NIC count/line rate in inventory")
        parts.append((link.gbytes, f"{link.name} {link.gbytes:g} GB/s"))
        nic = nic_bound(node)
        parts.append((nic, f"{node.nics} NICs x {node.nic_gbits:g} Gb/s / 8 = {nic:g} GB/s"))
    bound, _ = min(parts)
    terms = sorted({text for _, text in parts})
    basis = f"min({', '.join(terms)}) = {bound:g} GB/s; {_pass_rule(bound, fraction)}"
    return Expectation(bound, fraction, basis)


def rdma_link(nic_gbits: float, source: str, fraction: float = DEFAULT_FRACTION) -> Expectation:
    """ib_write_bw on one HCA: its line rate (Gb/s, as ib_write_bw --report_gbits prints)."""
    if nic_gbits <= 0:
        return Expectation(None, fraction, "no line rate known", "Gb/s")
    basis = f"line rate {nic_gbits:g} Gb/s ({source}); pass >= {fraction:.0%}"
    return Expectation(nic_gbits, fraction, basis, "Gb/s")
