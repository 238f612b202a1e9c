"""roles/slurm/library/slurm_sacctmgr.py against a fake `sacctmgr` on PATH.

The module runs in a subprocess the way Ansible runs it (python module.py
args.json with ANSIBLE_MODULE_ARGS); the fake keeps the accounting database
in a JSON file (fake_sacctmgr.py).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.modload import load_source, run_module
from tests.unit.conftest import REPO

MODULE = REPO / "roles" / "slurm" / "library" / "slurm_sacctmgr.py"
FAKE = Path(__file__).with_name("fake_sacctmgr.py")


@dataclass
class Sacctmgr:
    tmp: Path

    @property
    def state_file(self) -> Path:
        return self.tmp / "acct.json"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def calls(self) -> list[list[str]]:
        log = Path(f"{self.state_file}.log")
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def writes(self) -> list[list[str]]:
        return [c for c in self.calls() if c and "--immediate" in c]

    def run(self, check_mode: bool = False, **args: Any) -> dict[str, Any]:
        """Run the module like Ansible does; return its JSON result."""
        result, rc = run_module(
            MODULE,
            {**args, "_ansible_check_mode": check_mode},
            self.tmp,
            env={"FAKE_SACCTMGR_STATE": str(self.state_file)},
        )
        result["rc"] = rc
        return result


@pytest.fixture
def acct(tmp_path: Path) -> Sacctmgr:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sacctmgr"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    wrapper.chmod(0o755)
    return Sacctmgr(tmp_path)


@pytest.fixture
def cluster(acct: Sacctmgr) -> Sacctmgr:
    assert acct.run(entity="cluster", name="rack1")["changed"] is True
    return acct


ACCOUNT = {
    "entity": "account",
    "name": "research",
    "cluster": "rack1",
    "attributes": {"Description": "Research groups", "Organization": "example-lab"},
}


def test_cluster_is_created_once(acct: Sacctmgr) -> None:
    first = acct.run(entity="cluster", name="rack1")
    assert first["changed"] is True
    assert first["commands"] == [f"{acct.tmp}/bin/sacctmgr --immediate add cluster rack1"]
    second = acct.run(entity="cluster", name="rack1")
    assert second["changed"] is False
    assert second["commands"] == []
    assert acct.state()["clusters"] == ["rack1"]


def test_account_create_then_idempotent(cluster: Sacctmgr) -> None:
    first = cluster.run(**ACCOUNT)
    assert first["changed"] is True, first
    assert cluster.state()["accounts"]["research"] == {
        "description": "Research groups",
        "organization": "example-lab",
    }
    writes = len(cluster.writes())
    second = cluster.run(**ACCOUNT)
    assert second["changed"] is False, second
    assert len(cluster.writes()) == writes  # only `show` the second time


def test_account_attribute_change_is_modified_in_place(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    changed = cluster.run(**{**ACCOUNT, "attributes": {"Description": "Research (all groups)"}})
    assert changed["changed"] is True
    assert changed["commands"][-1].endswith(
        "modify account where name=research set Description=Research (all groups)"
    )
    assert cluster.state()["accounts"]["research"]["description"] == "Research (all groups)"
    # Compared case-insensitively: sacctmgr may store another case.
    again = cluster.run(**{**ACCOUNT, "attributes": {"Description": "RESEARCH (ALL GROUPS)"}})
    assert again["changed"] is False


def test_child_account_with_parent(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    child = {
        **ACCOUNT,
        "name": "llm",
        "attributes": {"Description": "LLM", "Organization": "example-lab", "Parent": "research"},
    }
    assert cluster.run(**child)["changed"] is True
    assoc = [a for a in cluster.state()["assocs"] if a["account"] == "llm"]
    assert assoc == [{"cluster": "rack1", "account": "llm", "user": "", "parent": "research"}]
    # Parent can only be given at add time: not compared, so no change later.
    assert cluster.run(**child)["changed"] is False


def test_user_with_association(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    user = {"entity": "user", "name": "alice", "account": "research", "cluster": "rack1"}
    first = cluster.run(**user)
    assert first["changed"] is True, first
    assert first["commands"][-1].endswith(
        "add user alice account=research defaultaccount=research cluster=rack1"
    )
    assert cluster.state()["users"]["alice"] == {
        "defaultaccount": "research",
        "adminlevel": "None",
    }
    assert {"cluster": "rack1", "account": "research", "user": "alice"} in cluster.state()["assocs"]
    assert cluster.run(**user)["changed"] is False


def test_existing_user_gets_a_second_association(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    cluster.run(**{**ACCOUNT, "name": "inference"})
    cluster.run(entity="user", name="alice", account="research", cluster="rack1")
    second = cluster.run(entity="user", name="alice", account="inference", cluster="rack1")
    assert second["changed"] is True
    # The default account stays the first one.
    assert "defaultaccount" not in second["commands"][-1]
    assert cluster.state()["users"]["alice"]["defaultaccount"] == "research"


@pytest.mark.parametrize("level", ["Administrator", "Admin", "admin", "Operator"])
def test_user_admin_level_is_idempotent(cluster: Sacctmgr, level: str) -> None:
    cluster.run(**ACCOUNT)
    user = {
        "entity": "user",
        "name": "hpcadmin",
        "account": "research",
        "cluster": "rack1",
        "attributes": {"AdminLevel": level},
    }
    assert cluster.run(**user)["changed"] is True
    assert cluster.run(**user)["changed"] is False


def test_user_admin_level_change(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    base = {"entity": "user", "name": "bob", "account": "research", "cluster": "rack1"}
    cluster.run(**base)
    promoted = cluster.run(**base, attributes={"AdminLevel": "Operator"})
    assert promoted["changed"] is True
    assert promoted["commands"][-1].endswith("modify user where name=bob set AdminLevel=Operator")
    assert cluster.state()["users"]["bob"]["adminlevel"] == "Operator"


def test_user_needs_an_account(cluster: Sacctmgr) -> None:
    result = cluster.run(entity="user", name="alice")
    assert result["failed"] is True
    assert "account" in result["msg"]


def test_unknown_account_fails_with_sacctmgr_message(cluster: Sacctmgr) -> None:
    result = cluster.run(entity="user", name="alice", account="nope", cluster="rack1")
    assert result["failed"] is True
    assert "doesn't exist" in result["msg"]


def test_check_mode_changes_nothing(cluster: Sacctmgr) -> None:
    writes = len(cluster.writes())
    account = cluster.run(check_mode=True, **ACCOUNT)
    assert account["changed"] is True
    assert account["commands"][0].endswith(
        "add account research cluster=rack1 Description=Research groups Organization=example-lab"
    )
    user = cluster.run(
        check_mode=True, entity="user", name="alice", account="research", cluster="rack1"
    )
    assert user["changed"] is True
    assert len(cluster.writes()) == writes
    assert "research" not in cluster.state()["accounts"]
    # ... and reports no change where there is none.
    cluster.run(**ACCOUNT)
    assert cluster.run(check_mode=True, **ACCOUNT)["changed"] is False


def test_absent(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    cluster.run(entity="user", name="alice", account="research", cluster="rack1")
    gone = cluster.run(entity="user", name="alice", account="research", state="absent")
    assert gone["changed"] is True
    assert gone["commands"][-1].endswith("delete user name=alice")
    assert "alice" not in cluster.state()["users"]
    again = cluster.run(entity="user", name="alice", account="research", state="absent")
    assert again["changed"] is False
    assert cluster.run(entity="account", name="research", state="absent")["changed"] is True
    assert "research" not in cluster.state()["accounts"]
    dry = cluster.run(check_mode=True, entity="cluster", name="rack1", state="absent")
    assert dry["changed"] is True
    assert cluster.state()["clusters"] == ["rack1"]


def test_account_known_on_another_cluster_is_added_to_this_one(cluster: Sacctmgr) -> None:
    # One slurmdbd, two clusters: accounts are global, associations are not.
    cluster.run(entity="cluster", name="rack2")
    cluster.run(**ACCOUNT)  # rack1
    on_rack2 = cluster.run(**{**ACCOUNT, "cluster": "rack2"})
    assert on_rack2["changed"] is True, on_rack2
    assert on_rack2["commands"][-1].endswith("add account research cluster=rack2")
    assert cluster.run(**{**ACCOUNT, "cluster": "rack2"})["changed"] is False
    user = cluster.run(entity="user", name="alice", account="research", cluster="rack2")
    assert user["changed"] is True, user


def test_sacctmgr_missing_fails_cleanly(tmp_path: Path) -> None:
    result = Sacctmgr(tmp_path).run(entity="cluster", name="x")
    assert result["failed"] is True
    assert "sacctmgr" in result["msg"]


def test_diff_ignores_add_only_and_unknown_fields() -> None:
    module = load_source("slurm_sacctmgr", MODULE)
    current = {"description": "a", "organization": "lab"}
    wanted = {"Description": "A", "Organization": "other", "Parent": "x", "MaxJobs": "3"}
    assert module._diff(current, wanted) == {"Organization": "other"}


def test_documentation_is_valid_yaml() -> None:
    import yaml

    module = load_source("slurm_sacctmgr", MODULE)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == "slurm_sacctmgr"
    assert set(doc["options"]) == {"entity", "name", "account", "cluster", "attributes", "state"}
    assert yaml.safe_load(module.EXAMPLES)
    assert yaml.safe_load(module.RETURN)["commands"]["returned"] == "always"
