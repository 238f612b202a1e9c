"""Filters that turn the inventory's accounting policy into slurm_sacctmgr steps.

The policy is three lists (slurm_accounting_qos, _accounts, _users); the
plan is the ordered list of module calls that makes slurmdbd match them:
QOS before the accounts that allow them (and a preempted QOS before the one
that preempts it), parents before children, users last; removals in the
reverse order. Kept in Python so that the order, the checks and the
translation to sacctmgr fields are unit-tested, and the plan is a golden file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Inventory key -> sacctmgr field, for QOS and for associations.
QOS_FIELDS = {
    "description": "Description",
    "priority": "Priority",
    "preempt": "Preempt",
    "preempt_mode": "PreemptMode",
    "preempt_exempt_time": "PreemptExemptTime",
    "grace_time": "GraceTime",
    "max_wall": "MaxWall",
    "max_tres_per_user": "MaxTRESPerUser",
    "max_tres_per_job": "MaxTRESPerJob",
    "max_jobs_per_user": "MaxJobsPerUser",
    "max_submit_jobs_per_user": "MaxSubmitJobsPerUser",
    "grp_tres": "GrpTRES",
    "grp_tres_mins": "GrpTRESMins",
    "min_tres": "MinTRESPerJob",
    "flags": "Flags",
    "usage_factor": "UsageFactor",
}
ASSOC_FIELDS = {
    "shares": "Fairshare",
    "grp_tres": "GrpTRES",
    "grp_tres_mins": "GrpTRESMins",
    "grp_jobs": "GrpJobs",
    "grp_submit_jobs": "GrpSubmitJobs",
    "max_jobs": "MaxJobs",
    "max_submit_jobs": "MaxSubmitJobs",
    "max_tres_per_job": "MaxTRES",
    "max_wall": "MaxWall",
    "qos": "QOS",
    "default_qos": "DefaultQOS",
}
_TRES_KEYS = {"max_tres_per_user", "max_tres_per_job", "grp_tres", "grp_tres_mins", "min_tres"}
# The QOS every cluster has (slurmdbd creates it); associations get it by default.
BUILTIN_QOS = "normal"


def _present(item: Mapping[str, Any]) -> bool:
    return str(item.get("state", "present")) != "absent"


def _tres(value: Any, where: str) -> str:
    """{gres/gpu: 4, cpu: 64} or "gres/gpu=4,cpu=64" -> "gres/gpu=4,cpu=64"."""
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    if any("=" not in part for part in text.split(",")):
        raise ValueError(f"{where}: {text!r} is not a TRES list such as gres/gpu=4,cpu=64")
    return text


def _value(key: str, value: Any, where: str) -> str:
    if key in _TRES_KEYS:
        return _tres(value, where)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        raise ValueError(f"{where}: a yes/no value is not a Slurm setting here")
    return str(value)


def _fields(item: Mapping[str, Any], table: Mapping[str, str], where: str) -> dict[str, str]:
    return {
        field: _value(key, item[key], f"{where}.{key}")
        for key, field in table.items()
        if item.get(key) is not None
    }


def _names(items: Iterable[Mapping[str, Any]], what: str) -> dict[str, Mapping[str, Any]]:
    seen: dict[str, Mapping[str, Any]] = {}
    for index, item in enumerate(items):
        name = str(item.get("name", ""))
        if not name:
            raise ValueError(f"{what}[{index}]: name is required")
        if name.lower() in seen:
            raise ValueError(f"{what}[{index}]: {name!r} is listed twice")
        seen[name.lower()] = item
    return seen


def _where(what: str, items: list[Mapping[str, Any]], item: Mapping[str, Any]) -> str:
    return f"{what}[{items.index(item)}] ({item['name']})"


def _qos_order(qos: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Present QOS with every QOS they preempt first (sacctmgr needs it to exist)."""
    by_name = _names(qos, "slurm_accounting_qos")
    done: list[Mapping[str, Any]] = []
    visiting: list[str] = []

    def visit(item: Mapping[str, Any]) -> None:
        name = str(item["name"]).lower()
        if item in done:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise ValueError(f"slurm_accounting_qos: preemption goes round in a circle: {cycle}")
        visiting.append(name)
        for target in item.get("preempt") or []:
            other = by_name.get(str(target).lower())
            where = _where("slurm_accounting_qos", qos, item)
            if other is None or not _present(other):
                if str(target).lower() == BUILTIN_QOS and other is None:
                    continue
                raise ValueError(
                    f"{where}.preempt: QOS {target!r} is not a present QOS in the list"
                )
            visit(other)
        visiting.pop()
        done.append(item)

    for item in qos:
        if _present(item):
            visit(item)
    return done


def _known_qos(qos: list[Mapping[str, Any]]) -> set[str]:
    return {str(q["name"]).lower() for q in qos if _present(q)} | {BUILTIN_QOS}


