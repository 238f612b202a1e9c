"""What the monitoring role writes, rendered from each inventory by
playbooks/render/monitoring.yml (localhost only, no hosts): golden files,
scrape targets equal to the inventory, and promtool/amtool on the result.

Regenerate after an intended change with
    AIHPC_UPDATE_GOLDEN=1 pytest tests/unit/test_monitoring_render.py
and review the diff like a Prometheus admin would.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.conftest import REPO
from tests.unit.monitoring.tools import run_tool
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK, assert_matches_golden_tree, run_render

GOLDEN = REPO / "tests" / "golden" / "rendered"
INVENTORIES = ["local", "example-rack", "single-node"]
PLAYBOOK = REPO / "playbooks" / "render" / "monitoring.yml"

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    home = tmp_path_factory.mktemp("home")
    out: dict[str, Path] = {}
    for name in INVENTORIES:
        dest = tmp_path_factory.mktemp(f"render-{name}")
        run_render(PLAYBOOK, name, home, f"render_dir={dest}")
        out[name] = dest / "monitoring"
    return out


def _inventory_hosts(inventory: str) -> dict[str, list[str]]:
    """Group -> hosts, from ansible-inventory itself (children expanded)."""
    assert ANSIBLE_PLAYBOOK
    binary = str(Path(ANSIBLE_PLAYBOOK).with_name("ansible-inventory"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible-harness.cfg")
    proc = subprocess.run(
        [binary, "-i", str(REPO / "inventories" / inventory), "--list", "--export"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
        timeout=120,
    )
    data: dict[str, Any] = json.loads(proc.stdout)

    def hosts(group: str) -> list[str]:
        entry = data.get(group, {})
        found = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            found += [h for h in hosts(child) if h not in found]
        return found

    return {group: sorted(hosts(group)) for group in data if group != "_meta"}


def _jobs(prometheus: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {job["job_name"]: job["static_configs"] for job in prometheus["scrape_configs"]}


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_rendered_matches_golden(rendered: dict[str, Path], inventory: str) -> None:
    assert_matches_golden_tree(rendered[inventory], GOLDEN / inventory / "monitoring")


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_targets_are_the_inventory(rendered: dict[str, Path], inventory: str) -> None:
    groups = _inventory_hosts(inventory)
    prometheus = yaml.safe_load((rendered[inventory] / "prometheus.yml").read_text())
    jobs = _jobs(prometheus)
    nodes = jobs["node"]
    # Every host of the inventory once, labelled with its own name.
    assert sorted(c["labels"]["node"] for c in nodes) == groups["all"]
    assert all(c["targets"] == [f"{c['labels']['node']}:9100"] for c in nodes)
    assert [c["targets"] for c in jobs["prometheus"]] == [
        [f"{h}:9090"] for h in groups["monitoring"]
    ]
    alertmanagers = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == [f"{h}:9093" for h in groups["monitoring"]]
    # The aihpc exporter: one target, on a host that gets the aihpc CLI, no `node`
    # label of its own (its series carry the Slurm node they describe).
    exporter = jobs["aihpc-exporter"]
    assert len(exporter) == 1 and "node" not in exporter[0]["labels"]
    assert exporter[0]["labels"]["instance"] in groups["slurm_login"]
    # Vendor exporters are off by default: no target that would always be down.
    assert "dcgm" not in jobs and "amd-gpu" not in jobs


def test_exporter_host_prefers_a_controller_that_is_a_login_node(rendered: dict[str, Path]) -> None:
    local = yaml.safe_load((rendered["local"] / "prometheus.yml").read_text())
    rack = yaml.safe_load((rendered["example-rack"] / "prometheus.yml").read_text())
    assert _jobs(local)["aihpc-exporter"][0]["targets"] == ["ctl1:9341"]
    # head01 has no aihpc CLI (it is not a login node): the first login node runs it.
    assert _jobs(rack)["aihpc-exporter"][0]["targets"] == ["login01:9341"]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_promtool_and_amtool_accept_what_the_role_writes(
    rendered: dict[str, Path], inventory: str
) -> None:
    # check config also loads and lints rules.d/*.yml beside prometheus.yml.
    proc = run_tool("promtool", "check", "config", str(rendered[inventory] / "prometheus.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 rule files found" in proc.stdout
    assert "SUCCESS: 21 rules found" in proc.stdout
    proc = run_tool("amtool", "check-config", str(rendered[inventory] / "alertmanager.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_retention_interval_and_labels_are_variables(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    dest = tmp_path_factory.mktemp("render-vars")
    extra = {
        "render_dir": str(dest),
        "monitoring_prometheus_retention_time": "90d",
        "monitoring_prometheus_retention_size": "500GB",
        "monitoring_prometheus_scrape_interval": "15s",
        "monitoring_prometheus_external_labels": {"cluster": "rack7", "site": "lab"},
        "monitoring_target_address_var": "ansible_host",
        "monitoring_dcgm_exporter_enabled": True,
        "monitoring_dcgm_exporter_source": "binary",
        "monitoring_dcgm_exporter_url": "/srv/mirror/dcgm-exporter",
        "monitoring_alertmanager_email_receivers": [
            {
                "name": "ops-mail",
                "to": "hpc-ops@example.org",
                "from": "prometheus@example.org",
                "smarthost": "smtp.example.org:587",
                "matchers": ['severity="critical"'],
            }
        ],
        "monitoring_alertmanager_webhook_receivers": [
            {"name": "chat", "url": "https://chat.example.org/hooks/aihpc"}
        ],
    }
    run_render(PLAYBOOK, "example-rack", tmp_path_factory.mktemp("home"), json.dumps(extra))
    out = dest / "monitoring"
    prometheus = yaml.safe_load((out / "prometheus.yml").read_text())
    assert prometheus["global"]["scrape_interval"] == "15s"
    assert prometheus["global"]["external_labels"] == {"cluster": "rack7", "site": "lab"}
    args = (out / "default" / "prometheus").read_text()
    assert "--storage.tsdb.retention.time=90d" in args
    assert "--storage.tsdb.retention.size=500GB" in args
    jobs = _jobs(prometheus)
    # Addresses from ansible_host, names still the inventory's.
    h100 = next(c for c in jobs["node"] if c["labels"]["node"] == "h100-01")
    assert h100["targets"] == ["192.0.2.101:9100"]
    # dcgm-exporter on every NVIDIA node (h100 + l40s groups), not on AMD ones.
    assert len(jobs["dcgm"]) == 20
    assert all(not c["labels"]["node"].startswith("mi300x") for c in jobs["dcgm"])
    manager = yaml.safe_load((out / "alertmanager.yml").read_text())
    assert [r["name"] for r in manager["receivers"]] == ["aihpc-none", "ops-mail", "chat"]
    assert manager["route"]["routes"] == [
        {"receiver": "ops-mail", "continue": True, "matchers": ['severity="critical"']},
        {"receiver": "chat", "continue": True},
    ]
    for tool, sub in (("promtool", ["check", "config"]), ("amtool", ["check-config"])):
        name = "prometheus.yml" if tool == "promtool" else "alertmanager.yml"
        proc = run_tool(tool, *sub, str(out / name))
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_node_exporter_arguments(rendered: dict[str, Path]) -> None:
    line = (rendered["local"] / "default" / "prometheus-node-exporter").read_text().splitlines()[-1]
    assert line.startswith('ARGS="') and line.endswith('"')
    args = line[len('ARGS="') : -1].split(" ")
    for collector in (
        "infiniband",
        "netdev",
        "filesystem",
        "meminfo",
        "cpu",
        "pressure",
        "textfile",
    ):
        assert f"--collector.{collector}" in args
    assert "--collector.textfile.directory=/var/lib/prometheus/node-exporter" in args
    # systemd passes $ARGS split on whitespace, no shell: nothing to unquote.
    assert not any(c in line[len('ARGS="') : -1] for c in "'\\\"$`")


def test_exporter_unit(rendered: dict[str, Path]) -> None:
    # The exporter unit runs the aihpc venv's CLI as its own unprivileged user.
    unit = (rendered["local"] / "aihpc-exporter.service").read_text()
    assert "ExecStart=/opt/aihpc/bin/aihpc exporter --listen 0.0.0.0:9341 " in unit
    assert "User=aihpc-exporter" in unit
    assert "ProtectSystem=strict" in unit
