"""The terminal report: rich tables, one per question an operator asks."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _add(table: Table, *cells: str) -> None:
    """Cells hold names and reasons that people typed: never rich markup."""
    table.add_row(*(escape(c) for c in cells))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _h(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _dur(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


CAPACITY_COLUMNS = (
    ("GPUs", "gpus", str),
    ("capacity h", "capacity_gpu_hours", _h),
    ("allocated h", "allocated_gpu_hours", _h),
    ("idle h", "idle_gpu_hours", _h),
    ("down h", "down_gpu_hours", _h),
    ("drained h", "drained_gpu_hours", _h),
    ("planned h", "planned_down_gpu_hours", _h),
    ("reserved h", "reserved_gpu_hours", _h),
    ("util", "utilisation", _pct),
)


def _capacity_table(title: str, first: str, rows: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for header, _, _ in CAPACITY_COLUMNS:
        table.add_column(header, justify="right")
    for name, row in rows.items():
        _add(table, name, *(fmt(row[key]) for _, key, fmt in CAPACITY_COLUMNS))
    return table


def render_table(report: dict[str, Any], console: Console) -> None:
    window = report["window"]
    console.print(f"[bold]GPU report[/bold] {window['since']} .. {window['until']}")
    console.print(_capacity_table("Capacity by GPU type (GPU-hours)", "type", report["gpu_types"]))
    if "partitions" in report:
        console.print(_capacity_table("Capacity by partition", "partition", report["partitions"]))
    if report.get("accounts"):
        table = Table(title="GPU-hours by account", title_justify="left")
        for col in ("account", "jobs", "GPU-hours", "idle GPU-hours"):
            table.add_column(col, justify="left" if col == "account" else "right")
        for row in report["accounts"]:
            _add(
                table,
                row["account"],
                str(row["jobs"]),
                _h(row["gpu_hours"]),
                _h(row["idle_gpu_hours"]),
            )
        console.print(table)
    if report.get("users"):
        table = Table(title="GPU-hours by user", title_justify="left")
        for col in ("user", "account", "jobs", "GPU-hours"):
            table.add_column(col, justify="right" if col in ("jobs", "GPU-hours") else "left")
        for row in report["users"]:
            _add(table, row["user"], row["account"], str(row["jobs"]), _h(row["gpu_hours"]))
        console.print(table)
    if report.get("top_jobs"):
        table = Table(title="Top jobs by GPU-hours", title_justify="left")
        for col in ("job", "user", "account", "name", "GPUs", "state", "GPU-hours"):
            table.add_column(col, justify="right" if col in ("GPUs", "GPU-hours") else "left")
        for row in report["top_jobs"]:
            _add(
                table,
                row["job_id"],
                row["user"],
                row["account"],
                row["name"],
                str(row["gpus"]),
                row["state"],
                _h(row["gpu_hours"]),
            )
        console.print(table)
    if report.get("queue_wait"):
        table = Table(
            title="Queue wait per partition (jobs started in the window)", title_justify="left"
        )
        for col in ("partition", "jobs", "mean", "p50", "p90", "p99", "max"):
            table.add_column(col, justify="left" if col == "partition" else "right")
        for part, row in report["queue_wait"].items():
            _add(
                table,
                part,
                str(row["jobs"]),
                *(_dur(row[k]) for k in ("mean_s", "p50_s", "p90_s", "p99_s", "max_s")),
            )
        console.print(table)
    money = report.get("money")
    if money:
        cur = money["currency"]
        table = Table(title=f"Money by GPU type ({cur})", title_justify="left")
        for col in ("type", "price/h", "cost/h", "revenue", "cost", "margin", "util", "break-even"):
            table.add_column(col, justify="left" if col == "type" else "right")
        for gpu_type, row in money["gpu_types"].items():
            if not row["priced"]:
                _add(table, gpu_type, "not priced", "", "", "", "", "", "")
                continue
            _add(
                table,
                gpu_type,
                _h(row["price_per_gpu_hour"]),
                _h(row["cost_per_gpu_hour"]),
                _h(row["revenue"]),
                _h(row["cost"]),
                _h(row["margin"]),
                _pct(row["utilisation"]),
                _pct(row["break_even_utilisation"]),
            )
        console.print(table)
        table = Table(
            title=f"Money by account ({cur}; cost = its GPU-hours at cost)", title_justify="left"
        )
        for col in ("account", "revenue", "cost", "margin"):
            table.add_column(col, justify="left" if col == "account" else "right")
        for row in money["accounts"]:
            _add(table, row["account"], _h(row["revenue"]), _h(row["cost"]), _h(row["margin"]))
        console.print(table)
    if report.get("incidents"):
        table = Table(title="Incidents (node events)", title_justify="left")
        for col in ("node", "kind", "reason", "start", "end", "duration"):
            table.add_column(col)
        for row in report["incidents"]:
            _add(
                table,
                row["node"],
                row["kind"],
                row["reason"],
                row["start"],
                row["end"] or "open",
                _dur(row["duration_s"]),
            )
        console.print(table)
    for row in report.get("maintenance", []):
        console.print(
            f"planned maintenance {row['name']}: {row['nodes']} {row['start']} .. {row['end']}"
        )
    metrics = report.get("gpu_metrics") or {}
    if not metrics.get("available", False):
        console.print(metrics.get("note", "no GPU metrics"), markup=False)


def render_public_table(view: dict[str, Any], console: Console) -> None:
    window = view["window"]
    console.print(f"[bold]GPU cluster status[/bold] {window['since']} .. {window['until']}")
    table = Table(title="GPUs in operation", title_justify="left")
    for col in ("type", "GPUs", "utilisation", "uptime", "down h", "drained h", "planned h"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for gpu_type, row in view["gpu_types"].items():
        _add(
            table,
            gpu_type,
            str(row["gpus"]),
            _pct(row["utilisation"]),
            _pct(row["uptime"]),
            _h(row["down_gpu_hours"]),
            _h(row["drained_gpu_hours"]),
            _h(row["planned_down_gpu_hours"]),
        )
    console.print(table)
    if view["incidents"]:
        table = Table(title="Incidents", title_justify="left")
        for col in ("node", "kind", "reason", "start", "end", "duration"):
            table.add_column(col)
        for row in view["incidents"]:
            _add(
                table,
                row["node"],
                row["kind"],
                row["reason"],
                row["start"],
                row["end"] or "open",
                _dur(row["duration_s"]),
            )
        console.print(table)
    else:
        console.print("no incidents in this window")
    for row in view["maintenance"]:
        console.print(
            f"planned maintenance {row['name']}: {row['nodes']} {row['start']} .. {row['end']}"
        )
