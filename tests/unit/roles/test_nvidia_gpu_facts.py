"""roles/nvidia_gpu/library/nvidia_gpu_facts.py on recorded nvidia-smi outputs.

The module runs the way Ansible runs it (a subprocess with the arguments
file) against a fake `nvidia-smi` on PATH that prints a recorded output
(tests/fixtures/nvidia_gpu/) and exits with the code the real one uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.modload import load_source, run_module_ok
from tests.unit.conftest import FIXTURES, REPO

MODULE = REPO / "roles" / "nvidia_gpu" / "library" / "nvidia_gpu_facts.py"
DATA = FIXTURES / "nvidia_gpu"


facts = load_source("nvidia_gpu_facts", MODULE)


class Node:
    """A fake node: nvidia-smi, the proc version file and the NVML library files."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.lib = tmp / "lib"
        self.lib.mkdir()
        self.proc = tmp / "proc-version"

    def smi(self, fixture: str, rc: int = 0) -> None:
        script = self.bin / "nvidia-smi"
        script.write_text(
            "#!/bin/sh\n"
            f'[ "$*" = "{" ".join(facts.QUERY_ARGS)}" ] || {{ echo "bad args: $*" >&2; exit 2; }}\n'
            f'cat "{DATA / fixture}"\n'
            f"exit {rc}\n"
        )
        script.chmod(0o755)

    def kernel(self, fixture: str) -> None:
        self.proc.write_text((DATA / fixture).read_text())

    def library(self, version: str) -> None:
        (self.lib / f"libnvidia-ml.so.{version}").write_text("")
        (self.lib / "libnvidia-ml.so.1").write_text("")

    def run(self, **extra: Any) -> dict[str, Any]:
        module_args = {
            "proc_version_file": str(self.proc),
            "library_globs": [str(self.lib / "libnvidia-ml.so.*")],
            **extra,
        }
        return run_module_ok(MODULE, module_args, self.tmp)


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return Node(tmp_path)


def test_h100_hgx_node(node: Node) -> None:
    node.smi("h100-8x.csv")
    node.kernel("proc-version-570-open.txt")
    node.library("570.133.20")
    r = node.run()
    assert r["status"] == "ok", r
    assert r["changed"] is False
    assert r["count"] == 8
    assert r["models"] == ["NVIDIA H100 80GB HBM3"]
    assert r["driver_version"] == "570.133.20"
    assert r["kernel_module_version"] == "570.133.20"
    assert r["library_version"] == "570.133.20"
    assert r["mismatch"] is False
    assert [g["index"] for g in r["gpus"]] == list(range(8))
    assert {g["memory_total_mib"] for g in r["gpus"]} == {81559}
    assert r["gpus"][0]["pci_bus_id"] == "00000000:18:00.0"
    assert r["gpus"][7]["pci_bus_id"] == "00000000:DB:00.0"
    assert len({g["uuid"] for g in r["gpus"]}) == 8
    assert all(g["uuid"].startswith("GPU-") for g in r["gpus"])
    assert r["message"] == "8 GPU(s): NVIDIA H100 80GB HBM3; driver 570.133.20."


def test_l40s_inference_node(node: Node) -> None:
    node.smi("l40s-4x.csv")
    node.kernel("proc-version-550-debian.txt")
    node.library("550.163.01")
    r = node.run()
    assert (r["status"], r["count"], r["models"]) == ("ok", 4, ["NVIDIA L40S"])
    assert r["driver_version"] == "550.163.01"
    assert [g["memory_total_mib"] for g in r["gpus"]] == [46068] * 4


def test_a100_node(node: Node) -> None:
    node.smi("a100-8x.csv")
    r = node.run()  # no proc file, no library found: still read from nvidia-smi
    assert (r["status"], r["count"], r["models"]) == ("ok", 8, ["NVIDIA A100-SXM4-80GB"])
    assert r["driver_version"] == "535.230.02"
    assert r["kernel_module_version"] == ""
    assert r["mismatch"] is False


def test_driver_library_mismatch_after_upgrade(node: Node) -> None:
    node.smi("mismatch.txt", rc=18)
    node.kernel("proc-version-565-proprietary.txt")
    node.library("570.133.20")
    r = node.run()
    assert r["status"] == "mismatch"
    assert r["mismatch"] is True
    assert r["count"] == 0
    assert r["kernel_module_version"] == "565.57.01"
    assert r["library_version"] == "570.133.20"
    assert "kernel module 565.57.01 is running but NVML library 570.133.20" in r["message"]
    assert "reboot" in r["message"]


def test_mismatch_version_taken_from_nvidia_smi_when_no_library_found(node: Node) -> None:
    node.smi("mismatch.txt", rc=18)
    node.kernel("proc-version-565-proprietary.txt")
    r = node.run()
    assert r["status"] == "mismatch"
    assert r["library_version"] == "570.133"
    assert "kernel module 565.57.01 is running but NVML library 570.133" in r["message"]


