"""Golden files: slurm.conf, gres.conf, cgroup.conf and cluster.yaml rendered
from each inventory by playbooks/render-config.yml (localhost only, no hosts).

Regenerate after an intended change with
    AIHPC_UPDATE_GOLDEN=1 pytest tests/unit/test_rendered_config.py
and review the diff like code (like a Slurm admin reading slurm.conf).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import REPO

GOLDEN = REPO / "tests" / "golden" / "rendered"
UPDATE = os.environ.get("AIHPC_UPDATE_GOLDEN") == "1"
INVENTORIES = ["example-rack", "single-node", "local"]
FILES = ["slurm.conf", "gres.conf", "cgroup.conf", "cluster.yaml", "policy.yaml"]


def _ansible_playbook() -> str | None:
    # On PATH, or next to this interpreter (a venv that is not activated).
    found = shutil.which("ansible-playbook")
    sibling = Path(sys.executable).parent / "ansible-playbook"
    return found or (str(sibling) if sibling.exists() else None)


ANSIBLE_PLAYBOOK = _ansible_playbook()
pytestmark = pytest.mark.skipif(
    ANSIBLE_PLAYBOOK is None,
    reason="ansible-playbook not found (pip install -e '.[dev]' or put the venv on PATH)",
)


def run_render(playbook: Path, inventory: str, home: Path, *extra_vars: str) -> None:
    """Run a render playbook against inventories/<inventory> (also used by role render tests)."""
    assert ANSIBLE_PLAYBOOK
    # No ANSIBLE_* from the caller's shell: the output must not depend on it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible-harness.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "HOME": str(home),
            "PATH": f"{Path(ANSIBLE_PLAYBOOK).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    argv = [ANSIBLE_PLAYBOOK, "-i", str(REPO / "inventories" / inventory), str(playbook)]
    for var in extra_vars:
        argv += ["-e", var]
    proc = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"render of {inventory} failed:\n{proc.stdout}\n{proc.stderr}"


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def assert_matches_golden_tree(rendered: Path, golden: Path) -> None:
    """Every file under `rendered` equals its twin under `golden`, and no file is missing
    or extra; with AIHPC_UPDATE_GOLDEN=1 the golden tree is rewritten first."""
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(rendered, golden)
    assert _files(rendered) == _files(golden), "run with AIHPC_UPDATE_GOLDEN=1 (see docstring)"
    for name in sorted(_files(rendered)):
        assert (rendered / name).read_text() == (golden / name).read_text(), f"{name} differs"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Render every inventory once for the whole module."""
    out: dict[str, Path] = {}
    home = tmp_path_factory.mktemp("home")
    for name in INVENTORIES:
        dest = tmp_path_factory.mktemp(f"render-{name}")
        run_render(REPO / "playbooks" / "render-config.yml", name, home, f"render_dir={dest}")
        out[name] = dest
    return out


@pytest.mark.parametrize("fname", FILES)
@pytest.mark.parametrize("inventory", INVENTORIES)
def test_rendered_matches_golden(rendered: dict[str, Path], inventory: str, fname: str) -> None:
    content = (rendered[inventory] / fname).read_text()
    path = GOLDEN / inventory / fname
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    assert path.exists(), f"missing golden file {path}; run with AIHPC_UPDATE_GOLDEN=1"
    assert content == path.read_text(), f"{inventory}/{fname} differs; see the docstring to update"


def test_no_stale_golden_files() -> None:
    expected = {f"{inv}/{f}" for inv in INVENTORIES for f in FILES}
    # <inventory>/<role>/... belongs to a role's own render test (tests/unit/roles).
    found = {
        str(p.relative_to(GOLDEN))
        for p in GOLDEN.rglob("*")
        if p.is_file() and len(p.relative_to(GOLDEN).parts) == 2
    }
    assert found == expected


def _conf(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _keys(text: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in _conf(text):
        key, _, value = line.partition("=")
        keys.setdefault(key, []).append(value)
    return keys


def test_example_rack_reads_like_a_slurm_admin_wrote_it(rendered: dict[str, Path]) -> None:
    slurm = (rendered["example-rack"] / "slurm.conf").read_text()
    keys = _keys(slurm)
    assert keys["SlurmctldHost"] == ["head01"]
    assert keys["AccountingStorageHost"] == ["head01"]
    assert keys["GresTypes"] == ["gpu"]
    assert keys["AccountingStorageTRES"][0].split(",")[0] == "gres/gpu"
    assert keys["SlurmctldParameters"] == ["enable_configless"]
    # Every non-node key once, except SlurmctldHost which Slurm repeats.
    assert all(len(v) == 1 for k, v in keys.items() if k not in ("NodeName", "PartitionName"))
    nodes = [line for line in _conf(slurm) if line.startswith("NodeName=")]
    assert len(nodes) == 3  # 28 compute nodes, three kinds: folded
    assert nodes[0].startswith("NodeName=h100-[01-16] CPUs=224 Sockets=2 CoresPerSocket=56")
    assert "Gres=gpu:h100:8" in nodes[0]
    assert "NodeName=mi300x-[01-08]" in nodes[1] and "Gres=gpu:mi300x:8" in nodes[1]
    assert "NodeName=l40s-[01-04]" in nodes[2] and "Gres=gpu:l40s:4" in nodes[2]
    parts = {
        line.split()[0].split("=")[1]: line
        for line in _conf(slurm)
        if line.startswith("PartitionName=")
    }
    assert list(parts) == ["h100", "mi300x", "inference"]
    assert "Nodes=h100-[01-16] Default=YES" in parts["h100"]
    assert all("MaxTime=" in line for line in parts.values())
    assert [line.count("Default=YES") for line in parts.values()] == [1, 0, 0]
    assert "stor0" not in slurm  # storage servers are not Slurm nodes

    gres = _conf((rendered["example-rack"] / "gres.conf").read_text())
    assert gres == [
        "NodeName=h100-[01-16] AutoDetect=nvml",
        "NodeName=mi300x-[01-08] AutoDetect=rsmi",
        "NodeName=l40s-[01-04] AutoDetect=off Name=gpu Type=l40s File=/dev/nvidia[0-3]",
    ]


def test_profiles_are_what_the_cli_expects(rendered: dict[str, Path]) -> None:
    for name in INVENTORIES:
        profile = yaml.safe_load((rendered[name] / "cluster.yaml").read_text())
        assert profile["schema"] == 1
        assert profile["default_partition"] in profile["partitions"]
        assert profile["partitions"][profile["default_partition"]]["default"] is True
        env = profile["network"]["env"]
        assert all(isinstance(v, str) for v in env.values()), env
        # gloo takes a plain interface name: no NCCL-style "=" or "^" prefix.
        assert env.get("GLOO_SOCKET_IFNAME", "x")[0] not in "=^", env
    rack = yaml.safe_load((rendered["example-rack"] / "cluster.yaml").read_text())
    assert rack["login_host"] == "login01"
    assert rack["partitions"]["h100"]["nodes"] == 16
    assert rack["partitions"]["mi300x"]["gpu_types"] == ["mi300x"]
    assert rack["network"]["env"]["NCCL_IB_HCA"] == "=" + ",".join(f"mlx5_{i}" for i in range(8))
    assert rack["network"]["env"]["GLOO_SOCKET_IFNAME"] == "ib0"
    assert rack["shared_dirs"]["scratch"] == "/scratch"
