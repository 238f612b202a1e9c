"""Run the checks in parallel threads, each with a time limit, all within a budget.

Slurm kills the HealthCheckProgram after 60 s, and a hung NFS mount or a
wedged nvidia-smi blocks its caller forever. Each check runs in a daemon
thread; one that has not answered when its limit (or the budget) runs out is
reported unknown and left behind, and the process exits without waiting
for it. A check that raises is unknown too: a bug here never drains a node.
"""

from __future__ import annotations

import threading
import time

from aihpc.health.checks import Check
from aihpc.health.context import Context
from aihpc.health.model import CheckResult, Status, unknown

CHECK_TIMEOUT = 10.0
BUDGET = 20.0


class _Slot:
    def __init__(self) -> None:
        self.result: CheckResult | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.started = time.monotonic()
        self.finished = 0.0


def _target(check: Check, ctx: Context, slot: _Slot) -> None:
    try:
        slot.result = check(ctx)
    except Exception as exc:  # any bug in a check is "unknown", never a drain
        slot.error = exc
    finally:
        slot.finished = time.monotonic()
        slot.done.set()


def run_checks(
    checks: dict[str, Check],
    ctx: Context,
    check_timeout: float = CHECK_TIMEOUT,
    budget: float = BUDGET,
) -> list[CheckResult]:
    """Results in the order of `checks`; checks that do not apply are left out."""
    start = time.monotonic()
    slots: dict[str, _Slot] = {}
    for name, check in checks.items():
        slot = _Slot()
        thread = threading.Thread(
            target=_target, args=(check, ctx, slot), name=f"health-{name}", daemon=True
        )
        slots[name] = slot
        thread.start()
    results = []
    for name, slot in slots.items():
        left = min(
            check_timeout - (time.monotonic() - slot.started), budget - (time.monotonic() - start)
        )
        if not slot.done.wait(max(left, 0.0)):
            limit = min(check_timeout, budget)
            results.append(
                _timed(
                    unknown(name, f"did not finish within {limit:g}s"),
                    time.monotonic() - slot.started,
                )
            )
            continue
        if slot.error is not None:
            err = slot.error
            summary = f"check crashed: {err.__class__.__name__}: {err}"
            results.append(_timed(unknown(name, summary), slot.finished - slot.started))
        elif slot.result is not None:
            results.append(_timed(slot.result, slot.finished - slot.started))
    return results


def _timed(result: CheckResult, seconds: float) -> CheckResult:
    return CheckResult(
        result.check,
        result.status if isinstance(result.status, Status) else Status.UNKNOWN,
        result.summary,
        result.evidence,
        max(seconds, 0.0),
    )
