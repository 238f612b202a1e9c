"""playbooks/validate.yml on the live local cluster: passes, with n/a where hardware is absent.

ctl1 (controller, login), gpu1 and gpu2 (4 fake GPUs each, no driver, no
nccl-tests, no IB): every Slurm/munge/device/storage check must pass, and
NCCL, ib_write_bw and the driver versions must be n/a — never pass.
Run by the lead (make cluster-up first); skipped without a live cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clusterlib import ROOT, require_live_cluster

require_live_cluster()

pytestmark = pytest.mark.cluster
INVENTORY = ROOT / "inventories" / "local"
HARNESS_CFG = ROOT / os.environ.get("AIHPC_ANSIBLE_CONFIG", "ansible-harness.cfg")


def _env(run_dir: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(HARNESS_CFG),
        AIHPC_RUN_DIR=str(run_dir),
        PATH=f"{bin_dir}:{os.environ['PATH']}",
    )


def _by_check(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["check"], c["node"]): c for c in report["checks"]}


def _assert_local_cluster_report(report: dict[str, Any]) -> None:
    rows = _by_check(report)
    table = "\n".join(f"{k}: {v['result']} {v['measured']} {v['basis']}" for k, v in rows.items())
    assert report["ok"] is True, table
    for node in ("gpu1", "gpu2"):
        assert rows[("node idle", node)]["result"] == "pass", table
        job = rows[("gpu job", node)]
        assert job["result"] == "pass" and job["measured"] == "CVD=0,1,2,3 open=4 denied=0", table
        isolation = rows[("gpu isolation", node)]
        assert isolation["result"] == "pass" and "open=1 denied=3" in isolation["measured"], table
        for check in ("shared write", "shared read", "scratch write", "scratch read"):
            assert rows[(check, node)]["result"] == "pass", table
            assert rows[(check, node)]["measured"].endswith("MB/s")
    for node in ("ctl1", "gpu1", "gpu2"):
        assert rows[("munge", node)]["result"] == "pass", table
    assert rows[("2-node job", "all")]["measured"] == "gpu1,gpu2"
    assert rows[("same slurm", "all")]["result"] == "pass"
    assert rows[("same slurm", "all")]["measured"].startswith("24.11")
    for check in ("nccl all_reduce", "ib_write_bw", "same driver", "same cuda"):
        assert rows[(check, "all")]["result"] == "n/a", table
        assert rows[(check, "all")]["basis"]  # the reason is given


def test_validate_playbook_passes_on_the_local_cluster(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORY), str(ROOT / "playbooks" / "validate.yml")],
        capture_output=True,
        text=True,
        env=_env(run_dir),
        timeout=900,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    _assert_local_cluster_report(json.loads((run_dir / "report.json").read_text()))
    assert "PASS:" in (run_dir / "report.txt").read_text()


def test_aihpc_cluster_validate_passes_and_prints_json(tmp_path: Path) -> None:
    run_dir = tmp_path / "cli-run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aihpc",
            "cluster",
            "validate",
            "-i",
            str(INVENTORY),
            "--project",
            str(ROOT),
            "--ansible-config",
            str(HARNESS_CFG),
            "--run-dir",
            str(run_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=_env(run_dir),
        timeout=900,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    _assert_local_cluster_report(report)
    assert json.loads((run_dir / "report.json").read_text()) == report
    assert list(run_dir.glob("artifacts/*/job_events/*.json"))
