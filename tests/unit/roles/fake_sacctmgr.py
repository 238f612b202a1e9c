"""A stand-in for Slurm's `sacctmgr` (and `squeue`), for the slurm_sacctmgr module tests.

Keeps the accounting database in the JSON file named by FAKE_SACCTMGR_STATE
and appends every invocation to FAKE_SACCTMGR_STATE + ".log" (one JSON argv
per line). Implements the subset the module uses, with sacctmgr's exit codes
and messages: `show` (--noheader --parsable2, WOPLimits, where ..., format=...),
`add`, `modify ... where ... set ...` and `delete`, for clusters, accounts,
users, associations and QOS. Accounts are per cluster through associations,
as in slurmdbd: a user can only be added under an account that has an
association on that cluster.

Values are printed the way sacctmgr 24.11 prints them, not as they were
given (shaped after its documented output, not recorded from a live
slurmdbd): times as [D-]HH:MM:SS (MaxWall given in minutes, GraceTime in
seconds), memory in TRES strings in M/G, TRES in TRES-id order, QOS lists
sorted, QOS flags in Slurm's spelling, UsageFactor with six decimals. Without
WOPLimits a user association shows its account's Max*/QOS limits where it has
none of its own, as sacctmgr does.

Invoked as `squeue` (argv[0]), it lists the jobs in the state file's "jobs"
(`--noheader --format=%i|%T` with --user/--account/--qos), and `delete` of an
entity with such jobs fails the way slurmdbd refuses it.
"""

from __future__ import annotations

import json
import os
import re
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
# Input names -> the show-field name (lower case) the value is kept under.
QOS_ALIASES = {
    "maxtresperuser": "maxtrespu",
    "maxjobsperuser": "maxjobspu",
    "maxsubmitjobsperuser": "maxsubmitpu",
    "maxtresperjob": "maxtres",
    "mintresperjob": "mintres",
    "grpsubmitjobs": "grpsubmit",
}
ASSOC_ALIASES = {"maxtresperjob": "maxtres", "maxwalldurationperjob": "maxwall"}
ASSOC_INHERITED = {"maxjobs", "maxsubmitjobs", "maxtres", "maxwall", "qos", "defaultqos"}
FLAGS = {f.lower(): f for f in ["DenyOnLimit", "NoDecay", "OverPartQOS", "PartitionTimeLimit"]}
TRES_ORDER = ["cpu", "mem", "energy", "node", "billing"]


def load() -> dict[str, Any]:
    if STATE.exists():
        return json.loads(STATE.read_text())
    return {
        "clusters": [],
        "accounts": {"root": {"description": "default root account", "organization": "root"}},
        "users": {"root": {"defaultaccount": "root", "adminlevel": "Administrator"}},
        "assocs": [],
        "qos": {"normal": qos_defaults()},
        "jobs": [],
    }


