#!/usr/bin/python
"""Ansible module: NVIDIA GPU count, models and driver, from nvidia-smi."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nvidia_gpu_facts
short_description: Report the NVIDIA GPUs of a node, and a driver/NVML version mismatch
description:
  - Runs C(nvidia-smi --query-gpu=index,name,uuid,driver_version,memory.total,pci.bus_id
    --format=csv,noheader,nounits) and returns the GPUs it lists.
  - Never fails because of the node's state. A missing nvidia-smi, a driver that is not
    loaded, no GPUs, and a driver/library version mismatch are reported in I(status) and
    I(message), so the role decides whether that is an error.
  - The version of the loaded kernel module (C(/proc/driver/nvidia/version)) is compared with
    the version of the installed NVML library (C(libnvidia-ml.so.VERSION)). They differ after a
    driver upgrade until the node reboots; nvidia-smi then prints
    C(Failed to initialize NVML: Driver/library version mismatch).
options:
  nvidia_smi:
    description: The nvidia-smi command (a name looked up on PATH, or a path).
    type: str
    default: nvidia-smi
  proc_version_file:
    description: The kernel module's version file.
    type: path
    default: /proc/driver/nvidia/version
  library_globs:
    description: Where to look for the installed NVML library (C(libnvidia-ml.so.VERSION)).
    type: list
    elements: str
    default:
      - /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.*
      - /usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-ml.so.*
      - /usr/lib/aarch64-linux-gnu/libnvidia-ml.so.*
      - /usr/lib/aarch64-linux-gnu/nvidia/current/libnvidia-ml.so.*
      - /usr/lib64/libnvidia-ml.so.*
  expected_count:
    description: GPUs the inventory promises (slurm_node_gpus.count); 0 checks nothing.
    type: int
    default: 0
  expected_type:
    description:
      - GPU type the inventory promises (slurm_node_gpus.type, e.g. h100). Slurm matches it as a
        substring of the model name in lower case with spaces as underscores; so does this check.
    type: str
    default: ""
author: aihpc
"""

EXAMPLES = r"""
- name: Read the GPUs
  nvidia_gpu_facts:
  register: gpus

- name: Eight H100 here
  ansible.builtin.assert:
    that: gpus.count == 8 and gpus.models == ['NVIDIA H100 80GB HBM3']
"""

RETURN = r"""
status:
  description: >-
    ok; no_nvidia_smi (not installed); no_driver (the kernel driver is not loaded);
    no_devices (driver loaded, no GPU); mismatch (kernel module and NVML library differ);
    error (anything else, see message).
  returned: always
  type: str
message:
  description: One line for a human: what was found and what to do.
  returned: always
  type: str
count:
  description: Number of GPUs (0 unless status is ok).
  returned: always
  type: int
models:
  description: The distinct model names, in index order.
  returned: always
  type: list
  elements: str
gpus:
  description: One dict per GPU (index, name, uuid, driver_version, memory_total_mib, pci_bus_id).
  returned: always
  type: list
  elements: dict
driver_version:
  description: The driver version nvidia-smi reports (empty unless status is ok).
  returned: always
  type: str
kernel_module_version:
  description: The loaded kernel module's version from the proc file (empty when not loaded).
  returned: always
  type: str
library_version:
  description: The installed NVML library's version (empty when not found).
  returned: always
  type: str
mismatch:
  description: True when the loaded kernel module and the installed NVML library differ.
  returned: always
  type: bool
inventory_checked:
  description: True when GPUs were read and expected_count was given.
  returned: always
  type: bool
inventory_problems:
  description: How the GPUs found differ from expected_count/expected_type (empty when they agree).
  returned: always
  type: list
  elements: str
"""

import glob  # noqa: E402  (Ansible puts docs first)
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

QUERY_FIELDS = "index,name,uuid,driver_version,memory.total,pci.bus_id"
QUERY_ARGS = [f"--query-gpu={QUERY_FIELDS}", "--format=csv,noheader,nounits"]

_VERSION = r"\d+\.\d+(?:\.\d+)?"
# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.163.01  Tue ..." and
# "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.133.20  Release Build ..."
_PROC_RE = re.compile(rf"^NVRM version:.*?Kernel Module.*?\s({_VERSION})\s", re.MULTILINE)
_LIB_RE = re.compile(rf"libnvidia-ml\.so\.({_VERSION})$")
_NVML_LIB_LINE = re.compile(rf"NVML library version:\s*({_VERSION})")

MISMATCH_TEXT = "Driver/library version mismatch"
NO_DRIVER_TEXTS = (
    "couldn't communicate with the NVIDIA driver",
    "NVIDIA driver is not loaded",
    "Driver Not Loaded",
)
NO_DEVICES_TEXT = "No devices were found"


def parse_query(stdout: str) -> list[dict[str, Any]]:
    """Rows of the CSV query; raises ValueError on a line that is not one."""
    gpus = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 6:
            raise ValueError(f"unexpected nvidia-smi line: {line!r}")
        index, name, uuid, driver, memory, bus_id = fields
        gpus.append(
            {
                "index": int(index),
                "name": name,
                "uuid": uuid,
                "driver_version": driver,
                "memory_total_mib": int(memory) if memory.isdigit() else None,
                "pci_bus_id": bus_id,
            }
        )
    return gpus


def kernel_module_version(text: str) -> str:
    match = _PROC_RE.search(text)
    return match.group(1) if match else ""


