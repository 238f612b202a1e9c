"""squeue's lean text form (`-O` with `|` suffixes) as `JobInfo`.

`squeue --json` costs about 5 KB per job (50 MB and ~0.9 s of `json.loads`
alone at 10,000 jobs); this form carries only what the exporter counts, at
about 100 bytes per job. bench/exporter measures both in the same run.

A field spec `Name:|` gives width 0 (print the whole value, no padding) and
`|` as the suffix, so every line ends in `|`. Reason comes before
tres-alloc: tres-alloc never contains `|`, so a `|` inside a reason text
cannot shift the columns (the reason is rejoined from the middle).
`-r` lists every pending array task on its own line, as Slurm counts them.

Written against tests/fixtures/slurm/squeue_lean_24.11.txt (24.11.5).
"""

from __future__ import annotations

from aihpc.errors import ClusterError
from aihpc.slurm.jobs import BASE_STATES, JobInfo
from aihpc.slurm.values import states

LEAN_FIELDS = (
    "JobID",
    "ArrayJobID",
    "ArrayTaskID",
    "State",
    "Partition",
    "UserName",
    "Account",
    "Reason",
    "tres-alloc",
)
_REASON = LEAN_FIELDS.index("Reason")


def squeue_lean_argv() -> list[str]:
    """All jobs (hidden partitions too), one line per array task, no header."""
    spec = ",".join(f"{field}:|" for field in LEAN_FIELDS)
    return ["squeue", "--noheader", "--all", "--array", "--Format", spec]


def _absent(value: str) -> bool:
    return value in ("", "N/A", "(null)")


def lean_job(line: str) -> JobInfo:
    parts = line.rstrip("\n").split("|")
    if parts and parts[-1] == "":
        parts.pop()  # the trailing suffix
    if len(parts) < len(LEAN_FIELDS):
        raise ClusterError(
            f"squeue line has {len(parts)} fields, expected {len(LEAN_FIELDS)}: {line[:200]!r}"
        )
    tail = len(LEAN_FIELDS) - _REASON - 1  # fields after Reason
    reason = "|".join(parts[_REASON : len(parts) - tail])
    job_id, array_id, task, state_text, partition, user, account = parts[:_REASON]
    tres = parts[-1]
    state, flags = states(state_text, BASE_STATES)
    plain = _absent(array_id) or (array_id == job_id and _absent(task))
    array_job = None if plain else array_id
    array_task = None if _absent(task) else task
    shown_id = f"{array_job}_{array_task}" if array_job and array_task else job_id
    return JobInfo(
        job_id=shown_id,
        name="",
        user=user,
        state=state,
        flags=flags,
        reason=reason,
        partition=partition,
        array_job_id=array_job,
        array_task=array_task,
        raw_id=job_id,
        source="squeue",
        account=account,
        tres_alloc="" if _absent(tres) else tres,
    )


def parse_squeue_lean(stdout: str) -> list[JobInfo]:
    return [lean_job(line) for line in stdout.splitlines() if line.strip()]
