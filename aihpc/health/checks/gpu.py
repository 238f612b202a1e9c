"""gpu_count: the GPUs the inventory promises are there, of the promised type.

The device files are always counted (Slurm's gres hands them to jobs, so a
missing /dev/nvidia3 breaks jobs even when the driver still lists the GPU).
Where the vendor tool is installed its list is compared too, which also
checks the type. A tool that fails in a way it does not explain is unknown.
"""

from __future__ import annotations

import json
from typing import Any

from aihpc.errors import ClusterError
from aihpc.health.checks import devices, nvidia_smi
from aihpc.health.context import CommandMissing, Context
from aihpc.health.expect import GpuExpect
from aihpc.health.model import CheckResult, fail, ok, unknown

NAME = "gpu_count"
ROCM_SMI = ["rocm-smi", "--showproductname", "--json"]


def check(ctx: Context) -> CheckResult | None:
    want = ctx.expect.gpus
    if want is None:
        return None
    dev = ctx.path("/dev")
    found = devices.nvidia(dev) if want.vendor == "nvidia" else devices.amd(dev)
    evidence: dict[str, Any] = {"expected": want.count, "device_files": len(found)}
    problems = []
    if len(found) != want.count:
        problems.append(_device_problem(want, found))

    tool = _nvidia(ctx, want, evidence) if want.vendor == "nvidia" else _amd(ctx, want, evidence)
    if isinstance(tool, CheckResult):
        if tool.status.value == "unknown" and problems:
            # The tool could not answer, but the device files already show the fault.
            return fail(NAME, "; ".join(problems), **evidence)
        return tool
    problems.extend(tool)
    if problems:
        return fail(NAME, "; ".join(problems), **evidence)
    kind = f" {want.type}" if want.type else ""
    return ok(NAME, f"{want.count}{kind} GPU(s) present", **evidence)


def _device_problem(want: GpuExpect, found: list[int]) -> str:
    if want.vendor == "nvidia":
        missing = [f"/dev/nvidia{i}" for i in range(want.count) if i not in found]
        extra = f" ({', '.join(missing)} missing)" if missing else ""
        return f"{len(found)} of {want.count} GPU device files{extra}"
    return f"{len(found)} of {want.count} GPU render nodes in /dev/dri"


def _nvidia(ctx: Context, want: GpuExpect, evidence: dict[str, Any]) -> list[str] | CheckResult:
    try:
        done = ctx.run(nvidia_smi.QUERY)
    except CommandMissing:
        evidence["tool"] = "none (nvidia-smi not installed: device files only, type unchecked)"
        return []
    except ClusterError as exc:
        return unknown(NAME, str(exc), **evidence)
    evidence["tool"] = "nvidia-smi"
    kind = nvidia_smi.failure_kind(done.returncode, done.stdout, done.stderr)
    if kind == "mismatch":
        # gpu_driver names the versions; the count cannot be read until a reboot.
        return unknown(NAME, "nvidia-smi cannot run: driver/library mismatch", **evidence)
    if kind == "no_driver":
        return fail(NAME, f"NVIDIA driver not loaded, {want.count} GPU(s) expected", **evidence)
    if kind == "no_devices":
        return fail(NAME, f"0 of {want.count} GPUs: the driver sees no GPU", **evidence)
    if kind == "error":
        line = nvidia_smi.first_line(done.stdout, done.stderr)
        return unknown(NAME, f"nvidia-smi failed (rc={done.returncode}): {line}", **evidence)
    try:
        gpus = nvidia_smi.parse(done.stdout)
    except ValueError as exc:
        return unknown(NAME, str(exc), **evidence)
    models = list(dict.fromkeys(g.name for g in gpus))
    evidence.update(tool_count=len(gpus), models=models)
    return _compare(want, len(gpus), models)


def _amd(ctx: Context, want: GpuExpect, evidence: dict[str, Any]) -> list[str] | CheckResult:
    try:
        done = ctx.run(ROCM_SMI)
    except CommandMissing:
        evidence["tool"] = "none (rocm-smi not installed: render nodes only, type unchecked)"
        return []
    except ClusterError as exc:
        return unknown(NAME, str(exc), **evidence)
    evidence["tool"] = "rocm-smi"
    # With no amdgpu loaded rocm-smi prints its error on stderr, nothing on
    # stdout, and exits 0 (tests/fixtures/amd_gpu/no-driver.stderr).
    if "Driver not initialized" in done.stderr or "amdgpu not found" in done.stderr:
        return fail(NAME, f"amdgpu driver not loaded, {want.count} GPU(s) expected", **evidence)
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        line = nvidia_smi.first_line(done.stdout, done.stderr)
        return unknown(NAME, f"rocm-smi printed no JSON (rc={done.returncode}): {line}", **evidence)
    cards = [v for k, v in data.items() if k.startswith("card") and isinstance(v, dict)]
    # rocm-smi 6 spells it "Card Series", 5.x "Card series".
    models = list(
        dict.fromkeys(str(c.get("Card Series") or c.get("Card series") or "") for c in cards)
    )
    evidence.update(tool_count=len(cards), models=models)
    return _compare(want, len(cards), models)


def _compare(want: GpuExpect, count: int, models: list[str]) -> list[str]:
    problems = []
    if count != want.count:
        problems.append(f"{count} of {want.count} GPUs listed by the driver")
    wrong = [m for m in models if want.type and not nvidia_smi.slurm_type_matches(m, want.type)]
    if wrong:
        problems.append(f"GPU type {', '.join(wrong)} is not {want.type!r}")
    return problems
