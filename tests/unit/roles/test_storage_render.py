"""Golden files: what the storage role writes on representative example-rack
hosts (stor01, stor02, h100-01, l40s-01, login01), rendered by
playbooks/render/storage.yml on the control node.

Regenerate after an intended change with
    AIHPC_UPDATE_GOLDEN=1 pytest tests/unit/roles/test_storage_render.py
and review the diff like a storage admin would.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from aihpc.spec.profile import load_profile
from tests.unit.conftest import FIXTURES, REPO
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK, assert_matches_golden_tree, run_render

GOLDEN = REPO / "tests" / "golden" / "rendered" / "example-rack" / "storage"
HOSTS = ["stor01", "stor02", "h100-01", "l40s-01", "login01"]

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("render-storage")
    run_render(
        REPO / "playbooks" / "render" / "storage.yml",
        "example-rack",
        tmp_path_factory.mktemp("home"),
        f"render_dir={dest}",
        f"render_hosts={','.join(HOSTS)}",
    )
    return dest / "storage"


def test_rendered_matches_golden(rendered: Path) -> None:
    assert_matches_golden_tree(rendered, GOLDEN)


def test_exports_and_nfs_conf(rendered: Path) -> None:
    exports = (rendered / "stor01" / "aihpc.exports").read_text().splitlines()
    assert [line for line in exports if not line.startswith("#")] == [
        # sync and root_squash for the fabric; no_root_squash only for head01.
        "/export/shared 198.51.100.10(rw,sync,no_subtree_check,no_root_squash) "
        "198.51.100.0/24(rw,sync,root_squash,no_subtree_check)"
    ]
    conf = configparser.ConfigParser()
    conf.read_string((rendered / "stor01" / "nfs.conf").read_text())
    assert dict(conf["nfsd"]) == {"threads": "64", "rdma": "y", "rdma-port": "20049"}


def test_md_and_mkfs_commands(rendered: Path) -> None:
    stor01 = (rendered / "stor01" / "commands").read_text().splitlines()
    # /shared holds checkpoints: RAID10 over eight (four data disks per stripe).
    assert stor01[0].startswith(
        "mdadm --create /dev/md/aihpc-export --run --metadata=1.2 --level=10"
    )
    assert "--chunk=512K --raid-devices=8" in stor01[0]
    assert stor01[1] == (
        "mkfs.xfs -L aihpc-export -m reflink=1 -d su=512k,sw=4 -f /dev/md/aihpc-export"
    )
    # RAID10 over four: two data disks per stripe.
    stor02 = (rendered / "stor02" / "commands").read_text().splitlines()
    assert "--level=10" in stor02[0]
    assert "su=512k,sw=2" in stor02[1]
    # One scratch device: no md, no stripe, no -f (the device must be blank).
    l40s = (rendered / "l40s-01" / "commands").read_text().splitlines()
    assert l40s == ["mkfs.xfs -L aihpc-scr -m reflink=1 /dev/nvme1n1"]


def test_client_mounts_and_slurmd_order(rendered: Path) -> None:
    fstab = [
        line.split()
        for line in (rendered / "h100-01" / "fstab").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    nfs = {f[1]: f[3].split(",") for f in fstab if f[2] == "nfs"}
    assert set(nfs) == {"/shared", "/home"}
    for opts in nfs.values():
        assert {"vers=4.2", "proto=rdma", "port=20049", "hard"} <= set(opts)
    assert "nconnect=8" in nfs["/shared"] and "nconnect=4" in nfs["/home"]
    scratch = [f for f in fstab if f[1] == "/scratch"]
    assert scratch and scratch[0][2] == "xfs" and "noatime" in scratch[0][3]
    dropin = (rendered / "h100-01" / "slurmd-storage.conf").read_text()
    assert "RequiresMountsFor=/shared /home /scratch" in dropin.splitlines()
    # Login nodes mount the shares, have no scratch and no slurmd.
    assert not (rendered / "login01" / "slurmd-storage.conf").exists()
    assert not (rendered / "login01" / "commands").exists()


def test_profile_fragment_is_what_the_cli_loads(rendered: Path, tmp_path: Path) -> None:
    main = tmp_path / "cluster.yaml"
    main.write_text((FIXTURES / "golden-profile.yaml").read_text())
    (tmp_path / "cluster.d").mkdir()
    for host in ("h100-01", "login01"):
        (tmp_path / "cluster.d" / "40-storage.yaml").write_text(
            (rendered / host / "40-storage.yaml").read_text()
        )
        profile = load_profile(main)
        assert profile.shared_dirs["shared"] == "/shared"
        assert profile.shared_dirs["home"] == "/home"
        assert profile.shared_dirs["scratch"] == "/scratch"
    assert not (rendered / "stor01" / "40-storage.yaml").exists()


def test_gpu_nodes_get_job_container_tmpfs_on_their_nvme(rendered: Path) -> None:
    # The example rack's default: a private /tmp and /dev/shm per job under
    # the NVMe scratch, which Slurm removes at job end (slurm.conf has
    # JobContainerType=job_container/tmpfs, tests/unit/test_rendered_config.py).
    for host in ("h100-01", "l40s-01"):
        conf = dict(
            line.split("=", 1)
            for line in (rendered / host / "job_container.conf").read_text().splitlines()
            if line and not line.startswith("#")
        )
        assert conf == {
            "AutoBasePath": "true",
            "BasePath": "/scratch/job_container",
            "Dirs": "/tmp,/dev/shm",
        }
