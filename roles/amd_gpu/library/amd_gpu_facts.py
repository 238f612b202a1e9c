#!/usr/bin/python
"""Ansible module: AMD GPU count, models and driver, from rocm-smi."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: amd_gpu_facts
short_description: Report the AMD GPUs of a node from rocm-smi
description:
  - Runs C(rocm-smi --showproductname --showdriverversion --json) and returns the GPUs it lists.
  - Never fails because of the node's state. A missing rocm-smi, an amdgpu driver that is not
    loaded and no GPUs are reported in I(status) and I(message); the role decides.
  - rocm-smi exits 0 and prints only C(Driver not initialized (amdgpu not found in modules))
    on stderr when the driver is not loaded; that is status C(no_driver), not an error.
options:
  rocm_smi:
    description: The rocm-smi command (a name looked up on PATH, or a path).
    type: str
    default: rocm-smi
  expected_count:
    description: GPUs the inventory promises (slurm_node_gpus.count); 0 checks nothing.
    type: int
    default: 0
  expected_type:
    description: GPU type the inventory promises (slurm_node_gpus.type, e.g. mi300x).
    type: str
    default: ""
author: aihpc
"""

EXAMPLES = r"""
- name: Read the GPUs
  amd_gpu_facts:
  register: gpus
"""

RETURN = r"""
status:
  description: ok, no_rocm_smi, no_driver, no_devices or error.
  returned: always
  type: str
message:
  description: One line for a human.
  returned: always
  type: str
count:
  description: Number of GPUs (0 unless status is ok).
  returned: always
  type: int
models:
  description: The distinct card series (model names), in card order.
  returned: always
  type: list
  elements: str
gfx_versions:
  description: The distinct GFX targets (gfx942 for MI300X).
  returned: always
  type: list
  elements: str
gpus:
  description: One dict per card (card, series, model, vendor, sku, node_id, guid, gfx_version).
  returned: always
  type: list
  elements: dict
driver_version:
  description: The amdgpu driver version rocm-smi reports (empty unless found).
  returned: always
  type: str
inventory_problems:
  description: How the GPUs found differ from expected_count/expected_type (empty when they agree).
  returned: always
  type: list
  elements: str
"""

import json  # noqa: E402  (Ansible puts docs first)
import re  # noqa: E402
import shutil  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

QUERY_ARGS = ["--showproductname", "--showdriverversion", "--json"]
NO_DRIVER_TEXT = "amdgpu not found in modules"
_CARD_RE = re.compile(r"^card(\d+)$")
_FIELDS = {
    "series": "Card Series",
    "model": "Card Model",
    "vendor": "Card Vendor",
    "sku": "Card SKU",
    "node_id": "Node ID",
    "guid": "GUID",
    "gfx_version": "GFX Version",
}


def _field(card: dict[str, Any], name: str) -> str:
    # rocm-smi 5.x spelled these "Card series", "Card model", ...
    value = card.get(name, card.get(name[:5] + name[5:].lower(), ""))
    return str(value).strip()


def parse_json(stdout: str) -> tuple[list[dict[str, Any]], str]:
    """(gpus, driver_version) from the JSON; raises ValueError when it is not rocm-smi's."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ValueError(f"rocm-smi printed something that is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("rocm-smi JSON is not an object")
    gpus = []
    for key, card in data.items():
        match = _CARD_RE.match(key)
        if not match or not isinstance(card, dict):
            continue
        gpu: dict[str, Any] = {"card": int(match.group(1))}
        gpu.update({out: _field(card, name) for out, name in _FIELDS.items()})
        gpus.append(gpu)
    gpus.sort(key=lambda g: g["card"])
    system = data.get("system") or {}
    driver = str(system.get("Driver version", "")).strip() if isinstance(system, dict) else ""
    return gpus, driver


def classify(rc: int | None, stdout: str, stderr: str) -> dict[str, Any]:
    """Turn one rocm-smi run (rc None: not installed) into the module's result."""
    result: dict[str, Any] = {
        "status": "ok",
        "message": "",
        "count": 0,
        "models": [],
        "gfx_versions": [],
        "gpus": [],
        "driver_version": "",
    }
    text = f"{stdout}\n{stderr}"
    if rc is None:
        result["status"] = "no_rocm_smi"
        result["message"] = "rocm-smi is not installed: no ROCm userspace on this node."
        return result
    if NO_DRIVER_TEXT in text:
        result["status"] = "no_driver"
        result["message"] = (
            "rocm-smi is installed but the amdgpu kernel driver is not loaded "
            "(no GPU, a container, or the node has not rebooted since the driver install)."
        )
        return result
    if rc != 0:
        result["status"] = "error"
        first = (stderr.strip() or stdout.strip() or "no output").splitlines()[0]
        result["message"] = f"rocm-smi failed (rc={rc}): {first}"
        return result
    try:
        gpus, driver = parse_json(stdout) if stdout.strip() else ([], "")
    except ValueError as exc:
        result["status"] = "error"
        result["message"] = str(exc)
        return result
    result["driver_version"] = driver
    if not gpus:
        result["status"] = "no_devices"
        result["message"] = "the amdgpu driver is loaded but rocm-smi lists no AMD GPU."
        return result
    result["gpus"] = gpus
    result["count"] = len(gpus)
    result["models"] = list(dict.fromkeys(g["series"] for g in gpus))
    result["gfx_versions"] = list(dict.fromkeys(g["gfx_version"] for g in gpus if g["gfx_version"]))
    models = ", ".join(result["models"])
    result["message"] = f"{len(gpus)} GPU(s): {models}; driver {driver or 'unknown'}."
    return result


def check_inventory(result: dict[str, Any], expected_count: int, expected_type: str) -> list[str]:
    """Count and type against the inventory, matched the way Slurm matches a gres type."""
    if result["status"] != "ok" or expected_count <= 0:
        return []
    problems = []
    if result["count"] != expected_count:
        problems.append(
            f"slurm_node_gpus.count is {expected_count}, rocm-smi lists {result['count']} GPU(s)"
        )
    want = expected_type.lower()
    if want and any(want not in m.lower().replace(" ", "_") for m in result["models"]):
        problems.append(
            f"slurm_node_gpus.type {expected_type!r} is not part of the model name "
            f"{', '.join(result['models'])}"
        )
    return problems


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "rocm_smi": {"type": "str", "default": "rocm-smi"},
            "expected_count": {"type": "int", "default": 0},
            "expected_type": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    smi = shutil.which(module.params["rocm_smi"])
    if smi is None:
        result = classify(None, "", "")
    else:
        rc, out, err = module.run_command([smi, *QUERY_ARGS], environ_update={"LC_ALL": "C"})
        result = classify(rc, out, err)
    params = module.params
    result["inventory_problems"] = check_inventory(
        result, params["expected_count"], params["expected_type"]
    )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
