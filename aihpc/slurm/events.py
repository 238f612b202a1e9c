"""Node events as `sacctmgr -P -n show event` prints them: when each node was down or drained.

slurmdbd records an event whenever a node goes DOWN or gets DRAIN set
(with the reason and who set it) and closes it when the node comes back.
These records, not the current node state, are what down and drained time
are counted from.

Fields are asked for in `FIELDS` order with the free-text Reason last, so a
``|`` in a reason cannot shift columns. The call runs with
``SLURM_TIME_FORMAT=%s`` (aihpc.slurm.sacct_records.sacct_env): epoch
seconds. An event still open has End ``Unknown`` (None here).

Shape checked against the sacctmgr 24.11 documentation (format fields
NodeName, Start, End, State, User, Reason; `event=node` leaves out the
cluster-registration events); tests/fixtures/report/ holds lines of that shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aihpc.errors import ClusterError
from aihpc.slurm.sacct_records import parse_time, slurm_time

FIELDS = ("NodeName", "Start", "End", "State", "User", "Reason")
DOWN = "down"
DRAINED = "drained"
OTHER = "other"


@dataclass(frozen=True, slots=True)
class NodeEvent:
    node: str
    start: int
    end: int | None  # None: still open
    state: str  # as Slurm printed it, e.g. "DOWN*" or "IDLE+DRAIN"
    user: str  # who set it (root for an admin drain, slurm for the controller)
    reason: str

    @property
    def kind(self) -> str:
        """``down`` (DOWN, FAIL, not responding) wins over ``drained`` (DRAIN set)."""
        parts = set(self.state.upper().replace("*", "+NOT_RESPONDING").split("+"))
        if parts & {"DOWN", "FAIL", "FAILING", "NOT_RESPONDING", "NO_RESPOND"}:
            return DOWN
        if parts & {"DRAIN", "DRAINED", "DRAINING", "DRNG"}:
            return DRAINED
        return OTHER


def events_argv(start: int, end: int) -> list[str]:
    return [
        "sacctmgr",
        "-P",
        "-n",
        "show",
        "event",
        "event=node",
        f"Start={slurm_time(start)}",
        f"End={slurm_time(end)}",
        "format=" + ",".join(FIELDS),
    ]


def parse_events(lines: Iterable[str]) -> list[NodeEvent]:
    """Node events; a line without a node name (a cluster event) is skipped."""
    out: list[NodeEvent] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cols = line.rstrip("\n").split("|", len(FIELDS) - 1)
        if len(cols) != len(FIELDS):
            raise ClusterError(
                f"sacctmgr show event line {number}: expected {len(FIELDS)} fields, "
                f"got {len(cols)}: {line[:200]!r}"
            )
        node, start_text, end_text, state, user, reason = cols
        start = parse_time(start_text)
        if not node.strip() or start is None:
            continue
        out.append(NodeEvent(node.strip(), start, parse_time(end_text), state, user, reason))
    return out
