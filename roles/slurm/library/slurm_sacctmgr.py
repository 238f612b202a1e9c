#!/usr/bin/python
"""Ansible module: make a Slurm accounting entity exist (or not), idempotently."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: slurm_sacctmgr
short_description: Ensure a Slurm accounting cluster, account, user or QOS exists, with its limits
description:
  - Reads the current state with C(sacctmgr --noheader --parsable2 show) and changes only
    what differs, so a second run reports no change. Only the fields given are compared
    and set; fields the caller does not name are never touched.
  - Values are compared the way slurmdbd stores them, not as text, so C(MaxWall=48:00:00)
    equals C(2-00:00:00), C(GrpTRES=mem=1G) equals C(mem=1024M), lists compare as sets.
  - Users are ensured together with their association to I(account); I(limits) are that
    association's limits. For accounts, I(limits) are the account's association on I(cluster).
  - Removal (I(state=absent)) is refused, with the job ids, while the queue holds jobs of
    that user, account or QOS (slurmdbd would refuse too, with a less helpful message).
options:
  entity:
    description: What to manage.
    type: str
    required: true
    choices: [cluster, account, user, qos]
  name:
    description: Name of the cluster, account, user or QOS.
    type: str
    required: true
  account:
    description: For users, the account of the association (the default account of a new user).
    type: str
  cluster:
    description: For accounts and users, the cluster of the association (default is slurm.conf's).
    type: str
  attributes:
    description:
      - Fields of the entity itself, e.g. Description, Organization, Parent (accounts),
        AdminLevel, DefaultAccount (users), and every QOS field (Priority, Preempt, MaxWall,
        MaxTRESPerUser, GrpTRES, MinTRESPerJob, Flags, GraceTime, UsageFactor, ...).
      - Keys are sacctmgr field names; compared case-insensitively.
    type: dict
    default: {}
  limits:
    description:
      - Association fields (accounts and users), e.g. Fairshare, GrpTRES, GrpTRESMins,
        MaxJobs, MaxSubmitJobs, MaxTRES, MaxWall, QOS, DefaultQOS.
    type: dict
    default: {}
  state:
    description: Whether the entity should exist.
    type: str
    choices: [present, absent]
    default: present
author: aihpc
"""

EXAMPLES = r"""
- name: Physics, three shares, at most 64 GPUs at once
  slurm_sacctmgr:
    entity: account
    name: physics
    cluster: rack1
    attributes: {Description: Physics, Organization: uni-a, Parent: research}
    limits: {Fairshare: 3, GrpTRES: gres/gpu=64, QOS: "normal,debug,preemptible"}

- name: Alice in physics, at most 8 GPUs of it
  slurm_sacctmgr:
    entity: user
    name: alice
    account: physics
    cluster: rack1
    limits: {GrpTRES: gres/gpu=8}

- name: A debug QOS
  slurm_sacctmgr:
    entity: qos
    name: debug
    attributes: {Priority: 50, MaxWall: "00:30:00", MaxTRESPerUser: gres/gpu=2, Flags: DenyOnLimit}
"""

RETURN = r"""
commands:
  description: The sacctmgr commands that were (or, in check mode, would be) run.
  returned: always
  type: list
  elements: str
"""

import re  # noqa: E402  (Ansible puts docs first)
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

