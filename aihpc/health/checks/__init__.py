"""One module per kind of check; ALL lists them in report order.

A check takes the run's Context and returns a CheckResult, or None when it
does not apply to this node (no expectation for it).
"""

from __future__ import annotations

from collections.abc import Callable

from aihpc.health.checks import daemons, gpu, gpu_driver, gpu_ecc, gpu_xid, ib, memory, mounts
from aihpc.health.context import Context
from aihpc.health.model import CheckResult

Check = Callable[[Context], CheckResult | None]

ALL: dict[str, Check] = {
    "gpu_count": gpu.check,
    "gpu_driver": gpu_driver.check,
    "gpu_xid": gpu_xid.check,
    "gpu_ecc": gpu_ecc.check,
    "ib_ports": ib.check,
    "mounts": mounts.check,
    "memory": memory.check,
    "daemons": daemons.check,
    "fabric_manager": daemons.check_fabric_manager,
}
