"""Monitoring on the live local cluster: Prometheus on ctl1 (the monitoring
group), node_exporter on every node, the aihpc exporter on ctl1.

Needs the cluster converged with playbooks/site.yml (its last play is
playbooks/monitoring.yml). Prometheus is asked over ssh on ctl1 (python3's
urllib: the nodes have no curl). Every dashboard query is sent to it: no
syntax error, and every Slurm or node metric it names exists there. GPU
exporter metrics cannot exist here (no GPU, no vendor exporter): the unit
tests check those against recorded exporter output instead. A job kept
pending behind a blocker shows in the pending-age and started-wait families.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import time
from typing import Any

import pytest

from tests.cluster.jobs import TOKEN, USER, as_alice, ok, ssh_on, ssh_root, wait_for
from tests.clusterlib import ROOT, require_live_cluster
from tests.monitoringlib import gpu_metric, metric_names, panel_queries

require_live_cluster()

NODES = ["ctl1", "gpu1", "gpu2"]
RECORD = "/var/log/aihpc/gpu-jobs.tsv"
# Reads one JSON request {path, params} on stdin, prints Prometheus's JSON answer.
# GET: /api/v1/targets and /api/v1/metadata answer GET only (POST is 405).
_QUERY = """
import json, sys, urllib.parse, urllib.request
req = json.load(sys.stdin)
query = urllib.parse.urlencode(req["params"], doseq=True)
url = "http://127.0.0.1:9090" + req["path"] + "?" + query
try:
    with urllib.request.urlopen(url, timeout=30) as r:
        print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.read().decode() or json.dumps({"status": "error", "error": f"HTTP {e.code}"}))
"""


def prometheus(path: str, **params: Any) -> dict[str, Any]:
    """POST to Prometheus's HTTP API on ctl1 and return its JSON answer."""
    request = json.dumps({"path": path, "params": params}).encode()
    out = ssh_root(f"python3 -c {shlex.quote(_QUERY)}", stdin=request)
    answer: dict[str, Any] = json.loads(out)
    return answer


def query(expr: str) -> dict[str, Any]:
    return prometheus("/api/v1/query", query=expr)


_ssh = ssh_on


@pytest.fixture(scope="module")
def targets() -> list[dict[str, Any]]:
    """Active targets, once every node and the aihpc exporter have been scraped up."""

    def probe() -> list[dict[str, Any]] | None:
        active: list[dict[str, Any]] = prometheus("/api/v1/targets", state="active")["data"][
            "activeTargets"
        ]
        up = {(t["labels"]["job"], t["labels"]["instance"]) for t in active if t["health"] == "up"}
        wanted = {("node", n) for n in NODES} | {("aihpc-exporter", "ctl1")}
        return active if wanted <= up else None

    return wait_for("node_exporter on every node and the aihpc exporter up", probe, 180)


@pytest.fixture(scope="module")
def known_names(targets: list[dict[str, Any]]) -> set[str]:
    """Metric names Prometheus has samples or metadata for."""
    del targets  # requested so every target has been scraped before the names are read
    names = set(prometheus("/api/v1/label/__name__/values")["data"])
    names |= set(prometheus("/api/v1/metadata")["data"])
    return names


def test_targets_are_the_inventory(targets: list[dict[str, Any]]) -> None:
    nodes = sorted(t["labels"]["node"] for t in targets if t["labels"]["job"] == "node")
    assert nodes == NODES
    jobs = sorted({t["labels"]["job"] for t in targets})
    assert jobs == ["aihpc-exporter", "alertmanager", "node", "prometheus"]


@pytest.mark.usefixtures("targets")
def test_slurm_metrics_come_through() -> None:
    # 2 compute nodes x 4 fake GPUs, counted by the aihpc exporter from Slurm.
    result = query("sum(aihpc_slurm_gpus_total)")["data"]["result"]
    assert result and float(result[0]["value"][1]) == 8.0
    up = query('aihpc_slurm_command_up{command="scontrol"}')["data"]["result"]
    assert up and up[0]["value"][1] == "1"


