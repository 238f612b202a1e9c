"""nvidia-smi's CSV query and its failure texts.

The same format knowledge as roles/nvidia_gpu/library/nvidia_gpu_facts.py
(an Ansible module cannot import this package on a node that does not have
it yet, so the few lines are shared by copy; tests/fixtures/nvidia_gpu holds
the recorded outputs both test against). One query asks for everything the
GPU checks need, and the Context runs it once per run.
"""

from __future__ import annotations

from dataclasses import dataclass

# nvidia-smi --help-query-gpu names. ECC and row-remap fields print "[N/A]" on
# GPUs without ECC or without row remapping (pre-Ampere).
FIELDS = (
    "index",
    "name",
    "uuid",
    "driver_version",
    "pci.bus_id",
    "ecc.errors.uncorrected.volatile.total",
    "remapped_rows.pending",
    "remapped_rows.failure",
)
QUERY = ["nvidia-smi", f"--query-gpu={','.join(FIELDS)}", "--format=csv,noheader,nounits"]

MISMATCH_TEXT = "Driver/library version mismatch"
NO_DRIVER_TEXTS = (
    "couldn't communicate with the NVIDIA driver",
    "NVIDIA driver is not loaded",
    "Driver Not Loaded",
)
NO_DEVICES_TEXT = "No devices were found"


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    uuid: str
    driver_version: str
    pci_bus_id: str
    uncorrected_volatile: int | None
    remap_pending: bool | None
    remap_failure: bool | None


def _count(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _flag(text: str) -> bool | None:
    # Shown as Yes/No by the query interface; some drivers print 0/1.
    value = text.strip().lower()
    if value in ("yes", "1"):
        return True
    if value in ("no", "0"):
        return False
    return None


def parse(stdout: str) -> list[Gpu]:
    """The query's rows; ValueError on a line that is not one."""
    gpus = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(FIELDS) or not cells[0].isdigit():
            raise ValueError(f"unexpected nvidia-smi line: {line.strip()!r}")
        gpus.append(
            Gpu(
                index=int(cells[0]),
                name=cells[1],
                uuid=cells[2],
                driver_version=cells[3],
                pci_bus_id=cells[4],
                uncorrected_volatile=_count(cells[5]),
                remap_pending=_flag(cells[6]),
                remap_failure=_flag(cells[7]),
            )
        )
    return gpus


def failure_kind(returncode: int, stdout: str, stderr: str) -> str:
    """'' when the run succeeded, else mismatch / no_driver / no_devices / error."""
    text = f"{stdout}\n{stderr}"
    if MISMATCH_TEXT in text:
        return "mismatch"
    if NO_DEVICES_TEXT in text:
        return "no_devices"
    if returncode != 0 and any(t in text for t in NO_DRIVER_TEXTS):
        return "no_driver"
    return "error" if returncode != 0 else ""


def first_line(stdout: str, stderr: str) -> str:
    return (stderr.strip() or stdout.strip() or "no output").splitlines()[0]


def slurm_type_matches(model: str, gpu_type: str) -> bool:
    """Slurm's test: the gres type is a substring of the model, lower case, spaces as _."""
    return gpu_type.lower() in model.lower().replace(" ", "_")
