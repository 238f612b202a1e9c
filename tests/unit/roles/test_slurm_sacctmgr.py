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
    queue = bin_dir / "squeue"
    queue.write_text(f'#!/bin/sh\nFAKE_COMMAND=squeue exec "{sys.executable}" "{FAKE}" "$@"\n')
    queue.chmod(0o755)
    return Sacctmgr(tmp_path)


@pytest.fixture
def cluster(acct: Sacctmgr) -> Sacctmgr:
    assert acct.run(entity="cluster", name="rack1")["changed"] is True
    return acct


ACCOUNT: dict[str, Any] = {
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
    # The parent is compared through the association: no change the second time ...
    assert cluster.run(**child)["changed"] is False
    # ... and a new parent moves the account.
    cluster.run(**{**ACCOUNT, "name": "ai"})
    moved = cluster.run(**{**child, "attributes": {**child["attributes"], "Parent": "ai"}})
    assert moved["commands"][-1].endswith(
        "modify account where name=llm cluster=rack1 set Parent=ai"
    )
    assert [a["parent"] for a in cluster.state()["assocs"] if a["account"] == "llm"] == ["ai"]


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
    assert gone["commands"][-1].endswith("delete user where name=alice")
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


def test_diff_ignores_fields_show_cannot_print() -> None:
    module = load_source("slurm_sacctmgr", MODULE)
    current = {"description": "a", "organization": "lab"}
    wanted = {"Description": "A", "Organization": "other", "Parent": "x", "MaxJobs": "3"}
    fields = module._ENTITY_FIELDS["account"]
    assert module._diff(current, wanted, fields) == {"Organization": "other"}


def test_documentation_is_valid_yaml() -> None:
    import yaml

    module = load_source("slurm_sacctmgr", MODULE)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == "slurm_sacctmgr"
    assert set(doc["options"]) == {
        "entity",
        "name",
        "account",
        "cluster",
        "attributes",
        "limits",
        "state",
    }
    assert yaml.safe_load(module.EXAMPLES)
    assert yaml.safe_load(module.RETURN)["commands"]["returned"] == "always"


# -- QOS, association limits, removal guarded by the queue ------------------
DEBUG_QOS: dict[str, Any] = {
    "entity": "qos",
    "name": "debug",
    "attributes": {
        "Description": "Short test jobs",
        "Priority": 50,
        "MaxWall": "30",  # minutes; sacctmgr shows 00:30:00
        "MaxTRESPerUser": "gres/gpu=2",
        "Flags": "denyonlimit",  # shown as DenyOnLimit
        "GraceTime": 300,  # seconds; shown as 00:05:00
        "UsageFactor": 0.5,  # shown as 0.500000
    },
}


def add_job(acct: Sacctmgr, job_id: str, state: str, **owner: str) -> None:
    data = acct.state()
    data.setdefault("jobs", []).append({"id": job_id, "state": state, **owner})
    acct.state_file.write_text(json.dumps(data))


def test_qos_create_then_idempotent_despite_sacctmgr_spelling(cluster: Sacctmgr) -> None:
    first = cluster.run(**DEBUG_QOS)
    assert first["changed"] is True, first
    assert first["commands"][-1].endswith(
        "add qos debug Description=Short test jobs Priority=50 MaxWall=30 "
        "MaxTRESPerUser=gres/gpu=2 Flags=denyonlimit GraceTime=300 UsageFactor=0.5"
    )
    shown = cluster.state()["qos"]["debug"]
    assert (shown["maxwall"], shown["gracetime"], shown["flags"]) == (
        "00:30:00",
        "00:05:00",
        "DenyOnLimit",
    )
    assert cluster.run(**DEBUG_QOS)["changed"] is False
    # The same limits spelled otherwise are no change either.
    same = {"MaxWall": "00:30:00", "GraceTime": "00:05:00", "MaxTRESPerUser": "GRES/GPU=2"}
    again = cluster.run(**{**DEBUG_QOS, "attributes": {**DEBUG_QOS["attributes"], **same}})
    assert again["changed"] is False, again


def test_qos_change_sets_only_what_differs(cluster: Sacctmgr) -> None:
    cluster.run(**DEBUG_QOS)
    longer = {**DEBUG_QOS["attributes"], "MaxWall": "1:00:00", "Priority": 50}
    changed = cluster.run(**{**DEBUG_QOS, "attributes": longer})
    assert changed["commands"] == [
        f"{cluster.tmp}/bin/sacctmgr --immediate modify qos where name=debug set MaxWall=1:00:00"
    ]
    assert cluster.state()["qos"]["debug"]["maxwall"] == "01:00:00"


def test_qos_preempt_list_compares_as_a_set(cluster: Sacctmgr) -> None:
    cluster.run(entity="qos", name="preemptible", attributes={"Priority": 0})
    cluster.run(entity="qos", name="scavenger", attributes={"Priority": 0})
    high = {"entity": "qos", "name": "high", "attributes": {"Preempt": "scavenger,preemptible"}}
    assert cluster.run(**high)["changed"] is True
    assert cluster.state()["qos"]["high"]["preempt"] == "preemptible,scavenger"
    assert cluster.run(**high)["changed"] is False
    # A QOS that does not exist is sacctmgr's error, passed on.
    bad = cluster.run(entity="qos", name="high", attributes={"Preempt": "nosuch"})
    assert bad["failed"] is True and "nosuch" in bad["msg"]


def test_account_limits_create_compare_and_modify(cluster: Sacctmgr) -> None:
    cluster.run(entity="qos", name="debug", attributes={"Priority": 50})
    limits = {
        "Fairshare": 3,
        "GrpTRES": "gres/gpu=64,mem=1024M",  # shown as mem=1G,gres/gpu=64
        "GrpTRESMins": "gres/gpu=600000",
        "MaxJobs": 10,
        "QOS": "normal,debug",  # shown sorted: debug,normal
    }
    physics = {**ACCOUNT, "name": "physics", "limits": limits}
    first = cluster.run(**physics)
    assert first["changed"] is True, first
    (assoc,) = [a for a in cluster.state()["assocs"] if a["account"] == "physics"]
    assert assoc["grptres"] == "mem=1G,gres/gpu=64"
    assert assoc["qos"] == "debug,normal"
    assert cluster.run(**physics)["changed"] is False
    fewer = cluster.run(**{**physics, "limits": {**limits, "Fairshare": 1, "QOS": "debug,normal"}})
    assert fewer["commands"] == [
        f"{cluster.tmp}/bin/sacctmgr --immediate modify account where name=physics "
        "cluster=rack1 set Fairshare=1"
    ]
    assert cluster.run(**{**physics, "limits": {"Fairshare": 1}})["changed"] is False


def test_user_limits_are_its_own_not_the_accounts(cluster: Sacctmgr) -> None:
    cluster.run(**{**ACCOUNT, "limits": {"MaxJobs": 10}})
    user = {"entity": "user", "name": "bob", "account": "research", "cluster": "rack1"}
    cluster.run(**user)
    # bob shows MaxJobs=10 inherited from research; asking for 10 on bob's own
    # association must still set it (WOPLimits), or a later change of the
    # account's limit would silently change bob's.
    own = cluster.run(**user, limits={"MaxJobs": 10, "GrpTRES": "gres/gpu=4"})
    assert own["commands"][-1].endswith(
        "modify user where name=bob account=research cluster=rack1 "
        "set MaxJobs=10 GrpTRES=gres/gpu=4"
    )
    assert cluster.run(**user, limits={"MaxJobs": 10, "GrpTRES": "gres/gpu=4"})["changed"] is False


def test_new_user_gets_limits_at_add_time(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    user = {"entity": "user", "name": "eve", "account": "research", "cluster": "rack1"}
    first = cluster.run(**user, limits={"GrpTRES": "gres/gpu=4"}, attributes={"AdminLevel": "None"})
    assert first["commands"][-1].endswith(
        "add user eve account=research defaultaccount=research cluster=rack1 "
        "AdminLevel=None GrpTRES=gres/gpu=4"
    )
    assert cluster.run(**user, limits={"GrpTRES": "gres/gpu=4"})["changed"] is False


def test_default_account_follows_the_inventory(cluster: Sacctmgr) -> None:
    cluster.run(**ACCOUNT)
    cluster.run(**{**ACCOUNT, "name": "inference"})
    cluster.run(entity="user", name="carol", account="research", cluster="rack1")
    moved = cluster.run(
        entity="user",
        name="carol",
        account="inference",
        cluster="rack1",
        attributes={"DefaultAccount": "inference"},
    )
    assert moved["commands"][-1].endswith(
        "modify user where name=carol set DefaultAccount=inference"
    )
    assert cluster.state()["users"]["carol"]["defaultaccount"] == "inference"


@pytest.mark.parametrize("check_mode", [False, True])
def test_removal_refused_while_jobs_are_queued(cluster: Sacctmgr, check_mode: bool) -> None:
    cluster.run(**ACCOUNT)
    cluster.run(entity="user", name="bob", account="research", cluster="rack1")
    add_job(cluster, "4242", "RUNNING", user="bob", account="research", qos="normal")
    add_job(cluster, "4243", "PENDING", user="bob", account="research", qos="normal")
    writes = len(cluster.writes())
    refused = cluster.run(check_mode=check_mode, entity="user", name="bob", state="absent")
    assert refused["failed"] is True
    assert "user bob" in refused["msg"] and "4242 (RUNNING), 4243 (PENDING)" in refused["msg"]
    assert "nothing was removed" in refused["msg"]
    for entity, name in (("account", "research"), ("qos", "normal")):
        other = cluster.run(check_mode=check_mode, entity=entity, name=name, state="absent")
        assert other["failed"] is True and f"{entity} {name}" in other["msg"], other
    assert len(cluster.writes()) == writes
    assert "bob" in cluster.state()["users"]


def test_slurmdbd_refusal_is_reported_when_a_job_starts_in_between(cluster: Sacctmgr) -> None:
    # squeue saw nothing (the job is not in its view), slurmdbd still refuses.
    cluster.run(**ACCOUNT)
    cluster.run(entity="user", name="bob", account="research", cluster="rack1")
    add_job(cluster, "77", "RUNNING", user="bob", account="research", qos="normal")
    data = cluster.state()
    data["jobs"][0]["qos"] = "hidden-from-squeue"
    data["jobs"][0]["user"] = "bob"
    cluster.state_file.write_text(json.dumps(data))
    (cluster.tmp / "bin" / "squeue").write_text("#!/bin/sh\nexit 0\n")
    result = cluster.run(entity="user", name="bob", state="absent")
    assert result["failed"] is True
    assert "Job(s) active" in result["msg"]


def test_qos_removed_when_unused(cluster: Sacctmgr) -> None:
    cluster.run(**DEBUG_QOS)
    gone = cluster.run(entity="qos", name="debug", state="absent")
    assert gone["commands"][-1].endswith("delete qos where name=debug")
    assert "debug" not in cluster.state()["qos"]
    assert cluster.run(entity="qos", name="debug", state="absent")["changed"] is False


def test_limits_on_a_qos_are_refused(cluster: Sacctmgr) -> None:
    result = cluster.run(entity="qos", name="x", limits={"MaxJobs": 1})
    assert result["failed"] is True and "association" in result["msg"]


@pytest.mark.parametrize(
    ("key", "have", "want", "same"),
    [
        ("MaxWall", "2-00:00:00", "48:00:00", True),
        ("MaxWall", "2-00:00:00", "2-0", True),
        ("MaxWall", "00:30:00", "30", True),  # bare number: minutes
        ("MaxWall", "00:00:30", "30", False),
        ("MaxWall", "00:01:30", "1:30", True),  # minutes:seconds
        ("MaxWall", "", "-1", True),  # unset both ways
        ("GraceTime", "00:05:00", "300", True),  # bare number: seconds
        ("GrpTRES", "mem=1G,gres/gpu=64", "gres/gpu=64,mem=1024", True),
        ("GrpTRES", "gres/gpu=64", "gres/gpu=64,cpu=-1", True),  # -1 clears
        ("GrpTRES", "gres/gpu=64", "gres/gpu=32", False),
        ("MaxTRESPerUser", "gres/gpu=4", "gres/gpu=4,gres/gpu:h100=4", False),
        ("QOS", "debug,normal", "normal,debug", True),
        ("Flags", "DenyOnLimit,NoDecay", "nodecay,denyonlimit", True),
        ("UsageFactor", "0.500000", "0.5", True),
        ("Fairshare", "parent", "parent", True),
        ("Fairshare", "3", "3", True),
        ("AdminLevel", "Administrator", "admin", True),
        ("PreemptMode", "requeue", "REQUEUE", True),
    ],
)
def test_values_compare_as_slurmdbd_stores_them(key: str, have: str, want: str, same: bool) -> None:
    module = load_source("slurm_sacctmgr", MODULE)
    assert module._same(key, have, want) is same
