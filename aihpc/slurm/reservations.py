"""Reservations as `scontrol show reservations --json` reports them (24.11).

A reservation with the MAINT flag is planned maintenance ("planned down"
in sreport's words); any other reservation sets nodes aside for some users
("reserved"). Only reservations that still exist are known to scontrol: a
report over the past sees the ones not yet ended or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aihpc.errors import ClusterError
from aihpc.slurm.values import errors, timestamp


@dataclass(frozen=True)
class Reservation:
    name: str
    nodes: str  # host list, e.g. "gpu[1-2]"
    start: int | None
    end: int | None
    flags: tuple[str, ...] = ()

    @property
    def is_maintenance(self) -> bool:
        return "MAINT" in self.flags or "MAINTENANCE" in self.flags


def reservations_argv() -> list[str]:
    return ["scontrol", "show", "reservations", "--json"]


def parse_reservations(payload: Any) -> list[Reservation]:
    if not isinstance(payload, dict) or not isinstance(payload.get("reservations"), list):
        found = "; ".join(errors(payload)) or "no reservation list"
        raise ClusterError(f"scontrol show reservations --json: {found}")
    out = []
    for item in payload["reservations"]:
        if not isinstance(item, dict):
            continue
        flags = item.get("flags") or []
        out.append(
            Reservation(
                name=str(item.get("name", "")),
                nodes=str(item.get("node_list", "") or ""),
                start=timestamp(item.get("start_time")),
                end=timestamp(item.get("end_time")),
                flags=tuple(str(f) for f in flags) if isinstance(flags, list) else (),
            )
        )
    return out
