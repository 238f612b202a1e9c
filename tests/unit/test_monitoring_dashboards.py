"""The Grafana dashboards of the monitoring role: valid dashboard JSON,
provisioned by the role, and every metric a panel names is one that an
exporter emits (the aihpc exporter's own family list, aihpc health's
textfile, and the recorded node_exporter, dcgm-exporter and AMD output).
The queue-wait panels are evaluated by promtool over the exporter's own
output for tests/fixtures/slurm/squeue_lean_handmade.txt."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aihpc.exporter.families import BY_NAME, FAMILIES, When, command_values
from aihpc.slurm.squeue_lean import parse_squeue_lean
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
from tests.unit.monitoring.tools import run_tool
from tests.unit.slurm_synth import SLURM
from tests.unit.test_exporter_aggregate import HANDMADE_NOW

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


WAIT_PANELS = {
    "Pending jobs by age",
    "Oldest pending job per partition",
    "p50/p90 queue wait of recently started jobs",
    "Jobs started per minute",
}
# What each wait panel's queries give over the handmade jobs (worked out by hand
# in tests/unit/test_exporter_aggregate.py's pending-age and started-wait tests).
# Pending ages, cumulative per le, summed over partitions: gpu 1,1,1,2,4,... and
# gpu,all 0 up to 86400 s, then 1 (two days).
PENDING_BY_LE = dict(
    zip(
        ("60.0", "300.0", "900.0", "3600.0", "14400.0", "43200.0", "86400.0", "259200.0"),
        (1, 1, 1, 2, 4, 4, 4, 5),
        strict=True,
    )
)
# Started waits: gpu 30 | 90 100 | 600 700, mig 850: 60 -> 1, 300 -> 3, 900 -> 6.
# p50: rank 3 ends the 60-300 bucket: 300. p90: rank 5.4, 2.4 of the 3 jobs in
# the 300-900 bucket: 300 + 600 * 2.4 / 3 = 780.
EXPECTED: dict[str, list[dict[str, Any]]] = {
    "sum by (le) (aihpc_slurm_jobs_pending_age_seconds_bucket)": [
        *({"le": le, "value": v} for le, v in PENDING_BY_LE.items()),
        {"le": "604800.0", "value": 5},
        {"le": "+Inf", "value": 5},
    ],
    "max by (partition) (aihpc_slurm_jobs_pending_oldest_seconds)": [
        {"partition": "gpu", "value": 9940},
        {"partition": "gpu,all", "value": 2 * 86400 + 10000},
        {"partition": "mig", "value": 0},
        {"partition": "cpu", "value": 0},
    ],
    "histogram_quantile(0.5, sum by (le) (aihpc_slurm_jobs_started_wait_seconds_bucket))": [
        {"value": 300}
    ],
    "histogram_quantile(0.9, sum by (le) (aihpc_slurm_jobs_started_wait_seconds_bucket))": [
        {"value": 300 + (900 - 300) * ((0.9 * 6 - 3) / 3)}  # 780, in Prometheus' float steps
    ],
    "sum by (partition) (aihpc_slurm_jobs_started_wait_seconds_count) "
    "/ scalar(aihpc_slurm_jobs_started_window_seconds) * 60": [
        {"partition": "gpu", "value": 0.5},
        {"partition": "mig", "value": 0.1},
        {"partition": "cpu", "value": 0},
        {"partition": "gpu,all", "value": 0},
    ],
}


def _wait_queries() -> list[str]:
    return [expr for board, title, expr in panel_queries() if title in WAIT_PANELS]


def test_the_queue_board_shows_waits_from_the_gauge_histograms() -> None:
    assert {title for board, title, _ in panel_queries() if board == "queue"} >= WAIT_PANELS
    assert sorted(_wait_queries()) == sorted(EXPECTED)
    for expr in _wait_queries():
        # Gauge histograms: the current distribution, summed as it is; rate() would be wrong.
        assert "rate(" not in expr and "increase(" not in expr, expr
        if "histogram_quantile" in expr:
            assert "by (le)" in expr and "_bucket" in expr, expr


def _series(values: dict[str, list[tuple[tuple[str, ...], float]]]) -> list[dict[str, str]]:
    out = []
    for name, samples in values.items():
        for labels, value in samples:
            pairs = dict(zip(BY_NAME[name].labels, labels, strict=True))
            pairs.update(job="aihpc-exporter", instance="ctl1")
            text = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(pairs.items()))
            out.append({"series": f"{name}{{{text}}}", "values": f"{value:g}x5"})
    return out


def test_promtool_evaluates_the_wait_panels_over_the_exporter_output(tmp_path: Path) -> None:
    jobs = parse_squeue_lean((SLURM / "squeue_lean_handmade.txt").read_text())
    values = command_values("squeue", jobs, When(HANDMADE_NOW)).samples
    cases = []
    for expr, samples in EXPECTED.items():
        exp = []
        for sample in samples:
            labels = {k: v for k, v in sample.items() if k != "value"}
            text = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
            exp.append({"labels": f"{{{text}}}", "value": sample["value"]})
        cases.append({"expr": expr, "eval_time": "2m", "exp_samples": exp})
    test = {"interval": "1m", "input_series": _series(values), "promql_expr_test": cases}
    path = tmp_path / "panels_test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [], "tests": [test]}, sort_keys=False))
    proc = run_tool("promtool", "test", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
