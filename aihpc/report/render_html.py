"""One self-contained HTML file: tables and inline SVG plots made with matplotlib.

matplotlib is imported here only (the optional `report` extra), with the
Agg backend, so no display is needed and the rest of the CLI never pays
for it. Plots: utilisation over time per GPU type (allocated and
unavailable GPUs against capacity), GPU-hours by account, queue wait per
partition. The public page gets the first plot and its incidents only.
"""

from __future__ import annotations

import html
import io
import re
from datetime import datetime
from typing import Any

from aihpc.errors import UsageError

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1180px;color:#1d2430;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde2ea;padding-bottom:.3rem}
.sub{color:#5b6577;margin-top:0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{padding:.3rem .7rem;border-bottom:1px solid #e8ebf0;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f6f9;font-weight:600}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{background:#f4f6f9;border-radius:8px;padding:.8rem 1.1rem;min-width:150px}
.card b{display:block;font-size:1.5rem}.card span{color:#5b6577;font-size:.85rem}
.plot svg{width:100%;height:auto}.note{color:#5b6577;font-size:.9rem}
"""
USERS_SHOWN = 40  # the page stays readable; csv and json hold every user
COLORS = ("#2f6fdf", "#e07b28", "#2a9d62", "#b8457e", "#6b5bd6", "#8a8f2b")


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            "--format html needs matplotlib: pip install 'aihpc[report]' (or matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _times(timeline: dict[str, Any], end: str) -> list[datetime]:
    """Bin starts and, last, the window's end: a step plot then reaches the end."""
    return [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in [*timeline["start"], end]]


def plot_timeline(
    plt: Any, timeline: dict[str, Any], end: str, break_even: dict[str, float] | None = None
) -> str:
    """Allocated and unavailable GPUs per bin against capacity, one panel per GPU type;
    with prices, a dotted line where allocation covers the type's cost."""
    times = _times(timeline, end)
    types = timeline["gpu_types"]
    fig, axes = plt.subplots(
        len(types) or 1, 1, figsize=(10, 2.6 * max(1, len(types))), squeeze=False, sharex=True
    )
    for ax, (gpu_type, series) in zip(axes[:, 0], types.items(), strict=False):
        capacity = series["capacity_gpus"]
        # one value per bin, the last repeated at the window's end (step plot)
        unavailable = [*series["unavailable_gpus"], series["unavailable_gpus"][-1]]
        allocated = [*series["allocated_gpus"], series["allocated_gpus"][-1]]
        available = [capacity - u for u in unavailable]
        ax.step(
            times,
            [capacity] * len(times),
            where="post",
            color="#9aa3b2",
            linestyle="--",
            label="capacity",
        )
        ax.fill_between(
            times,
            available,
            [capacity] * len(times),
            step="post",
            color="#d8544a",
            alpha=0.45,
            linewidth=0,
            label="down / drained / maintenance",
        )
        ax.fill_between(
            times,
            0,
            allocated,
            step="post",
            color=COLORS[0],
            alpha=0.75,
            label="allocated",
        )
        share = (break_even or {}).get(gpu_type)
        if share is not None:
            ax.axhline(
                capacity * share, color="#2a9d62", linestyle=":", linewidth=1.5, label="break-even"
            )
        ax.set_ylim(0, max(1, capacity) * 1.08)
        ax.set_ylabel(f"{gpu_type} GPUs")
        if ax is axes[0, 0]:
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1), fontsize=8, ncol=4, frameon=False)
        ax.grid(axis="y", alpha=0.3)
        ax.margins(x=0)
    fig.autofmt_xdate()
    text = _svg(fig)
    plt.close(fig)
    return text


def plot_accounts(plt: Any, accounts: list[dict[str, Any]]) -> str:
    shown = accounts[:15][::-1]
    fig, ax = plt.subplots(figsize=(12, 0.3 * len(shown) + 1.0))
    ax.barh([a["account"] for a in shown], [a["gpu_hours"] for a in shown], color=COLORS[0])
    ax.set_xlabel("GPU-hours allocated")
    ax.grid(axis="x", alpha=0.3)
    text = _svg(fig)
    plt.close(fig)
    return text


def plot_queue_wait(plt: Any, waits: dict[str, dict[str, Any]]) -> str:
    parts = list(waits)
    fig, ax = plt.subplots(figsize=(12, 0.5 * len(parts) + 1.2))
    width = 0.25
    for i, (key, label) in enumerate((("p50_s", "p50"), ("p90_s", "p90"), ("p99_s", "p99"))):
        ax.barh(
            [j + (i - 1) * width for j in range(len(parts))],
            [waits[p][key] / 60 for p in parts],
            height=width,
            color=COLORS[i],
            label=label,
        )
    ax.set_yticks(range(len(parts)), parts)
    ax.set_xlabel("queue wait (minutes)")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    text = _svg(fig)
    plt.close(fig)
    return text


_NUMERIC = re.compile(r"^-?[0-9][0-9,.:%]*$")


def _cell(tag: str, value: object, numeric: bool) -> str:
    klass = ' class="num"' if numeric else ""
    return f"<{tag}{klass}>{html.escape(str(value))}</{tag}>"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    """Columns whose every cell is a number (or -) are right-aligned."""
    numeric = [
        all(_NUMERIC.match(str(row[i])) or str(row[i]) in ("-", "") for row in rows) and rows
        for i in range(len(headers))
    ]
    head = "".join(_cell("th", h, bool(numeric[i])) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(_cell("td", c, bool(numeric[i])) for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _dur(seconds: float) -> str:
    h, rest = divmod(int(seconds), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def _page(title: str, subtitle: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="sub">{html.escape(subtitle)}</p>{body}</body></html>\n'
    )


def _card(value: object, label: str) -> str:
    return (
        f'<div class="card"><b>{html.escape(str(value))}</b><span>{html.escape(label)}</span></div>'
    )


def _cards(types: dict[str, dict[str, Any]], uptime: bool) -> str:
    cards = []
    for gpu_type, row in types.items():
        cards.append(_card(row["gpus"], f"{gpu_type} GPUs"))
        cards.append(_card(_pct(row["utilisation"]), f"{gpu_type} utilisation"))
        if uptime:
            cards.append(_card(_pct(row["uptime"], 2), f"{gpu_type} uptime"))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _incidents(items: list[dict[str, Any]]) -> str:
    if not items:
        return '<p class="note">No node was down or drained in this window.</p>'
    return _table(
        ["node", "kind", "reason", "start", "end", "duration"],
        [
            [
                i["node"],
                i["kind"],
                i["reason"],
                i["start"],
                i["end"] or "ongoing",
                _dur(i["duration_s"]),
            ]
            for i in items
        ],
    )


def _maintenance(items: list[dict[str, Any]]) -> str:
    if not items:
        return '<p class="note">No planned maintenance in this window.</p>'
    return _table(
        ["name", "nodes", "start", "end"],
        [[m["name"], m["nodes"], m["start"], m["end"]] for m in items],
    )


def _break_even(report: dict[str, Any]) -> dict[str, float]:
    money = report.get("money") or {}
    return {
        t: m["break_even_utilisation"]
        for t, m in money.get("gpu_types", {}).items()
        if m.get("priced") and m.get("break_even_utilisation") is not None
    }


def render_html(report: dict[str, Any]) -> str:
    plt = _matplotlib()
    window = report["window"]
    sub = f"{window['since']} to {window['until']}"
    cap_headers = [
        "",
        "GPUs",
        "capacity h",
        "allocated h",
        "idle h",
        "down h",
        "drained h",
        "planned h",
        "reserved h",
        "utilisation",
    ]
    keys = [
        "gpus",
        "capacity_gpu_hours",
        "allocated_gpu_hours",
        "idle_gpu_hours",
        "down_gpu_hours",
        "drained_gpu_hours",
        "planned_down_gpu_hours",
        "reserved_gpu_hours",
    ]

    def cap_rows(rows: dict[str, dict[str, Any]]) -> list[list[Any]]:
        return [
            [name, *(_num(r[k]) if k != "gpus" else r[k] for k in keys), _pct(r["utilisation"])]
            for name, r in rows.items()
        ]

    parts = [_cards(report["gpu_types"], uptime=False)]
    parts.append(
        '<h2>Utilisation over time</h2><div class="plot">'
        + plot_timeline(plt, report["timeline"], window["until"], _break_even(report))
        + "</div>"
    )
    parts.append(
        "<h2>Capacity by GPU type (GPU-hours)</h2>"
        + _table(cap_headers, cap_rows(report["gpu_types"]))
    )
    parts.append(
        "<h2>Capacity by partition</h2>" + _table(cap_headers, cap_rows(report["partitions"]))
    )
    if report["accounts"]:
        parts.append(
            '<h2>GPU-hours by account</h2><div class="plot">'
            + plot_accounts(plt, report["accounts"])
            + "</div>"
        )
        parts.append(
            _table(
                ["account", "jobs", "GPU-hours", "idle GPU-hours"],
                [
                    [a["account"], a["jobs"], _num(a["gpu_hours"]), _num(a["idle_gpu_hours"])]
                    for a in report["accounts"]
                ],
            )
        )
        parts.append(
            "<h2>GPU-hours by user</h2>"
            + _table(
                ["user", "account", "jobs", "GPU-hours"],
                [
                    [u["user"], u["account"], u["jobs"], _num(u["gpu_hours"])]
                    for u in report["users"][:USERS_SHOWN]
                ],
            )
            + (
                f'<p class="note">{len(report["users"]) - USERS_SHOWN} more users in '
                "--format csv or json.</p>"
                if len(report["users"]) > USERS_SHOWN
                else ""
            )
        )
        parts.append(
            "<h2>Top jobs</h2>"
            + _table(
                ["job", "user", "account", "name", "GPUs", "state", "GPU-hours"],
                [
                    [
                        j["job_id"],
                        j["user"],
                        j["account"],
                        j["name"],
                        j["gpus"],
                        j["state"],
                        _num(j["gpu_hours"]),
                    ]
                    for j in report["top_jobs"]
                ],
            )
        )
    if report["queue_wait"]:
        parts.append(
            '<h2>Queue wait</h2><div class="plot">'
            + plot_queue_wait(plt, report["queue_wait"])
            + "</div>"
        )
        parts.append(
            _table(
                ["partition", "jobs", "mean", "p50", "p90", "p99", "max"],
                [
                    [
                        p,
                        w["jobs"],
                        *(_dur(w[k]) for k in ("mean_s", "p50_s", "p90_s", "p99_s", "max_s")),
                    ]
                    for p, w in report["queue_wait"].items()
                ],
            )
        )
    money = report.get("money")
    if money:
        cur = html.escape(money["currency"])
        rows = []
        for gpu_type, m in money["gpu_types"].items():
            if m["priced"]:
                rows.append(
                    [
                        gpu_type,
                        _num(m["price_per_gpu_hour"]),
                        _num(m["cost_per_gpu_hour"]),
                        _num(m["revenue"]),
                        _num(m["cost"]),
                        _num(m["margin"]),
                        _pct(m["utilisation"]),
                        _pct(m["break_even_utilisation"]),
                    ]
                )
            else:
                rows.append([gpu_type, "not priced", "", "", "", "", "", ""])
        parts.append(
            f"<h2>Money by GPU type ({cur})</h2>"
            + _table(
                [
                    "type",
                    "price/GPU-h",
                    "cost/GPU-h",
                    "revenue",
                    "cost",
                    "margin",
                    "utilisation",
                    "break-even",
                ],
                rows,
            )
        )
        parts.append(
            f"<h2>Money by account ({cur})</h2>"
            + _table(
                ["account", "revenue", "cost", "contribution margin"],
                [
                    [a["account"], _num(a["revenue"]), _num(a["cost"]), _num(a["margin"])]
                    for a in money["accounts"]
                ],
            )
        )
    parts.append("<h2>Incidents</h2>" + _incidents(report["incidents"]))
    parts.append("<h2>Planned maintenance</h2>" + _maintenance(report["maintenance"]))
    metrics = report.get("gpu_metrics") or {}
    if not metrics.get("available"):
        parts.append(f'<p class="note">{html.escape(metrics.get("note", "no GPU metrics"))}</p>')
    return _page("GPU cluster report", sub, "".join(parts))


def render_public_html(view: dict[str, Any]) -> str:
    plt = _matplotlib()
    window = view["window"]
    parts = [_cards(view["gpu_types"], uptime=True)]
    parts.append(
        '<h2>Capacity and use over time</h2><div class="plot">'
        + plot_timeline(plt, view["timeline"], window["until"])
        + "</div>"
    )
    parts.append(
        "<h2>GPUs in operation</h2>"
        + _table(
            ["type", "GPUs", "utilisation", "uptime", "down h", "drained h", "planned h"],
            [
                [
                    t,
                    r["gpus"],
                    _pct(r["utilisation"]),
                    _pct(r["uptime"], 2),
                    _num(r["down_gpu_hours"]),
                    _num(r["drained_gpu_hours"]),
                    _num(r["planned_down_gpu_hours"]),
                ]
                for t, r in view["gpu_types"].items()
            ],
        )
    )
    parts.append("<h2>Incidents</h2>" + _incidents(view["incidents"]))
    parts.append("<h2>Planned maintenance</h2>" + _maintenance(view["maintenance"]))
    return _page("GPU cluster status", f"{window['since']} to {window['until']}", "".join(parts))
