"""The slurm role's refusals, run as Ansible runs them (include_role on local
hosts, no cluster): a variable that shapes slurm.conf and differs between
hosts is named (issue 13, item 11), and a node whose inventory claims more
than `slurmd -C` finds is refused with the figures (item 5).

`slurmd` is a stand-in on PATH that prints output shaped exactly like Slurm
24.11's `slurmd -C` (the local container cluster's figures).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import REPO
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")

SLURMD_C = (
    "NodeName=gpu1 CPUs=2 Boards=1 SocketsPerBoard=2 CoresPerSocket=1 ThreadsPerCore=1 "
    "RealMemory=23989\nUpTime=0-01:02:03\n"
)
LOCAL = {
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}


def write_inventory(root: Path, host_vars: dict[str, dict[str, object]]) -> Path:
    inv = root / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    (inv / "group_vars").mkdir()
    hosts = {
        "all": {
            "children": {
                "slurm_controller": {"hosts": {"head01": None}},
                "slurm_compute": {"hosts": {"gpu1": None, "gpu2": None}},
            }
        }
    }
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (inv / "group_vars" / "all.yml").write_text(
        yaml.safe_dump(
            {
                **LOCAL,
                "slurm_cluster_name": "rack1",
                "slurm_partitions": [{"name": "gpu", "hosts": ["gpu1", "gpu2"]}],
                "slurm_node_params": {"CPUs": 2, "RealMemory": 4000},
            }
        )
    )
    for host, hv in host_vars.items():
        (inv / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(hv))
    return inv


def run_play(
    root: Path, inv: Path, limit: str, tasks_from: str
) -> subprocess.CompletedProcess[str]:
    assert ANSIBLE_PLAYBOOK
    play = [
        {
            "name": "Run one of the slurm role's checks",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "The check",
                    "ansible.builtin.include_role": {"name": "slurm", "tasks_from": tasks_from},
                }
            ],
        }
    ]
    playbook = root / "play.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    fake_bin = root / "bin"
    fake_bin.mkdir(exist_ok=True)
    slurmd = fake_bin / "slurmd"
    slurmd.write_text(f"#!/bin/sh\ncat <<'EOF'\n{SLURMD_C}EOF\n")
    slurmd.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible-harness.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CACHE_PLUGIN": "memory",
            "HOME": str(root),
            "PATH": f"{fake_bin}{os.pathsep}{Path(ANSIBLE_PLAYBOOK).parent}{os.pathsep}"
            + env.get("PATH", ""),
        }
    )
    argv = [ANSIBLE_PLAYBOOK, "-i", str(inv), str(playbook), "--limit", limit]
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_a_limit_run_fails_naming_the_variable_that_differs(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, {"gpu2": {"slurm_cluster_name": "rack2"}})
    # As `site.yml --limit gpu1`: gpu2's value differs though gpu2 is not in the run.
    proc = run_play(tmp_path, inv, "gpu1", "consistency.yml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "slurm_cluster_name differs" in out, out
    assert '"rack2"' in out and '"rack1"' in out, out


def test_the_same_values_everywhere_pass(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, {})
    proc = run_play(tmp_path, inv, "gpu1", "consistency.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_over_claiming_node_is_refused_with_the_figures(tmp_path: Path) -> None:
    inv = write_inventory(
        tmp_path, {"gpu2": {"slurm_node_params": {"CPUs": 8, "RealMemory": 512000}}}
    )
    proc = run_play(tmp_path, inv, "gpu1,gpu2", "hardware_check.yml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "gpu2: slurm_node_params.CPUs is 8, slurmd -C finds 2" in out, out
    assert "gpu2: slurm_node_params.RealMemory is 512000 MiB, slurmd -C finds 23989 MiB" in out, out
    # gpu1 claims what it has: only gpu2 failed.
    recap = {line.split()[0]: line for line in proc.stdout.splitlines() if " : ok=" in line}
    assert "failed=0" in recap["gpu1"] and "failed=1" in recap["gpu2"], proc.stdout
