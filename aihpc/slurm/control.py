"""Changing a node's state: drain with a reason, resume. The one place that builds
`scontrol update` for nodes (`aihpc health` and `aihpc cluster drain/resume` share it).

argv lists, never a shell: a reason with spaces, quotes or `;` reaches Slurm
as one argument, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from aihpc.errors import ClusterError, UsageError
from aihpc.slurm.run import QUERY_TIMEOUT, Runner, run_command

# Slurm stores any length, but sinfo/squeue columns and alerts show the start.
MAX_REASON = 256


def _names(nodes: Sequence[str]) -> str:
    if isinstance(nodes, str):
        nodes = [nodes]
    names = [n.strip() for n in nodes]
    if not names or any(not n or any(c.isspace() or c == "," for c in n) for n in names):
        raise UsageError(f"node names must be non-empty, without spaces or commas: {list(nodes)}")
    return ",".join(names)


def check_reason(reason: str) -> str:
    """The reason as Slurm will store it; UsageError for an empty or multi-line one."""
    text = reason.strip()
    if not text:
        raise UsageError("a drain needs a reason (Slurm refuses DRAIN without one)")
    if any(ord(c) < 32 for c in text):
        raise UsageError("the drain reason must be one line of printable text")
    if len(text) > MAX_REASON:
        raise UsageError(f"the drain reason is {len(text)} characters; at most {MAX_REASON}")
    return text


def drain_argv(nodes: Sequence[str], reason: str) -> list[str]:
    return [
        "scontrol",
        "update",
        f"NodeName={_names(nodes)}",
        "State=DRAIN",
        f"Reason={check_reason(reason)}",
    ]


def resume_argv(nodes: Sequence[str]) -> list[str]:
    return ["scontrol", "update", f"NodeName={_names(nodes)}", "State=RESUME"]


def _run(argv: list[str], runner: Runner, timeout: float) -> None:
    done = runner(argv, timeout)
    if done.returncode != 0:
        detail = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[0]
        raise ClusterError(f"{' '.join(argv[:3])} failed (rc={done.returncode}): {detail}")


def drain(
    nodes: Sequence[str], reason: str, runner: Runner = run_command, timeout: float = QUERY_TIMEOUT
) -> None:
    """Drain `nodes` with `reason` (running jobs finish; no new ones start)."""
    _run(drain_argv(nodes, reason), runner, timeout)


def resume(
    nodes: Sequence[str], runner: Runner = run_command, timeout: float = QUERY_TIMEOUT
) -> None:
    """Resume `nodes`: clear DRAIN (and DOWN) so they take jobs again."""
    _run(resume_argv(nodes), runner, timeout)