@pytest.mark.parametrize(
    ("board", "title", "expr"), panel_queries(), ids=[f"{b}:{t}" for b, t, _ in panel_queries()]
)
def test_every_dashboard_query_runs(
    known_names: set[str], board: str, title: str, expr: str
) -> None:
    answer = query(expr)
    assert answer["status"] == "success", f"{board} / {title}: {answer}"
    missing = sorted(n for n in metric_names(expr) if not gpu_metric(n) and n not in known_names)
    assert missing == [], f"{board} / {title} names metrics Prometheus does not have: {missing}"


def test_every_slurm_and_node_metric_of_the_rules_exists(known_names: set[str]) -> None:
    rules = prometheus("/api/v1/rules")["data"]["groups"]
    assert sorted(g["name"] for g in rules) == [
        "aihpc-fabric",
        "aihpc-gpu",
        "aihpc-nodes",
        "aihpc-slurm",
    ]
    assert all(r["health"] in ("ok", "unknown") for g in rules for r in g["rules"])
    missing = {
        name
        for group in rules
        for rule in group["rules"]
        for name in metric_names(rule["query"])
        # No HCA in the containers: IB metrics are checked against recorded output.
        if not gpu_metric(name)
        and not name.startswith("node_infiniband_")
        and name not in known_names
    }
    assert missing == set()


@pytest.mark.usefixtures("targets")
def test_the_node_exporters_read_the_slurm_units() -> None:
    active = query('node_systemd_unit_state{state="active"} == 1')["data"]["result"]
    units = {(r["metric"]["node"], r["metric"]["name"]) for r in active}
    assert {
        ("ctl1", "slurmctld.service"),
        ("ctl1", "slurmdbd.service"),
        ("gpu1", "slurmd.service"),
        ("gpu2", "munge.service"),
    } <= units


def test_a_gpu_job_leaves_one_record_line_per_gpu() -> None:
    job = ok(as_alice("sbatch --parsable --wait --gres=gpu:2 --wrap 'sleep 1'", timeout=180))
    job_id = job.strip().split(";")[0]

    def node_of_job() -> str | None:
        # slurmdbd records the job a moment after it ends.
        out = ok(as_alice(f"sacct -j {job_id} -X -n -P -o NodeList")).strip()
        return out if out in NODES[1:] else None

    node = wait_for(f"sacct NodeList of {job_id}", node_of_job, 60)

    def record_lines() -> list[list[str]] | None:
        # The epilog may still run while sbatch --wait returns (COMPLETING).
        text = _ssh(node, f"cat {RECORD} 2>/dev/null || true")
        found = [x.split("\t") for x in text.splitlines() if x.split("\t")[4:5] == [job_id]]
        return found if len(found) == 2 else None

    lines = wait_for(f"two record lines of job {job_id} on {node}", record_lines, 60)
    assert {line[5] for line in lines} == {node}
    # The same GPUs the local inventory's 10-gpu-devices prolog logged for the job.
    logged = _ssh(node, f"journalctl -t aihpc-prolog -o cat --no-pager | grep 'job {job_id} gpus='")
    gpus = logged.strip().splitlines()[-1].split("gpus=")[1].split(",")
    assert sorted(line[6] for line in lines) == sorted(gpus)
    assert {line[7] for line in lines} == {USER}
    assert int(lines[0][1]) >= int(lines[0][2]) > 0


def _values(expr: str) -> list[tuple[dict[str, str], float]]:
    answer = query(expr)
    assert answer["status"] == "success", f"{expr}: {answer}"
    return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]


def _sbatch(*options: str, script: str) -> str:
    argv = ["sbatch", "--parsable", f"--job-name=wait-{TOKEN}", "--output=/dev/null", *options]
    return ok(as_alice(shlex.join([*argv, "--wrap", script]))).strip().split(";")[0]


# Families read from squeue whose values do not move between two scrapes a
# second apart (the age sums and the oldest age do).
_STABLE = re.compile(
    r"^aihpc_slurm_jobs(_pending)?\{|^aihpc_slurm_jobs_(pending_age|started_wait)_seconds_(count|bucket)"
)


