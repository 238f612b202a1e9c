"""`aihpc health` as Slurm's HealthCheckProgram on the live local cluster.

gpu2 has four fake GPUs (/dev/nvidiaN, char 195:N). inventories/local runs the
health program every 30 s with Slurm's default mask (NONDRAINED_IDLE,CYCLE:
never on a drained node), and the resume-only timer every 30 s, which lifts
a drain only aihpc health set.

- /dev/nvidia3 removed: gpu2 is drained with a reason naming the GPU count;
  restored: gpu2 returns to idle;
- a node drained by hand stays drained while health runs pass;
- an admin drain set over a health drain stays after the fault is fixed.

Node state is read through aihpc.slurm.nodes (the one parser of that output).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator

import pytest

from aihpc.slurm.nodes import NodeInfo, parse_nodes, show_nodes_argv
from tests.cluster import jobs
from tests.clusterlib import require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

NODE = "gpu2"
DEVICE = "/dev/nvidia3"
INTERVAL = 30  # slurm_health_check_interval in inventories/local
PROM = "/var/lib/prometheus/node-exporter/aihpc_health.prom"
# The wrapper writes every run's report here: slurmd's runs and the timer's.
LAST = "/var/lib/aihpc/health/last.txt"
ADMIN_REASON = f"admin maintenance {jobs.TOKEN}"
RECORD = "/var/lib/aihpc/health/drain.json"


def on_node(command: str, timeout: float = 60) -> str:
    return jobs.ssh_on(NODE, command, timeout=timeout)


def node() -> NodeInfo:
    out = jobs.ssh_root(shlex.join(show_nodes_argv(NODE)))
    (info,) = parse_nodes(json.loads(out))
    return info


def last_run() -> float:
    """When the last run (slurmd's or the timer's) ended on gpu2 (0 before the first)."""
    return float(on_node(f"stat -c %.9Y {LAST} 2>/dev/null || echo 0"))


def node_clock() -> float:
    return float(on_node("date +%s.%N"))


def wait_for_health_runs(count: int = 2) -> None:
    """Wait until the health program (slurmd's run or the timer's) ran `count` times."""
    for _ in range(count):
        since = node_clock()

        def ran(since: float = since) -> bool | None:
            return True if last_run() > since else None

        jobs.wait_for(f"a health run on {NODE}", ran, timeout=INTERVAL * 3 + 30)


def has_record() -> bool:
    return on_node(f"test -e {RECORD} && echo yes || echo no").strip() == "yes"


def remove_gpu() -> None:
    on_node(f"rm -f {DEVICE}")


def restore_gpu() -> None:
    on_node(f"test -e {DEVICE} || mknod -m 666 {DEVICE} c 195 3")


def scontrol(*args: str) -> None:
    jobs.ssh_root(shlex.join(["scontrol", "update", f"NodeName={NODE}", *args]))


def wait_health_drain() -> NodeInfo:
    def drained() -> NodeInfo | None:
        info = node()
        return info if info.is_drain and "gpu_count" in info.reason else None

    return jobs.wait_for(f"{NODE} drained by aihpc health", drained, timeout=INTERVAL * 3 + 30)


def wait_undrained() -> NodeInfo:
    def undrained() -> NodeInfo | None:
        info = node()
        return None if info.is_drain else info

    return jobs.wait_for(f"{NODE} back to idle", undrained, timeout=INTERVAL * 3 + 30)


@pytest.fixture(autouse=True)
def clean_node() -> Iterator[None]:
    restore_gpu()
    start = node()
    assert not start.is_drain, f"{NODE} is drained before the test ({start.reason!r})"
    yield
    restore_gpu()
    info = node()
    if info.is_drain:
        scontrol("State=RESUME")


def test_missing_gpu_drains_and_restore_resumes() -> None:
    remove_gpu()
    info = wait_health_drain()
    assert info.reason.startswith("aihpc-health: gpu_count: 3 of 4 GPU device files")
    assert DEVICE in info.reason
    assert info.reason_user == "root"
    record = json.loads(on_node(f"cat {RECORD}"))
    assert record["reason"] == info.reason and record["reason_time"] == info.reason_time
    assert 'aihpc_health_check_status{check="gpu_count"} 1' in on_node(f"cat {PROM}")
    restore_gpu()
    back = wait_undrained()
    assert back.state == "IDLE" and back.reason == ""
    assert (
        on_node("test -e /var/lib/aihpc/health/drain.json && echo yes || echo no").strip() == "no"
    )


def test_node_drained_by_hand_stays_drained() -> None:
    scontrol("State=DRAIN", f"Reason={ADMIN_REASON}")
    wait_for_health_runs(2)
    info = node()
    assert info.is_drain and info.reason == ADMIN_REASON, info


def test_admin_drain_over_health_drain_stays_drained() -> None:
    remove_gpu()
    wait_health_drain()
    scontrol("State=DRAIN", f"Reason={ADMIN_REASON}")
    restore_gpu()
    wait_for_health_runs(2)
    info = node()
    assert info.is_drain and info.reason == ADMIN_REASON, info
    assert (
        on_node("test -e /var/lib/aihpc/health/drain.json && echo yes || echo no").strip() == "no"
    )
