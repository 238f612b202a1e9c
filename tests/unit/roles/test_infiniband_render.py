"""Golden files: the infiniband role's files for representative example-rack
hosts (an H100, an MI300X, an L40S node and a storage server), rendered by
playbooks/render/infiniband.yml on the control node.

Regenerate after an intended change with
    AIHPC_UPDATE_GOLDEN=1 pytest tests/unit/roles/test_infiniband_render.py
and review the diff like an admin reading /etc/nccl.conf.
"""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

import pytest
import yaml

from aihpc.spec.profile import fragment_dir, load_profile
from tests.unit.conftest import FIXTURES, REPO
from tests.unit.test_rendered_config import (
    ANSIBLE_PLAYBOOK,
    assert_matches_golden_tree,
    run_render,
)

GOLDEN = REPO / "tests" / "golden" / "rendered" / "example-rack" / "infiniband"
HOSTS = ["h100-01", "mi300x-01", "l40s-01", "stor01"]
NDR = "=" + ",".join(f"mlx5_{n}" for n in range(8))


pytestmark = pytest.mark.skipif(
    ANSIBLE_PLAYBOOK is None,
    reason="ansible-playbook not found (pip install -e '.[dev]' or put the venv on PATH)",
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("render-infiniband")
    run_render(
        REPO / "playbooks" / "render" / "infiniband.yml",
        "example-rack",
        tmp_path_factory.mktemp("home"),
        f"render_dir={dest}",
        "infiniband_render_hosts=" + ",".join(HOSTS),
    )
    return dest / "infiniband"


def test_rendered_matches_golden(rendered: Path) -> None:
    assert_matches_golden_tree(rendered, GOLDEN)


def _nccl(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)


def test_nccl_conf_per_node_kind(rendered: Path) -> None:
    assert _nccl(rendered / "h100-01" / "nccl.conf") == {
        "NCCL_IB_HCA": NDR,
        "NCCL_SOCKET_IFNAME": "=ib0",
    }
    assert _nccl(rendered / "mi300x-01" / "nccl.conf")["NCCL_IB_HCA"] == NDR
    # One HCA on the inference nodes, two on the storage servers.
    assert _nccl(rendered / "l40s-01" / "nccl.conf")["NCCL_IB_HCA"] == "=mlx5_0"
    assert _nccl(rendered / "stor01" / "nccl.conf")["NCCL_IB_HCA"] == "=mlx5_0,mlx5_1"
    # InfiniBand: no GID index.
    assert all("NCCL_IB_GID_INDEX" not in _nccl(rendered / h / "nccl.conf") for h in HOSTS)


def test_no_peermem_with_the_distributions_rdma_stack(rendered: Path) -> None:
    # The example rack runs inbox RDMA (infiniband_ofed_source: distro):
    # nvidia-peermem cannot load there (no peer-memory symbols) and NCCL does
    # GPUDirect RDMA through DMA-BUF, so no host gets a modules-load.d entry
    # that would fail at every boot.
    for host in HOSTS:
        assert not (rendered / host / "aihpc-infiniband.modules.conf").exists(), host


@pytest.fixture(scope="module")
def rendered_doca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("render-infiniband-doca")
    run_render(
        REPO / "playbooks" / "render" / "infiniband.yml",
        "example-rack",
        tmp_path_factory.mktemp("home"),
        f"render_dir={dest}",
        "infiniband_render_hosts=" + ",".join(HOSTS),
        "infiniband_ofed_source=doca",
        "infiniband_doca_repo=https://mirror.example.org/doca/",
    )
    return dest / "infiniband"


def test_peermem_with_doca_only_on_nvidia_nodes(rendered_doca: Path) -> None:
    for host in ("h100-01", "l40s-01"):
        modules = (rendered_doca / host / "aihpc-infiniband.modules.conf").read_text()
        assert [m for m in modules.splitlines() if m and m[0] != "#"] == ["nvidia-peermem"]
    assert not (rendered_doca / "mi300x-01" / "aihpc-infiniband.modules.conf").exists()
    assert not (rendered_doca / "stor01" / "aihpc-infiniband.modules.conf").exists()


def test_the_gpu_layer_runs_before_the_fabric_layer() -> None:
    # nvidia-peermem ships with the NVIDIA driver: the GPU play must come first.
    site = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())
    order = [step["ansible.builtin.import_playbook"] for step in site]
    assert order.index("gpu.yml") < order.index("infiniband.yml") < order.index("storage.yml")
    assert order.index("storage.yml") < order.index("slurm.yml")


def test_opensm_only_on_the_standby_sm_hosts(rendered: Path) -> None:
    assert [h for h in HOSTS if (rendered / h / "opensm.conf").exists()] == ["stor01"]
    conf = (rendered / "stor01" / "opensm.conf").read_text().splitlines()
    options = dict(line.split(" ", 1) for line in conf if line and line[0] != "#")
    assert options["sm_priority"] == "10"
    ports = (rendered / "stor01" / "opensm.default").read_text().splitlines()
    assert 'PORTS="ALL"' in ports


def test_networkd_files_are_what_networkd_reads(rendered: Path) -> None:
    for host, address in [("h100-01", "101"), ("stor01", "21")]:
        parser = configparser.ConfigParser(strict=True)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string((rendered / host / "50-aihpc-ib0.network").read_text())
        assert parser["Match"]["Name"] == "ib0"
        assert parser["Link"]["MTUBytes"] == "4092"
        assert parser["IPoIB"]["Mode"] == "datagram"
        assert parser["Network"]["Address"] == f"198.51.100.{address}/24"


def test_profile_fragments_load_with_the_cli(rendered: Path, tmp_path: Path) -> None:
    for host in HOSTS:
        profile = tmp_path / host / "cluster.yaml"
        profile.parent.mkdir()
        shutil.copy(FIXTURES / "golden-profile.yaml", profile)
        fragments = fragment_dir(profile)
        fragments.mkdir()
        shutil.copy(rendered / host / "50-fabric.yaml", fragments / "50-fabric.yaml")
        merged = load_profile(profile)
        fragment = yaml.safe_load((rendered / host / "50-fabric.yaml").read_text())
        assert fragment["schema"] == 1
        for key, value in fragment["network"]["env"].items():
            assert merged.network.env[key] == value
        assert merged.network.env["GLOO_SOCKET_IFNAME"] == "ib0"
        assert merged.network.env["NCCL_SOCKET_IFNAME"] == "=ib0"
        # What the fragment does not set stays as the main file says.
        assert merged.network.env["NCCL_DEBUG"] == "WARN"
    h100 = load_profile(tmp_path / "h100-01" / "cluster.yaml")
    assert h100.network.env["NCCL_IB_HCA"] == NDR