def _squeue_families(mode: str) -> list[str]:
    """One `aihpc exporter --once` scrape as alice with that squeue path, the stable lines."""
    out = ok(as_alice(f"aihpc exporter --once --squeue {mode}"))
    return sorted(line for line in out.splitlines() if _STABLE.match(line))


@pytest.mark.usefixtures("targets")
def test_a_pending_job_shows_in_the_wait_families() -> None:
    """A job pending behind a blocker holding both nodes is an eligible pending
    job in the age histogram; the blocker, just started, is in the started-wait
    one; every pending reason is a Slurm reason code (the lean squeue path maps
    squeue's descriptions back to codes)."""
    blocker = _sbatch(
        "--account=research", "--nodes=2", "--exclusive", "--time=5", script="sleep 300"
    )
    pending = ""
    try:

        def running() -> bool | None:
            state = ok(as_alice(f"squeue -h -j {blocker} -o %T")).strip()
            return True if state == "RUNNING" else None

        wait_for(f"blocker {blocker} running", running, 120)
        submitted = time.time()
        pending = _sbatch("--account=research", "--gres=gpu:1", "--time=5", script="true")
        gpu = '{partition="gpu"}'

        def counted() -> list[tuple[dict[str, str], float]] | None:
            found = _values(f"aihpc_slurm_jobs_pending_age_seconds_count{gpu} >= 1")
            started = _values(f"aihpc_slurm_jobs_started_wait_seconds_count{gpu} >= 1")
            return found if found and started else None

        wait_for(f"job {pending} in aihpc_slurm_jobs_pending_age_seconds", counted, 180)
        [(_, oldest)] = _values(f"aihpc_slurm_jobs_pending_oldest_seconds{gpu}")
        assert 0 <= oldest <= time.time() - submitted + 90, oldest
        # cumulative buckets: +Inf holds every counted job
        [(_, gap)] = _values(
            f'aihpc_slurm_jobs_pending_age_seconds_bucket{{partition="gpu",le="+Inf"}}'
            f" - ignoring(le) aihpc_slurm_jobs_pending_age_seconds_count{gpu}"
        )
        assert gap == 0
        [(_, p50)] = _values(
            "histogram_quantile(0.5, sum by (le) "
            f"(aihpc_slurm_jobs_started_wait_seconds_bucket{gpu}))"
        )
        assert not math.isnan(p50) and 0 <= p50 <= 3600, p50
        reasons = {m["reason"] for m, _ in _values("aihpc_slurm_jobs_pending")}
        assert reasons & {"Resources", "Priority"}, reasons
        assert all(re.fullmatch(r"[A-Za-z]+", r) for r in reasons), reasons
        # Real 24.11 output, both job paths: the same job counts and labels.
        lean, full = (_squeue_families(mode) for mode in ("lean", "json"))
        assert lean == full, (lean, full)
        assert any(line.startswith("aihpc_slurm_jobs_pending_age_seconds_count") for line in lean)
    finally:
        as_alice(f"scancel {blocker} {pending}")


def test_promtool_checks_and_tests_the_rules_on_ctl1() -> None:
    ok_out = ssh_root("promtool check rules /etc/prometheus/rules.d/aihpc-alerts.yml")
    assert "SUCCESS" in ok_out
    tests = (ROOT / "tests" / "unit" / "monitoring" / "alerts_test.yml").read_bytes()
    ssh_root(
        "rm -rf /tmp/aihpc-alerts-test && mkdir /tmp/aihpc-alerts-test && "
        "ln -s /etc/prometheus/rules.d /tmp/aihpc-alerts-test/rules.d && "
        "cat > /tmp/aihpc-alerts-test/alerts_test.yml",
        stdin=tests,
    )
    out = ssh_root("promtool test rules /tmp/aihpc-alerts-test/alerts_test.yml")
    assert "SUCCESS" in out


def test_prometheus_fits_the_controller() -> None:
    rss_kib = int(ssh_root("ps -o rss= -C prometheus").split()[0])
    # GOMEMLIMIT 256MiB (inventories/local/group_vars/monitoring.yml) is soft: allow headroom.
    assert rss_kib < 400 * 1024, f"prometheus uses {rss_kib} KiB"
