"""Jinja2 filter of the common role: which service accounts need group/user."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def common_accounts_to_fix(
    accounts: Mapping[str, Mapping[str, Any]],
    passwd: Mapping[str, Sequence[str]] | None,
    shell: str,
) -> list[dict[str, Any]]:
    """The accounts (as dict2items) whose passwd entry is absent or differs.

    passwd is getent's fact: name -> [password, uid, gid, gecos, home, shell].
    An account already right in uid, gid, home and shell needs no group/user
    call: on a re-run that saves two module runs per account and node.
    """
    known = passwd or {}
    todo = []
    for name, want in accounts.items():
        have = known.get(name)
        in_place = (
            have is not None
            and len(have) >= 6
            and str(have[1]) == str(want["uid"])
            and str(have[2]) == str(want["gid"])
            and have[4] == want["home"]
            and have[5] == shell
        )
        if not in_place:
            todo.append({"key": name, "value": dict(want)})
    return todo


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"common_accounts_to_fix": common_accounts_to_fix}
