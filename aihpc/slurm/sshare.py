"""Fair-share as `sshare --json` reports it: `ShareInfo`, one per association.

Written against tests/fixtures/slurm/sshare_24.11.json (24.11.5). Each row is
an account (type ASSOCIATION; `name` is the account, `parent` its parent
account) or a user under an account (type USER; `name` is the user,
`parent` the account). Without `-a`, sshare lists every account and only
the calling user's own user rows, which is what per-account metrics need
and keeps the reply small.

LevelFS is "infinite" for an association with no usage at all; it is kept
as +inf. Unset values are None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aihpc.errors import ClusterError
from aihpc.slurm.values import number, real


@dataclass(frozen=True)
class ShareInfo:
    name: str  # account, or user for kind == "user"
    parent: str
    kind: str  # "account" or "user"
    partition: str = ""
    raw_shares: int | None = None
    shares_normalized: float | None = None
    raw_usage: int | None = None
    usage_effective: float | None = None
    usage_normalized: float | None = None
    fairshare_factor: float | None = None
    fairshare_level: float | None = None

    @property
    def account(self) -> str:
        return self.parent if self.kind == "user" else self.name


def share_info(row: dict[str, Any]) -> ShareInfo:
    kinds = row.get("type") or []
    kind = "user" if "USER" in kinds else "account"
    fairshare = row.get("fairshare") or {}
    return ShareInfo(
        name=str(row.get("name", "")),
        parent=str(row.get("parent", "") or ""),
        kind=kind,
        partition=str(row.get("partition", "") or ""),
        raw_shares=number(row.get("shares")),
        shares_normalized=real(row.get("shares_normalized")),
        raw_usage=number(row.get("usage")),
        usage_effective=real(row.get("effective_usage")),
        usage_normalized=real(row.get("usage_normalized")),
        fairshare_factor=real(fairshare.get("factor")),
        fairshare_level=real(fairshare.get("level")),
    )


def parse_sshare(payload: Any) -> list[ShareInfo]:
    shares = payload.get("shares") if isinstance(payload, dict) else None
    if isinstance(shares, dict):  # 24.11: {"shares": {"shares": [...], "total_shares": n}}
        shares = shares.get("shares")
    if not isinstance(shares, list):
        raise ClusterError("sshare --json returned no share list")
    return [share_info(row) for row in shares if isinstance(row, dict)]


def sshare_argv() -> list[str]:
    return ["sshare", "--json"]
