"""CSV: one long table (section, key, subkey, metric, value), so every figure fits
one shape and a spreadsheet pivot recovers any view."""

from __future__ import annotations

import csv
import io
from typing import Any

HEADER = ("section", "key", "subkey", "metric", "value")


def _scalars(row: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in row.items() if not isinstance(v, dict | list)]


def render_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)

    def rows(section: str, key: str, subkey: str, data: dict[str, Any]) -> None:
        for metric, value in _scalars(data):
            writer.writerow((section, key, subkey, metric, "" if value is None else value))

    rows("window", "", "", report["window"])
    for gpu_type, row in report["gpu_types"].items():
        rows("gpu_type", gpu_type, "", row)
    for part, row in report.get("partitions", {}).items():
        rows("partition", part, "", row)
        for gpu_type, sub in row["gpu_types"].items():
            rows("partition", part, gpu_type, sub)
    for row in report.get("accounts", []):
        rows("account", row["account"], "", {k: v for k, v in row.items() if k != "account"})
    for row in report.get("users", []):
        rows(
            "user",
            row["user"],
            row["account"],
            {"jobs": row["jobs"], "gpu_hours": row["gpu_hours"]},
        )
    for row in report.get("top_jobs", []):
        rows("top_job", row["job_id"], "", {k: v for k, v in row.items() if k != "job_id"})
    for part, row in report.get("queue_wait", {}).items():
        rows("queue_wait", part, "", row)
    money = report.get("money")
    if money:
        for gpu_type, row in money["gpu_types"].items():
            rows("money_gpu_type", gpu_type, money["currency"], row)
        for row in money["accounts"]:
            rows(
                "money_account",
                row["account"],
                money["currency"],
                {k: v for k, v in row.items() if k != "account"},
            )
        rows("money_total", "", money["currency"], money["total"])
    for i, row in enumerate(report.get("incidents", [])):
        rows("incident", str(i + 1), row["node"], row)
    for i, row in enumerate(report.get("maintenance", [])):
        rows("maintenance", str(i + 1), row["nodes"], row)
    timeline = report.get("timeline", {})
    for gpu_type, series in timeline.get("gpu_types", {}).items():
        for start, alloc, unavail in zip(
            timeline["start"], series["allocated_gpus"], series["unavailable_gpus"], strict=True
        ):
            writer.writerow(("timeline", gpu_type, start, "allocated_gpus", alloc))
            writer.writerow(("timeline", gpu_type, start, "unavailable_gpus", unavail))
    if "gpu_metrics" in report:
        rows("gpu_metrics", "", "", report["gpu_metrics"])
    return out.getvalue()
