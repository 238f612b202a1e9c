"""roles/amd_gpu/library/amd_gpu_facts.py on recorded rocm-smi outputs.

The module runs as Ansible runs it, against a fake `rocm-smi` on PATH that
prints a recorded output (tests/fixtures/amd_gpu/) the way the real one does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.modload import load_source, run_module_ok
from tests.unit.conftest import FIXTURES, REPO

MODULE = REPO / "roles" / "amd_gpu" / "library" / "amd_gpu_facts.py"
DATA = FIXTURES / "amd_gpu"


facts = load_source("amd_gpu_facts", MODULE)


def _run(tmp: Path, stdout: str = "", stderr: str = "", rc: int = 0) -> dict[str, Any]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    script = bin_dir / "rocm-smi"
    lines = [
        "#!/bin/sh",
        f'[ "$*" = "{" ".join(facts.QUERY_ARGS)}" ] || {{ echo "bad args: $*" >&2; exit 2; }}',
    ]
    if stdout:
        lines.append(f'cat "{DATA / stdout}"')
    if stderr:
        lines.append(f'cat "{DATA / stderr}" >&2')
    lines.append(f"exit {rc}")
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return run_module_ok(MODULE, {}, tmp)


def test_mi300x_node(tmp_path: Path) -> None:
    r = _run(tmp_path, stdout="mi300x-8x.json")
    assert r["status"] == "ok", r
    assert r["changed"] is False
    assert r["count"] == 8
    assert r["models"] == ["AMD Instinct MI300X"]
    assert r["gfx_versions"] == ["gfx942"]
    assert r["driver_version"] == "6.8.5"
    assert [g["card"] for g in r["gpus"]] == list(range(8))
    assert [g["node_id"] for g in r["gpus"]] == [str(n) for n in range(2, 10)]
    assert {g["model"] for g in r["gpus"]} == {"0x74a1"}
    assert {g["sku"] for g in r["gpus"]} == {"M3000100"}
    assert len({g["guid"] for g in r["gpus"]}) == 8
    assert r["message"] == "8 GPU(s): AMD Instinct MI300X; driver 6.8.5."


def test_rocm5_key_spelling(tmp_path: Path) -> None:
    r = _run(tmp_path, stdout="mi250x-rocm5.json")
    assert (r["status"], r["count"], r["models"]) == ("ok", 2, ["AMD Instinct MI250X"])
    assert r["gpus"][0]["model"] == "0x0b0c"
    assert r["gfx_versions"] == ["gfx90a"]


def test_no_driver_exits_zero_with_stderr_only(tmp_path: Path) -> None:
    r = _run(tmp_path, stderr="no-driver.stderr", rc=0)
    assert r["status"] == "no_driver"
    assert r["count"] == 0 and r["gpus"] == []
    assert "amdgpu kernel driver is not loaded" in r["message"]


def test_no_rocm_smi(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    r = run_module_ok(MODULE, {}, tmp_path)
    assert (r["status"], r["count"]) == ("no_rocm_smi", 0)


def test_driver_but_no_gpu() -> None:
    r = facts.classify(0, '{"system": {"Driver version": "6.12.38+deb13-amd64"}}\n', "")
    assert r["status"] == "no_devices"
    assert r["driver_version"] == "6.12.38+deb13-amd64"


def test_empty_output_is_no_devices() -> None:
    r = facts.classify(0, "", "WARNING:root:No JSON data to report\n")
    assert r["status"] == "no_devices"


@pytest.mark.parametrize(
    ("rc", "stdout", "message"),
    [
        (0, "GPU[0] : Card Series: AMD Instinct MI300X", "not JSON"),
        (0, "[1, 2]", "rocm-smi JSON is not an object"),
        (1, "", "rocm-smi failed (rc=1): boom"),
    ],
)
def test_failures_are_reported_not_raised(rc: int, stdout: str, message: str) -> None:
    r = facts.classify(rc, stdout, "boom\n" if rc else "")
    assert r["status"] == "error"
    assert message in r["message"]


@pytest.mark.parametrize(
    ("count", "gpu_type", "problems"),
    [
        (8, "mi300x", []),
        (0, "h100", []),  # nothing promised, nothing checked
        (4, "mi300x", ["slurm_node_gpus.count is 4, rocm-smi lists 8 GPU(s)"]),
        (
            8,
            "mi250x",
            ["slurm_node_gpus.type 'mi250x' is not part of the model name AMD Instinct MI300X"],
        ),
    ],
)
def test_inventory_check(count: int, gpu_type: str, problems: list[str]) -> None:
    result = facts.classify(0, (DATA / "mi300x-8x.json").read_text(), "")
    assert facts.check_inventory(result, count, gpu_type) == problems


def test_inventory_not_checked_without_driver(tmp_path: Path) -> None:
    _run(tmp_path, stderr="no-driver.stderr")
    r = run_module_ok(MODULE, {"expected_count": 8, "expected_type": "mi300x"}, tmp_path)
    assert (r["status"], r["inventory_problems"]) == ("no_driver", [])