# Entity fields: the name given in `add`/`modify` (lower case) -> the field
# name `show ... format=` takes. Only these can be compared.
_ENTITY_FIELDS = {
    "account": {"description": "Description", "organization": "Organization"},
    "user": {"defaultaccount": "DefaultAccount", "adminlevel": "AdminLevel"},
    "cluster": {},
    "qos": {
        "description": "Description",
        "priority": "Priority",
        "preempt": "Preempt",
        "preemptmode": "PreemptMode",
        "preemptexempttime": "PreemptExemptTime",
        "gracetime": "GraceTime",
        "flags": "Flags",
        "usagefactor": "UsageFactor",
        "maxwall": "MaxWall",
        "maxtresperuser": "MaxTRESPU",
        "maxtrespu": "MaxTRESPU",
        "maxtresperjob": "MaxTRES",
        "maxtres": "MaxTRES",
        "maxtrespernode": "MaxTRESPerNode",
        "maxjobsperuser": "MaxJobsPU",
        "maxjobspu": "MaxJobsPU",
        "maxsubmitjobsperuser": "MaxSubmitPU",
        "maxsubmitpu": "MaxSubmitPU",
        "grptres": "GrpTRES",
        "grptresmins": "GrpTRESMins",
        "grpjobs": "GrpJobs",
        "grpsubmitjobs": "GrpSubmit",
        "mintresperjob": "MinTRES",
        "mintres": "MinTRES",
    },
}
# Association fields (accounts' and users' `limits`).
_ASSOC_FIELDS = {
    "fairshare": "Fairshare",
    "grptres": "GrpTRES",
    "grptresmins": "GrpTRESMins",
    "grpjobs": "GrpJobs",
    "grpsubmitjobs": "GrpSubmitJobs",
    "maxjobs": "MaxJobs",
    "maxsubmitjobs": "MaxSubmitJobs",
    "maxtres": "MaxTRES",
    "maxtresperjob": "MaxTRES",
    "maxwall": "MaxWall",
    "maxwalldurationperjob": "MaxWall",
    "qos": "QOS",
    "defaultqos": "DefaultQOS",
}
# How a field's value compares (anything not listed: case-insensitive text).
_TRES = {"grptres", "grptresmins", "maxtres", "maxtresperjob", "maxtresperuser", "maxtrespu"}
_TRES |= {"maxtrespernode", "mintres", "mintresperjob"}
_WALL = {"maxwall", "maxwalldurationperjob", "grpwall"}  # a bare number is minutes
_SECONDS = {"gracetime", "preemptexempttime"}  # a bare number is seconds
_SETS = {"qos", "preempt", "flags"}
_NUMBERS = {"priority", "usagefactor", "maxjobs", "maxsubmitjobs", "grpjobs", "grpsubmitjobs"}
_NUMBERS |= {"maxjobsperuser", "maxjobspu", "maxsubmitjobsperuser", "maxsubmitpu"}
# Spellings sacctmgr accepts and what `show` prints for them.
_SYNONYMS = {"adminlevel": {"admin": "administrator"}}
_MEM_UNITS = {"": 1, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024, "p": 1024**3}
_DURATION_RE = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def _unset(value: str) -> bool:
    # What `show` prints for no limit, and what `modify` takes to clear one.
    return value.strip().lower() in ("", "-1", "unlimited", "none", "''", '""')


def _tres(value: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in value.split(","):
        key, sep, count = item.strip().partition("=")
        if not sep or _unset(count):
            continue
        key = key.strip().lower()
        match = re.match(r"^([\d.]+)\s*([kmgtp]?)b?$", count.strip().lower())
        if not match:
            out[key] = float("nan")  # unparseable: never equal, so it is set
            continue
        number, unit = float(match.group(1)), match.group(2)
        out[key] = number * _MEM_UNITS[unit] if key == "mem" else number
    return out


def _duration(value: str, bare_unit: int) -> int | None:
    value = value.strip()
    if _unset(value):
        return None
    match = _DURATION_RE.match(value)
    if not match:
        return -2  # unparseable: never equal to what show prints, so it is set
    days, first, second, third = match.groups()
    if days is not None:
        # days-hours[:minutes[:seconds]]
        parts = [int(first), int(second or 0), int(third or 0)]
        return int(days) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]
    if third is not None:
        return int(first) * 3600 + int(second) * 60 + int(third)
    if second is not None:
        return int(first) * 60 + int(second)  # minutes:seconds
    return int(first) * bare_unit


def _number(value: str) -> float | None:
    if _unset(value):
        return None
    try:
        return float(value)
    except ValueError:
        return float("nan")


def _canonical(key: str, value: str) -> object:
    """The value as slurmdbd holds it, so that equal settings compare equal."""
    key = key.lower()
    if key in _TRES:
        return _tres(value)
    if key in _WALL:
        return _duration(value, 60)
    if key in _SECONDS:
        return _duration(value, 1)
    if key in _SETS:
        return frozenset(v.strip().lower() for v in value.split(",") if not _unset(v))
    if key in _NUMBERS:
        return _number(value)
    if key == "fairshare" and value.strip().lower() != "parent":
        return _number(value)
    aliases = _SYNONYMS.get(key, {})
    lowered = value.strip().lower()
    return aliases.get(lowered, lowered)


def _same(key: str, have: str, want: str) -> bool:
    return _canonical(key, have) == _canonical(key, want)


def _diff(
    current: dict[str, str], wanted: dict[str, str], fields: dict[str, str]
) -> dict[str, str]:
    """The wanted fields whose value differs from `current` (a `show` row keyed
    by lower-case show-field name); fields `show` cannot print are skipped."""
    changes = {}
    for key, value in wanted.items():
        field = fields.get(key.lower())
        if field is None:
            continue
        have = current.get(field.lower())
        if have is not None and not _same(key, have, str(value)):
            changes[key] = str(value)
    return changes


