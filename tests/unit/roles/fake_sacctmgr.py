"""A stand-in for Slurm's `sacctmgr`, for the slurm_sacctmgr module tests.

Keeps the accounting database in the JSON file named by FAKE_SACCTMGR_STATE
and appends every invocation to FAKE_SACCTMGR_STATE + ".log" (one JSON argv
per line). Implements the subset the module uses, with sacctmgr's exit codes
and messages: `show` (--noheader --parsable2, where ..., format=...), `add`,
`modify ... where ... set ...` and `delete`, for clusters, accounts, users,
associations and QOS. Accounts are per cluster through associations, as in
slurmdbd: a user can only be added under an account that has an association
on that cluster.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ["FAKE_SACCTMGR_STATE"])
ADMIN_LEVELS = {"none": "None", "operator": "Operator", "admin": "Administrator"}
ADMIN_LEVELS["administrator"] = "Administrator"
ENTITIES = {
    "account": "account",
    "accounts": "account",
    "user": "user",
    "users": "user",
    "cluster": "cluster",
    "clusters": "cluster",
    "association": "association",
    "associations": "association",
    "qos": "qos",
}


def load() -> dict[str, Any]:
    if STATE.exists():
        return json.loads(STATE.read_text())
    return {
        "clusters": [],
        "accounts": {"root": {"description": "default root account", "organization": "root"}},
        "users": {"root": {"defaultaccount": "root", "adminlevel": "Administrator"}},
        "assocs": [],
        "qos": {"normal": {"priority": "0", "maxwall": "", "flags": ""}},
    }


def fail(message: str, rc: int = 1) -> None:
    print(message, file=sys.stderr)
    sys.exit(rc)


def pairs(words: list[str]) -> dict[str, str]:
    out = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            fail(f" Unknown option: {word}")
        out[key.lower()] = value
    return out


def show(state: dict[str, Any], entity: str, words: list[str], header: bool) -> None:
    words = [w for w in words if w.lower() != "where"]
    fmt = [w for w in words if w.lower().startswith("format=")]
    cond = pairs([w for w in words if not w.lower().startswith("format=")])
    fields = fmt[0].partition("=")[2].split(",") if fmt else []
    rows: list[dict[str, str]] = []
    if entity == "account":
        for name, acct in state["accounts"].items():
            rows.append({"account": name, **acct})
        key = "account"
    elif entity == "user":
        for name, user in state["users"].items():
            rows.append({"user": name, **user})
        key = "user"
    elif entity == "cluster":
        rows = [{"cluster": c} for c in state["clusters"]]
        key = "cluster"
    elif entity == "qos":
        rows = [{"name": n, **q} for n, q in state["qos"].items()]
        key = "name"
    else:
        rows = [dict(a) for a in state["assocs"]]
        key = ""
    for ckey, cvalue in cond.items():
        ckey = {"name": key, "names": key, "accounts": "account", "users": "user"}.get(ckey, ckey)
        if ckey == "clusters":
            ckey = "cluster"
        wanted = {v.lower() for v in cvalue.split(",")}
        rows = [r for r in rows if r.get(ckey, "").lower() in wanted]
    if header:
        print("|".join(fields))
    for row in rows:
        print("|".join(str(row.get(f.lower(), "")) for f in fields))


def add(state: dict[str, Any], entity: str, words: list[str]) -> None:
    names, opts = words[0].lower().split(","), pairs(words[1:])
    added = False
    if entity == "cluster":
        for name in names:
            if name in state["clusters"]:
                fail(f" This cluster {name} already exists.  Not adding.")
            state["clusters"].append(name)
            added = True
    elif entity == "qos":
        for name in names:
            if name not in state["qos"]:
                state["qos"][name] = {k: v for k, v in opts.items()}
                added = True
    elif entity in ("account", "user"):
        clusters = opts.pop("cluster", opts.pop("clusters", ",".join(state["clusters"])))
        clusters = [c for c in clusters.lower().split(",") if c]
        if not clusters:
            fail(" Need a cluster to add to, none in the database")
        for cluster in clusters:
            if cluster not in state["clusters"]:
                fail(f" This cluster {cluster} hasn't been added to accounting yet")
        if entity == "account":
            parent = opts.pop("parent", "root").lower()
            for name in names:
                if name not in state["accounts"]:
                    state["accounts"][name] = {
                        "description": opts.get("description", name),
                        "organization": opts.get("organization", parent),
                    }
                    added = True
                for cluster in clusters:
                    assoc = {"cluster": cluster, "account": name, "user": "", "parent": parent}
                    if not any(
                        a["cluster"] == cluster and a["account"] == name and not a["user"]
                        for a in state["assocs"]
                    ):
                        state["assocs"].append(assoc)
                        added = True
        else:
            account = opts.pop("account", opts.pop("accounts", "")).lower()
            if not account:
                fail(" Need name of account to add user to.")
            for cluster in clusters:
                if not any(
                    a["cluster"] == cluster and a["account"] == account and not a["user"]
                    for a in state["assocs"]
                ):
                    fail(f" Error: Account '{account}' doesn't exist on cluster {cluster}")
            level = ADMIN_LEVELS.get(opts.get("adminlevel", "none").lower())
            if level is None:
                fail(f" Unknown AdminLevel {opts['adminlevel']}")
            for name in names:
                if name not in state["users"]:
                    default = opts.get("defaultaccount", account).lower()
                    state["users"][name] = {"defaultaccount": default, "adminlevel": level}
                    added = True
                for cluster in clusters:
                    assoc = {"cluster": cluster, "account": account, "user": name}
                    if assoc not in [
                        {k: a[k] for k in ("cluster", "account", "user")} for a in state["assocs"]
                    ]:
                        state["assocs"].append(assoc)
                        added = True
    if not added:
        print(" Nothing new added.")
        sys.exit(1)
    print(f" Adding {entity}(s)")


def modify(state: dict[str, Any], entity: str, words: list[str]) -> None:
    lowered = [w.lower() for w in words]
    where = pairs(words[lowered.index("where") + 1 : lowered.index("set")])
    changes = pairs(words[lowered.index("set") + 1 :])
    table = {"account": "accounts", "user": "users", "qos": "qos"}[entity]
    name = where["name"].lower()
    if name not in state[table]:
        fail(" Nothing modified")
    for key, value in changes.items():
        if key == "adminlevel":
            value = ADMIN_LEVELS[value.lower()]
        state[table][name][key] = value
    print(f" Modified {entity}...")


def delete(state: dict[str, Any], entity: str, words: list[str]) -> None:
    cond = pairs([w for w in words if w.lower() != "where"])
    name = cond["name"].lower()
    if entity == "cluster":
        found = name in state["clusters"]
        state["clusters"] = [c for c in state["clusters"] if c != name]
        state["assocs"] = [a for a in state["assocs"] if a["cluster"] != name]
    else:
        table = {"account": "accounts", "user": "users", "qos": "qos"}[entity]
        found = state[table].pop(name, None) is not None
        field = {"account": "account", "user": "user"}.get(entity)
        if field:
            state["assocs"] = [a for a in state["assocs"] if a.get(field) != name]
    if not found:
        fail(" Nothing deleted")
    print(f" Deleting {entity}(s)...")


def main(argv: list[str]) -> None:
    with open(f"{STATE}.log", "a") as log:
        log.write(json.dumps(argv) + "\n")
    flags = [a for a in argv if a.startswith("-")]
    words = [a for a in argv if not a.startswith("-")]
    if len(words) < 2:
        fail("sacctmgr: need a command and an entity")
    verb, entity = words[0].lower(), ENTITIES.get(words[1].lower())
    if entity is None:
        fail(f" Unknown entity {words[1]}")
    state = load()
    if verb in ("show", "list"):
        show(state, entity, words[2:], header="--noheader" not in flags and "-n" not in flags)
        return
    if "--immediate" not in flags and "-i" not in flags:
        fail(" Would you like to commit changes? (You have 30 seconds to decide)")
    {"add": add, "create": add, "modify": modify, "update": modify, "delete": delete}[verb](
        state, entity, words[2:]
    )
    STATE.write_text(json.dumps(state, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
