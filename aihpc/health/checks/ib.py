"""ib_ports: enough InfiniBand/RoCE ports Active at the expected rate (sysfs).

/sys/class/infiniband/<hca>/ports/<n>/state reads "4: ACTIVE" and rate
"400 Gb/sec (4X NDR)" (drivers/infiniband/core/sysfs.c). A port that is
Active below the expected rate (a cable or a switch port that trained down)
is as bad as a missing one for NCCL: the slowest rail sets the pace.
"""

from __future__ import annotations

import re
from typing import Any

from aihpc.health.context import Context
from aihpc.health.model import CheckResult, fail, ok, unknown

NAME = "ib_ports"
_RATE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*Gb/sec")


def _read(path: Any) -> str:
    try:
        return str(path.read_text()).strip()
    except OSError:
        return ""


def check(ctx: Context) -> CheckResult | None:
    expect = ctx.expect
    if expect.ib_ports <= 0:
        return None
    base = ctx.path("/sys/class/infiniband")
    try:
        hcas = sorted(p for p in base.iterdir())
    except FileNotFoundError:
        hcas = []
    except OSError as exc:
        return unknown(NAME, f"cannot list {base}: {exc.strerror}")
    ports: list[dict[str, Any]] = []
    for hca in hcas:
        try:
            numbers = sorted((hca / "ports").iterdir(), key=lambda p: p.name)
        except OSError:
            continue
        for port in numbers:
            state = _read(port / "state")
            rate_text = _read(port / "rate")
            rate = _RATE_RE.match(rate_text)
            ports.append(
                {
                    "port": f"{hca.name}/{port.name}",
                    "active": state.endswith("ACTIVE"),
                    "state": state,
                    "rate_gbps": float(rate.group(1)) if rate else None,
                }
            )
    good = [p for p in ports if p["active"] and (p["rate_gbps"] or 0) >= expect.ib_rate_gbps]
    evidence: dict[str, Any] = {"expected_ports": expect.ib_ports, "ports": ports}
    evidence["expected_rate_gbps"] = expect.ib_rate_gbps
    if len(good) >= expect.ib_ports:
        return ok(NAME, f"{len(good)} port(s) Active at >= {expect.ib_rate_gbps} Gb/s", **evidence)
    slow = [p for p in ports if p["active"] and p not in good]
    down = [p for p in ports if not p["active"]]
    detail = []
    if slow:
        detail.append("slow " + ", ".join(f"{p['port']} {p['rate_gbps']:g} Gb/s" for p in slow))
    if down:
        detail.append("not active " + ", ".join(p["port"] for p in down))
    if not ports:
        detail.append(f"no HCA in {base}")
    at_rate = f" at {expect.ib_rate_gbps} Gb/s" if expect.ib_rate_gbps else ""
    summary = f"{len(good)} of {expect.ib_ports} IB ports Active{at_rate}"
    return fail(NAME, f"{summary} ({'; '.join(detail)})", **evidence)