def _words(attrs: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in attrs.items()]


class Sacctmgr:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.binary = module.get_bin_path("sacctmgr", required=True)
        self.commands: list[str] = []

    def show(
        self, entity: str, where: dict[str, str], fields: list[str], *options: str
    ) -> list[dict[str, str]]:
        args = [self.binary, "--noheader", "--parsable2", "show", entity, *options, "where"]
        args += [f"{k}={v}" for k, v in where.items()]
        args.append("format=" + ",".join(fields))
        # Any y/N prompt means a bad query: answer no rather than hang.
        rc, out, err = self.module.run_command(args, data="n")
        if rc != 0:
            self.module.fail_json(msg=f"sacctmgr show {entity} failed: {err.strip()}", rc=rc)
        rows = []
        for line in out.splitlines():
            if line.strip():
                rows.append(dict(zip([f.lower() for f in fields], line.split("|"), strict=False)))
        return rows

    def association(self, where: dict[str, str], limits: dict[str, str]) -> dict[str, str] | None:
        """The one association matching `where` (user '' for an account's own), with
        the fields `limits` names; WOPLimits shows its own limits, not its parents'."""
        fields = ["Account", "User", "ParentName"]
        fields += sorted({_ASSOC_FIELDS[k.lower()] for k in limits if k.lower() in _ASSOC_FIELDS})
        user = where.get("user", "")
        query = {k: v for k, v in where.items() if k != "user" or v}
        for row in self.show("association", query, fields, "WOPLimits"):
            if row.get("user", "") == user and row.get("account", "").lower() == where["account"]:
                return row
        return None

    def run(self, *words: str) -> None:
        args = [self.binary, "--immediate", *words]
        self.commands.append(" ".join(args))
        if self.module.check_mode:
            return
        rc, out, err = self.module.run_command(args)
        # sacctmgr exits 1 with "Nothing new added" when racing another writer.
        if rc != 0 and "nothing new added" not in (out + err).lower():
            self.module.fail_json(msg=f"{' '.join(args)} failed: {(err or out).strip()}", rc=rc)

    def queued_jobs(self, entity: str, name: str) -> list[str]:
        """'id (STATE)' of every job in the queue for this user, account or QOS."""
        squeue = self.module.get_bin_path("squeue", required=True)
        option = {"user": "--user", "account": "--account", "qos": "--qos"}[entity]
        rc, out, err = self.module.run_command(
            [squeue, "--noheader", "--all", "--format=%i|%T", f"{option}={name}"]
        )
        if rc != 0:
            self.module.fail_json(
                msg=f"cannot tell whether {entity} {name} has jobs (squeue failed: "
                f"{err.strip()}); not removing it",
                rc=rc,
            )
        jobs = [line.split("|", 1) for line in out.splitlines() if "|" in line]
        return [f"{job_id} ({state})" for job_id, state in jobs]


def _remove(tool: Sacctmgr, entity: str, name: str, exists: bool) -> None:
    if not exists:
        return
    if entity in ("user", "account", "qos"):
        jobs = tool.queued_jobs(entity, name)
        if jobs:
            shown = ", ".join(jobs[:10]) + (f" and {len(jobs) - 10} more" if len(jobs) > 10 else "")
            tool.module.fail_json(
                msg=f"{entity} {name} is marked absent but still has {len(jobs)} job(s) in "
                f"the queue: {shown}. Cancel them (scancel --{entity}={name}) or let them "
                "finish, then run again; nothing was removed.",
                jobs=jobs,
                commands=tool.commands,
            )
    tool.run("delete", entity, "where", f"name={name}")


def _ensure_account(
    tool: Sacctmgr, p: dict[str, Any], attrs: dict[str, str], limits: dict[str, str]
) -> None:
    name, cluster = p["name"], p["cluster"]
    fields = _ENTITY_FIELDS["account"]
    existing = tool.show("account", {"name": name}, ["Account", *fields.values()])
    parent = next((v for k, v in attrs.items() if k.lower() == "parent"), None)
    own = {k: v for k, v in attrs.items() if k.lower() != "parent"}
    where = {"account": name.lower()}
    if cluster:
        where["cluster"] = cluster
    assoc = tool.association(where, limits) if existing else None
    if not existing or assoc is None:
        # Accounts are global but usable on a cluster only through an
        # association there (one slurmdbd can serve several clusters).
        words = ["add", "account", name]
        if cluster:
            words.append(f"cluster={cluster}")
        words += _words(attrs if not existing else ({"Parent": parent} if parent else {}))
        tool.run(*words, *_words(limits))
        if not existing:
            return
    else:
        wanted = dict(limits)
        if parent is not None:
            wanted["Parent"] = parent
        changes = _diff(assoc, wanted, {**_ASSOC_FIELDS, "parent": "ParentName"})
        if changes:
            where_words = [f"name={name}"] + ([f"cluster={cluster}"] if cluster else [])
            tool.run("modify", "account", "where", *where_words, "set", *_words(changes))
    changes = _diff(existing[0], own, fields)
    if changes:
        tool.run("modify", "account", "where", f"name={name}", "set", *_words(changes))


