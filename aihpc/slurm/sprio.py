"""`sprio` (pending jobs' priority and its factors) as `JobPriority`.

sprio has no --json in 24.11. The form read here is
`sprio --noheader --format=%i|%u|%Y|%F|%Q`: job id, user, priority, and the
weighted fair-share and QOS parts (factor x PriorityWeight*). sprio may pad
fields with spaces; they are stripped. Shaped after sprio's documented
format options (not recorded from a live controller).
"""

from __future__ import annotations

from dataclasses import dataclass

from aihpc.errors import ClusterError

SPRIO_FORMAT = "%i|%u|%Y|%F|%Q"


@dataclass(frozen=True)
class JobPriority:
    job_id: str
    user: str
    priority: float
    fairshare: float  # weighted: factor x PriorityWeightFairshare
    qos: float  # weighted: factor x PriorityWeightQOS


def sprio_argv() -> list[str]:
    """Every pending job's priority, one call. Not `--jobs=`: Slurm 24.11.5's
    sprio prints the rows and then fails with "Invalid job id" (exit 1) for
    jobs it has just printed (seen on the local cluster); filter the rows."""
    return ["sprio", "--noheader", f"--format={SPRIO_FORMAT}"]


def parse_sprio(text: str) -> list[JobPriority]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) != 5:
            raise ClusterError(f"sprio line {number}: expected 5 fields, got {line!r}")
        job_id, user, priority, fairshare, qos = fields
        try:
            out.append(JobPriority(job_id, user, float(priority), float(fairshare), float(qos)))
        except ValueError:
            raise ClusterError(f"sprio line {number}: not a number in {line!r}") from None
    return out
