"""The accounting policy and billing filters of the slurm role, with exact numbers.

roles/slurm/filter_plugins/slurm_policy.py (the ordered slurm_sacctmgr plan,
the profile's policy section, partition access checks) and the billing and
TRES filters of slurm_config.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.modload import load_source
from tests.unit.conftest import REPO

FILTERS = REPO / "roles" / "slurm" / "filter_plugins"
policy = load_source("slurm_policy_filters", FILTERS / "slurm_policy.py")
config = load_source("slurm_config_filters_billing", FILTERS / "slurm_config.py")

QOS: list[dict[str, Any]] = [
    {"name": "normal", "priority": 10, "preempt": ["preemptible"]},
    {"name": "high", "priority": 100, "preempt": ["preemptible"], "flags": ["DenyOnLimit"]},
    {"name": "debug", "max_wall": "00:30:00", "max_tres_per_user": {"gres/gpu": 2}},
    {"name": "preemptible", "priority": 0, "preempt_mode": "requeue", "grace_time": 300},
]
ACCOUNTS: list[dict[str, Any]] = [
    {"name": "llm", "parent": "research", "shares": 4, "max_tres_per_user": {"gres/gpu": 16}},
    {
        "name": "research",
        "shares": 8,
        "grp_tres": "gres/gpu=64",
        "qos": ["normal", "debug"],
        "default_qos": "normal",
    },
    {"name": "old", "state": "absent"},
]
USERS: list[dict[str, Any]] = [
    {"name": "alice", "account": "llm", "accounts": ["research"], "max_jobs": 20},
    {"name": "root", "account": "research", "admin": "Administrator", "grp_tres": {"gres/gpu": 4}},
    {"name": "mallory", "account": "llm", "state": "absent"},
]


def plan(**overrides: Any) -> list[dict[str, Any]]:
    args = {"accounts": ACCOUNTS, "users": USERS, "qos": QOS, **overrides}
    result: list[dict[str, Any]] = policy.slurm_policy_plan(
        args["accounts"], args["users"], args["qos"], "rack1"
    )
    return result


def test_plan_order_and_translation() -> None:
    steps = plan()
    assert [(s["state"], s["entity"], s["name"], s.get("account")) for s in steps] == [
        # A preempted QOS exists before the QOS that names it.
        ("present", "qos", "preemptible", None),
        ("present", "qos", "normal", None),
        ("present", "qos", "high", None),
        ("present", "qos", "debug", None),
        # Parents before children, whatever the inventory's order.
        ("present", "account", "research", None),
        ("present", "account", "llm", None),
        ("present", "user", "alice", "llm"),
        ("present", "user", "alice", "research"),
        ("present", "user", "root", "research"),
        # Removals last: users, then accounts.
        ("absent", "user", "mallory", None),
        ("absent", "account", "old", None),
    ]
    by_key = {(s["entity"], s["name"], s.get("account")): s for s in steps}
    assert by_key[("qos", "debug", None)]["attributes"] == {
        "MaxWall": "00:30:00",
        "MaxTRESPerUser": "gres/gpu=2",
    }
    assert by_key[("qos", "preemptible", None)]["attributes"] == {
        "Priority": "0",
        "PreemptMode": "requeue",
        "GraceTime": "300",
    }
    assert by_key[("qos", "high", None)]["attributes"]["Flags"] == "DenyOnLimit"
    assert by_key[("account", "research", None)] == {
        "entity": "account",
        "name": "research",
        "state": "present",
        "attributes": {"Description": "research", "Organization": "rack1"},
        "limits": {
            "Fairshare": "8",
            "GrpTRES": "gres/gpu=64",
            "QOS": "normal,debug",
            "DefaultQOS": "normal",
        },
    }
    llm = by_key[("account", "llm", None)]
    assert llm["attributes"]["Parent"] == "research"
    # max_tres_per_user is no association field: it becomes GrpTRES on each user.
    assert llm["limits"] == {"Fairshare": "4"}
    alice_llm = by_key[("user", "alice", "llm")]
    assert alice_llm["attributes"] == {"DefaultAccount": "llm"}
    assert alice_llm["limits"] == {"MaxJobs": "20", "GrpTRES": "gres/gpu=16"}
    # research sets no per-user limit; alice's own limits apply there too.
    assert by_key[("user", "alice", "research")] == {
        "entity": "user",
        "name": "alice",
        "account": "research",
        "state": "present",
        "attributes": {},
        "limits": {"MaxJobs": "20"},
    }
    root = by_key[("user", "root", "research")]
    assert root["attributes"] == {"DefaultAccount": "research", "AdminLevel": "Administrator"}
    assert root["limits"] == {"GrpTRES": "gres/gpu=4"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"users": [{"name": "bob", "account": "phyiscs"}]},
            "slurm_accounting_users[0] (bob): account 'phyiscs' is not in "
            "slurm_accounting_accounts",
        ),
        (
            {"users": [{"name": "bob", "account": "old"}]},
            "slurm_accounting_users[0] (bob): account 'old' is marked absent",
        ),
        (
            {"accounts": [{"name": "a", "parent": "nope"}]},
            "slurm_accounting_accounts[0] (a).parent: account 'nope' is not in the list",
        ),
        (
            {"accounts": [{"name": "a", "parent": "b"}, {"name": "b", "state": "absent"}]},
            "slurm_accounting_accounts[0] (a): its parent 'b' is marked absent",
        ),
        (
            {"accounts": [{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}]},
            "parents go round in a circle: a -> b -> a",
        ),
        (
            {"accounts": [{"name": "a", "qos": ["normal", "gold"]}]},
            "slurm_accounting_accounts[0] (a): QOS 'gold' is not a present QOS",
        ),
        (
            {"accounts": [{"name": "a", "qos": ["debug"], "default_qos": "normal"}]},
            "slurm_accounting_accounts[0] (a).default_qos: 'normal' is not in its qos list",
        ),
        (
            {"qos": [{"name": "x", "preempt": ["y"]}, {"name": "y", "preempt": ["x"]}]},
            "preemption goes round in a circle: x -> y -> x",
        ),
        (
            {"qos": [{"name": "high", "preempt": ["scavenger"]}]},
            "slurm_accounting_qos[0] (high).preempt: QOS 'scavenger' is not a present QOS",
        ),
        (
            {"qos": [{"name": "debug", "max_tres_per_user": "gres/gpu:2"}]},
            "slurm_accounting_qos[0] (debug).max_tres_per_user: 'gres/gpu:2' is not a TRES list",
        ),
        (
            {"users": [{"name": "bob", "account": "research"}, {"name": "Bob", "account": "llm"}]},
            "slurm_accounting_users[1]: 'Bob' is listed twice",
        ),
    ],
)
def test_plan_refuses_a_policy_it_cannot_apply(overrides: dict[str, Any], message: str) -> None:
    base = {"accounts": ACCOUNTS, "users": [], "qos": QOS}
    with pytest.raises(ValueError) as err:
        plan(**{**base, **overrides})
    assert message in str(err.value)


def test_partition_refs_name_the_partition_and_key() -> None:
    partitions = [
        {"name": "inference", "params": {"AllowAccounts": "inference,research"}},
        {"name": "h100", "params": {"AllowQos": ["normal", "gold"], "QOS": "nope"}},
        {"name": "open", "params": {"AllowAccounts": "ALL"}},
    ]
    assert policy.slurm_policy_partition_refs(partitions, ACCOUNTS, QOS) == [
        "slurm_partitions (inference).params.AllowAccounts: 'inference' is not "
        "a present account of the policy",
        "slurm_partitions (h100).params.AllowQos: 'gold' is not a present QOS of the policy",
        "slurm_partitions (h100).params.QOS: 'nope' is not a present QOS of the policy",
    ]


def test_profile_lists_what_a_submit_check_needs() -> None:
    partitions = [
        {"name": "gpu", "params": {}},
        {"name": "inference", "params": {"AllowAccounts": "research", "QOS": "debug"}},
    ]
    profile = policy.slurm_policy_profile(ACCOUNTS, USERS, QOS, partitions)
    assert profile["accounts"] == ["llm", "research"]
    assert profile["qos"]["debug"] == {"max_wall": "00:30:00", "preemptible": False}
    assert profile["qos"]["preemptible"] == {"max_wall": None, "preemptible": True}
    # llm sets no QOS: it inherits research's.
    assert profile["users"]["alice"] == {
        "default_account": "llm",
        "accounts": {"llm": ["normal", "debug"], "research": ["normal", "debug"]},
    }
    assert "mallory" not in profile["users"]
    assert profile["partitions"] == {
        "gpu": {"allow_accounts": [], "allow_qos": [], "qos": None},
        "inference": {"allow_accounts": ["research"], "allow_qos": [], "qos": "debug"},
    }


# -- billing and TRES ---------------------------------------------------------
def spec(name: str, gpu_type: str | None, count: int) -> dict[str, Any]:
    gpus = {"count": count, **({"type": gpu_type} if gpu_type else {})}
    return {"name": name, "params": {"CPUs": 64}, "gpus": gpus, "features": []}


SPECS = [spec("h1", "h100", 8), spec("m1", "mi300x", 8), spec("l1", "l40s", 4), spec("c1", None, 0)]
GROUPS = {"h": ["h1"], "m": ["m1"], "l": ["l1"], "c": ["c1"], "mixed": ["h1", "l1"]}
PRICES = {"h100": 100, "mi300x": 100, "l40s": 40}


def weights(part: dict[str, Any], prices: dict[str, Any] = PRICES) -> str | None:
    (billed,) = config.slurm_billed_partitions([part], GROUPS, SPECS, prices)
    value = billed["params"].get("TRESBillingWeights")
    return None if value is None else str(value)


def test_billing_weights_bill_each_gpu_hour_at_its_price() -> None:
    # MAX_TRES: billing = max(CPU*0, Mem*0, GPUs*price) = GPUs*price per hour.
    assert weights({"name": "h", "groups": ["h"]}) == "CPU=0,Mem=0,GRES/gpu=100"
    assert weights({"name": "m", "groups": ["m"]}) == "CPU=0,Mem=0,GRES/gpu=100"
    assert weights({"name": "l", "groups": ["l"]}) == "CPU=0,Mem=0,GRES/gpu=40"
    # Mixed types: one weight per type (an untyped weight would add to them).
    assert weights({"name": "x", "groups": ["mixed"]}) == (
        "CPU=0,Mem=0,GRES/gpu:h100=100,GRES/gpu:l40s=40"
    )


def test_billing_weights_keep_cpu_partitions_and_explicit_settings() -> None:
    assert weights({"name": "c", "groups": ["c"]}) is None  # Slurm's default: CPUs
    own = {"name": "h", "groups": ["h"], "params": {"TRESBillingWeights": "CPU=1"}}
    assert weights(own) == "CPU=1"
    extra = {"name": "h", "groups": ["h"], "billing": {"CPU": 0.5, "Mem": "0.25G"}}
    assert weights(extra) == "CPU=0.5,Mem=0.25G,GRES/gpu=100"
    # No price table: every GPU-hour bills 1 (GPUs, not CPUs, drive fair share).
    assert weights({"name": "l", "groups": ["l"]}, {}) == "CPU=0,Mem=0,GRES/gpu=1"


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"h100": 100}, "partition l: GPU type 'l40s' has no price in slurm_gpu_prices"),
        ({"l40s": 0.4}, "slurm_gpu_prices.l40s: 0.4 must be a whole number >= 0"),
        ({"l40s": True}, "slurm_gpu_prices.l40s: True must be a whole number"),
    ],
)
def test_price_table_errors_name_the_type(prices: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        weights({"name": "l", "groups": ["l"]}, prices)
    assert message in str(err.value)


def test_accounting_tres_lists_every_gpu_type_once() -> None:
    assert config.slurm_accounting_tres([*SPECS, spec("h2", "h100", 8)]) == [
        "gres/gpu",
        "gres/gpu:h100",
        "gres/gpu:mi300x",
        "gres/gpu:l40s",
    ]
    assert config.slurm_accounting_tres([spec("c1", None, 0)]) == []
    assert config.slurm_accounting_tres([spec("u1", None, 2)]) == ["gres/gpu"]
