"""roles/common/filter_plugins/common_accounts.py: which accounts need group/user."""

from __future__ import annotations

from tests.modload import load_source
from tests.unit.conftest import REPO

ca = load_source(
    "common_accounts", REPO / "roles" / "common" / "filter_plugins" / "common_accounts.py"
)
ACCOUNTS = {
    "munge": {"uid": 880, "gid": 880, "home": "/nonexistent"},
    "slurm": {"uid": 881, "gid": 881, "home": "/var/lib/slurm"},
}
SHELL = "/usr/sbin/nologin"


def names(todo: list[dict[str, object]]) -> list[object]:
    return [item["key"] for item in todo]


def test_accounts_in_place_are_left_alone() -> None:
    passwd = {
        "munge": ["x", "880", "880", "", "/nonexistent", SHELL],
        "slurm": ["x", "881", "881", "", "/var/lib/slurm", SHELL],
    }
    assert ca.common_accounts_to_fix(ACCOUNTS, passwd, SHELL) == []


def test_absent_or_different_accounts_are_fixed() -> None:
    passwd = {
        # Debian's package made it with its own home: the user module must fix it.
        "slurm": ["x", "881", "881", "", "/nonexistent", SHELL],
    }
    todo = ca.common_accounts_to_fix(ACCOUNTS, passwd, SHELL)
    assert names(todo) == ["munge", "slurm"]
    assert todo[0] == {"key": "munge", "value": ACCOUNTS["munge"]}
    wrong_shell = {"munge": ["x", "880", "880", "", "/nonexistent", "/bin/bash"]}
    assert names(ca.common_accounts_to_fix({"munge": ACCOUNTS["munge"]}, wrong_shell, SHELL)) == [
        "munge"
    ]
    wrong_gid = {"munge": ["x", "880", "100", "", "/nonexistent", SHELL]}
    assert names(ca.common_accounts_to_fix({"munge": ACCOUNTS["munge"]}, wrong_gid, SHELL)) == [
        "munge"
    ]


def test_no_passwd_facts_means_every_account() -> None:
    assert names(ca.common_accounts_to_fix(ACCOUNTS, None, SHELL)) == ["munge", "slurm"]
