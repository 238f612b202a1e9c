"""GPUs counted from their device files, when no vendor tool can be asked.

NVIDIA: /dev/nvidiaN, character devices of major 195 (nvidiactl and
nvidia-uvm share the major but are not digits-named). AMD: one DRM render
node per GPU, /dev/dri/renderD128 and up, major 226.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

NVIDIA_MAJOR = 195
DRM_MAJOR = 226
_NVIDIA_NAME = re.compile(r"^nvidia(\d+)$")
_RENDER_NAME = re.compile(r"^renderD(\d+)$")


def _char_device(path: Path, major: int) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    return stat.S_ISCHR(info.st_mode) and os.major(info.st_rdev) == major


def nvidia(dev: Path) -> list[int]:
    """Indices N of the /dev/nvidiaN character devices, sorted."""
    found = []
    try:
        names = os.listdir(dev)
    except OSError:
        return []
    for name in names:
        match = _NVIDIA_NAME.match(name)
        if match and _char_device(dev / name, NVIDIA_MAJOR):
            found.append(int(match.group(1)))
    return sorted(found)


def amd(dev: Path) -> list[int]:
    """Minors of the /dev/dri/renderD* render nodes, sorted."""
    found = []
    try:
        names = os.listdir(dev / "dri")
    except OSError:
        return []
    for name in names:
        match = _RENDER_NAME.match(name)
        if match and _char_device(dev / "dri" / name, DRM_MAJOR):
            found.append(int(match.group(1)))
    return sorted(found)
