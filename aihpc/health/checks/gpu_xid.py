"""gpu_xid: no critical NVIDIA Xid since the last reboot or acknowledgement.

Xids come from the kernel log (`NVRM: Xid (PCI:0000:18:00): 79, pid=..., GPU
has fallen off the bus.`). The check remembers how far it has read (the
kernel timestamp of the last line, per boot), so each Xid is seen once; a
critical one is kept as pending in the state file until the node reboots or
an admin acknowledges it (`aihpc health --ack-xids`). Without that, the run
after a drain would see nothing new and resume a node whose GPU just fell
off the bus. Non-critical Xids (13, 31, 43: usually the job's own fault) are
reported as evidence and never fail the check.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aihpc.errors import ClusterError
from aihpc.health import state
from aihpc.health.context import CommandMissing, Context
from aihpc.health.model import CheckResult, fail, ok, unknown

NAME = "gpu_xid"
DMESG = ["dmesg"]
STATE_FILE = "xid.json"
BOOT_ID = "/proc/sys/kernel/random/boot_id"
# "[ 1234.567890] NVRM: Xid (PCI:0000:18:00): 79, pid=2870, name=python, GPU has fallen off
# the bus."
_XID_RE = re.compile(
    r"^\[\s*(?P<ts>\d+\.\d+)\]\s+NVRM: Xid \((?P<pci>[^)]*)\): (?P<xid>\d+),(?P<rest>.*)$"
)


def parse(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        match = _XID_RE.match(line.strip())
        if match:
            events.append(
                {
                    "ts": float(match.group("ts")),
                    "pci": match.group("pci").removeprefix("PCI:"),
                    "xid": int(match.group("xid")),
                    "line": line.strip()[:300],
                }
            )
    return events


def _boot_id(ctx: Context) -> str:
    try:
        return ctx.path(BOOT_ID).read_text().strip()
    except OSError:
        return ""


def check(ctx: Context) -> CheckResult | None:
    want = ctx.expect.gpus
    if want is None or want.vendor != "nvidia":
        return None
    try:
        done = ctx.run(DMESG)
    except (CommandMissing, ClusterError) as exc:
        return unknown(NAME, f"cannot read the kernel log: {exc}")
    if done.returncode != 0:
        # kernel.dmesg_restrict and no root: not something to drain for.
        line = (done.stderr.strip() or "no output").splitlines()[0]
        return unknown(NAME, f"dmesg failed (rc={done.returncode}): {line}")

    path = ctx.state_dir / STATE_FILE
    boot = _boot_id(ctx)
    saved = state.read(path) or {}
    if saved.get("boot_id") != boot:
        saved = {"boot_id": boot, "position": 0.0, "pending": []}
    position = float(saved.get("position", 0.0))
    pending: list[dict[str, Any]] = list(saved.get("pending", []))
    critical = set(ctx.expect.critical_xids)
    new = [e for e in parse(done.stdout) if e["ts"] > position]
    pending += [e for e in new if e["xid"] in critical]
    other = sorted({e["xid"] for e in new if e["xid"] not in critical})
    if new:
        position = max(e["ts"] for e in new)
    persisted = _save(path, {"boot_id": boot, "position": position, "pending": pending})

    evidence: dict[str, Any] = {"new_xids": [e["xid"] for e in new], "noncritical": other}
    if not persisted:
        evidence["state"] = f"{path} not writable: only this run's reading counts"
    if pending:
        shown = ", ".join(f"Xid {e['xid']} on {e['pci']}" for e in pending[:4])
        more = f" (+{len(pending) - 4} more)" if len(pending) > 4 else ""
        evidence["pending"] = [e["line"] for e in pending[:20]]
        return fail(NAME, f"critical {shown}{more}", **evidence)
    seen = f"; non-critical Xids {other}" if other else ""
    return ok(NAME, f"no critical Xid{seen}", **evidence)


def _save(path: Path, data: dict[str, Any]) -> bool:
    try:
        state.write(path, data)
    except OSError:
        return False
    return True


def acknowledge(state_dir: Path) -> int:
    """Forget the pending critical Xids (after the GPU was reset or replaced); how many."""
    path = state_dir / STATE_FILE
    saved = state.read(path)
    if not saved:
        return 0
    count = len(saved.get("pending", []))
    saved["pending"] = []
    state.write(path, saved)
    return count
