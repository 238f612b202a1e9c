"""Fakes for the `aihpc health` tests: recorded command outputs and a Slurm that
keeps one node's drain state the way slurmctld does."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aihpc.health.context import Context
from aihpc.health.expect import Expectations
from aihpc.slurm.run import Completed

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
HEALTH = FIXTURES / "health"
NODES_24_11 = FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json"


def fixture(name: str) -> str:
    return (HEALTH / name).read_text()


class Commands:
    """A Runner answering from a table {tool: Completed | callable}; records every call."""

    def __init__(self, answers: dict[str, Completed | Callable[[list[str]], Completed]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.answers else None

    def __call__(self, argv: list[str], timeout: float) -> Completed:
        assert timeout > 0
        self.calls.append(argv)
        answer = self.answers[Path(argv[0]).name]
        return answer(argv) if callable(answer) else answer


def context(expect: Expectations, root: Path, commands: Commands | None = None) -> Context:
    commands = commands or Commands({})
    return Context(expect, commands, root=root, state_dir=root / "state", which=commands.which)


class FakeSlurm:
    """`scontrol show nodes NAME --json` and `scontrol update` for one node.

    The node record is gpu1's from the recorded 24.11 output; updates change
    state, reason, reason_set_by_user and reason_changed_at as slurmctld does.
    """

    def __init__(self, name: str = "gpu2", now: int = 1_800_000_000) -> None:
        payload = json.loads(NODES_24_11.read_text())
        self.payload = payload
        self.node: dict[str, Any] = copy.deepcopy(payload["nodes"][0])
        self.node.update(name=name, state=["IDLE"])
        self.name = name
        self.now = now
        self.calls: list[list[str]] = []
        self.fail_updates = False
        self._set("", "", 0)

    def _set(self, reason: str, user: str, when: int) -> None:
        self.node["reason"] = reason
        self.node["reason_set_by_user"] = user
        self.node["reason_changed_at"] = {"set": True, "infinite": False, "number": when}

    def tick(self, seconds: int = 1) -> None:
        self.now += seconds

    def admin_drain(self, reason: str, user: str = "root") -> None:
        """What `scontrol update NodeName=... State=DRAIN Reason=...` by an admin does."""
        self.tick()
        self.node["state"] = ["IDLE", "DRAIN"]
        self._set(reason, user, self.now)

    def admin_resume(self) -> None:
        self.tick()
        self.node["state"] = ["IDLE"]
        self._set("", "", 0)

    @property
    def drained(self) -> bool:
        return "DRAIN" in self.node["state"]

    @property
    def reason(self) -> str:
        return str(self.node["reason"])

    def __call__(self, argv: list[str], timeout: float) -> Completed:
        assert timeout > 0
        self.calls.append(argv)
        if argv[:3] == ["scontrol", "show", "nodes"]:
            assert argv[3:] == [self.name, "--json"], argv
            reply = dict(self.payload, nodes=[self.node])
            return Completed(0, json.dumps(reply), "")
        if argv[:2] == ["scontrol", "update"]:
            if self.fail_updates:
                return Completed(1, "", "slurm_update error: Access/permission denied")
            fields = dict(a.split("=", 1) for a in argv[2:])
            assert fields["NodeName"] == self.name
            if fields["State"] == "DRAIN":
                self.admin_drain(fields["Reason"], user="root")
            elif fields["State"] == "RESUME":
                self.admin_resume()
            return Completed(0, "", "")
        raise AssertionError(f"unexpected command {argv}")
