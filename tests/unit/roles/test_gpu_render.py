"""Golden files: what the GPU roles write on one host per GPU node group of
example-rack (h100-01, l40s-01, mi300x-01), rendered by playbooks/render/gpu.yml
on the control node: the nouveau blacklist, the nvidia-persistenced drop-in,
the package set, and the gres.conf line the slurm role writes for the group.

Regenerate after an intended change with
    AIHPC_UPDATE_GOLDEN=1 pytest tests/unit/roles/test_gpu_render.py
and review the diff like a GPU cluster admin would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.conftest import REPO
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK, assert_matches_golden_tree, run_render

GOLDEN = REPO / "tests" / "golden" / "rendered" / "example-rack" / "gpu"

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("render-gpu")
    run_render(
        REPO / "playbooks" / "render" / "gpu.yml",
        "example-rack",
        tmp_path_factory.mktemp("home"),
        f"render_dir={dest}",
    )
    return dest / "gpu"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_rendered_matches_golden(rendered: Path) -> None:
    assert_matches_golden_tree(rendered, GOLDEN)


def test_one_host_per_gpu_group(rendered: Path) -> None:
    assert sorted(p.name for p in rendered.iterdir()) == ["h100-01", "l40s-01", "mi300x-01"]
    # NVIDIA files only on NVIDIA nodes.
    assert not (rendered / "mi300x-01" / "modprobe.d").exists()


def test_gres_lines_are_the_slurm_roles(rendered: Path) -> None:
    assert _lines(rendered / "h100-01" / "gres.conf") == ["NodeName=h100-[01-16] AutoDetect=nvml"]
    assert _lines(rendered / "l40s-01" / "gres.conf") == [
        "NodeName=l40s-[01-04] AutoDetect=off Name=gpu Type=l40s File=/dev/nvidia[0-3]"
    ]
    assert _lines(rendered / "mi300x-01" / "gres.conf") == [
        "NodeName=mi300x-[01-08] AutoDetect=rsmi"
    ]
    # The same lines as in the cluster's gres.conf (tests/unit/test_rendered_config.py).
    cluster = _lines(REPO / "tests" / "golden" / "rendered" / "example-rack" / "gres.conf")
    for host in ("h100-01", "l40s-01", "mi300x-01"):
        assert set(_lines(rendered / host / "gres.conf")) <= set(cluster)


def test_package_sets(rendered: Path) -> None:
    h100 = set(_lines(rendered / "h100-01" / "packages.txt"))
    l40s = set(_lines(rendered / "l40s-01" / "packages.txt"))
    mi300x = set(_lines(rendered / "mi300x-01" / "packages.txt"))
    common = {"nvidia-open-kernel-dkms", "firmware-nvidia-gsp", "linux-headers-amd64"}
    common |= {"nvidia-smi", "libnvidia-ml1", "libcuda1", "nvidia-persistenced", "libnccl2"}
    assert common <= h100 and common <= l40s
    # HGX: the fabric manager (pinned to the driver's version by apt
    # preferences, test_hgx_pins), DCGM, the NVML plugin.
    assert h100 - l40s == {
        "nvidia-fabricmanager-550",
        "datacenter-gpu-manager-4-cuda12",
        "slurm-wlm-nvml-plugin",
    }
    assert l40s <= h100
    assert "nvidia-driver" not in h100  # headless: no X server
    assert mi300x == {
        "firmware-amd-graphics",
        "kmod",
        "libamdhip64-5",
        "rocm-smi",
        "rocminfo",
        "slurm-wlm-rsmi-plugin",
    }


def test_blacklist_and_persistenced(rendered: Path) -> None:
    blacklist = rendered / "h100-01" / "modprobe.d" / "aihpc-blacklist-nouveau.conf"
    assert _lines(blacklist) == ["blacklist nouveau", "options nouveau modeset=0"]
    dropin = _lines(rendered / "h100-01" / "nvidia-persistenced.service.d" / "aihpc.conf")
    assert dropin == [
        "[Unit]",
        "Before=slurmd.service",
        "[Service]",
        "ExecStart=",
        "ExecStart=/usr/bin/nvidia-persistenced --user nvpd --persistence-mode",
    ]


def _records(path: Path) -> list[dict[str, str]]:
    """apt_preferences(5) records: blank-line separated Key: value stanzas."""
    records = []
    for stanza in path.read_text().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if line and line[0] != "#"
        )
        if fields:
            records.append(fields)
    return records


def test_hgx_pins_one_origin_one_version(rendered: Path) -> None:
    records = _records(rendered / "h100-01" / "aihpc-nvidia.pref")
    assert records == [
        # Exact names first: they win over the driver's globs.
        {
            "Package": "nvidia-fabricmanager-550 libnvidia-nscq-550",
            "Pin": "version 550.163.01-*",
            "Pin-Priority": "1001",
        },
        {
            "Package": "datacenter-gpu-manager-4-cuda12 datacenter-gpu-manager-4-core",
            "Pin": "version 1:4.2.3-1",
            "Pin-Priority": "1001",
        },
        {
            "Package": "nvidia-* libnvidia-* libcuda* libnvcuvid* libnvoptix* "
            "firmware-nvidia-* xserver-xorg-video-nvidia*",
            "Pin": "version 550.163.01-2",
            "Pin-Priority": "1001",
        },
        {
            "Package": "nvidia-* libnvidia-* libcuda* libnvcuvid* libnvoptix* "
            "firmware-nvidia-* xserver-xorg-video-nvidia*",
            "Pin": 'origin "developer.download.nvidia.com"',
            "Pin-Priority": "-1",
        },
    ]
    # The fabric manager's version is the driver's upstream version.
    assert records[0]["Pin"].split()[1].rstrip("*") == records[2]["Pin"].split()[1][:-1]


def test_slurmd_waits_for_the_fabric_manager_on_hgx_only(rendered: Path) -> None:
    dropin = (rendered / "h100-01" / "40-nvidia-fabricmanager.conf").read_text()
    units = dict(
        line.split("=", 1) for line in dropin.splitlines() if "=" in line and line[0] != "#"
    )
    assert units["After"].split() == ["nvidia-fabricmanager.service", "nvidia-persistenced.service"]
    assert units["Wants"] == "nvidia-fabricmanager.service"
    assert not (rendered / "l40s-01" / "40-nvidia-fabricmanager.conf").exists()
    # PCIe without NVIDIA's repository: nothing to pin against before install.
    assert _records(rendered / "l40s-01" / "aihpc-nvidia.pref") == []
