"""What the batch script asks Slurm after a failed or signalled step.

Runs inside the job (`python3 -I probe.py ...`) with the nodes' python3.
It imports the job-side copy of aihpc.slurm (shipped next to it, see
aihpc/jobdir.py JOBSIDE_FILES), so node and job records are read by the
same parsers as everywhere else in aihpc.

    probe.py nodes NODELIST [--timeout S]
        exit 0: every node is healthy; 3: some are not (their names on
        stdout, comma-separated; why on stderr); 4: could not tell.
    probe.py job JOBID
        prints `preempted` when Slurm has selected the job for preemption,
        else `not-preempted`; exit 4 when Slurm could not be asked.

A node is unhealthy when slurmctld says it is down, not responding,
failing or drained, or when its slurmd does not accept a TCP connection
within the timeout. The second test is what makes detection quick:
slurmctld marks a dead node NOT_RESPONDING only after SlurmdTimeout.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

# lib/aihpc/jobside/probe.py -> lib: the job-side aihpc package, even under -I.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from aihpc.errors import ClusterError
from aihpc.slurm.hostlist import expand_hostlist
from aihpc.slurm.jobs import parse_squeue
from aihpc.slurm.nodes import NodeInfo, parse_nodes, show_nodes_argv
from aihpc.slurm.run import run_command

DEFAULT_SLURMD_PORT = 6818
DEFAULT_TIMEOUT = 5.0
SCONTROL_TIMEOUT = 20.0
EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_UNKNOWN = 0, 3, 4


@dataclass(frozen=True)
class Verdict:
    node: str
    why: str  # empty: healthy


def slurm_view(info: NodeInfo | None) -> str:
    """Why slurmctld's record makes the node unusable, or ''."""
    if info is None:
        return "not in scontrol's reply"
    if info.is_down or info.state in ("ERROR", "UNKNOWN", "FUTURE"):
        return "state " + "+".join((info.state, *info.flags))
    if info.is_drain:
        return f"drained ({info.reason or 'no reason'})"
    return ""


def slurmd_reachable(host: str, port: int, timeout: float) -> str:
    """'' when slurmd on host:port accepts a connection, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except OSError as exc:
        return f"slurmd at {host}:{port} unreachable ({exc.strerror or exc})"


def judge(names: list[str], infos: list[NodeInfo], timeout: float) -> list[Verdict]:
    """One verdict per allocated node, in allocation order."""
    by_name = {n.name: n for n in infos}

    def one(name: str) -> Verdict:
        info = by_name.get(name)
        why = slurm_view(info)
        if not why and info is not None:
            why = slurmd_reachable(info.address or name, info.port or DEFAULT_SLURMD_PORT, timeout)
        return Verdict(name, why)

    with ThreadPoolExecutor(max_workers=min(32, max(1, len(names)))) as pool:
        return list(pool.map(one, names))


def nodes_main(nodelist: str, timeout: float) -> int:
    try:
        names = expand_hostlist(nodelist)
        done = run_command(show_nodes_argv(*names), SCONTROL_TIMEOUT)
        if done.returncode != 0:
            raise ClusterError(done.stderr.strip() or f"scontrol exited {done.returncode}")
        infos = parse_nodes(json.loads(done.stdout))
    except (ClusterError, ValueError) as exc:
        print(f"aihpc: cannot judge node health: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    bad = [v for v in judge(names, infos, timeout) if v.why]
    for verdict in bad:
        print(f"aihpc: node {verdict.node} is unhealthy: {verdict.why}", file=sys.stderr)
    if not bad:
        print(f"aihpc: all {len(names)} nodes healthy ({nodelist})", file=sys.stderr)
        return EXIT_HEALTHY
    print(",".join(v.node for v in bad))
    return EXIT_UNHEALTHY


def job_main(job_id: str) -> int:
    try:
        done = run_command(["scontrol", "show", "job", job_id, "--json"], SCONTROL_TIMEOUT)
        if done.returncode != 0:
            raise ClusterError(done.stderr.strip() or f"scontrol exited {done.returncode}")
        jobs = parse_squeue(json.loads(done.stdout))
    except (ClusterError, ValueError) as exc:
        print(f"aihpc: cannot read job {job_id}: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    preempted = any(j.preempt_time for j in jobs)
    print("preempted" if preempted else "not-preempted")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "nodes":
        timeout = DEFAULT_TIMEOUT
        if len(argv) == 5 and argv[3] == "--timeout":
            timeout = float(argv[4])
        elif len(argv) != 3:
            return usage()
        return nodes_main(argv[2], timeout)
    if len(argv) == 3 and argv[1] == "job":
        return job_main(argv[2])
    return usage()


def usage() -> int:
    print("usage: probe.py nodes NODELIST [--timeout S] | probe.py job JOBID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
