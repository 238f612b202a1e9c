"""Adding a node with `site.yml --limit NEWNODE` on the live test cluster.

Runs after the other cluster tests (scripts/test-cluster.sh): it changes the
cluster. The new node must join with the cluster's munge key, slurm.conf on
the controller must list every node (not only the limited one), and jobs must
then span old and new nodes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.clusterlib import PREFIX, ROOT, SSH_CONFIG, STATE_DIR, require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()


def ssh(host: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(SSH_CONFIG), host, command],
        capture_output=True,
        text=True,
        timeout=300,
    )


def playbook(inventory: Path, name: str, *extra: str) -> None:
    # The state dir is found relative to the inventory unless told.
    env = dict(
        os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible-harness.cfg"), AIHPC_STATE_DIR=str(STATE_DIR)
    )
    cmd = ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / name), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


# Session scope: gpu3 stays until the whole lane ends, so the node-failure
# test after this module has its spare node.
@pytest.fixture(scope="session")
def grown_inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    inv = tmp_path_factory.mktemp("inv") / "local"
    shutil.copytree(ROOT / "inventories" / "local", inv)
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    gpu_nodes = hosts["all"]["children"]["slurm_compute"]["children"]["gpu_nodes"]
    gpu_nodes["hosts"]["gpu3"] = None
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    yield inv
    # down.yml of inventories/local does not know gpu3: remove it here.
    subprocess.run(["docker", "rm", "-f", f"{PREFIX}gpu3"], capture_output=True, check=False)


def test_limit_run_adds_a_node(grown_inventory: Path) -> None:
    conf_before = ssh("ctl1", "cat /etc/slurm/slurm.conf").stdout
    assert "NodeName=gpu[1-2] " in conf_before

    playbook(grown_inventory, "local/up.yml", "--limit", "localhost,gpu3")
    playbook(grown_inventory, "site.yml", "--limit", "gpu3")

    conf_after = ssh("ctl1", "cat /etc/slurm/slurm.conf").stdout
    # The whole node list, not just the limited host.
    params = yaml.safe_load((grown_inventory / "group_vars" / "gpu_nodes.yml").read_text())
    memory = params["slurm_node_params"]["RealMemory"]
    assert f"NodeName=gpu[1-3] CPUs=2 RealMemory={memory} Gres=gpu:h100:4" in conf_after
    assert "PartitionName=gpu Nodes=gpu[1-3] " in conf_after

    keys = {h: ssh(h, "sha256sum /etc/munge/munge.key").stdout.split()[0] for h in ("ctl1", "gpu3")}
    assert keys["ctl1"] == keys["gpu3"]

    # The nodes outside the --limit resolve the new one through /etc/hosts
    # alone (`getent -s files`: Docker's embedded DNS is not asked), at the
    # address gpu3 has; and gpu3 resolves them.
    gpu3_ip = ssh("gpu3", "hostname -I").stdout.split()[0]
    for host in ("ctl1", "gpu1", "gpu2"):
        found = ssh(host, "getent -s files ahosts gpu3")
        assert found.returncode == 0, f"{host} cannot resolve gpu3 from /etc/hosts: {found.stderr}"
        assert found.stdout.split()[0] == gpu3_ip, (host, found.stdout)
        back = ssh("gpu3", f"getent -s files ahosts {host}")
        assert back.returncode == 0, f"gpu3 cannot resolve {host} from /etc/hosts"

    state = ""
    for _ in range(60):
        state = ssh("ctl1", "sinfo --noheader --Node --format '%N %T %G'").stdout
        if all(f"gpu{i} idle gpu:h100:4" in state for i in (1, 2, 3)):
            break
        subprocess.run(["sleep", "2"], check=True)
    assert all(f"gpu{i} idle gpu:h100:4" in state for i in (1, 2, 3)), state

    run = ssh("ctl1", "su - alice -c 'srun --account=research -N3 hostname'")
    assert run.returncode == 0, run.stderr
    assert sorted(run.stdout.split()) == ["gpu1", "gpu2", "gpu3"]


def test_limit_run_left_the_old_nodes_alone(grown_inventory: Path) -> None:
    # A full converge now changes nothing: the limited run did all the work.
    # The state dir is found relative to the inventory unless told.
    env = dict(
        os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible-harness.cfg"), AIHPC_STATE_DIR=str(STATE_DIR)
    )
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(grown_inventory), str(ROOT / "playbooks" / "site.yml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    problems = [line for line in proc.stdout.splitlines() if "fatal" in line or "msg:" in line]
    assert proc.returncode == 0, "\n".join(problems) + proc.stdout[-3000:]
    recap = [line for line in proc.stdout.splitlines() if " : ok=" in line]
    assert recap and all("changed=0" in line for line in recap), "\n".join(recap)
