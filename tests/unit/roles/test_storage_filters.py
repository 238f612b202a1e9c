"""roles/storage/filter_plugins/storage_filters.py: device entries, NFS options, profile dirs."""

from __future__ import annotations

import pytest

from tests.modload import load_source
from tests.unit.conftest import REPO

PLUGIN = REPO / "roles" / "storage" / "filter_plugins" / "storage_filters.py"


sf = load_source("storage_filters", PLUGIN)
BASE = ["rw", "hard", "noatime", "_netdev"]


def test_device_entries() -> None:
    entries = ["/dev/nvme1n1", {"path": "/dev/nvme2n1", "force_format": True}, {"path": "/dev/x"}]
    assert [sf.storage_device_path(e) for e in entries] == [
        "/dev/nvme1n1",
        "/dev/nvme2n1",
        "/dev/x",
    ]
    assert sf.storage_forced_devices(entries) == ["/dev/nvme2n1"]
    # Only a real true counts: a string "yes" or a global flag is not a per-device force.
    assert sf.storage_forced_devices([{"path": "/dev/a", "force_format": "yes"}]) == []
    with pytest.raises(ValueError, match="without path"):
        sf.storage_device_path({"force_format": True})


def test_nfs_options_tcp_and_rdma() -> None:
    mount = {"path": "/shared", "src": "s:/export/shared"}
    tcp = sf.storage_nfs_options(mount, BASE, "4.2", 8, False, 20049)
    assert tcp == "rw,hard,noatime,_netdev,vers=4.2,proto=tcp,nconnect=8"
    rdma = sf.storage_nfs_options(mount, BASE, "4.2", 8, True, 20049)
    assert rdma == "rw,hard,noatime,_netdev,vers=4.2,proto=rdma,port=20049,nconnect=8"


def test_nfs_options_per_mount_overrides() -> None:
    mount = {
        "path": "/home",
        "src": "s:/h",
        "rdma": False,
        "nconnect": 1,
        "options": ["ro", "soft"],
    }
    got = sf.storage_nfs_options(mount, BASE, "4.2", 8, True, 20049).split(",")
    assert "proto=tcp" in got and "port=20049" not in got
    assert not any(o.startswith("nconnect") for o in got)
    assert got[-2:] == ["ro", "soft"]
    # Same-named options from the mount replace the base ones.
    got = sf.storage_nfs_options({"options": ["vers=4.1"]}, BASE, "4.2", 2, False, 1).split(",")
    assert "vers=4.1" in got and "vers=4.2" not in got


def test_profile_dirs() -> None:
    mounts = [{"path": "/shared", "name": "shared"}, {"path": "/nfs/home/"}]
    assert sf.storage_profile_dirs(mounts, "/scratch", {}) == {
        "shared": "/shared",
        "home": "/nfs/home/",
        "scratch": "/scratch",
    }
    assert sf.storage_profile_dirs(mounts, None, {"scratch": "/local"}) == {
        "shared": "/shared",
        "home": "/nfs/home/",
        "scratch": "/local",
    }