def library_version(paths: list[str]) -> str:
    """Highest libnvidia-ml.so.X.Y.Z version among the files found."""
    versions = []
    for path in paths:
        match = _LIB_RE.search(os.path.basename(path))
        if match:
            versions.append(match.group(1))
    if not versions:
        return ""
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def _same_version(kernel: str, library: str) -> bool:
    # nvidia-smi prints the NVML library as "570.133" for 570.133.20: compare
    # the fields both sides have.
    k, lib = kernel.split("."), library.split(".")
    n = min(len(k), len(lib))
    return k[:n] == lib[:n]


def _mismatch_message(kernel: str, library: str) -> str:
    loaded = f"kernel module {kernel}" if kernel else "the loaded kernel module"
    installed = f"NVML library {library}" if library else "the installed NVML library"
    return (
        f"driver/library version mismatch: {loaded} is running but {installed} is installed "
        "(a driver upgrade without a reboot). nvidia-smi, NVML and slurmd's GPU detection fail "
        "until the node reboots (or the nvidia modules are reloaded with no GPU user left): "
        "drain the node, reboot it, resume it."
    )


def classify(rc: int | None, stdout: str, stderr: str, kernel: str, library: str) -> dict[str, Any]:
    """Turn one nvidia-smi run (rc None: not installed) into the module's result."""
    result: dict[str, Any] = {
        "status": "ok",
        "message": "",
        "count": 0,
        "models": [],
        "gpus": [],
        "driver_version": "",
        "kernel_module_version": kernel,
        "library_version": library,
        "mismatch": bool(kernel and library and not _same_version(kernel, library)),
    }
    text = f"{stdout}\n{stderr}"
    if MISMATCH_TEXT in text and not library:
        nvml = _NVML_LIB_LINE.search(text)
        result["library_version"] = library = nvml.group(1) if nvml else ""
    if rc is None:
        result["status"] = "no_nvidia_smi"
        result["message"] = "nvidia-smi is not installed: no NVIDIA userspace on this node."
    elif MISMATCH_TEXT in text or result["mismatch"]:
        result["status"] = "mismatch"
        result["mismatch"] = True
        result["message"] = _mismatch_message(kernel, library)
    elif rc != 0 and any(t in text for t in NO_DRIVER_TEXTS):
        result["status"] = "no_driver"
        result["message"] = (
            "nvidia-smi is installed but the NVIDIA kernel driver is not loaded "
            "(no GPU, a container, or the node has not rebooted since the driver install)."
        )
    elif NO_DEVICES_TEXT in text:
        result["status"] = "no_devices"
        loaded = f"the NVIDIA driver {kernel}" if kernel else "the NVIDIA driver"
        result["message"] = f"{loaded} is loaded but sees no GPU."
    elif rc != 0:
        result["status"] = "error"
        first = (stderr.strip() or stdout.strip() or "no output").splitlines()[0]
        result["message"] = f"nvidia-smi failed (rc={rc}): {first}"
    else:
        try:
            gpus = parse_query(stdout)
        except ValueError as exc:
            result["status"] = "error"
            result["message"] = str(exc)
            return result
        if not gpus:
            result["status"] = "no_devices"
            result["message"] = "nvidia-smi lists no GPU."
            return result
        result["gpus"] = gpus
        result["count"] = len(gpus)
        result["models"] = list(dict.fromkeys(g["name"] for g in gpus))
        result["driver_version"] = gpus[0]["driver_version"]
        models = ", ".join(result["models"])
        result["message"] = f"{len(gpus)} GPU(s): {models}; driver {result['driver_version']}."
    return result


def slurm_type_matches(model: str, gpu_type: str) -> bool:
    """Slurm's test: the gres type is a substring of the model, lower case, spaces as _."""
    return gpu_type.lower() in model.lower().replace(" ", "_")


def inventory_problems(
    status: str, count: int, models: list[str], expected_count: int, expected_type: str
) -> tuple[bool, list[str]]:
    """(checked, problems): what differs between the GPUs found and the inventory."""
    if status != "ok" or expected_count <= 0:
        return False, []
    problems = []
    if count != expected_count:
        problems.append(
            f"slurm_node_gpus.count is {expected_count} but the node has {count} GPU(s)"
        )
    wrong = [m for m in models if expected_type and not slurm_type_matches(m, expected_type)]
    if wrong:
        problems.append(
            f"slurm_node_gpus.type is {expected_type!r} but the node has {', '.join(wrong)} "
            "(Slurm matches the type as a substring of the model, lower case, spaces as _)"
        )
    return True, problems


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "nvidia_smi": {"type": "str", "default": "nvidia-smi"},
            "proc_version_file": {"type": "path", "default": "/proc/driver/nvidia/version"},
            "library_globs": {
                "type": "list",
                "elements": "str",
                "default": [
                    "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.*",
                    "/usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-ml.so.*",
                    "/usr/lib/aarch64-linux-gnu/libnvidia-ml.so.*",
                    "/usr/lib/aarch64-linux-gnu/nvidia/current/libnvidia-ml.so.*",
                    "/usr/lib64/libnvidia-ml.so.*",
                ],
            },
            "expected_count": {"type": "int", "default": 0},
            "expected_type": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    kernel = kernel_module_version(_read(params["proc_version_file"]))
    found = [p for pattern in params["library_globs"] for p in glob.glob(pattern)]
    library = library_version(found)
    smi = shutil.which(params["nvidia_smi"])
    if smi is None:
        result = classify(None, "", "", kernel, library)
    else:
        rc, out, err = module.run_command([smi, *QUERY_ARGS], environ_update={"LC_ALL": "C"})
        result = classify(rc, out, err, kernel, library)
    checked, problems = inventory_problems(
        result["status"],
        result["count"],
        result["models"],
        params["expected_count"],
        params["expected_type"],
    )
    result.update(inventory_checked=checked, inventory_problems=problems)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
