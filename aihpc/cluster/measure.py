"""Parsers of what playbooks/validate.yml gathers on the nodes (raw tool output).

The playbook only runs tools and keeps their output; everything that reads
a figure out of that output is here, tested on recorded or vendor-format
samples (tests/fixtures/validate/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DD_RE = re.compile(r"^(\d+) bytes\b.*copied, ([0-9.]+(?:e-?\d+)?) s,", re.MULTILINE)
_DEVICE_RE = re.compile(r"^(/dev/nvidia\d+) (\w+)$", re.MULTILINE)
_UNMUNGE_STATUS_RE = re.compile(r"^STATUS:\s+(.+?)\s+\((\d+)\)$", re.MULTILINE)
_PERFTEST_HEADER_RE = re.compile(r"BW average\[(Gb/sec|MB/sec)\]")


def key_values(text: str) -> dict[str, str]:
    """`key=value` lines (the fingerprint script's output); blank values dropped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and value.strip():
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class DeviceProbe:
    """What a GPU job saw: CUDA_VISIBLE_DEVICES, and how opening each device ended."""

    visible: tuple[str, ...]
    opened: dict[str, str]  # /dev/nvidiaN -> OK | ENXIO | EPERM | ...
    smi_gpus: int | None  # `nvidia-smi -L` lines inside the job, when nvidia-smi exists

    @property
    def allowed(self) -> list[str]:
        # OK: a real driver answered; ENXIO: the cgroup let us in, no driver behind it.
        return sorted(d for d, how in self.opened.items() if how in ("OK", "ENXIO"))

    @property
    def denied(self) -> list[str]:
        return sorted(d for d, how in self.opened.items() if how == "EPERM")


def device_probe(text: str) -> DeviceProbe:
    visible: tuple[str, ...] = ()
    smi: int | None = None
    for line in text.splitlines():
        if line.startswith("CVD="):
            value = line[4:].strip()
            visible = tuple(v for v in value.split(",") if v)
        elif line.startswith("SMI_GPUS="):
            value = line[9:].strip()
            smi = int(value) if value.isdigit() else None
    return DeviceProbe(visible, dict(_DEVICE_RE.findall(text)), smi)


def dd_rate(stderr: str) -> float | None:
    """MB/s (10^6 bytes) from GNU dd's last summary line, computed from bytes and seconds."""
    found = _DD_RE.findall(stderr)
    if not found:
        return None
    size, seconds = found[-1]
    secs = float(seconds)
    return int(size) / secs / 1e6 if secs > 0 else None


def unmunge_status(stdout: str) -> tuple[str, int] | None:
    """("Success", 0) from unmunge's `STATUS:` line."""
    match = _UNMUNGE_STATUS_RE.search(stdout)
    return (match.group(1), int(match.group(2))) if match else None


@dataclass(frozen=True)
class AllReduce:
    """nccl-tests all_reduce_perf: the largest message's row, and the summary."""

    size: int
    algbw: float
    busbw: float
    wrong: int
    avg_busbw: float | None
    ranks: int | None


def all_reduce(stdout: str) -> AllReduce | None:
    """Parse all_reduce_perf's table (out-of-place and in-place columns).

    Rows: size count type redop root | time algbw busbw #wrong | time algbw busbw #wrong.
    The figure is the best busbw of the largest message: small sizes measure latency.
    """
    best: tuple[int, float, float, int] | None = None
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) != 13 or not fields[0].isdigit():
            continue
        try:
            size = int(fields[0])
            out_alg, out_bus, in_alg, in_bus = (float(fields[i]) for i in (6, 7, 10, 11))
            wrong = _wrong(fields[8]) + _wrong(fields[12])
        except ValueError:
            continue
        alg, bus = (out_alg, out_bus) if out_bus >= in_bus else (in_alg, in_bus)
        if best is None or size >= best[0]:
            best = (size, alg, bus, wrong)
    if best is None:
        return None
    avg = re.search(r"^# Avg bus bandwidth\s*:\s*([0-9.]+)", stdout, re.MULTILINE)
    ranks = len(re.findall(r"^#\s+Rank\s+\d+ ", stdout, re.MULTILINE)) or None
    return AllReduce(*best, avg_busbw=float(avg.group(1)) if avg else None, ranks=ranks)


def _wrong(text: str) -> int:
    # nccl-tests prints "N/A" in #wrong when validation is off (-c 0).
    return 0 if text == "N/A" else int(text)


def perftest_bw(stdout: str) -> float | None:
    """ib_write_bw / ib_read_bw: BW average in Gb/s (from --report_gbits, or MB/sec)."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        header = _PERFTEST_HEADER_RE.search(line)
        if not header:
            continue
        for row in lines[index + 1 :]:
            fields = row.split()
            if len(fields) >= 4 and fields[0].isdigit():
                value = float(fields[3])
                # perftest's MB is 2^20 bytes.
                return value if header.group(1) == "Gb/sec" else value * 8 * 1.048576 / 1000
    return None


def link_rate_gbits(sysfs_rate: str) -> float | None:
    """400.0 from /sys/class/infiniband/<hca>/ports/1/rate ("400 Gb/sec (4X NDR)")."""
    match = re.match(r"\s*([0-9.]+) Gb/sec", sysfs_rate)
    return float(match.group(1)) if match else None
