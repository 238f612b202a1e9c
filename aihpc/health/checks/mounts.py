"""mounts: required directories mounted, writable and with free space.

A missing NFS mount leaves its empty mount point behind, so "the directory
exists" proves nothing: `mount: true` asks for a mount point of its own.
Writable is tested by creating and removing a file (a file system remounted
read-only after an error keeps answering statvfs). A hung NFS server blocks
these calls: the check then runs out of time and reports unknown.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from aihpc.health.context import Context
from aihpc.health.expect import MountExpect
from aihpc.health.model import CheckResult, fail, ok

NAME = "mounts"
GIB = 1024**3


def _one(ctx: Context, want: MountExpect) -> tuple[dict[str, Any], list[str]]:
    path = ctx.path(want.path)
    info: dict[str, Any] = {"path": want.path}
    if not path.is_dir():
        return info, [f"{want.path} missing"]
    problems = []
    if want.mount and not os.path.ismount(path):
        problems.append(f"{want.path} not mounted")
    try:
        stats = os.statvfs(path)
    except OSError as exc:
        return info, [*problems, f"{want.path}: statvfs failed: {exc.strerror}"]
    free = stats.f_bavail * stats.f_frsize / GIB
    info["free_gib"] = round(free, 2)
    if want.min_free_gib and free < want.min_free_gib:
        problems.append(f"{want.path} {free:.1f} GiB free < {want.min_free_gib:g} GiB")
    if want.writable:
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".aihpc-health-"):
                pass
        except OSError as exc:
            problems.append(f"{want.path} not writable ({exc.strerror})")
    return info, problems


def check(ctx: Context) -> CheckResult | None:
    if not ctx.expect.mounts:
        return None
    infos, problems = [], []
    for want in ctx.expect.mounts:
        info, found = _one(ctx, want)
        infos.append(info)
        problems += found
    if problems:
        return fail(NAME, "; ".join(problems), mounts=infos)
    return ok(NAME, f"{len(infos)} director(ies) present, writable, with space", mounts=infos)
