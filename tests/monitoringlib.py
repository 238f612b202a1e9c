"""Readers of the Prometheus text format, PromQL metric names and the role's
dashboards, for checking dashboards and rules against recorded exporter output
(tests/unit) and against the live cluster's Prometheus (tests/cluster)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

# A sample line: name{labels} value
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_TYPE = re.compile(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ")

# PromQL words that are not metric names.
PROMQL_WORDS = {
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "changes",
    "resets",
    "floor",
    "ceil",
    "round",
    "abs",
    "clamp",
    "clamp_min",
    "clamp_max",
    "time",
    "vector",
    "scalar",
    "sort",
    "sort_desc",
    "label_replace",
    "label_join",
    "histogram_quantile",
    "predict_linear",
    "absent",
    "absent_over_time",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "quantile_over_time",
    "present_over_time",
    "timestamp",
    "exp",
    "ln",
    "log2",
    "log10",
    "sqrt",
    "e",
    "inf",
    "nan",
}


def families(path: Path) -> dict[str, list[dict[str, str]]]:
    """Metric name -> label sets of its samples (or [] for a family with only # TYPE)."""
    found: dict[str, list[dict[str, str]]] = {}
    for line in path.read_text().splitlines():
        typed = _TYPE.match(line)
        if typed:
            found.setdefault(typed.group(1), [])
            continue
        if line.startswith("#") or not line.strip():
            continue
        sample = _SAMPLE.match(line)
        if sample:
            labels = dict(_LABEL.findall(sample.group(3) or ""))
            found.setdefault(sample.group(1), []).append(labels)
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads, including {__name__=~"a|b"} alternatives."""
    names: set[str] = set()
    for alternatives in re.findall(r'__name__=~?"([^"]+)"', expr):
        names.update(alternatives.split("|"))
    # Drop label matchers, strings, durations and Grafana variables, then read identifiers.
    bare = re.sub(r"\{[^}]*\}", " ", expr)
    bare = re.sub(r'"[^"]*"', " ", bare)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\$\w+", " ", bare)
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    for word in re.findall(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w(])", bare):
        if word not in PROMQL_WORDS and not re.fullmatch(r"\d+[smhdwy]?", word):
            names.add(word)
    return names


# -- dashboards -----------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = ROOT / "roles" / "monitoring" / "files" / "dashboards"
FIXTURES = ROOT / "tests" / "fixtures" / "monitoring"
# What Grafana puts in for its variables when it sends a query.
GRAFANA_VARIABLES = {
    "$__rate_interval": "2m",
    "$__interval": "30s",
    "$__range_s": "3600",
    "$__range": "1h",
    "$node": ".*",
}


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) for every target of every panel, variables as sent."""
    out: list[tuple[str, str, str]] = []
    for name, board in dashboards().items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                for var, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(var, value)
                out.append((name, panel["title"], expr))
    return out


def gpu_metric(name: str) -> bool:
    """Metrics of the vendor GPU exporters (checked against recorded output, not a live cluster)."""
    return name.startswith(("DCGM_", "gpu_"))
