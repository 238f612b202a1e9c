"""The acceptance report: one row per (check, node), a table and the same as JSON.

A result is `pass`, `fail` or `n/a`. `n/a` always carries the reason in
`basis` (no nvidia-smi, no nccl-tests, no IB device, ...): what could not
run here is never reported as a pass. The verdict fails on any `fail`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from aihpc.errors import EXIT_FAILURE, EXIT_OK

Result = Literal["pass", "fail", "n/a"]
RESULTS: tuple[Result, ...] = ("pass", "fail", "n/a")
SCHEMA = 1
HEADERS = ("CHECK", "NODE", "RESULT", "MEASURED", "EXPECTED", "BASIS")


@dataclass(frozen=True)
class Check:
    check: str
    node: str
    result: Result
    measured: str = "-"
    expected: str = "-"
    basis: str = ""

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"result must be one of {RESULTS}, not {self.result!r}")
        if self.result == "n/a" and not self.basis:
            raise ValueError(f"{self.check} on {self.node}: n/a needs a reason")


def passed(
    check: str, node: str, measured: str = "-", expected: str = "-", basis: str = ""
) -> Check:
    return Check(check, node, "pass", measured, expected, basis)


def failed(
    check: str, node: str, measured: str = "-", expected: str = "-", basis: str = ""
) -> Check:
    return Check(check, node, "fail", measured, expected, basis)


def not_applicable(check: str, node: str, reason: str) -> Check:
    return Check(check, node, "n/a", basis=reason)


def verdict(ok: bool, check: str, node: str, measured: str, expected: str, basis: str) -> Check:
    return Check(check, node, "pass" if ok else "fail", measured, expected, basis)


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    fingerprint: dict[str, dict[str, str]] = field(default_factory=dict)
    cluster: str = ""

    def add(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    def counts(self) -> dict[str, int]:
        return {r: sum(1 for c in self.checks if c.result == r) for r in RESULTS}

    @property
    def ok(self) -> bool:
        # An empty report proves nothing: it is a failure of the harness.
        return bool(self.checks) and not any(c.result == "fail" for c in self.checks)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FAILURE

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "cluster": self.cluster,
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [asdict(c) for c in self.checks],
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"report schema {data.get('schema')!r}, expected {SCHEMA}")
        checks = [Check(**item) for item in data.get("checks", [])]
        return cls(checks, dict(data.get("fingerprint", {})), str(data.get("cluster", "")))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    def table(self) -> str:
        rows = [
            (c.check, c.node, c.result.upper(), c.measured, c.expected, c.basis)
            for c in self.checks
        ]
        counts = self.counts()
        summary = (
            f"{'PASS' if self.ok else 'FAIL'}: {counts['pass']} passed, "
            f"{counts['fail']} failed, {counts['n/a']} n/a"
        )
        return render_table(HEADERS, rows) + "\n\n" + summary + "\n"

    def fingerprint_table(self) -> str:
        keys = sorted({k for values in self.fingerprint.values() for k in values})
        rows = [
            (host, *(values.get(k, "-") for k in keys))
            for host, values in sorted(self.fingerprint.items())
        ]
        return render_table(("NODE", *(k.upper() for k in keys)), rows) + "\n"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table (the CLI's output module pulls in click; this must not)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)