def qos_defaults() -> dict[str, str]:
    return {"priority": "0", "gracetime": "00:00:00", "preemptmode": "cluster"} | {
        "usagefactor": "1.000000",
        "flags": "",
        "preempt": "",
        "description": "Normal QOS default",
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


def show_time(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock


def parse_time(value: str, bare: int) -> int:
    match = re.match(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$", value)
    if not match:
        fail(f" Bad time limit: {value}")
    assert match
    days, a, b, c = match.groups()
    if days is not None:
        return int(days) * 86400 + int(a) * 3600 + int(b or 0) * 60 + int(c or 0)
    if c is not None:
        return int(a) * 3600 + int(b) * 60 + int(c)
    if b is not None:
        return int(a) * 60 + int(b)
    return int(a) * bare


def show_tres(value: str) -> str:
    items = {}
    for item in value.split(","):
        key, _, count = item.partition("=")
        key = key.lower()
        if key == "mem":
            match = re.match(r"^(\d+)([MGT]?)$", count, re.IGNORECASE)
            if not match:
                fail(f" Invalid TRES value {item}")
            assert match
            mb = (
                int(match.group(1))
                * {"": 1, "m": 1, "g": 1024, "t": 1024**2}[match.group(2).lower()]
            )
            count = f"{mb // 1024}G" if mb % 1024 == 0 else f"{mb}M"
        if count == "-1":
            continue
        items[key] = count
    order = sorted(items, key=lambda k: (TRES_ORDER.index(k) if k in TRES_ORDER else 99, k))
    return ",".join(f"{k}={items[k]}" for k in order)


def check_qos_names(state: dict[str, Any], value: str) -> str:
    names = sorted({n.lower() for n in value.split(",") if n and n != "''"})
    for name in names:
        if name not in state["qos"]:
            fail(f" Unknown QOS name: {name}")
    return ",".join(names)


def qos_value(state: dict[str, Any], key: str, value: str) -> tuple[str, str]:
    key = QOS_ALIASES.get(key, key)
    if key == "maxwall":
        return key, show_time(parse_time(value, 60))
    if key == "gracetime":
        return key, show_time(parse_time(value, 1))
    if key in ("maxtrespu", "maxtres", "mintres", "grptres", "grptresmins"):
        return key, show_tres(value)
    if key == "flags":
        names = [n for n in value.lower().split(",") if n]
        unknown = [n for n in names if n not in FLAGS]
        if unknown:
            fail(f" Unknown QOS flag: {unknown[0]}")
        return key, ",".join(sorted(FLAGS[n] for n in names))
    if key == "usagefactor":
        return key, f"{float(value):.6f}"
    if key == "preempt":
        return key, check_qos_names(state, value)
    if key == "preemptmode":
        return key, value.lower()
    return key, value


def assoc_value(state: dict[str, Any], key: str, value: str) -> tuple[str, str]:
    key = ASSOC_ALIASES.get(key, key)
    if key == "maxwall":
        return key, show_time(parse_time(value, 60))
    if key in ("grptres", "grptresmins", "maxtres"):
        return key, show_tres(value)
    if key == "qos":
        return key, check_qos_names(state, value)
    if key == "defaultqos":
        check_qos_names(state, value)
    return key, value


def assoc_fields(opts: dict[str, str], state: dict[str, Any]) -> dict[str, str]:
    keys = set(ASSOC_ALIASES) | {"fairshare", "grptres", "grptresmins", "grpjobs"}
    keys |= {"grpsubmitjobs", "maxjobs", "maxsubmitjobs", "maxtres", "maxwall", "qos"}
    keys |= {"defaultqos"}
    out = {}
    for key in [k for k in opts if k in keys]:
        name, value = assoc_value(state, key, opts.pop(key))
        out[name] = value
    return out


def find_assoc(state: dict[str, Any], cluster: str, account: str, user: str) -> dict[str, Any]:
    for assoc in state["assocs"]:
        if (assoc["cluster"], assoc["account"], assoc["user"]) == (cluster, account, user):
            return assoc  # type: ignore[no-any-return]
    return {}


def show(state: dict[str, Any], entity: str, words: list[str], header: bool) -> None:
    options = {w.lower() for w in words if "=" not in w and w.lower() != "where"}
    words = [w for w in words if "=" in w]
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
        for assoc in state["assocs"]:
            row = {"fairshare": "1", **assoc, "parentname": assoc.get("parent", "")}
            if assoc["user"] and "woplimits" not in options:
                parent = find_assoc(state, assoc["cluster"], assoc["account"], "")
                for field in ASSOC_INHERITED:
                    if not row.get(field) and parent.get(field):
                        row[field] = parent[field]
            if assoc["user"]:
                row["parentname"] = ""
            rows.append(row)
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
                values = dict(qos_defaults(), description=name)
                for k, v in opts.items():
                    field, shown = qos_value(state, k, v)
                    values[field] = shown
                state["qos"][name] = values
                added = True
    elif entity in ("account", "user"):
        clusters = opts.pop("cluster", opts.pop("clusters", ",".join(state["clusters"])))
        clusters = [c for c in clusters.lower().split(",") if c]
        if not clusters:
            fail(" Need a cluster to add to, none in the database")
        for cluster in clusters:
            if cluster not in state["clusters"]:
                fail(f" This cluster {cluster} hasn't been added to accounting yet")
        limits = assoc_fields(opts, state)
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
                    if not find_assoc(state, cluster, name, ""):
                        if parent != "root" and not find_assoc(state, cluster, parent, ""):
                            fail(f" Parent account '{parent}' doesn't exist on cluster {cluster}")
                        assoc = {"cluster": cluster, "account": name, "user": "", "parent": parent}
                        state["assocs"].append({**assoc, **limits})
                        added = True
        else:
            account = opts.pop("account", opts.pop("accounts", "")).lower()
            if not account:
                fail(" Need name of account to add user to.")
            for cluster in clusters:
                if not find_assoc(state, cluster, account, ""):
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
                    if not find_assoc(state, cluster, account, name):
                        assoc = {"cluster": cluster, "account": account, "user": name}
                        state["assocs"].append({**assoc, **limits})
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
    if entity == "qos":
        for key, value in changes.items():
            field, shown = qos_value(state, key, value)
            state["qos"][name][field] = shown
        print(" Modified qos...")
        return
    limits = assoc_fields(changes, state)
    parent = changes.pop("parent", None)
    if limits or parent:
        cluster = where.get("cluster")
        user = where.get("user", name) if entity == "user" else ""
        account = where.get("account") if entity == "user" else name
        matched = [
            a
            for a in state["assocs"]
            if a["user"] == user
            and (account is None or a["account"] == account)
            and (cluster is None or a["cluster"] == cluster)
        ]
        if not matched:
            fail(" Nothing modified")
        for assoc in matched:
            assoc.update(limits)
            if parent:
                assoc["parent"] = parent.lower()
    for key, value in changes.items():
        if key == "adminlevel":
            value = ADMIN_LEVELS[value.lower()]
        state[table][name][key] = value
    print(f" Modified {entity}...")


def delete(state: dict[str, Any], entity: str, words: list[str]) -> None:
    cond = pairs([w for w in words if w.lower() != "where"])
    name = cond["name"].lower()
    if entity in ("user", "account", "qos"):
        active = [j for j in state.get("jobs", []) if j.get(entity) == name]
        if active:
            print(" Error with request: Job(s) active, cancel job(s) before remove")
            for job in active:
                print(f"  JobID = {job['id']:<10} C = x  A = {job['account']}  U = {job['user']}")
            sys.exit(1)
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


def squeue(argv: list[str]) -> None:
    opts = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
    if opts.get("format") != "%i|%T" or "--noheader" not in argv:
        fail(f"fake squeue: unexpected arguments {argv}")
    for job in load().get("jobs", []):
        if all(job.get(k) == opts[k] for k in ("user", "account", "qos") if k in opts):
            print(f"{job['id']}|{job['state']}")


def main(argv: list[str]) -> None:
    with open(f"{STATE}.log", "a") as log:
        log.write(json.dumps([os.environ.get("FAKE_COMMAND", "sacctmgr"), *argv]) + "\n")
    if os.environ.get("FAKE_COMMAND") == "squeue":
        squeue(argv)
        return
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
