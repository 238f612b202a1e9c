"""The public view: what a status page may show, with no user, account or job names.

Built from the full report dict by keeping only aggregates. Free text that
an operator typed (drain reasons, reservation names) can still name a user
or an account, so every name seen in the window's accounting is replaced
in it; who set a drain is left out altogether.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"


def _scrubber(names: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({n for n in names if n and len(n) > 1}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w-])")


def public_view(report: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    pattern = _scrubber(names)

    def scrub(text: str) -> str:
        return pattern.sub(REDACTED, text) if pattern and text else text

    types = {}
    for gpu_type, row in report["gpu_types"].items():
        capacity = row["capacity_gpu_hours"]
        unavailable = row["down_gpu_hours"] + row["drained_gpu_hours"]
        types[gpu_type] = {
            "gpus": row["gpus"],
            "capacity_gpu_hours": capacity,
            "allocated_gpu_hours": row["allocated_gpu_hours"],
            "utilisation": row["utilisation"],
            "uptime": round(1 - unavailable / capacity, 4) if capacity else None,
            "down_gpu_hours": row["down_gpu_hours"],
            "drained_gpu_hours": row["drained_gpu_hours"],
            "planned_down_gpu_hours": row["planned_down_gpu_hours"],
        }
    return {
        "kind": "aihpc-public",
        "window": report["window"],
        "gpu_types": types,
        "incidents": [
            {k: (scrub(v) if k == "reason" else v) for k, v in item.items() if k != "set_by"}
            for item in report["incidents"]
        ],
        "maintenance": [{**item, "name": scrub(item["name"])} for item in report["maintenance"]],
        "timeline": report["timeline"],
    }
