#!/usr/bin/python
"""Ansible module: make a Slurm accounting entity exist (or not), idempotently."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: slurm_sacctmgr
short_description: Ensure a Slurm accounting cluster, account, user or QOS exists
description:
  - Reads the current state with C(sacctmgr --noheader --parsable2 show) and changes only
    what differs, so a second run reports no change.
  - Users are ensured together with their association to I(account).
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
    description: For users, the account to associate the user with (also its default account).
    type: str
  cluster:
    description: For accounts and users, the cluster of the association (default is slurm.conf's).
    type: str
  attributes:
    description:
      - Extra fields, e.g. Description, Organization, Parent (accounts), AdminLevel (users).
      - Keys are sacctmgr field names; compared case-insensitively.
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
- name: Research account
  slurm_sacctmgr:
    entity: account
    name: research
    attributes: {Description: Research group, Organization: lab}

- name: Alice in research
  slurm_sacctmgr:
    entity: user
    name: alice
    account: research
"""

RETURN = r"""
commands:
  description: The sacctmgr commands that were (or, in check mode, would be) run.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402  (Ansible puts docs first)

# Field names in `show` output for the attributes we can compare and modify.
_SHOW_FIELDS = {
    "account": ["Account", "Description", "Organization"],
    "user": ["User", "DefaultAccount", "AdminLevel"],
    "cluster": ["Cluster"],
    "qos": ["Name", "Priority", "MaxWall", "Preempt", "PreemptMode", "Flags"],
}
# Attributes sacctmgr accepts at `add` time but cannot change later in place.
_ADD_ONLY = {"parent", "cluster", "account"}
# Spellings sacctmgr accepts and what `show` prints for them.
_SYNONYMS = {"adminlevel": {"admin": "administrator"}}


def _same(key: str, have: str, want: str) -> bool:
    aliases = _SYNONYMS.get(key.lower(), {})
    have, want = have.lower(), want.lower()
    return aliases.get(have, have) == aliases.get(want, want)


class Sacctmgr:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.binary = module.get_bin_path("sacctmgr", required=True)
        self.commands: list[str] = []

    def show(self, entity: str, where: dict[str, str], fields: list[str]) -> list[dict[str, str]]:
        args = [self.binary, "--noheader", "--parsable2", "show", entity, "where"]
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

    def run(self, *words: str) -> None:
        args = [self.binary, "--immediate", *words]
        self.commands.append(" ".join(args))
        if self.module.check_mode:
            return
        rc, out, err = self.module.run_command(args)
        # sacctmgr exits 1 with "Nothing new added" when racing another writer.
        if rc != 0 and "nothing new added" not in (out + err).lower():
            self.module.fail_json(msg=f"{' '.join(args)} failed: {(err or out).strip()}", rc=rc)


def _diff(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    changes = {}
    for key, value in wanted.items():
        if key.lower() in _ADD_ONLY:
            continue
        have = current.get(key.lower())
        if have is not None and not _same(key, have, str(value)):
            changes[key] = str(value)
    return changes


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "entity": {"type": "str", "required": True, "choices": list(_SHOW_FIELDS)},
            "name": {"type": "str", "required": True},
            "account": {"type": "str"},
            "cluster": {"type": "str"},
            "attributes": {"type": "dict", "default": {}},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        required_if=[("entity", "user", ["account"])],
        supports_check_mode=True,
    )
    p = module.params
    entity, name = p["entity"], p["name"]
    attrs = {str(k): str(v) for k, v in p["attributes"].items()}
    tool = Sacctmgr(module)
    fields = _SHOW_FIELDS[entity]
    # Accounts and users are global; only associations carry a cluster (and
    # asking `show account` for one makes sacctmgr stop at a y/N prompt).
    existing = tool.show(entity, {"name": name}, fields)

    if p["state"] == "absent":
        if existing:
            tool.run("delete", entity, f"name={name}")
        module.exit_json(changed=bool(tool.commands), commands=tool.commands)

    if entity == "user":
        assoc_where = {"user": name, "account": p["account"]}
        if p["cluster"]:
            assoc_where["cluster"] = p["cluster"]
        assoc = tool.show("association", assoc_where, ["User", "Account"])
        if not assoc:
            words = ["add", "user", name, f"account={p['account']}"]
            if not existing:
                words.append(f"defaultaccount={p['account']}")
            if p["cluster"]:
                words.append(f"cluster={p['cluster']}")
            words += [f"{k}={v}" for k, v in attrs.items()]
            tool.run(*words)
            existing = []  # just created with the wanted attributes
        wanted = attrs if existing else {}
    elif not existing:
        words = ["add", entity, name]
        if p["cluster"] and entity == "account":
            words.append(f"cluster={p['cluster']}")
        words += [f"{k}={v}" for k, v in attrs.items()]
        tool.run(*words)
        wanted = {}
    else:
        wanted = attrs
        # Accounts are global but usable on a cluster only through an
        # association there (one slurmdbd can serve several clusters).
        if entity == "account" and p["cluster"]:
            where = {"account": name, "cluster": p["cluster"]}
            if not tool.show("association", where, ["Account", "User"]):
                words = ["add", "account", name, f"cluster={p['cluster']}"]
                words += [f"{k}={v}" for k, v in attrs.items() if k.lower() == "parent"]
                tool.run(*words)

    if existing and wanted:
        changes = _diff(existing[0], wanted)
        if changes:
            tool.run(
                "modify",
                entity,
                "where",
                f"name={name}",
                "set",
                *[f"{k}={v}" for k, v in changes.items()],
            )
    module.exit_json(changed=bool(tool.commands), commands=tool.commands)


if __name__ == "__main__":
    main()
