"""Which nodes a drain/resume acts on, and who drained them.

Nodes are picked by a Slurm host list (`gpu[01-04],gpu07`), by state
(`--state drain`, as ClusterShell's @st:drain), or both (the intersection).
Every name must be a node slurmctld knows: a typo is a usage error, and
nothing is changed.

The drain reason carries who did it and when, in the text itself
(`reason [by alice via aihpc 2026-12-02T03:10Z]`): Slurm's own
reason_set_by_user is the Unix user that ran scontrol, which is root or
slurm when operators work through sudo.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aihpc.errors import UsageError
from aihpc.slurm.hostlist import expand_hostlist
from aihpc.slurm.nodes import NodeInfo

# --state words: the node's one-word label (NodeInfo.state_label) or a flag.
STATE_WORDS = {
    "drain": lambda n: n.is_drain,
    "drained": lambda n: n.is_drained,
    "draining": lambda n: n.is_draining,
    "down": lambda n: n.is_down,
    "idle": lambda n: n.state_label == "idle",
    "allocated": lambda n: n.state_label == "allocated",
    "mixed": lambda n: n.state_label == "mixed",
    "available": lambda n: n.is_available,
}
_TAG_RE = re.compile(r"^(?P<reason>.*?) \[by (?P<user>\S+) via aihpc (?P<when>\S+)\]$")


def select(nodes: Sequence[NodeInfo], nodeset: str | None, state: str | None) -> list[str]:
    if not nodeset and not state:
        raise UsageError("name the nodes (a host list such as gpu[1-2]) or pick them with --state")
    known = {n.name: n for n in nodes}
    chosen = list(known)
    if nodeset:
        try:
            wanted = expand_hostlist(nodeset)
        except ValueError as exc:
            raise UsageError(f"bad node list {nodeset!r}: {exc}") from None
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise UsageError(f"not Slurm nodes: {', '.join(unknown)} (see `aihpc cluster status`)")
        chosen = list(dict.fromkeys(wanted))
    if state:
        test = STATE_WORDS.get(state.lower())
        if test is None:
            raise UsageError(f"--state {state!r}: one of {', '.join(sorted(STATE_WORDS))}")
        chosen = [name for name in chosen if test(known[name])]
    return chosen


def operator() -> str:
    """The person at the keyboard: sudo's caller first, then the login name."""
    for candidate in (os.environ.get("SUDO_USER"),):
        if candidate:
            return candidate
    try:
        return os.getlogin()
    except OSError:
        return getpass.getuser()


def stamp(now: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() if now is None else now))


def tag_reason(reason: str, user: str, when: str) -> str:
    return f"{reason.strip()} [by {user} via aihpc {when}]"


@dataclass(frozen=True)
class DrainRecord:
    reason: str
    by: str
    when: str


def read_reason(node: NodeInfo) -> DrainRecord:
    """The reason, who set it (our tag, else Slurm's reason_set_by_user) and when."""
    match = _TAG_RE.match(node.reason)
    if match:
        return DrainRecord(match.group("reason"), match.group("user"), match.group("when"))
    when = stamp(node.reason_time) if node.reason_time else ""
    return DrainRecord(node.reason, node.reason_user, when)
