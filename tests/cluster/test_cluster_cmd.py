"""`aihpc cluster deploy | status | drain | resume` on the live local cluster.

deploy converges the cluster (exit 0, no failed host); with a bad variable
on gpu2 only, it exits 1 and names gpu2 (and not gpu1). The bad variable is
caught by the slurm role's argument spec; with --fail-fast no host goes
further, so nothing changes. drain and
resume run as root on ctl1 and are undone at once (gpu2 is drained for a
few seconds). Run by the lead; skipped without a live cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.jobs import ssh_root, wait_for
from tests.clusterlib import ROOT, STATE_DIR, require_live_cluster

require_live_cluster()

pytestmark = pytest.mark.cluster
INVENTORY = ROOT / "inventories" / "local"
HARNESS_CFG = ROOT / os.environ.get("AIHPC_ANSIBLE_CONFIG", "ansible-harness.cfg")


def deploy(inventory: Path, run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        # A copied inventory must still find the harness's ssh config.
        AIHPC_STATE_DIR=str(STATE_DIR),
        PATH=f"{bin_dir}:{os.environ['PATH']}",
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "aihpc",
            "cluster",
            "deploy",
            "-i",
            str(inventory),
            "--project",
            str(ROOT),
            "--ansible-config",
            str(HARNESS_CFG),
            "--run-dir",
            str(run_dir),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
        cwd=ROOT,
    )


def test_deploy_converges_the_local_cluster(tmp_path: Path) -> None:
    proc = deploy(INVENTORY, tmp_path / "run")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["failed_hosts"] == [] and summary["finished"]
    assert set(summary["hosts"]) >= {"ctl1", "gpu1", "gpu2"}


def test_a_bad_variable_on_one_host_fails_deploy_and_names_it(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORY, inventory)
    (inventory / "host_vars").mkdir(exist_ok=True)
    # Not a bool: the slurm role's argument spec refuses it on gpu2 alone.
    (inventory / "host_vars" / "gpu2.yml").write_text('---\nslurm_pam_adopt_enabled: "perhaps"\n')
    # --fail-fast: every host stops at gpu2's failure, so nothing changes anywhere.
    proc = deploy(inventory, tmp_path / "run", "--playbook", "slurm.yml", "--fail-fast")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "deploy failed on: gpu2" in proc.stderr, proc.stderr[-3000:]
    assert "gpu2: failed in play" in proc.stdout
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["failed_hosts"] == ["gpu2"]
    assert "slurm_pam_adopt_enabled" in json.dumps(summary["failures"])
    assert not any(summary["stats"].get("changed", {}).values())  # nothing was changed


def _status(node: str) -> dict[str, str]:
    data = json.loads(ssh_root(f"aihpc cluster status {node} --json"))
    [row] = data["nodes"]
    return row


@pytest.fixture
def gpu2_resumed() -> Iterator[None]:
    yield
    ssh_root("aihpc cluster resume gpu2 >/dev/null 2>&1 || true")


@pytest.mark.usefixtures("gpu2_resumed")
def test_drain_records_who_and_why_and_resume_clears_it() -> None:
    dry = json.loads(ssh_root("aihpc cluster drain gpu2 --reason 'cluster test' --dry-run --json"))
    assert dry["dry_run"] and dry["argv"][:4] == [
        "scontrol",
        "update",
        "NodeName=gpu2",
        "State=DRAIN",
    ]
    assert _status("gpu2")["state"] == "idle"  # the dry run changed nothing

    done = json.loads(ssh_root("aihpc cluster drain gpu2 --reason 'cluster test; PSU' --json"))
    assert done["nodes"] == ["gpu2"] and not done["dry_run"]
    row = _status("gpu2")
    assert row["state"] in ("drained", "draining") and row["reason"] == "cluster test; PSU"
    assert row["by"] == "root" and row["since"].endswith("Z")

    picked = json.loads(ssh_root("aihpc cluster resume --state drain --dry-run --json"))
    assert "gpu2" in picked["nodes"]
    out = ssh_root("aihpc cluster resume gpu2")
    assert "resumed gpu2" in out and "cluster test; PSU (by root" in out
    wait_for("gpu2 idle again", lambda: True if _status("gpu2")["state"] == "idle" else None, 60)


def test_unknown_node_is_a_usage_error() -> None:
    proc = subprocess.run(
        [
            "ssh",
            "-F",
            str(STATE_DIR / f"{os.environ.get('AIHPC_LOCAL_PREFIX', 'aihpc-')}ssh_config"),
            "ctl1",
            "aihpc cluster drain gpu9 --reason x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "not Slurm nodes: gpu9" in proc.stderr
