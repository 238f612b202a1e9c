"""playbooks/validate.yml for real, against a localhost-only inventory.

This machine has no Slurm, munge, GPU or IB, and one of the two storage
directories is missing: the run must gather what it can, judge the rest as
fail (Slurm and munge are required) or n/a (hardware and optional tools),
write measurements.json, report.json and report.txt, and exit non-zero.
Both ways in are run: ansible-playbook (the playbook's own judge task) and
`aihpc cluster validate` (ansible-runner, then the same judge in-process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.cli_helpers import run_cli
from tests.unit.conftest import REPO

INVENTORY = """\
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
    slurm_cluster_name: lab
    slurm_profile_shared_dirs: {{shared: {shared}, scratch: {scratch}, home: /home}}
    validate_storage_mb: 4
  children:
    slurm_controller: {{hosts: {{n1: {{}}}}}}
    slurm_login: {{hosts: {{n1: {{}}}}}}
    slurm_compute:
      hosts:
        n2: {{slurm_node_gpus: {{vendor: nvidia, type: h100, count: 4}}}}
        n3: {{slurm_node_gpus: {{vendor: nvidia, type: h100, count: 4}}}}
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    shared.mkdir()
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY.format(shared=shared, scratch=tmp_path / "no-scratch"))
    return path


def results(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(c["check"], c["node"]): c["result"] for c in report["checks"]}


def check_report(report: dict[str, Any]) -> None:
    got = results(report)
    assert report["ok"] is False
    assert got[("node idle", "n2")] == "fail"  # no scontrol here
    assert got[("munge", "n1")] == "fail"  # no munge here
    assert got[("gpu job", "n3")] == "fail"  # no srun here
    assert got[("nccl all_reduce", "all")] == "n/a"
    assert got[("ib_write_bw", "all")] == "n/a"
    assert got[("shared write", "n2")] == "pass" and got[("shared read", "n3")] == "pass"
    assert got[("scratch write", "n2")] == "n/a"  # the directory does not exist
    assert got[("same driver", "all")] == "n/a"
    assert "pass" not in {r for (check, _), r in got.items() if check.startswith(("nccl", "ib_"))}


def test_ansible_playbook_writes_the_report_and_fails(inventory: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), AIHPC_RUN_DIR=str(run_dir))
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "validate.yml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "validation failed: see" in proc.stdout
    check_report(json.loads((run_dir / "report.json").read_text()))
    assert "FAIL:" in (run_dir / "report.txt").read_text()
    assert not list((tmp_path / "shared").iterdir())  # the test file was removed


def test_aihpc_cluster_validate_judges_the_same_run(
    inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ansible_runner")
    run_dir = tmp_path / "run"
    code, out, _ = run_cli(
        [
            "cluster",
            "validate",
            "-i",
            str(inventory),
            "--project",
            str(REPO),
            "--ansible-config",
            str(REPO / "ansible.cfg"),
            "--run-dir",
            str(run_dir),
            "--json",
        ],
        capsys,
    )
    assert code == 1
    report = json.loads(out)
    check_report(report)
    assert json.loads((run_dir / "report.json").read_text()) == report
    assert (run_dir / "measurements.json").is_file()
