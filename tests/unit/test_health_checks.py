"""Each check against recorded (or vendor-format) output and fake /dev, /sys, /proc trees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from aihpc.health.checks import daemons, gpu, gpu_driver, gpu_ecc, gpu_xid, ib, memory, mounts
from aihpc.health.expect import Expectations, GpuExpect, MountExpect
from aihpc.health.model import Status
from aihpc.slurm.run import Completed
from tests.unit.health_fakes import FIXTURES, Commands, context, fixture

H100 = Expectations(gpus=GpuExpect("nvidia", 4, "h100"))
NVIDIA_FIXTURES = FIXTURES / "nvidia_gpu"


def smi(stdout: str, rc: int = 0) -> Commands:
    return Commands({"nvidia-smi": Completed(rc, stdout, "")})


def fake_gpus(dev: Path, indices: range | list[int], major: int = 195) -> None:
    dev.mkdir(parents=True, exist_ok=True)
    for i in indices:
        os.mknod(dev / f"nvidia{i}", 0o666 | 0o020000, os.makedev(major, i))


def _can_mknod(tmp: Path) -> bool:
    try:
        os.mknod(tmp / "probe", 0o600 | 0o020000, os.makedev(195, 0))
    except PermissionError:
        return False
    (tmp / "probe").unlink()
    return True


@pytest.fixture
def dev_root(tmp_path: Path) -> Path:
    if not _can_mknod(tmp_path):
        pytest.skip("creating character devices needs CAP_MKNOD (root)")
    return tmp_path


# -- gpu_count ------------------------------------------------------------
def test_device_files_all_present(dev_root: Path) -> None:
    fake_gpus(dev_root / "dev", range(4))
    result = gpu.check(context(H100, dev_root))
    assert result is not None and result.status is Status.OK
    assert result.evidence["device_files"] == 4


def test_missing_device_file_fails_naming_count_and_file(dev_root: Path) -> None:
    fake_gpus(dev_root / "dev", [0, 1, 2])
    result = gpu.check(context(H100, dev_root))
    assert result is not None and result.status is Status.FAIL
    assert result.summary == "3 of 4 GPU device files (/dev/nvidia3 missing)"


def test_regular_files_and_other_majors_are_not_gpus(dev_root: Path) -> None:
    dev = dev_root / "dev"
    fake_gpus(dev, [0, 1])
    fake_gpus(dev, [2], major=1)  # a char device, but not NVIDIA's
    (dev / "nvidia3").write_text("")
    os.mknod(dev / "nvidiactl", 0o666 | 0o020000, os.makedev(195, 255))
    result = gpu.check(context(H100, dev_root))
    assert result is not None and result.status is Status.FAIL
    assert result.evidence["device_files"] == 2


def test_nvidia_smi_healthy_checks_type_too(dev_root: Path) -> None:
    fake_gpus(dev_root / "dev", range(4))
    result = gpu.check(context(H100, dev_root, smi(fixture("nvidia-smi-h100-4x.csv"))))
    assert result is not None and result.status is Status.OK, result
    assert result.evidence["models"] == ["NVIDIA H100 80GB HBM3"]
    wrong = Expectations(gpus=GpuExpect("nvidia", 4, "a100"))
    result = gpu.check(context(wrong, dev_root, smi(fixture("nvidia-smi-h100-4x.csv"))))
    assert result is not None and result.status is Status.FAIL
    assert "GPU type NVIDIA H100 80GB HBM3 is not 'a100'" in result.summary


def test_driver_lists_fewer_gpus_than_device_files(dev_root: Path) -> None:
    fake_gpus(dev_root / "dev", range(4))
    l40s = Expectations(gpus=GpuExpect("nvidia", 4, "l40s"))
    result = gpu.check(context(l40s, dev_root, smi(fixture("nvidia-smi-l40s-3x-noremap.csv"))))
    assert result is not None and result.status is Status.FAIL
    assert result.summary == "3 of 4 GPUs listed by the driver"


@pytest.mark.parametrize(
    ("name", "rc", "status", "text"),
    [
        ("mismatch.txt", 18, Status.UNKNOWN, "driver/library mismatch"),
        ("no-driver.txt", 9, Status.FAIL, "NVIDIA driver not loaded, 4 GPU(s) expected"),
        ("no-devices.txt", 6, Status.FAIL, "0 of 4 GPUs: the driver sees no GPU"),
    ],
)
def test_recorded_nvidia_smi_failures(
    dev_root: Path, name: str, rc: int, status: Status, text: str
) -> None:
    fake_gpus(dev_root / "dev", range(4))
    out = (NVIDIA_FIXTURES / name).read_text()
    result = gpu.check(context(H100, dev_root, smi(out, rc)))
    assert result is not None and result.status is status and text in result.summary


def test_unreadable_nvidia_smi_is_unknown_not_a_drain(dev_root: Path) -> None:
    fake_gpus(dev_root / "dev", range(4))
    ctx = context(H100, dev_root, smi("Segmentation fault\n", 139))
    assert gpu.check(ctx).status is Status.UNKNOWN  # type: ignore[union-attr]
    ctx = context(H100, dev_root, smi("0, H100, garbage\n"))
    assert gpu.check(ctx).status is Status.UNKNOWN  # type: ignore[union-attr]


def test_tool_unknown_but_device_file_missing_still_fails(dev_root: Path) -> None:
    fake_gpus(dev_root / "dev", range(3))
    result = gpu.check(context(H100, dev_root, smi("Segmentation fault\n", 139)))
    assert result is not None and result.status is Status.FAIL


def test_amd_recorded_rocm_smi(tmp_path: Path) -> None:
    mi300 = Expectations(gpus=GpuExpect("amd", 8, "mi300x"))
    out = (FIXTURES / "amd_gpu" / "mi300x-8x.json").read_text()
    commands = Commands({"rocm-smi": Completed(0, out, "")})
    result = gpu.check(context(mi300, tmp_path, commands))
    # No /dev/dri render nodes in the tree: the device count fails even though rocm-smi agrees.
    assert result is not None and result.status is Status.FAIL
    assert result.summary == "0 of 8 GPU render nodes in /dev/dri"
    assert result.evidence["tool_count"] == 8
    stderr = (FIXTURES / "amd_gpu" / "no-driver.stderr").read_text()
    commands = Commands({"rocm-smi": Completed(0, "", stderr)})
    result = gpu.check(context(mi300, tmp_path, commands))
    assert result is not None and "amdgpu driver not loaded" in result.summary


def test_no_gpu_expected_means_no_gpu_checks(tmp_path: Path) -> None:
    ctx = context(Expectations(), tmp_path)
    for check in (gpu.check, gpu_driver.check, gpu_xid.check, gpu_ecc.check):
        assert check(ctx) is None


# -- gpu_driver -----------------------------------------------------------
def _driver_tree(root: Path, proc_fixture: str, library: str) -> None:
    proc = root / "proc/driver/nvidia"
    proc.mkdir(parents=True)
    shutil.copy(NVIDIA_FIXTURES / proc_fixture, proc / "version")
    lib = root / "usr/lib/x86_64-linux-gnu"
    lib.mkdir(parents=True)
    (lib / f"libnvidia-ml.so.{library}").write_text("")
    (lib / "libnvidia-ml.so.1").write_text("")


def test_driver_versions_agree(tmp_path: Path) -> None:
    _driver_tree(tmp_path, "proc-version-570-open.txt", "570.133.20")
    result = gpu_driver.check(context(H100, tmp_path))
    assert result is not None and result.status is Status.OK
    assert result.evidence == {"kernel_module": "570.133.20", "nvml_library": "570.133.20"}


def test_driver_upgraded_without_reboot_fails(tmp_path: Path) -> None:
    _driver_tree(tmp_path, "proc-version-565-proprietary.txt", "570.133.20")
    commands = smi((NVIDIA_FIXTURES / "mismatch.txt").read_text(), 18)
    result = gpu_driver.check(context(H100, tmp_path, commands))
    assert result is not None and result.status is Status.FAIL
    assert result.summary.startswith("driver/library mismatch: kernel module 565.")
    assert "NVML 570.133.20 installed" in result.summary


def test_mismatch_seen_by_nvidia_smi_alone(tmp_path: Path) -> None:
    commands = smi((NVIDIA_FIXTURES / "mismatch.txt").read_text(), 18)
    result = gpu_driver.check(context(H100, tmp_path, commands))
    assert result is not None and result.status is Status.FAIL
    assert "NVML 570.133 installed" in result.summary


def test_no_driver_files_is_unknown(tmp_path: Path) -> None:
    result = gpu_driver.check(context(H100, tmp_path))
    assert result is not None and result.status is Status.UNKNOWN


# -- gpu_xid --------------------------------------------------------------
def _xid_ctx(root: Path, dmesg: str, boot: str = "boot-a") -> object:
    boot_file = root / "proc/sys/kernel/random/boot_id"
    boot_file.parent.mkdir(parents=True, exist_ok=True)
    boot_file.write_text(boot + "\n")
    return context(H100, root, Commands({"dmesg": Completed(0, fixture(dmesg), "")}))


def test_critical_xid_fails_and_stays_until_acknowledged(tmp_path: Path) -> None:
    first = gpu_xid.check(_xid_ctx(tmp_path, "dmesg-xid.txt"))  # type: ignore[arg-type]
    assert first is not None and first.status is Status.FAIL
    assert first.summary == "critical Xid 79 on 0000:3a:00"
    assert first.evidence["noncritical"] == [13]
    # The next run sees no new line but the GPU is still gone: still failing.
    again = gpu_xid.check(_xid_ctx(tmp_path, "dmesg-xid.txt"))  # type: ignore[arg-type]
    assert again is not None and again.status is Status.FAIL and again.evidence["new_xids"] == []
    assert gpu_xid.acknowledge(tmp_path / "state") == 1
    later = gpu_xid.check(_xid_ctx(tmp_path, "dmesg-later.txt"))  # type: ignore[arg-type]
    # Only the line after the remembered position counts: the 79 is not seen twice.
    assert later is not None and later.status is Status.OK
    assert later.evidence["new_xids"] == [31]


def test_reboot_starts_over(tmp_path: Path) -> None:
    gpu_xid.check(_xid_ctx(tmp_path, "dmesg-xid.txt"))  # type: ignore[arg-type]
    clean = "[    4.8] nvidia: module license 'NVIDIA' taints kernel.\n"
    (tmp_path / "clean.txt").write_text(clean)
    boot_file = tmp_path / "proc/sys/kernel/random/boot_id"
    boot_file.write_text("boot-b\n")
    ctx = context(H100, tmp_path, Commands({"dmesg": Completed(0, clean, "")}))
    result = gpu_xid.check(ctx)
    assert result is not None and result.status is Status.OK


def test_restricted_dmesg_is_unknown(tmp_path: Path) -> None:
    denied = Completed(1, "", "dmesg: read kernel buffer failed: Operation not permitted\n")
    result = gpu_xid.check(context(H100, tmp_path, Commands({"dmesg": denied})))
    assert result is not None and result.status is Status.UNKNOWN
    assert "Operation not permitted" in result.summary


# -- gpu_ecc --------------------------------------------------------------
def test_ecc_healthy_and_failing(tmp_path: Path) -> None:
    good = gpu_ecc.check(context(H100, tmp_path, smi(fixture("nvidia-smi-h100-4x.csv"))))
    assert good is not None and good.status is Status.OK
    bad = gpu_ecc.check(context(H100, tmp_path, smi(fixture("nvidia-smi-h100-4x-ecc.csv"))))
    assert bad is not None and bad.status is Status.FAIL
    assert bad.evidence["problems"] == [
        "GPU 1 (00000000:2A:00.0): 2 uncorrected ECC errors",
        "GPU 2 (00000000:3A:00.0): row remap pending (reset the GPU)",
        "GPU 3 (00000000:5D:00.0): row remapping failed (replace the GPU)",
    ]


def test_ecc_not_reported_is_not_judged(tmp_path: Path) -> None:
    out = fixture("nvidia-smi-l40s-3x-noremap.csv")
    result = gpu_ecc.check(context(H100, tmp_path, smi(out)))
    assert result is not None and result.status is Status.OK


# -- ib_ports -------------------------------------------------------------
def _ib_root(tmp_path: Path, tree: str) -> Path:
    root = tmp_path / tree
    shutil.copytree(FIXTURES / "infiniband" / tree, root, symlinks=True)
    return root


def test_eight_ndr_ports_active(tmp_path: Path) -> None:
    root = _ib_root(tmp_path, "ndr-8hca")
    result = ib.check(context(Expectations(ib_ports=8, ib_rate_gbps=400), root))
    assert result is not None and result.status is Status.OK, result


def test_port_down_fails_naming_it(tmp_path: Path) -> None:
    root = _ib_root(tmp_path, "roce-400g")
    result = ib.check(context(Expectations(ib_ports=2, ib_rate_gbps=400), root))
    assert result is not None and result.status is Status.FAIL
    assert result.summary == "1 of 2 IB ports Active at 400 Gb/s (not active mlx5_1/1)"


def test_port_trained_down_fails(tmp_path: Path) -> None:
    root = _ib_root(tmp_path, "ndr-8hca")
    rate = next((root / "sys/class/infiniband/mlx5_3/ports").iterdir()) / "rate"
    rate.write_text("200 Gb/sec (4X HDR)\n")
    result = ib.check(context(Expectations(ib_ports=8, ib_rate_gbps=400), root))
    assert result is not None and result.status is Status.FAIL
    assert "slow mlx5_3/1 200 Gb/s" in result.summary


def test_no_hca_fails(tmp_path: Path) -> None:
    result = ib.check(context(Expectations(ib_ports=1), tmp_path))
    assert result is not None and result.status is Status.FAIL and "no HCA" in result.summary


# -- mounts, memory, daemons -----------------------------------------------
def test_mounts(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir()
    want: tuple[MountExpect, ...] = (MountExpect("/scratch", min_free_gib=0.001),)
    result = mounts.check(context(Expectations(mounts=want), tmp_path))
    assert result is not None and result.status is Status.OK
    assert list((tmp_path / "scratch").iterdir()) == []  # the probe file is gone
    want = (
        MountExpect("/scratch", mount=True),
        MountExpect("/shared"),
        MountExpect("/scratch", min_free_gib=1e9),
    )
    result = mounts.check(context(Expectations(mounts=want), tmp_path))
    assert result is not None and result.status is Status.FAIL
    assert "/scratch not mounted" in result.summary and "/shared missing" in result.summary
    assert "GiB free < 1e+09 GiB" in result.summary


def _meminfo(root: Path, name: str) -> None:
    (root / "proc").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "health" / name, root / "proc" / "meminfo")


def test_memory(tmp_path: Path) -> None:
    want = Expectations(min_available_percent=5)
    _meminfo(tmp_path, "meminfo.txt")
    result = memory.check(context(want, tmp_path))
    assert result is not None and result.status is Status.OK
    _meminfo(tmp_path, "meminfo-low.txt")
    result = memory.check(context(want, tmp_path))
    assert result is not None and result.status is Status.FAIL
    assert result.summary == "4786 MiB available < 12880 MiB required"


def _procs(root: Path, names: list[str]) -> None:
    for pid, name in enumerate(names, start=100):
        (root / "proc" / str(pid)).mkdir(parents=True)
        (root / "proc" / str(pid) / "comm").write_text(name + "\n")
    (root / "proc" / "self").mkdir(exist_ok=True)


def test_daemons(tmp_path: Path) -> None:
    _procs(tmp_path, ["systemd", "munged", "slurmd"])
    munge_ok = Commands({"munge": Completed(0, "MUNGE:AwQ...:\n", "")})
    result = daemons.check(context(Expectations(), tmp_path, munge_ok))
    assert result is not None and result.status is Status.OK
    munge_bad = Commands({"munge": Completed(1, "", "munge: Error: Failed to access socket\n")})
    result = daemons.check(context(Expectations(), tmp_path, munge_bad))
    assert result is not None and result.summary == (
        "munged does not answer: munge: Error: Failed to access socket"
    )


def test_missing_daemon_fails(tmp_path: Path) -> None:
    _procs(tmp_path, ["systemd", "munged"])
    result = daemons.check(
        context(Expectations(), tmp_path, Commands({"munge": Completed(0, "", "")}))
    )
    assert result is not None and result.status is Status.FAIL
    assert result.summary == "slurmd not running"


def test_fabric_manager(tmp_path: Path) -> None:
    hgx = Expectations(fabric_manager=True)
    active = Commands({"systemctl": Completed(0, "active\n", "")})
    result = daemons.check_fabric_manager(context(hgx, tmp_path, active))
    assert result is not None and result.status is Status.OK
    failed = Commands({"systemctl": Completed(3, "failed\n", "")})
    result = daemons.check_fabric_manager(context(hgx, tmp_path, failed))
    assert result is not None and result.summary == "nvidia-fabricmanager is failed"
    assert daemons.check_fabric_manager(context(Expectations(), tmp_path)) is None
