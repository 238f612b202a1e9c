"""`aihpc report` and `aihpc stats` on the live local cluster, against the test's own arithmetic.

Jobs of known shapes run in two accounts (research, and physics, created
here as root): 2 GPUs x 60 s and 4 GPUs x 30 s, a job that fails with exit
3, a 2-task array (a sweep), and a job still running while gpu2 is drained
for a measured ~15 s. The expected figures are computed here from raw
`sacct` lines and the drain's own timestamps, never by aihpc's code:
GPU-hours per account, allocated and lost (drained) capacity, revenue and
cost at the prices of a profile written for the test. `--public` output in
every format must hold no user, account or job name.

Runs in about two minutes: the 60 s job sets the pace, the rest overlaps it.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.cluster.jobs import TOKEN, USER, as_alice, ok, ssh_root, wait_for
from tests.clusterlib import require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

SECOND_ACCOUNT = "physics"
PRICE, COST = 2.5, 1.0  # per GPU-hour of h100, in the test's own profile
GPUS_PRESENT = 8  # gpu1, gpu2: gpu:h100:4 each
PROFILE = f"report-prices-{TOKEN}.yaml"
NAME = f"rep-{TOKEN}"


@dataclass
class Run:
    t0: int
    t1: int
    jobs: dict[str, str]  # role -> job id
    drain: tuple[int, int]


def now_on_ctl1() -> int:
    return int(ssh_root("date +%s").strip())


def sbatch(account: str, gres: int, command: str, *extra: str) -> str:
    argv = [
        "sbatch", "--parsable", "-A", account, "-p", "gpu", "-N1", f"--gres=gpu:{gres}",
        "-J", NAME, "--output=/dev/null", *extra, "--wrap", command,
    ]  # fmt: skip
    return ok(as_alice(shlex.join(argv))).strip().split(";")[0]


def raw_sacct(t0: int, t1: int) -> list[list[str]]:
    """Every allocation in the window, as the test reads it itself (epoch times)."""
    out = ok(
        as_alice(
            "SLURM_TIME_FORMAT=%s sacct -a -X -P -n --noconvert "
            f"-S $(date -d @{t0} +%Y-%m-%dT%H:%M:%S) -E $(date -d @{t1} +%Y-%m-%dT%H:%M:%S) "
            "-o JobID,Account,State,Start,End,AllocTRES,ExitCode"
        )
    )
    return [line.split("|") for line in out.splitlines() if line.strip()]


def gpus_of(tres: str) -> int:
    match = re.search(r"(?:^|,)gres/gpu=([0-9]+)", tres)
    return int(match.group(1)) if match else 0


def clipped_gpu_seconds(rows: list[list[str]], t0: int, t1: int) -> dict[str, float]:
    per_account: dict[str, float] = {}
    for _job, account, _state, start, end, tres, _exit in rows:
        if not start.isdigit():
            continue
        low = max(int(start), t0)
        high = min(int(end) if end.isdigit() else t1, t1)
        if high > low:
            per_account[account] = per_account.get(account, 0.0) + gpus_of(tres) * (high - low)
    return per_account


def aihpc_json(*args: str) -> Any:
    env = f"AIHPC_CLUSTER_PROFILE=$HOME/aihpc-e2e/{PROFILE}"
    data = json.loads(ok(as_alice(f"{env} aihpc {shlex.join(args)}")))
    return data


def wait_done(job_ids: list[str], timeout: float) -> None:
    def probe() -> bool | None:
        out = ok(as_alice(f"squeue -h -j {','.join(job_ids)} -o %i"))
        return True if not out.strip() else None

    wait_for(f"jobs {job_ids} to leave the queue", probe, timeout)


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    ssh_root(
        f"sacctmgr -i add account {SECOND_ACCOUNT} >/dev/null 2>&1 || true; "
        f"sacctmgr -i add user {USER} account={SECOND_ACCOUNT} >/dev/null 2>&1 || true; "
        f"sacctmgr -n -P show assoc user={USER} account={SECOND_ACCOUNT} format=Account "
        f"| grep -qx {SECOND_ACCOUNT}"
    )
    ok(
        as_alice(
            f"cat > {PROFILE} <<'EOF'\n"
            "schema: 1\nprices:\n  currency: EUR\n  gpu_types:\n"
            f"    h100: {{price_per_gpu_hour: {PRICE}, cost_per_gpu_hour: {COST}}}\nEOF"
        )
    )
    t0 = now_on_ctl1()
    jobs = {
        "two_by_60": sbatch("research", 2, "sleep 60"),
        "four_by_30": sbatch(SECOND_ACCOUNT, 4, "sleep 30"),
        "failed": sbatch("research", 1, "exit 3"),
        "sweep": sbatch(SECOND_ACCOUNT, 1, "sleep 5", "--array=0-1"),
    }
    try:
        wait_done(list(jobs.values()), 150)
        jobs["running"] = sbatch("research", 1, "sleep 120", "-w", "gpu1")
        wait_for(
            "the running job to start",
            lambda: (
                True
                if ok(as_alice(f"squeue -h -j {jobs['running']} -o %T")).strip() == "RUNNING"
                else None
            ),
            60,
        )
        drain_start = now_on_ctl1()
        ssh_root(f"scontrol update NodeName=gpu2 State=DRAIN Reason='report test {TOKEN}'")
        time.sleep(15)
        ssh_root("scontrol update NodeName=gpu2 State=RESUME")
        drain_end = now_on_ctl1()
        t1 = now_on_ctl1()
        yield Run(t0, t1, jobs, (drain_start, drain_end))
    finally:
        ssh_root("scontrol update NodeName=gpu2 State=RESUME >/dev/null 2>&1 || true")
        as_alice(f"scancel -n {NAME}")


def test_report_agrees_with_the_job_records(run: Run) -> None:
    rows = raw_sacct(run.t0, run.t1)
    expected = clipped_gpu_seconds(rows, run.t0, run.t1)
    # The second account holds only this test's jobs: 4 GPUs x ~30 s + 2 tasks x 1 x ~5 s.
    assert 4 * 28 <= expected[SECOND_ACCOUNT] <= 4 * 40 + 2 * 15, expected
    data = aihpc_json(
        "report", "--since", f"@{run.t0}", "--until", f"@{run.t1}", "--format", "json"
    )
    accounts = {a["account"]: a for a in data["accounts"]}
    for account, seconds in expected.items():
        assert accounts[account]["gpu_hours"] == pytest.approx(seconds / 3600, abs=2e-4), account
    h100 = data["gpu_types"]["h100"]
    window = run.t1 - run.t0
    assert h100["gpus"] == GPUS_PRESENT
    assert h100["capacity_gpu_hours"] == pytest.approx(GPUS_PRESENT * window / 3600, abs=2e-4)
    assert h100["allocated_gpu_hours"] == pytest.approx(sum(expected.values()) / 3600, abs=5e-4)
    # gpu2 drained with no job on it (the running job is pinned to gpu1): 4 GPUs x the
    # measured drain; slurmdbd stamps the event within a second of each scontrol call.
    drained = 4 * (run.drain[1] - run.drain[0])
    assert h100["drained_gpu_hours"] == pytest.approx(drained / 3600, abs=4 * 2 / 3600)
    [incident] = [i for i in data["incidents"] if TOKEN in i["reason"]]
    assert incident["node"] == "gpu2" and incident["kind"] == "drained"
    money = data["money"]["gpu_types"]["h100"]
    assert money["cost"] == pytest.approx(GPUS_PRESENT * window / 3600 * COST, abs=0.011)
    assert money["revenue"] == pytest.approx(sum(expected.values()) / 3600 * PRICE, abs=0.011)


@pytest.mark.parametrize("fmt", ["json", "csv", "html", "table"])
def test_public_view_names_nobody(run: Run, fmt: str) -> None:
    env = f"AIHPC_CLUSTER_PROFILE=$HOME/aihpc-e2e/{PROFILE}"
    out = ok(
        as_alice(f"{env} aihpc report --public --since @{run.t0} --until @{run.t1} --format {fmt}")
    )
    for name in (USER, "research", SECOND_ACCOUNT, NAME):
        assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", out), (name, fmt)
    assert "gpu2" in out  # the incident is there, by node


def test_stats_finished_failed_sweep_and_running(run: Run) -> None:
    def one(job_id: str) -> Any:
        [alloc] = aihpc_json("stats", job_id, "--json")["allocations"]
        return alloc

    done = one(run.jobs["two_by_60"])
    assert (done["state"], done["exit_code"], done["gpus"]) == ("COMPLETED", 0, 2)
    assert 58 <= done["elapsed_s"] <= 70
    assert done["gpu_hours"] == pytest.approx(2 * done["elapsed_s"] / 3600, abs=1e-4)
    failed = one(run.jobs["failed"])
    assert (failed["state"], failed["exit_code"]) == ("FAILED", 3)
    task = one(f"{run.jobs['sweep']}_1")
    assert task["state"] == "COMPLETED" and task["gpus"] == 1
    running = one(run.jobs["running"])
    assert running["state"] == "RUNNING" and running["running"] is True and running["gpus"] == 1
    sweep = aihpc_json("stats", run.jobs["sweep"], "--json")
    assert {a["job_id"] for a in sweep["allocations"]} == {
        f"{run.jobs['sweep']}_0",
        f"{run.jobs['sweep']}_1",
    }
