"""ansible-runner events -> progress per play and host, and a failure summary.

A pure reducer: `RunState.feed(event)` for every event ansible-runner hands
to its event_handler (or reads back from artifacts/<ident>/job_events/).
The progress view and the final summary are both drawn from this state, so
what the operator watched and what the summary says cannot disagree.
Tested on recorded events (tests/fixtures/cluster/runner/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


@dataclass
class HostTally:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    ignored: int = 0
    unreachable: int = 0
    skipped: int = 0
    last_task: str = ""

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "ok"


@dataclass(frozen=True)
class Failure:
    host: str
    play: str
    task: str
    message: str
    unreachable: bool = False

    def line(self) -> str:
        what = "unreachable" if self.unreachable else "failed"
        return f"{self.host}: {what} in play {self.play!r}, task {self.task!r}: {self.message}"


@dataclass
class RunState:
    plays: list[str] = field(default_factory=list)
    task: str = ""
    hosts: dict[str, HostTally] = field(default_factory=dict)
    play_hosts: dict[str, dict[str, HostTally]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    finished: bool = False

    @property
    def play(self) -> str:
        return self.plays[-1] if self.plays else ""

    def feed(self, event: dict[str, Any]) -> None:
        name = str(event.get("event", ""))
        data = event.get("event_data") or {}
        if name == "playbook_on_play_start":
            play = str(data.get("play") or data.get("name") or f"play {len(self.plays) + 1}")
            self.plays.append(play)
            self.play_hosts.setdefault(play, {})
        elif name == "playbook_on_task_start":
            self.task = str(data.get("task") or data.get("name") or "")
        elif name in RESULT_EVENTS:
            self._result(RESULT_EVENTS[name], data)
        elif name == "playbook_on_stats":
            self.finished = True
            for key in ("ok", "changed", "failures", "dark", "skipped", "ignored", "rescued"):
                value = data.get(key) or {}
                if isinstance(value, dict):
                    self.stats[key] = {str(h): int(n) for h, n in value.items()}

    def _result(self, outcome: str, data: dict[str, Any]) -> None:
        host = str(data.get("host") or data.get("remote_addr") or "?")
        task = str(data.get("task") or self.task)
        play = str(data.get("play") or self.play)
        tally = self.hosts.setdefault(host, HostTally())
        per_play = self.play_hosts.setdefault(play, {}).setdefault(host, HostTally())
        raw = data.get("res")
        res: dict[str, Any] = raw if isinstance(raw, dict) else {}
        for target in (tally, per_play):
            target.last_task = task
            if outcome == "failed" and data.get("ignore_errors"):
                # Ansible's own stats count an ignored failure as ok and ignored.
                target.ignored += 1
                target.ok += 1
            else:
                setattr(target, outcome, getattr(target, outcome) + 1)
            if outcome == "ok" and res.get("changed"):
                target.changed += 1
        if outcome == "unreachable" or (outcome == "failed" and not data.get("ignore_errors")):
            message = failure_message(res)
            self.failures.append(Failure(host, play, task, message, outcome == "unreachable"))

    def failed_hosts(self) -> list[str]:
        """Hosts that failed or were unreachable; the final stats win when present."""
        if self.finished:
            counts = [self.stats.get("failures", {}), self.stats.get("dark", {})]
            return sorted({h for table in counts for h, n in table.items() if n})
        return sorted({f.host for f in self.failures})

    def summary(self) -> dict[str, Any]:
        return {
            "finished": self.finished,
            "plays": self.plays,
            "hosts": {h: t.status for h, t in sorted(self.hosts.items())},
            "failed_hosts": self.failed_hosts(),
            "failures": [f.__dict__ for f in self.failures],
            "stats": self.stats,
        }

    def summary_text(self) -> str:
        lines = []
        for host, tally in sorted(self.hosts.items()):
            lines.append(
                f"{host:<20} {tally.status:<12} ok={tally.ok} changed={tally.changed} "
                f"failed={tally.failed} unreachable={tally.unreachable} "
                f"skipped={tally.skipped} ignored={tally.ignored}"
            )
        if self.failures:
            lines.append("")
            lines.append("What failed, by host:")
            lines += [f"  {f.line()}" for f in self.failures]
        elif not self.finished:
            lines.append("the run ended before its final stats (interrupted?)")
        return "\n".join(lines)


def failure_message(res: dict[str, Any]) -> str:
    """The most useful line of a failed task's result."""
    # A role's argument validation says "Validation of arguments failed:" and
    # lists what is wrong (the variable names) in argument_errors.
    errors = res.get("argument_errors")
    if isinstance(errors, list) and errors:
        return "; ".join(" ".join(str(e).split()) for e in errors)[:300]
    for key in ("msg", "stderr", "reason"):
        value = res.get(key)
        if isinstance(value, str) and value.strip():
            text = value.strip().splitlines()
            if key == "msg" and text[0].endswith(":") and len(text) > 1:
                return " ".join(line.strip() for line in text[:3])[:300]  # the heading says little
            return (text[0] if key == "msg" else text[-1])[:300]
    if isinstance(res.get("results"), list):
        for item in res["results"]:
            if isinstance(item, dict) and item.get("failed"):
                return failure_message(item)
    rc = res.get("rc")
    return f"rc={rc}" if rc is not None else "failed"
