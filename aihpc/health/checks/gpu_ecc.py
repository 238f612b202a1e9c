"""gpu_ecc: no uncorrected ECC error since the driver loaded, no failed or pending row remap.

From the same nvidia-smi query as gpu_count (run once). A pending remap
needs a GPU reset before the spare row is used; a remap failure means the
GPU ran out of spare rows and must be replaced. GPUs that do not report a
field ("[N/A]") are not judged on it.
"""

from __future__ import annotations

from aihpc.errors import ClusterError
from aihpc.health.checks import nvidia_smi
from aihpc.health.context import CommandMissing, Context
from aihpc.health.model import CheckResult, fail, ok, unknown

NAME = "gpu_ecc"


def check(ctx: Context) -> CheckResult | None:
    want = ctx.expect.gpus
    if want is None or want.vendor != "nvidia":
        return None
    try:
        done = ctx.run(nvidia_smi.QUERY)
    except CommandMissing:
        return unknown(NAME, "nvidia-smi is not installed: ECC and row remapping unreadable")
    except ClusterError as exc:
        return unknown(NAME, str(exc))
    if nvidia_smi.failure_kind(done.returncode, done.stdout, done.stderr):
        line = nvidia_smi.first_line(done.stdout, done.stderr)
        return unknown(NAME, f"nvidia-smi cannot report ECC (rc={done.returncode}): {line}")
    try:
        gpus = nvidia_smi.parse(done.stdout)
    except ValueError as exc:
        return unknown(NAME, str(exc))
    problems = []
    for gpu in gpus:
        where = f"GPU {gpu.index} ({gpu.pci_bus_id})"
        if gpu.uncorrected_volatile:
            problems.append(f"{where}: {gpu.uncorrected_volatile} uncorrected ECC errors")
        if gpu.remap_failure:
            problems.append(f"{where}: row remapping failed (replace the GPU)")
        if gpu.remap_pending:
            problems.append(f"{where}: row remap pending (reset the GPU)")
    evidence = {"gpus": len(gpus), "problems": problems}
    if problems:
        return fail(NAME, "; ".join(problems[:3]), **evidence)
    reported = sum(1 for g in gpus if g.uncorrected_volatile is not None)
    return ok(
        NAME, f"no uncorrected ECC error or remap problem ({reported} GPUs report ECC)", **evidence
    )