def _ensure_user(
    tool: Sacctmgr, p: dict[str, Any], attrs: dict[str, str], limits: dict[str, str]
) -> None:
    name, account, cluster = p["name"], p["account"], p["cluster"]
    fields = _ENTITY_FIELDS["user"]
    existing = tool.show("user", {"name": name}, ["User", *fields.values()])
    where = {"user": name, "account": account.lower()}
    if cluster:
        where["cluster"] = cluster
    assoc = tool.association(where, limits) if existing else None
    if assoc is None:
        words = ["add", "user", name, f"account={account}"]
        has_default = any(k.lower() == "defaultaccount" for k in attrs)
        if not existing and not has_default:
            words.append(f"defaultaccount={account}")
        if cluster:
            words.append(f"cluster={cluster}")
        # A new user takes every attribute at add time; an existing one gets
        # the new association here and its attributes compared below.
        tool.run(*words, *_words(attrs if not existing else {}), *_words(limits))
        if not existing:
            return
    else:
        changes = _diff(assoc, limits, _ASSOC_FIELDS)
        if changes:
            where_words = [f"name={name}", f"account={account}"]
            where_words += [f"cluster={cluster}"] if cluster else []
            tool.run("modify", "user", "where", *where_words, "set", *_words(changes))
    changes = _diff(existing[0], attrs, fields)
    if changes:
        tool.run("modify", "user", "where", f"name={name}", "set", *_words(changes))


def _ensure_qos(tool: Sacctmgr, name: str, attrs: dict[str, str]) -> None:
    fields = _ENTITY_FIELDS["qos"]
    shown = ["Name", *sorted({fields[k.lower()] for k in attrs if k.lower() in fields})]
    existing = tool.show("qos", {"name": name}, shown)
    if not existing:
        tool.run("add", "qos", name, *_words(attrs))
        return
    changes = _diff(existing[0], attrs, fields)
    if changes:
        tool.run("modify", "qos", "where", f"name={name}", "set", *_words(changes))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "entity": {"type": "str", "required": True, "choices": list(_ENTITY_FIELDS)},
            "name": {"type": "str", "required": True},
            "account": {"type": "str"},
            "cluster": {"type": "str"},
            "attributes": {"type": "dict", "default": {}},
            "limits": {"type": "dict", "default": {}},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["entity"] == "user" and p["state"] == "present" and not p["account"]:
        module.fail_json(msg="entity=user needs account")
    entity, name = p["entity"], p["name"]
    # None drops a field (how a caller leaves one alone); values are text to sacctmgr.
    attrs = {str(k): str(v) for k, v in p["attributes"].items() if v is not None}
    limits = {str(k): str(v) for k, v in p["limits"].items() if v is not None}
    if limits and entity not in ("account", "user"):
        module.fail_json(
            msg=f"limits are association fields: only for accounts and users, not {entity}"
        )
    tool = Sacctmgr(module)

    if p["state"] == "absent":
        # Accounts and users are global; only associations carry a cluster (and
        # asking `show account` for one makes sacctmgr stop at a y/N prompt).
        key = {"cluster": "Cluster", "account": "Account", "user": "User", "qos": "Name"}[entity]
        exists = bool(tool.show(entity, {"name": name}, [key]))
        _remove(tool, entity, name, exists)
    elif entity == "account":
        _ensure_account(tool, p, attrs, limits)
    elif entity == "user":
        _ensure_user(tool, p, attrs, limits)
    elif entity == "qos":
        _ensure_qos(tool, name, attrs)
    elif not tool.show("cluster", {"name": name}, ["Cluster"]):
        tool.run("add", "cluster", name, *_words(attrs))
    module.exit_json(changed=bool(tool.commands), commands=tool.commands)


if __name__ == "__main__":
    main()
