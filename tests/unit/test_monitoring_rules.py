"""The aihpc alert rules: promtool check rules and promtool test rules
(tests/unit/monitoring/alerts_test.yml) on the rules the role renders, and
the test series checked against the recorded exporter output."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoringlib import families, metric_names
from tests.unit.conftest import REPO
from tests.unit.monitoring.tools import ALERT_TESTS, FIXTURES, run_tool
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK, run_render

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")

GPU_FIXTURES = {
    "dcgm": FIXTURES / "dcgm-exporter.metrics",
    "amd": FIXTURES / "amd-device-metrics-exporter.metrics",
}
# The labels Prometheus adds to every series (target labels of the role's scrape configs).
TARGET_LABELS = {"job", "instance", "node"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local inventory's rules (role defaults) with the unit tests beside them."""
    dest = tmp_path_factory.mktemp("render-rules")
    run_render(
        REPO / "playbooks" / "render" / "monitoring.yml",
        "local",
        tmp_path_factory.mktemp("home"),
        f"render_dir={dest}",
    )
    shutil.copy(ALERT_TESTS, dest / "monitoring" / ALERT_TESTS.name)
    return dest / "monitoring"


def _rules(rendered: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load((rendered / "rules.d" / "aihpc-alerts.yml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def _tests() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    return tests


def test_promtool_check_rules(rendered: Path) -> None:
    proc = run_tool("promtool", "check", "rules", str(rendered / "rules.d" / "aihpc-alerts.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 21 rules found" in proc.stdout


def test_promtool_test_rules(rendered: Path) -> None:
    proc = run_tool("promtool", "test", "rules", str(rendered / ALERT_TESTS.name))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_test_rules_catches_a_changed_threshold(rendered: Path, tmp_path: Path) -> None:
    # The same tests against rules rendered with another temperature limit must fail:
    # the tests pin the thresholds, not just the syntax.
    rules = (rendered / "rules.d" / "aihpc-alerts.yml").read_text()
    assert "DCGM_FI_DEV_GPU_TEMP > 87" in rules
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "aihpc-alerts.yml").write_text(
        rules.replace("DCGM_FI_DEV_GPU_TEMP > 87", "DCGM_FI_DEV_GPU_TEMP > 95")
    )
    shutil.copy(ALERT_TESTS, tmp_path / ALERT_TESTS.name)
    proc = run_tool("promtool", "test", "rules", str(tmp_path / ALERT_TESTS.name))
    assert proc.returncode != 0
    assert "GpuTemperatureHigh" in proc.stdout + proc.stderr


def test_every_alert_fires_in_a_test(rendered: Path) -> None:
    alerts = {rule["alert"] for rule in _rules(rendered)}
    fired = {
        case["alertname"]
        for test in _tests()
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == fired


def test_every_rule_has_severity_and_runbook(rendered: Path) -> None:
    docs = (REPO / "docs" / "monitoring.md").read_text()
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", docs, re.M)
    }
    for rule in _rules(rendered):
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"docs/monitoring.md#alert-{rule['alert'].lower()}"
        assert runbook.split("#")[1] in anchors, f"docs/monitoring.md has no section for {runbook}"


def test_gpu_test_series_match_the_recorded_exporter_output() -> None:
    """Every GPU input series has the name and the label names the exporters emit."""
    recorded = {kind: families(path) for kind, path in GPU_FIXTURES.items()}
    known = {name: sets for fams in recorded.values() for name, sets in fams.items()}
    checked = 0
    for test in _tests():
        for item in test["input_series"]:
            name = item["series"].split("{", 1)[0]
            if not (name.startswith("DCGM_FI_") or name.startswith("gpu_")):
                continue
            # The pre-3.3 name of the clock event field is read by the rule as well.
            fixture_name = name.replace("CLOCK_THROTTLE_REASONS", "CLOCKS_EVENT_REASONS")
            assert fixture_name in known, f"{name} is not in the recorded exporter output"
            labels = set(re.findall(r'(\w+)="', item["series"])) - TARGET_LABELS
            if name == fixture_name:
                assert any(labels == set(s) for s in known[fixture_name]), (name, labels)
            checked += 1
    assert checked >= 10


def test_every_gpu_metric_the_rules_read_is_exported(rendered: Path) -> None:
    recorded = set(families(GPU_FIXTURES["dcgm"])) | set(families(GPU_FIXTURES["amd"]))
    recorded.add("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS")  # DCGM < 3.3's name of the same field
    for rule in _rules(rendered):
        for name in metric_names(rule["expr"]):
            if name.startswith(("DCGM_", "gpu_")):
                assert name in recorded, f"{rule['alert']} reads {name}, which no exporter emits"


def test_every_node_metric_the_rules_read_is_exported(rendered: Path) -> None:
    recorded = set(families(FIXTURES / "node-exporter.metrics"))
    # Recorded on the nodes only (no D-Bus on the host that recorded the fixture).
    recorded.add("node_systemd_unit_state")
    for rule in _rules(rendered):
        for name in metric_names(rule["expr"]):
            if name.startswith("node_"):
                assert name in recorded, f"{rule['alert']} reads {name}, which node_exporter lacks"


def test_dcgm_counters_file_feeds_every_dcgm_field_the_rules_read(rendered: Path) -> None:
    counters = {
        line.split(",")[0].strip()
        for line in (REPO / "roles/monitoring/files/dcgm-counters.csv").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for rule in _rules(rendered):
        for name in metric_names(rule["expr"]):
            if name.startswith("DCGM_") and name != "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS":
                assert name in counters, f"{rule['alert']} reads {name}, not in dcgm-counters.csv"