def _check_qos_refs(item: Mapping[str, Any], where: str, known: set[str]) -> None:
    for name in list(item.get("qos") or []) + (
        [item["default_qos"]] if item.get("default_qos") else []
    ):
        if str(name).lower() not in known:
            raise ValueError(f"{where}: QOS {name!r} is not a present QOS in slurm_accounting_qos")
    if item.get("default_qos") and item.get("qos"):
        allowed = {str(q).lower() for q in item["qos"]}
        if str(item["default_qos"]).lower() not in allowed:
            raise ValueError(f"{where}.default_qos: {item['default_qos']!r} is not in its qos list")


def _account_order(accounts: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    by_name = _names(accounts, "slurm_accounting_accounts")
    done: list[Mapping[str, Any]] = []

    def visit(item: Mapping[str, Any], chain: list[str]) -> None:
        name = str(item["name"]).lower()
        if item in done:
            return
        if name in chain:
            raise ValueError(
                "slurm_accounting_accounts: parents go round in a circle: "
                + " -> ".join([*chain[chain.index(name) :], name])
            )
        parent = str(item.get("parent") or "root").lower()
        where = _where("slurm_accounting_accounts", accounts, item)
        if parent != "root":
            other = by_name.get(parent)
            if other is None:
                raise ValueError(f"{where}.parent: account {parent!r} is not in the list")
            if _present(item) and not _present(other):
                raise ValueError(f"{where}: its parent {parent!r} is marked absent")
            visit(other, [*chain, name])
        done.append(item)

    for item in accounts:
        visit(item, [])
    return done


def _account_step(item: Mapping[str, Any], cluster: str, where: str) -> dict[str, Any]:
    attributes = {
        "Description": str(item.get("description") or item["name"]),
        "Organization": str(item.get("organization") or cluster),
    }
    if item.get("parent"):
        attributes["Parent"] = str(item["parent"])
    return {
        "entity": "account",
        "name": str(item["name"]),
        "state": "present",
        "attributes": attributes,
        "limits": _fields(item, ASSOC_FIELDS, where),
    }


def _user_steps(
    item: Mapping[str, Any],
    where: str,
    accounts: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    default = str(item.get("account") or "")
    if not default:
        raise ValueError(f"{where}.account: the default account is required")
    names = list(dict.fromkeys([default, *[str(a) for a in item.get("accounts") or []]]))
    steps = []
    for index, account in enumerate(names):
        acct = accounts.get(account.lower())
        if acct is None:
            raise ValueError(f"{where}: account {account!r} is not in slurm_accounting_accounts")
        if not _present(acct):
            raise ValueError(f"{where}: account {account!r} is marked absent")
        limits = _fields(item, ASSOC_FIELDS, where)
        # Slurm has no per-user TRES limit on an account's association: the
        # account's max_tres_per_user becomes GrpTRES on each of its users'
        # associations (a user's own grp_tres wins).
        if "GrpTRES" not in limits and acct.get("max_tres_per_user") is not None:
            limits["GrpTRES"] = _tres(
                acct["max_tres_per_user"],
                f"slurm_accounting_accounts ({account}).max_tres_per_user",
            )
        attributes: dict[str, str] = {}
        if index == 0:
            attributes["DefaultAccount"] = default
            if item.get("admin") is not None:
                attributes["AdminLevel"] = str(item["admin"])
        steps.append(
            {
                "entity": "user",
                "name": str(item["name"]),
                "account": account,
                "state": "present",
                "attributes": attributes,
                "limits": limits,
            }
        )
    return steps


def slurm_policy_plan(
    accounts: list[Mapping[str, Any]],
    users: list[Mapping[str, Any]],
    qos: list[Mapping[str, Any]],
    cluster: str,
) -> list[dict[str, Any]]:
    """The slurm_sacctmgr calls, in order, that make accounting match the policy.

    Raises ValueError naming the variable, the item and the field for a
    policy that cannot be applied (unknown account or QOS, a present child
    of an absent parent, circles).
    """
    accounts, users, qos = list(accounts), list(users), list(qos)
    known_qos = _known_qos(qos)
    by_account = _names(accounts, "slurm_accounting_accounts")
    _names(users, "slurm_accounting_users")
    plan: list[dict[str, Any]] = []
    for item in _qos_order(qos):
        where = _where("slurm_accounting_qos", qos, item)
        plan.append(
            {
                "entity": "qos",
                "name": str(item["name"]),
                "state": "present",
                "attributes": _fields(item, QOS_FIELDS, where),
            }
        )
    ordered = _account_order(accounts)
    for item in ordered:
        if _present(item):
            where = _where("slurm_accounting_accounts", accounts, item)
            _check_qos_refs(item, where, known_qos)
            plan.append(_account_step(item, cluster, where))
    for item in users:
        if _present(item):
            where = _where("slurm_accounting_users", users, item)
            _check_qos_refs(item, where, known_qos)
            plan += _user_steps(item, where, by_account)
    removals = [u for u in users if not _present(u)]
    removals += [a for a in reversed(ordered) if not _present(a)]
    removals += [q for q in qos if not _present(q)]
    for item in removals:
        entity = "user" if item in users else "account" if item in accounts else "qos"
        plan.append({"entity": entity, "name": str(item["name"]), "state": "absent"})
    return plan


def _qos_of(
    name: str, accounts: Mapping[str, Mapping[str, Any]], seen: frozenset[str] = frozenset()
) -> list[str] | None:
    """The QOS list an account's associations get: its own, else its parent's."""
    item = accounts.get(name.lower())
    if item is None or name.lower() in seen:
        return None
    if item.get("qos"):
        return [str(q) for q in item["qos"]]
    parent = item.get("parent")
    return _qos_of(str(parent), accounts, seen | {name.lower()}) if parent else None


def slurm_policy_profile(
    accounts: list[Mapping[str, Any]],
    users: list[Mapping[str, Any]],
    qos: list[Mapping[str, Any]],
    partitions: list[Mapping[str, Any]],
) -> dict[str, Any]:
    """The `policy` section of /etc/aihpc/cluster.yaml (docs/cluster-profile.md).

    What `aihpc submit` needs to refuse an account, QOS or partition a user
    cannot use before sbatch does: present accounts, QOS with their wall-time
    limit, each user's accounts with the QOS allowed in each (null: not
    managed here, so not checked), per-partition access lists ([]: open to
    all) and the partition QOS.
    """
    by_account = {str(a["name"]).lower(): a for a in accounts if _present(a)}
    preempted = {str(t).lower() for q in qos if _present(q) for t in (q.get("preempt") or [])}
    out_qos: dict[str, dict[str, Any]] = {}
    for item in qos:
        if _present(item):
            out_qos[str(item["name"])] = {
                "max_wall": str(item["max_wall"]) if item.get("max_wall") is not None else None,
                "preemptible": str(item["name"]).lower() in preempted,
            }
    out_users: dict[str, dict[str, Any]] = {}
    for item in users:
        if not _present(item):
            continue
        names = list(
            dict.fromkeys([str(item["account"]), *[str(a) for a in item.get("accounts") or []]])
        )
        own = [str(q) for q in item["qos"]] if item.get("qos") else None
        out_users[str(item["name"])] = {
            "default_account": str(item["account"]),
            # account -> the QOS the user may use there (null: not managed here).
            "accounts": {a: own if own is not None else _qos_of(a, by_account) for a in names},
        }
    out_parts: dict[str, dict[str, Any]] = {}
    for part in partitions:
        params = part.get("params") or {}

        def listed(key: str, params: Mapping[str, Any] = params) -> list[str]:
            value = params.get(key)
            if value in (None, "", "ALL"):
                return []
            return [str(v) for v in value] if isinstance(value, list) else str(value).split(",")

        out_parts[str(part["name"])] = {
            "allow_accounts": listed("AllowAccounts"),
            "allow_qos": listed("AllowQos"),
            "qos": str(params["QOS"]) if params.get("QOS") else None,
        }
    return {
        "accounts": sorted(by_account[k]["name"] for k in by_account),
        "qos": out_qos,
        "users": out_users,
        "partitions": out_parts,
    }


def slurm_policy_partition_refs(
    partitions: list[Mapping[str, Any]],
    accounts: list[Mapping[str, Any]],
    qos: list[Mapping[str, Any]],
) -> list[str]:
    """Partition AllowAccounts/AllowQos/QOS names that the policy does not define.

    Returns the problems as messages naming the partition and key (empty: fine).
    An unknown name in AllowAccounts makes slurmctld lock every job out silently.
    """
    known_accounts = {str(a["name"]).lower() for a in accounts if _present(a)} | {"root"}
    known_qos = _known_qos(qos)
    problems = []
    for part in partitions:
        params = part.get("params") or {}
        for key, known in (("AllowAccounts", known_accounts), ("AllowQos", known_qos)):
            value = params.get(key)
            if value in (None, "", "ALL"):
                continue
            names = value if isinstance(value, list) else str(value).split(",")
            for name in names:
                if str(name).lower() not in known:
                    problems.append(
                        f"slurm_partitions ({part['name']}).params.{key}: {name!r} is not "
                        f"a present {'account' if key == 'AllowAccounts' else 'QOS'} of the policy"
                    )
        if params.get("QOS") and str(params["QOS"]).lower() not in known_qos:
            problems.append(
                f"slurm_partitions ({part['name']}).params.QOS: {params['QOS']!r} is not "
                "a present QOS of the policy"
            )
    return problems


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "slurm_policy_plan": slurm_policy_plan,
            "slurm_policy_profile": slurm_policy_profile,
            "slurm_policy_partition_refs": slurm_policy_partition_refs,
        }
