"""What the slurm role renders for the example rack and the local cluster,
beyond tests/unit/test_rendered_config.py: slurmdbd.conf (retention), the
MariaDB settings (buffer pool from memory), topology.conf, and the slurm.conf
settings of issue 13 (ReturnToService, reserve, timeouts, job_container).

Golden files: tests/golden/rendered/<inventory>/slurm/. Regenerate with
    AIHPC_UPDATE_GOLDEN=1 pytest tests/unit/roles/test_slurm_render.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.conftest import REPO
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK, assert_matches_golden_tree, run_render

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")
GOLDEN = REPO / "tests" / "golden" / "rendered"
HEAD_NODE_MIB = 524288  # head01: 512 GiB


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    home = tmp_path_factory.mktemp("home")
    for inventory in ("example-rack", "local"):
        dest = tmp_path_factory.mktemp(f"render-slurm-{inventory}")
        run_render(
            REPO / "playbooks" / "render-config.yml",
            inventory,
            home,
            f"render_dir={dest}",
            f"render_memtotal_mb={HEAD_NODE_MIB}",
        )
        out[inventory] = dest
    return out


def keys(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines if not line.startswith(("Node", "Part")))


@pytest.mark.parametrize("inventory", ["example-rack", "local"])
def test_rendered_matches_golden(rendered: dict[str, Path], inventory: str) -> None:
    assert_matches_golden_tree(rendered[inventory] / "slurm", GOLDEN / inventory / "slurm")


def test_example_rack_slurm_conf_issue_13(rendered: dict[str, Path]) -> None:
    conf = keys(rendered["example-rack"] / "slurm.conf")
    assert conf["ReturnToService"] == "1"
    assert conf["JobContainerType"] == "job_container/tmpfs"
    assert "Contain" in conf["PrologFlags"].split(",")
    assert int(conf["UnkillableStepTimeout"]) >= 180
    assert conf["KillOnBadExit"] == "1"
    assert conf["RebootProgram"] == "/usr/sbin/reboot" and int(conf["ResumeTimeout"]) >= 900
    assert conf["TopologyPlugin"] == "topology/tree"
    assert conf["AccountingStoreFlags"].split(",") == ["job_comment", "job_extra", "job_script"]
    assert "bf_continue" in conf["SchedulerParameters"].split(",")
    nodes = [
        line
        for line in (rendered["example-rack"] / "slurm.conf").read_text().splitlines()
        if line.startswith("NodeName=h100")
    ]
    assert "CoreSpecCount=4 MemSpecLimit=60000" in nodes[0]


def test_local_cluster_wires_the_epilog_cleanup(rendered: dict[str, Path]) -> None:
    conf = keys(rendered["local"] / "slurm.conf")
    # Containers: the epilog path (job_container/tmpfs is the real-node default).
    assert "JobContainerType" not in conf
    assert conf["Prolog"] == "/etc/slurm/prolog.d/*" and conf["Epilog"] == "/etc/slurm/epilog.d/*"
    nodes = [
        line
        for line in (rendered["local"] / "slurm.conf").read_text().splitlines()
        if line.startswith("NodeName=")
    ]
    assert nodes and all("CoreSpecCount" not in n and "MemSpecLimit" not in n for n in nodes)


def test_slurmdbd_purges_and_archives(rendered: dict[str, Path]) -> None:
    dbd = keys(rendered["example-rack"] / "slurm" / "slurmdbd.conf")
    for kind, archive in [("Job", "ArchiveJobs"), ("Step", "ArchiveSteps"), ("TXN", "ArchiveTXN")]:
        assert dbd[f"Purge{kind}After"].endswith("month"), kind
        assert dbd[archive] == "yes"
    assert dbd["ArchiveDir"] == "/var/spool/slurm/archive"
    # The password is generated on the dbd host, never rendered here.
    assert dbd["StoragePass"] == "(generated on the dbd host)"


def test_buffer_pool_follows_the_memory(rendered: dict[str, Path]) -> None:
    def pool(inventory: str) -> str:
        text = (rendered[inventory] / "slurm" / "90-slurm.cnf").read_text()
        return next(
            line.split(" = ")[1]
            for line in text.splitlines()
            if line.startswith("innodb_buffer_pool_size")
        )

    assert pool("example-rack") == f"{HEAD_NODE_MIB // 4}M"  # 25 %
    # The containers take 1 % (the 24 GiB host gets the 1 GiB floor).
    assert pool("local") == f"{max(HEAD_NODE_MIB // 100, 1024)}M"


def test_topology_conf_names_every_compute_node_once(rendered: dict[str, Path]) -> None:
    lines = (rendered["example-rack"] / "slurm" / "topology.conf").read_text().splitlines()
    switches = [line for line in lines if line.startswith("SwitchName=")]
    assert switches == [
        "SwitchName=su-h100 Nodes=h100-[01-16]",
        "SwitchName=su-mi300x Nodes=mi300x-[01-08]",
        "SwitchName=su-l40s Nodes=l40s-[01-04]",
        "SwitchName=spine Switches=su-h100,su-mi300x,su-l40s",
    ]
    assert not (rendered["local"] / "slurm" / "topology.conf").exists()