def test_mismatch_seen_from_versions_alone(node: Node) -> None:
    # Whatever nvidia-smi says, a loaded module older than the library is a mismatch.
    node.kernel("proc-version-565-proprietary.txt")
    node.library("570.133.20")
    node.smi("no-driver.txt", rc=9)
    r = node.run()
    assert r["status"] == "mismatch"
    assert (r["kernel_module_version"], r["library_version"]) == ("565.57.01", "570.133.20")


def test_container_without_driver(node: Node) -> None:
    node.smi("no-driver.txt", rc=9)
    node.library("550.163.01")
    r = node.run()
    assert r["status"] == "no_driver"
    assert r["count"] == 0 and r["gpus"] == [] and r["models"] == []
    assert r["mismatch"] is False
    assert "kernel driver is not loaded" in r["message"]


def test_driver_loaded_but_no_gpu(node: Node) -> None:
    node.smi("no-devices.txt", rc=6)
    node.kernel("proc-version-550-debian.txt")
    node.library("550.163.01")
    r = node.run()
    assert r["status"] == "no_devices"
    assert r["count"] == 0
    assert r["message"] == "the NVIDIA driver 550.163.01 is loaded but sees no GPU."


def test_no_nvidia_smi(node: Node) -> None:
    r = node.run()
    assert r["status"] == "no_nvidia_smi"
    assert r["count"] == 0


def test_unknown_failure_is_reported_not_raised() -> None:
    r = facts.classify(
        255, "", "Unable to determine the device handle for GPU 3: Unknown Error", "", ""
    )
    assert r["status"] == "error"
    assert r["message"] == (
        "nvidia-smi failed (rc=255): Unable to determine the device handle for GPU 3: Unknown Error"
    )


def test_garbled_output_is_an_error() -> None:
    r = facts.classify(0, "0, NVIDIA H100 80GB HBM3\n", "", "", "")
    assert r["status"] == "error"
    assert "unexpected nvidia-smi line" in r["message"]


@pytest.mark.parametrize(
    ("fixture", "version"),
    [
        ("proc-version-570-open.txt", "570.133.20"),
        ("proc-version-565-proprietary.txt", "565.57.01"),
        ("proc-version-550-debian.txt", "550.163.01"),
    ],
)
def test_kernel_module_version(fixture: str, version: str) -> None:
    assert facts.kernel_module_version((DATA / fixture).read_text()) == version


def test_library_version_takes_the_highest_versioned_file() -> None:
    paths = [
        "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
        "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.163.01",
        "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.570.133.20",
        "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so",
    ]
    assert facts.library_version(paths) == "570.133.20"
    assert facts.library_version(paths[:1]) == ""


def _check(node: Node, expected_count: int, expected_type: str) -> dict[str, Any]:
    return node.run(expected_count=expected_count, expected_type=expected_type)


@pytest.mark.parametrize(
    ("fixture", "count", "gpu_type"),
    [("h100-8x.csv", 8, "h100"), ("l40s-4x.csv", 4, "l40s"), ("a100-8x.csv", 8, "a100")],
)
def test_inventory_that_tells_the_truth(
    node: Node, fixture: str, count: int, gpu_type: str
) -> None:
    node.smi(fixture)
    r = _check(node, count, gpu_type)
    assert r["inventory_checked"] is True
    assert r["inventory_problems"] == []


def test_inventory_with_the_wrong_count(node: Node) -> None:
    node.smi("h100-8x.csv")
    r = _check(node, 4, "h100")
    assert r["inventory_problems"] == ["slurm_node_gpus.count is 4 but the node has 8 GPU(s)"]


def test_inventory_with_the_wrong_model(node: Node) -> None:
    # An L40S box listed in the H100 group.
    node.smi("l40s-4x.csv")
    r = _check(node, 8, "h100")
    assert r["inventory_problems"] == [
        "slurm_node_gpus.count is 8 but the node has 4 GPU(s)",
        "slurm_node_gpus.type is 'h100' but the node has NVIDIA L40S (Slurm matches the type "
        "as a substring of the model, lower case, spaces as _)",
    ]


def test_type_matching_is_slurms() -> None:
    assert facts.slurm_type_matches("NVIDIA H100 80GB HBM3", "h100_80gb")
    assert facts.slurm_type_matches("NVIDIA A100-SXM4-80GB", "A100")
    assert not facts.slurm_type_matches("NVIDIA H100 80GB HBM3", "h100-80gb")
    assert facts.slurm_type_matches("NVIDIA L40S", "l40")  # a substring, as in Slurm


def test_inventory_not_checked_without_gpus_or_expectation(node: Node) -> None:
    node.smi("no-driver.txt", rc=9)
    r = _check(node, 8, "h100")
    assert (r["inventory_checked"], r["inventory_problems"]) == (False, [])
    node.smi("h100-8x.csv")
    r = _check(node, 0, "")
    assert (r["inventory_checked"], r["inventory_problems"]) == (False, [])
