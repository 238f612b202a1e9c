"""memory: enough memory available (MemAvailable in /proc/meminfo).

The health check runs on idle nodes (HealthCheckNodeState), where little
available memory means something leaked: a stray process of an ended job,
a full tmpfs (/dev/shm), a kernel leak. The next job would fail with OOM.
"""

from __future__ import annotations

from aihpc.health.context import Context
from aihpc.health.model import CheckResult, fail, ok, unknown

NAME = "memory"


def meminfo(text: str) -> dict[str, int]:
    """kB values by field name ("MemTotal:  263783432 kB")."""
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    return values


def check(ctx: Context) -> CheckResult | None:
    expect = ctx.expect
    if not expect.min_available_mib and not expect.min_available_percent:
        return None
    try:
        values = meminfo(ctx.path("/proc/meminfo").read_text())
    except OSError as exc:
        return unknown(NAME, f"cannot read /proc/meminfo: {exc.strerror}")
    if "MemAvailable" not in values or not values.get("MemTotal"):
        return unknown(NAME, "/proc/meminfo has no MemTotal/MemAvailable")
    total, available = values["MemTotal"] // 1024, values["MemAvailable"] // 1024
    need = max(expect.min_available_mib, int(total * expect.min_available_percent / 100))
    evidence = {"total_mib": total, "available_mib": available, "required_mib": need}
    if available < need:
        return fail(NAME, f"{available} MiB available < {need} MiB required", **evidence)
    return ok(NAME, f"{available} of {total} MiB available", **evidence)
