"""Check results and the report of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"
    # The check could not run (a tool missing, a timeout, output it cannot read).
    # Never a reason to drain: a broken check must not take nodes out.
    UNKNOWN = "unknown"

    @property
    def metric(self) -> int:
        return {Status.OK: 0, Status.FAIL: 1, Status.UNKNOWN: 2}[self]


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    # One line for the drain reason and a human: what is wrong, with the numbers.
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": self.evidence,
            "duration_seconds": round(self.duration, 3),
        }


def ok(check: str, summary: str, **evidence: Any) -> CheckResult:
    return CheckResult(check, Status.OK, summary, evidence)


def fail(check: str, summary: str, **evidence: Any) -> CheckResult:
    return CheckResult(check, Status.FAIL, summary, evidence)


def unknown(check: str, summary: str, **evidence: Any) -> CheckResult:
    return CheckResult(check, Status.UNKNOWN, summary, evidence)


@dataclass
class Report:
    node: str
    started_at: float
    duration: float
    results: list[CheckResult]
    # What the run did to the node in Slurm (drained, resumed, nothing, ...), set by provenance.
    action: str = "none"
    action_detail: str = ""

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status is Status.FAIL]

    @property
    def healthy(self) -> bool:
        return not self.failed

    @property
    def ran_anything(self) -> bool:
        return any(r.status is not Status.UNKNOWN for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "healthy": self.healthy,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration, 3),
            "checks": [r.to_json() for r in self.results],
            "action": self.action,
            "action_detail": self.action_detail,
        }
