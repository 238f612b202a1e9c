"""daemons: munged and slurmd running and munge answering; fabric manager on HGX.

Processes are found by name in /proc (no systemd needed, and fast). munged
alive is not enough: `munge -n` asks it for a credential, which fails when it
hangs or lost its key. On HGX nodes the NVSwitch fabric manager must be
active, or CUDA initialisation fails on every GPU.
"""

from __future__ import annotations

import os

from aihpc.errors import ClusterError
from aihpc.health.context import CommandMissing, Context
from aihpc.health.model import CheckResult, fail, ok, unknown

NAME = "daemons"
FABRIC = "fabric_manager"
MUNGE_PROBE = ["munge", "-n"]
FABRIC_PROBE = ["systemctl", "is-active", "nvidia-fabricmanager"]


def running(ctx: Context) -> set[str]:
    """Command names (/proc/PID/comm) of the processes running now."""
    proc = ctx.path("/proc")
    names = set()
    for pid in os.listdir(proc):
        if pid.isdigit():
            try:
                names.add((proc / pid / "comm").read_text().strip())
            except OSError:
                continue  # the process ended while we looked
    return names


def check(ctx: Context) -> CheckResult | None:
    wanted = ctx.expect.daemons
    if not wanted:
        return None
    try:
        alive = running(ctx)
    except OSError as exc:
        return unknown(NAME, f"cannot list processes: {exc.strerror}")
    missing = [name for name in wanted if name not in alive]
    evidence: dict[str, object] = {"expected": list(wanted), "missing": missing}
    problems = [f"{name} not running" for name in missing]
    if "munged" in wanted and "munged" not in missing:
        try:
            done = ctx.run(MUNGE_PROBE)
            evidence["munge_probe_rc"] = done.returncode
            if done.returncode != 0:
                line = (done.stderr.strip() or "no output").splitlines()[0]
                problems.append(f"munged does not answer: {line}")
        except (CommandMissing, ClusterError) as exc:
            evidence["munge_probe"] = str(exc)
    if problems:
        return fail(NAME, "; ".join(problems), **evidence)
    return ok(NAME, f"{', '.join(wanted)} running", **evidence)


def check_fabric_manager(ctx: Context) -> CheckResult | None:
    if not ctx.expect.fabric_manager:
        return None
    try:
        done = ctx.run(FABRIC_PROBE)
    except (CommandMissing, ClusterError) as exc:
        return unknown(FABRIC, f"cannot ask systemd: {exc}")
    answer = done.stdout.strip() or "no answer"
    if done.returncode == 0 and answer == "active":
        return ok(FABRIC, "nvidia-fabricmanager active")
    return fail(FABRIC, f"nvidia-fabricmanager is {answer}", systemctl_rc=done.returncode)
