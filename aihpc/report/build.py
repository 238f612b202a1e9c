"""The report as one JSON-ready dict, from the accumulated rows and the capacity model.

Every figure is in GPU-hours (or seconds for waits) and every render
(table, csv, html) reads this dict only, so the formats cannot disagree.
See docs/operations.md for what each figure means.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aihpc.report import waits
from aihpc.report.accumulate import Accumulator, Totals
from aihpc.report.capacity import LOST_KINDS, PLANNED, LostTime, NodeGpus
from aihpc.report.prices import PriceTable
from aihpc.report.window import Window
from aihpc.slurm.events import DOWN, DRAINED, NodeEvent
from aihpc.slurm.reservations import Reservation

HOUR = 3600.0
UNAVAILABLE = (DOWN, DRAINED, PLANNED)


@dataclass(frozen=True)
class Filters:
    partition: str = ""
    account: str = ""


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hours(seconds: float) -> float:
    return round(seconds / HOUR, 4)


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _capacity_row(
    gpus: int, window: Window, allocated: float, lost: dict[str, float]
) -> dict[str, Any]:
    capacity = gpus * window.seconds
    lost_total = sum(lost.get(k, 0.0) for k in LOST_KINDS)
    idle = max(0.0, capacity - allocated - lost_total)
    return {
        "gpus": gpus,
        "capacity_gpu_hours": hours(capacity),
        "allocated_gpu_hours": hours(allocated),
        "idle_gpu_hours": hours(idle),
        **{f"{kind}_gpu_hours": hours(lost.get(kind, 0.0)) for kind in LOST_KINDS},
        "utilisation": ratio(allocated, capacity),
        "available_utilisation": ratio(
            allocated, capacity - sum(lost.get(k, 0.0) for k in UNAVAILABLE)
        ),
    }


def _lost_by(
    lost: LostTime, nodes: dict[str, NodeGpus]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, dict[str, float]]]]:
    """(GPU type -> kind -> s, partition -> GPU type -> kind -> s)."""
    by_type: dict[str, dict[str, float]] = {}
    by_part: dict[str, dict[str, dict[str, float]]] = {}
    for name, info in nodes.items():
        for kind, per_type in lost.lost_gpu_seconds(name).items():
            for gpu_type, seconds in per_type.items():
                slot = by_type.setdefault(gpu_type, {})
                slot[kind] = slot.get(kind, 0.0) + seconds
                for part in info.partitions:
                    pslot = by_part.setdefault(part, {}).setdefault(gpu_type, {})
                    pslot[kind] = pslot.get(kind, 0.0) + seconds
    return by_type, by_part


def _money_row(h: float, price: float, cost: float) -> dict[str, float]:
    return {
        "revenue": round(h * price, 2),
        "cost": round(h * cost, 2),
        "margin": round(h * (price - cost), 2),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _money(
    prices: PriceTable, types: dict[str, dict[str, Any]], accounts: dict[str, Totals]
) -> dict[str, Any]:
    """Revenue, cost and margin; a type priced without a cost gets no cost figures."""
    per_type: dict[str, Any] = {}
    total_revenue = 0.0
    total_cost: float | None = 0.0
    for gpu_type, row in types.items():
        entry = prices.get(gpu_type)
        if entry is None:
            per_type[gpu_type] = {"priced": False}
            continue
        revenue = row["allocated_gpu_hours"] * entry.price
        cost = None if entry.cost is None else row["capacity_gpu_hours"] * entry.cost
        total_revenue += revenue
        total_cost = None if cost is None or total_cost is None else total_cost + cost
        per_type[gpu_type] = {
            "priced": True,
            "price_per_gpu_hour": entry.price,
            "cost_per_gpu_hour": entry.cost,
            "revenue": round(revenue, 2),
            "cost": _round(cost),
            "margin": None if cost is None else round(revenue - cost, 2),
            "utilisation": row["utilisation"],
            "break_even_utilisation": None
            if entry.cost is None
            else ratio(entry.cost, entry.price),
        }
    per_account = []
    for account, acc_totals in sorted(accounts.items()):
        revenue = 0.0
        account_cost: float | None = 0.0
        unpriced = 0.0
        for gpu_type, seconds in acc_totals.gpu_seconds.items():
            entry = prices.get(gpu_type)
            if entry is None:
                unpriced += seconds
                continue
            revenue += seconds / HOUR * entry.price
            account_cost = (
                None
                if entry.cost is None or account_cost is None
                else account_cost + seconds / HOUR * entry.cost
            )
        per_account.append(
            {
                "account": account,
                "revenue": round(revenue, 2),
                "cost": _round(account_cost),
                "margin": None if account_cost is None else round(revenue - account_cost, 2),
                "unpriced_gpu_hours": hours(unpriced),
            }
        )
    return {
        "currency": prices.currency,
        "gpu_types": per_type,
        "accounts": per_account,
        "total": {
            "revenue": round(total_revenue, 2),
            "cost": _round(total_cost),
            "margin": None if total_cost is None else round(total_revenue - total_cost, 2),
        },
    }


def _timeline(acc: Accumulator, lost: LostTime, nodes: dict[str, NodeGpus]) -> dict[str, Any]:
    window, step = acc.window, acc.step
    starts = [window.start + i * step for i in range(acc.bin_count)]
    widths = [min(step, window.end - s) for s in starts]
    types = sorted({t for info in nodes.values() for t in info.gpus} | set(acc.bins))
    out: dict[str, Any] = {"step_s": step, "start": [iso(s) for s in starts], "gpu_types": {}}
    for gpu_type in types:
        gpus = sum(info.gpus.get(gpu_type, 0) for info in nodes.values())
        unavailable = [0.0] * acc.bin_count
        for name, info in nodes.items():
            count = info.gpus.get(gpu_type, 0)
            for seg in lost.segments.get(name, ()) if count else ():
                if seg.kind not in UNAVAILABLE:
                    continue
                for i, low in enumerate(starts):
                    overlap = min(seg.end, low + widths[i]) - max(seg.start, low)
                    if overlap > 0:
                        unavailable[i] += count * overlap
        allocated = acc.bins.get(gpu_type, [0.0] * acc.bin_count)
        out["gpu_types"][gpu_type] = {
            "capacity_gpus": gpus,
            "allocated_gpus": [round(a / w, 3) for a, w in zip(allocated, widths, strict=True)],
            "unavailable_gpus": [round(u / w, 3) for u, w in zip(unavailable, widths, strict=True)],
        }
    return out


def _incidents(
    events: Iterable[NodeEvent], window: Window, nodes: dict[str, NodeGpus]
) -> list[dict[str, Any]]:
    out = []
    for event in sorted(events, key=lambda e: (e.start, e.node)):
        clipped = window.clip(event.start, event.end)
        if clipped is None or event.kind not in (DOWN, DRAINED) or event.node not in nodes:
            continue
        out.append(
            {
                "node": event.node,
                "kind": event.kind,
                "state": event.state,
                "reason": event.reason,
                "set_by": event.user,
                "start": iso(event.start),
                "end": iso(event.end),
                "open": event.end is None,
                "duration_s": clipped[1] - clipped[0],
                "gpus": nodes[event.node].total,
            }
        )
    return out


def _queue_wait(acc: Accumulator) -> dict[str, Any]:
    return {part: waits.summarize(counts) for part, counts in sorted(acc.waits.items())}


def build_report(
    acc: Accumulator,
    nodes: dict[str, NodeGpus],
    events: list[NodeEvent],
    reservations: list[Reservation],
    prices: PriceTable,
    filters: Filters,
    gpu_metrics: dict[str, Any],
) -> dict[str, Any]:
    window, lost = acc.window, acc.lost
    lost_type, lost_part = _lost_by(lost, nodes)
    all_types = sorted(
        {t for info in nodes.values() for t in info.gpus} | set(acc.by_type.gpu_seconds)
    )
    types = {
        t: _capacity_row(
            sum(i.gpus.get(t, 0) for i in nodes.values()),
            window,
            acc.by_type.gpu_seconds.get(t, 0.0),
            lost_type.get(t, {}),
        )
        for t in all_types
    }
    partitions: dict[str, Any] = {}
    for part in sorted({p for i in nodes.values() for p in i.partitions} | set(acc.by_partition)):
        members = [i for i in nodes.values() if part in i.partitions]
        used = acc.by_partition.get(part, Totals())
        part_types = sorted({t for i in members for t in i.gpus} | set(used.gpu_seconds))
        by_type = {
            t: _capacity_row(
                sum(i.gpus.get(t, 0) for i in members),
                window,
                used.gpu_seconds.get(t, 0.0),
                lost_part.get(part, {}).get(t, {}),
            )
            for t in part_types
        }
        summed: dict[str, float] = {}
        for t in part_types:
            for kind, sec in lost_part.get(part, {}).get(t, {}).items():
                summed[kind] = summed.get(kind, 0.0) + sec
        partitions[part] = {
            **_capacity_row(sum(i.total for i in members), window, used.total, summed),
            "jobs": used.jobs,
            "gpu_types": by_type,
        }
    accounts = [
        {
            "account": name,
            "jobs": t.jobs,
            "gpu_hours": hours(t.total),
            "gpu_hours_by_type": {k: hours(v) for k, v in sorted(t.gpu_seconds.items())},
            "idle_gpu_hours": hours(acc.idle_by_account.get(name, 0.0))
            if gpu_metrics.get("available")
            else None,
        }
        for name, t in sorted(acc.by_account.items(), key=lambda kv: (-kv[1].total, kv[0]))
    ]
    users = [
        {"user": user, "account": account, "jobs": t.jobs, "gpu_hours": hours(t.total)}
        for (user, account), t in sorted(acc.by_user.items(), key=lambda kv: (-kv[1].total, kv[0]))
    ]
    return {
        "kind": "aihpc-report",
        "window": {"since": iso(window.start), "until": iso(window.end), "seconds": window.seconds},
        "filters": {"partition": filters.partition or None, "account": filters.account or None},
        "gpu_types": types,
        "partitions": partitions,
        "accounts": accounts,
        "users": users,
        "top_jobs": [
            {
                "job_id": j.job_id,
                "user": j.user,
                "account": j.account,
                "partition": j.partition,
                "name": j.name,
                "gpus": j.gpus,
                "state": j.state,
                "elapsed_in_window_s": j.elapsed_s,
                "gpu_hours": hours(j.gpu_seconds),
            }
            for j in acc.top_jobs()
        ],
        "queue_wait": _queue_wait(acc),
        "money": _money(prices, types, acc.by_account) if prices.gpu_types else None,
        "gpu_metrics": gpu_metrics,
        "incidents": _incidents(events, window, nodes),
        "maintenance": [
            {"name": r.name, "nodes": r.nodes, "start": iso(r.start), "end": iso(r.end)}
            for r in reservations
            if r.is_maintenance and window.clip(r.start, r.end)
        ],
        "timeline": _timeline(acc, lost, nodes),
        "jobs": {"count": acc.by_type.jobs, "by_state": dict(sorted(acc.states.items()))},
        "sources": {
            "sacct_rows": acc.rows,
            "node_events": len(events),
            "reservations": len(reservations),
        },
    }
