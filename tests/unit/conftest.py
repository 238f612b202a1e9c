"""Shared fixtures: an isolated environment, a cluster profile, a project dir."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

PROFILE_TEMPLATE = """\
schema: 1
cluster: aihpc-local
login_host: ctl1
default_partition: gpu
partitions:
  gpu:
    nodes: 2
    gpus_per_node: 4
    gpu_types: [h100]
    cpus_per_node: 2
    mem_per_node_mb: 2000
    max_time: UNLIMITED
    default: true
shared_dirs:
  shared: {shared}
  home: /home
  scratch: /tmp
network:
  env:
    NCCL_DEBUG: WARN
    NCCL_SOCKET_IFNAME: "=eth0"
    GLOO_SOCKET_IFNAME: "=eth0"
"""


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AIHPC_* from the developer's shell, and a private HOME/config."""
    for name in list(os.environ):
        if name.startswith(("AIHPC_", "SLURM_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    # No profile unless a test asks for one (the default path may exist on a cluster).
    monkeypatch.setenv("AIHPC_CLUSTER_PROFILE", str(tmp_path / "no-profile.yaml"))


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    path = tmp_path / "shared"
    path.mkdir()
    return path


@pytest.fixture
def profile_file(tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The profile of make demo's cluster, with {shared} pointing into tmp_path."""
    path = tmp_path / "cluster.yaml"
    path.write_text(PROFILE_TEMPLATE.format(shared=shared))
    monkeypatch.setenv("AIHPC_CLUSTER_PROFILE", str(path))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A workdir outside any git repository, with a train.py."""
    path = tmp_path / "project"
    path.mkdir()
    (path / "train.py").write_text("print('train')\n")
    return path


@pytest.fixture
def write_spec(project: Path) -> Callable[..., Path]:
    def write(text: str | bytes, name: str = "train.yaml") -> Path:
        path = project / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text))
        return path

    return write
