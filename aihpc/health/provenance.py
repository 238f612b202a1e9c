"""Drain on failure, resume only a drain this program set and nobody touched since.

A reason prefix proves nothing: anyone can write "aihpc-health: ..." (a
known bug in a widely used checker let a watchdog rewrite an admin's drain
with the checker's prefix, and the checker then resumed the node). So after
draining, the program reads back what Slurm recorded for the drain, the
reason, the time it was set and the user who set it, and keeps that in a
root-only record on the node (with the check and the evidence). It resumes
the node only while all three still equal the record. Anything else (an
admin drained again on top, edited the reason, resumed and re-drained)
means someone else owns the drain now: the record is dropped and the node
stays as it is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from aihpc.errors import ClusterError
from aihpc.health import state
from aihpc.health.model import Report, Status
from aihpc.slurm import control
from aihpc.slurm.nodes import NodeInfo, parse_nodes, show_nodes_argv
from aihpc.slurm.run import Runner

RECORD = "drain.json"
# For people reading sinfo; the record, not this prefix, is what proves ownership.
PREFIX = "aihpc-health: "
SLURM_TIMEOUT = 10.0


def read_node(name: str, runner: Runner) -> NodeInfo:
    done = runner(show_nodes_argv(name), SLURM_TIMEOUT)
    if done.returncode != 0:
        line = (done.stderr.strip() or "no output").splitlines()[0]
        raise ClusterError(f"scontrol show nodes {name} failed (rc={done.returncode}): {line}")
    try:
        payload = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ClusterError(f"scontrol show nodes {name} printed invalid JSON: {exc}") from None
    for node in parse_nodes(payload):
        if node.name == name:
            return node
    raise ClusterError(f"Slurm does not know node {name!r} (--node names it)")


def drain_reason(report: Report) -> str:
    """ "aihpc-health: gpu_count: 3 of 4 GPU device files (/dev/nvidia3 missing)"."""
    first, *rest = report.failed
    text = f"{PREFIX}{first.check}: {first.summary}"
    if rest:
        text += f" (+ {', '.join(r.check for r in rest)})"
    text = " ".join(text.split())  # one line, whatever a summary held
    limit = control.MAX_REASON
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _matches(node: NodeInfo, record: dict[str, Any]) -> bool:
    return (
        node.is_drain
        and node.reason == record.get("reason")
        and node.reason_time == record.get("reason_time")
        and node.reason_user == record.get("reason_user")
    )


def _who(node: NodeInfo) -> str:
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(node.reason_time or 0))
    return f"{node.reason_user or 'unknown user'} at {when}: {node.reason!r}"


def reconcile(report: Report, runner: Runner, state_dir: Path, *, may_drain: bool = True) -> None:
    """Drain, keep or resume the node; sets report.action and report.action_detail.

    With may_drain False (the resume-only run on a drained node) a failing
    node that is not drained by us is left alone: draining is slurmd's run's job.
    """
    path = state_dir / RECORD
    try:
        node = read_node(report.node, runner)
    except ClusterError as exc:
        report.action, report.action_detail = "error", f"node state unreadable: {exc}"
        return
    record = state.read(path)
    ours = record is not None and record.get("node") == report.node and _matches(node, record)
    notes = []
    if record is not None and not ours:
        # Someone else resumed the node or changed its drain: their call now.
        state.remove(path)
        changed = f"drain changed by {_who(node)}" if node.is_drain else "node no longer drained"
        notes.append(f"dropped the health drain claim ({changed})")

    if report.failed:
        if ours:
            report.action = "kept"
            notes.append("still failing; drained by aihpc health")
        elif node.is_drain:
            report.action = "none"
            notes.append(f"already drained by {_who(node)}; left as it is")
        elif not may_drain:
            report.action = "none"
            notes.append("failing, but a resume-only run does not drain")
        else:
            _drain(report, node.name, runner, path, notes)
    elif ours and record is not None:
        _resume(report, runner, path, record, notes)
    report.action_detail = "; ".join(notes)


def _drain(report: Report, name: str, runner: Runner, path: Path, notes: list[str]) -> None:
    reason = drain_reason(report)
    try:
        control.drain([name], reason, runner)
        after = read_node(name, runner)
    except ClusterError as exc:
        report.action = "error"
        notes.append(f"could not drain: {exc}")
        return
    report.action = "drained"
    notes.append(f"drained: {reason}")
    if after.reason != reason or not after.is_drain:
        # Changed between our update and the read-back: not ours to resume later.
        notes.append("the drain changed at once; not claimed")
        return
    record = {
        "node": name,
        "reason": after.reason,
        "reason_time": after.reason_time,
        "reason_user": after.reason_user,
        "checks": [r.check for r in report.failed],
        "evidence": {r.check: {"summary": r.summary, **r.evidence} for r in report.failed},
        "drained_at": time.time(),
    }
    state.write(path, record)


def _resume(
    report: Report, runner: Runner, path: Path, record: dict[str, Any], notes: list[str]
) -> None:
    status = {r.check: r.status for r in report.results}
    unsure = [c for c in record.get("checks", []) if status.get(c) is not Status.OK]
    if unsure:
        report.action = "kept"
        notes.append(f"drained for {', '.join(unsure)}, which is not ok yet (unknown); kept")
        return
    try:
        control.resume([report.node], runner)
    except ClusterError as exc:
        report.action = "error"
        notes.append(f"could not resume: {exc}")
        return
    state.remove(path)
    report.action = "resumed"
    notes.append(f"resumed: {', '.join(record.get('checks', []))} ok again")


def holds_drain(state_dir: Path) -> bool:
    """True while a provenance record exists (this program's drain, unchallenged)."""
    return (state_dir / RECORD).exists()
