"""The Grafana dashboards of the monitoring role: valid dashboard JSON,
provisioned by the role, and every metric a panel names is one that an
exporter emits (the aihpc exporter's own family list, aihpc health's
textfile, and the recorded node_exporter, dcgm-exporter and AMD output)."""

from __future__ import annotations

import re

import pytest
import yaml

from aihpc.exporter.families import FAMILIES
from tests.monitoringlib import (
    DASHBOARDS,
    FIXTURES,
    dashboards,
    families,
    gpu_metric,
    metric_names,
    panel_queries,
)
from tests.unit.conftest import REPO

HEALTH_METRICS = set(
    re.findall(r"aihpc_health_\w+", (REPO / "aihpc" / "health" / "metrics.py").read_text())
)


def _known_metrics() -> set[str]:
    known = {family.name for family in FAMILIES} | HEALTH_METRICS | {"up"}
    for fixture in ("node-exporter", "dcgm-exporter", "amd-device-metrics-exporter"):
        known |= set(families(FIXTURES / f"{fixture}.metrics"))
    known.add("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS")  # DCGM < 3.3's name of the mask
    return known


def test_the_four_dashboards_are_provisioned() -> None:
    role_vars = yaml.safe_load((REPO / "roles/monitoring/vars/main.yml").read_text())
    assert sorted(role_vars["__monitoring_dashboards"]) == sorted(dashboards())
    assert sorted(dashboards()) == ["cluster-overview", "gpu-nodes", "queue", "usage"]


@pytest.mark.parametrize("name", sorted(p.stem for p in DASHBOARDS.glob("*.json")))
def test_dashboard_structure(name: str) -> None:
    board = dashboards()[name]
    assert board["uid"] == f"aihpc-{name}"
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["title"].startswith("aihpc / ")
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "aihpc-prometheus"}
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        assert all(t["expr"].strip() for t in panel["targets"])
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] == "aihpc-prometheus"


def test_every_metric_a_panel_names_is_exported() -> None:
    known = _known_metrics()
    missing = [
        (board, title, name)
        for board, title, expr in panel_queries()
        for name in metric_names(expr)
        if name not in known
    ]
    assert missing == []


def test_gpu_panels_cover_both_vendors() -> None:
    gpu = [metric_names(expr) for board, _, expr in panel_queries() if board == "gpu-nodes"]
    names = set().union(*gpu)
    for metric in (
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_XID_ERRORS",
        "gpu_gfx_activity",
        "gpu_used_vram",
        "gpu_junction_temperature",
        "gpu_package_power",
    ):
        assert metric in names
    assert all(gpu_metric(n) for n in names)


def test_grafana_variables_are_all_substituted() -> None:
    for board, title, expr in panel_queries():
        assert "$" not in expr, (board, title, expr)


def test_provisioning_points_at_the_dashboards() -> None:
    text = (REPO / "roles/monitoring/templates/grafana-dashboards.yml.j2").read_text()
    assert "path: {{ monitoring_grafana_dashboards_dir }}" in text
    source = (REPO / "roles/monitoring/templates/grafana-datasource.yml.j2").read_text()
    assert "uid: aihpc-prometheus" in source
