"""The accounting policy of inventories/local on the live cluster (docs/policy.md).

The converge created it (slurm role, slurm_sacctmgr): accounts physics
(shares 3, bob) and biology (shares 1, carol), the QOS normal, high, debug,
preemptible and capped (MaxTRESPerUser=gres/gpu=4), GPU billing at
slurm_gpu_prices.h100 per GPU-hour, and mallory marked absent.

- after both groups have used the cluster, sshare and sprio rank physics
  above biology (3:1);
- a user at capped's 4-GPU limit has the next job held, with the limit as
  the pending reason;
- a debug job over debug's wall time is refused at submit time;
- a 2-GPU job's billing TRES in sacct is 2 x the price;
- mallory, added by hand, is removed by the policy playbook, and a second
  run changes nothing.

Slurm is read through aihpc.slurm (sshare, sprio, squeue parsers, TRES).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from aihpc.slurm.jobs import JobInfo, parse_squeue
from aihpc.slurm.sprio import parse_sprio, sprio_argv
from aihpc.slurm.sshare import ShareInfo, parse_sshare, sshare_argv
from aihpc.slurm.tres import parse_tres
from tests.cluster import jobs
from tests.clusterlib import ROOT, SSH_CONFIG, STATE_DIR, require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

INVENTORY = ROOT / "inventories" / "local"
POLICY = yaml.safe_load((INVENTORY / "group_vars" / "all" / "cluster.yml").read_text())
PRICE = int(POLICY["slurm_gpu_prices"]["h100"])
NAME = f"policy-{jobs.TOKEN}"  # every job of this module, for the clean-up


def as_user(user: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A shell command as `user` on the login node, from /tmp; never raises on rc."""
    remote = f"su - {user} -c " + shlex.quote(f"cd /tmp && {command}")
    return subprocess.run(
        ["ssh", "-F", str(SSH_CONFIG), jobs.LOGIN, remote],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sbatch(user: str, *options: str, script: str = "sleep 1") -> str:
    argv = ["sbatch", "--parsable", f"--job-name={NAME}", "--output=/dev/null", *options]
    proc = as_user(user, shlex.join([*argv, "--wrap", script]))
    assert proc.returncode == 0, f"{user}: {argv}: {proc.stdout}{proc.stderr}"
    return proc.stdout.strip().split(";")[0]


def queue(*job_ids: str) -> dict[str, JobInfo]:
    out = jobs.ssh_root(f"squeue --json --jobs={','.join(job_ids)}")
    return {j.job_id: j for j in parse_squeue(json.loads(out))}


def wait_state(job_id: str, state: str, timeout: float = 90) -> JobInfo:
    def probe() -> JobInfo | None:
        job = queue(job_id).get(job_id)
        return job if job and job.state == state else None

    return jobs.wait_for(f"job {job_id} {state}", probe, timeout)


def sacct_field(job_id: str, field: str) -> str:
    return jobs.ssh_root(f"sacct -j {job_id} -X -n -P -o {field}").strip()


def wait_completed(job_id: str, timeout: float = 120) -> None:
    jobs.wait_for(
        f"job {job_id} COMPLETED in sacct",
        lambda: True if sacct_field(job_id, "State") == "COMPLETED" else None,
        timeout,
    )


def cancel_ours() -> None:
    jobs.ssh_root(f"scancel --name={NAME} || true")
    jobs.wait_for(
        "this module's jobs to leave the queue",
        lambda: True if not jobs.ssh_root(f"squeue -h --name={NAME} -o %i").strip() else None,
        120,
    )


@pytest.fixture(autouse=True)
def clean_queue() -> Iterator[None]:
    yield
    cancel_ours()


def shares() -> dict[str, ShareInfo]:
    rows = parse_sshare(json.loads(jobs.ssh_root(shlex.join(sshare_argv()))))
    return {r.name: r for r in rows if r.kind == "account"}


def _tree_settled(now: dict[str, ShareInfo], accounts: tuple[str, ...]) -> bool:
    """The plugin's last pass saw the current raw usage: each account's normalised
    usage is its share of the root's raw usage (until then it shows the old pass)."""
    root = now["root"].raw_usage or 0
    for name in accounts:
        raw, normalized = now[name].raw_usage or 0, now[name].usage_normalized or 0.0
        if not raw or not root or abs(normalized - raw / root) > 0.02 * raw / root:
            return False
    return True


def test_shares_three_to_one_rank_pending_jobs() -> None:
    # Start both groups from no usage, whatever earlier runs left on this cluster.
    jobs.ssh_root("sacctmgr -i modify account where name=physics,biology set RawUsage=0")
    used = [
        sbatch("bob", "--account=physics", "--gres=gpu:1", "--time=5", script="sleep 15"),
        sbatch("carol", "--account=biology", "--gres=gpu:1", "--time=5", script="sleep 15"),
    ]
    for job_id in used:
        wait_completed(job_id)
    # Usage reaches the fair-share tree on the plugin's next pass
    # (PriorityCalcPeriod=1): raw usage is recorded first, the effective usage
    # that ranks accounts only then.
    jobs.wait_for(
        "the fair-share tree recalculated with physics's and biology's usage",
        lambda: True if _tree_settled(shares(), ("physics", "biology")) else None,
        timeout=150,
    )
    now = shares()
    physics_acct, biology_acct = now["physics"], now["biology"]
    assert physics_acct.raw_shares == 3 and biology_acct.raw_shares == 1
    # Fair Tree ranks sibling accounts by Level FS = normalised shares /
    # effective usage. Both used about the same (one GPU for 15 s each), so
    # physics's level is about three times biology's.
    assert physics_acct.fairshare_level is not None and biology_acct.fairshare_level is not None
    ratio = physics_acct.fairshare_level / biology_acct.fairshare_level
    usage_ratio = (biology_acct.raw_usage or 0) / (physics_acct.raw_usage or 1)
    assert 0.8 < usage_ratio < 1.25, now
    assert 2.4 < ratio < 3.75, (ratio, now)

    # Hold every node, then queue one job per group behind it.
    blocker = sbatch(
        "alice", "--account=research", "--nodes=2", "--exclusive", "--time=5", script="sleep 300"
    )
    wait_state(blocker, "RUNNING")
    physics = sbatch("bob", "--account=physics", "--gres=gpu:1", "--time=5")
    biology = sbatch("carol", "--account=biology", "--gres=gpu:1", "--time=5")
    pending = queue(physics, biology)
    assert all(pending[j].state == "PENDING" for j in (physics, biology)), pending
    ranks = {
        p.job_id: p
        for p in parse_sprio(jobs.ssh_root(shlex.join(sprio_argv())))
        if p.job_id in (physics, biology)
    }
    assert ranks[physics].fairshare > ranks[biology].fairshare, ranks
    assert ranks[physics].priority > ranks[biology].priority, ranks


def test_max_tres_per_user_holds_the_next_job() -> None:
    first = sbatch(
        "bob",
        "--account=physics",
        "--qos=capped",
        "--nodes=1",
        "--gres=gpu:4",
        "--time=5",
        script="sleep 120",
    )
    wait_state(first, "RUNNING")
    second = sbatch("bob", "--account=physics", "--qos=capped", "--gres=gpu:1", "--time=5")

    def reason() -> str | None:
        job = queue(second)[second]
        return job.reason if job.reason not in ("", "None") else None

    held = jobs.wait_for(f"a pending reason for job {second}", reason, timeout=60)
    assert held == "QOSMaxGRESPerUser", held
    assert queue(second)[second].state == "PENDING"


def test_debug_over_its_wall_time_is_refused_at_submit() -> None:
    before = jobs.ssh_root("squeue -h -u bob -o %i").split()
    over = as_user(
        "bob",
        f"sbatch --job-name={NAME} --account=physics --qos=debug --time=01:00:00 "
        "--output=/dev/null --wrap true",
    )
    assert over.returncode != 0, over.stdout
    assert "Job violates accounting/QOS policy" in over.stderr, over.stderr
    assert jobs.ssh_root("squeue -h -u bob -o %i").split() == before
    # Within the limit the same request is accepted.
    within = sbatch("bob", "--account=physics", "--qos=debug", "--time=00:10:00")
    assert within.isdigit()


def test_two_gpu_job_bills_twice_the_gpu_price() -> None:
    job_id = sbatch("bob", "--account=physics", "--gres=gpu:2", "--time=5", script="sleep 2")
    wait_completed(job_id)
    tres = parse_tres(sacct_field(job_id, "AllocTRES"))
    assert tres.get("billing") == str(2 * PRICE), tres
    # AccountingStorageTRES has the typed GPUs too.
    assert tres.get("gres/gpu") == "2" and tres.get("gres/gpu:h100") == "2", tres


def policy_playbook() -> str:
    env = dict(
        os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible-harness.cfg"), AIHPC_STATE_DIR=str(STATE_DIR)
    )
    cmd = ["ansible-playbook", "-i", str(INVENTORY), str(ROOT / "playbooks" / "slurm-policy.yml")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def associations(user: str) -> list[str]:
    out = jobs.ssh_root(f"sacctmgr -n -P show association where user={user} format=Account")
    return out.split()


def test_absent_user_is_removed_and_the_rerun_changes_nothing() -> None:
    assert any(
        u.get("name") == "mallory" and u.get("state") == "absent"
        for u in POLICY["slurm_accounting_users"]
    )
    jobs.ssh_root("sacctmgr -i add user mallory account=biology")
    assert associations("mallory") == ["biology"]
    first = policy_playbook()
    assert associations("mallory") == []
    assert re.search(r"changed: \[ctl1\].*absent user mallory", first), first[-3000:]
    second = policy_playbook()
    recap = re.search(r"^ctl1\s+:.*$", second, re.MULTILINE)
    assert recap and " changed=0 " in recap.group(0), second[-3000:]
    # bob and carol were compared and left as they are.
    assert associations("bob") == ["physics"] and associations("carol") == ["biology"]
