"""gpu_driver: the loaded NVIDIA kernel module matches the installed NVML library.

After a driver upgrade without a reboot the new library is installed while
the old module still runs: nvidia-smi, NVML and slurmd's GPU detection then
fail ("Driver/library version mismatch") although the GPUs are fine. Same
format knowledge as roles/nvidia_gpu/library/nvidia_gpu_facts.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from aihpc.errors import ClusterError
from aihpc.health.checks import nvidia_smi
from aihpc.health.context import CommandMissing, Context
from aihpc.health.model import CheckResult, fail, ok, unknown

NAME = "gpu_driver"
PROC_VERSION = "/proc/driver/nvidia/version"
LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu/nvidia/current",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu/nvidia/current",
    "/usr/lib64",
)
_VERSION = r"\d+\.\d+(?:\.\d+)?"
# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.163.01  Tue ..." and
# "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.133.20  Release Build ..."
_PROC_RE = re.compile(rf"^NVRM version:.*?Kernel Module.*?\s({_VERSION})\s", re.MULTILINE)
_LIB_RE = re.compile(rf"^libnvidia-ml\.so\.({_VERSION})$")
_NVML_LINE = re.compile(rf"NVML library version:\s*({_VERSION})")


def kernel_module_version(text: str) -> str:
    match = _PROC_RE.search(text)
    return match.group(1) if match else ""


def library_version(dirs: list[Path]) -> str:
    """The highest libnvidia-ml.so.X.Y[.Z] found in the library directories."""
    versions = []
    for directory in dirs:
        try:
            names = [p.name for p in directory.iterdir()]
        except OSError:
            continue
        versions += [m.group(1) for m in map(_LIB_RE.match, names) if m]
    if not versions:
        return ""
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def same_version(kernel: str, library: str) -> bool:
    # nvidia-smi names the library "570.133" for 570.133.20: compare the fields both have.
    k, lib = kernel.split("."), library.split(".")
    n = min(len(k), len(lib))
    return k[:n] == lib[:n]


def check(ctx: Context) -> CheckResult | None:
    want = ctx.expect.gpus
    if want is None or want.vendor != "nvidia":
        return None
    try:
        kernel = kernel_module_version(ctx.path(PROC_VERSION).read_text(errors="replace"))
    except OSError:
        kernel = ""
    library = library_version([ctx.path(d) for d in LIBRARY_DIRS])
    smi_says_mismatch = False
    try:
        done = ctx.run(nvidia_smi.QUERY)
        smi_says_mismatch = nvidia_smi.failure_kind(done.returncode, done.stdout, "") == "mismatch"
        if smi_says_mismatch and not library:
            found = _NVML_LINE.search(done.stdout + done.stderr)
            library = found.group(1) if found else ""
    except (CommandMissing, ClusterError):
        pass
    evidence = {"kernel_module": kernel or None, "nvml_library": library or None}
    if smi_says_mismatch or (kernel and library and not same_version(kernel, library)):
        running = kernel or "an older module"
        return fail(
            NAME,
            f"driver/library mismatch: kernel module {running} loaded, NVML {library or '?'} "
            "installed (driver upgraded without a reboot)",
            **evidence,
        )
    if not kernel:
        return unknown(
            NAME, f"no NVIDIA kernel module version ({PROC_VERSION} unreadable)", **evidence
        )
    if not library:
        return unknown(NAME, "no libnvidia-ml.so.VERSION found to compare with", **evidence)
    return ok(NAME, f"kernel module and NVML library are both {kernel}", **evidence)
