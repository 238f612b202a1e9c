"""squeue's lean text form (`-O` with `|` suffixes) as `JobInfo`.

`squeue --json` costs about 5 KB per job (50 MB and ~0.9 s of `json.loads`
alone at 10,000 jobs); this form carries only what the exporter counts, at
about 130 bytes per job. bench/exporter measures both in the same run.

A field spec `Name:|` gives width 0 (print the whole value, no padding) and
`|` as the suffix, so every line ends in `|`. Reason comes before
tres-alloc: tres-alloc never contains `|`, so a `|` inside a reason text
cannot shift the columns (the reason is rejoined from the middle).
`-r` lists every pending array task on its own line, as Slurm counts them.

Times: the command runs under ``SLURM_TIME_FORMAT=%s`` (through `env`, see
`squeue_lean_argv`), so SubmitTime/EligibleTime/StartTime are epoch
seconds: no timezone is guessed and reading them is an `int()`. ISO local
times (squeue's default format) are read as well; ``N/A`` (never set),
``Unknown`` and ``None`` are None.

Two things squeue's text says differently from `squeue --json`, resolved
here so both forms give the same `JobInfo` values (Slurm 24.11 source,
src/squeue/print.c and src/common/):

- **Reason.** `-O Reason` (and `ReasonList`, `%r`, `%R`) prints the job's
  description (`state_desc`) when slurmctld set one, else the reason code;
  no `-O` field prints the bare code (JSON's `state_reason`). A reason is
  kept when it is a code (one word of letters, as every Slurm reason code
  is) and otherwise mapped back to its code through `DESCRIPTIONS`, the
  descriptions slurmctld 24.11 sets on pending jobs. A description outside
  that table (a newer Slurm, a site plugin) reads as
  `OTHER_REASON`: the JSON path would give its code, and a free-text label
  would make one series per message.
- **State.** `-O State` prints the job's most telling flag instead of its
  base state (job_state_string: `REQUEUE_HOLD`, `CONFIGURING`, ...). A flag
  that implies the base state is read as that base state with the flag
  (`IMPLIED_BASE`), as JSON reports it; `COMPLETING`, `STAGE_OUT`,
  `REVOKED` and `SIGNALING` say nothing certain about the base and stay the
  state. `shown_state` gives, for a `JobInfo` from either form, the state
  squeue's text would print with implied bases resolved, so counts keyed by
  it are equal on both paths.

Written against tests/fixtures/slurm/squeue_lean_24.11.txt (24.11.5).
"""

from __future__ import annotations

import re
from functools import lru_cache

from aihpc.errors import ClusterError
from aihpc.slurm.jobs import BASE_STATES, JobInfo
from aihpc.slurm.sacct_records import parse_time
from aihpc.slurm.values import states

LEAN_FIELDS = (
    "JobID",
    "ArrayJobID",
    "ArrayTaskID",
    "State",
    "Partition",
    "UserName",
    "Account",
    "SubmitTime",
    "EligibleTime",
    "StartTime",
    "Reason",
    "tres-alloc",
)
_REASON = LEAN_FIELDS.index("Reason")
LEAN_ENV = {"SLURM_TIME_FORMAT": "%s"}

# squeue -O State prints the first of these flags a job carries, else its
# base state (Slurm 24.11 job_state_string, src/common/slurm_protocol_defs.c).
FLAG_PRECEDENCE = (
    "COMPLETING",
    "STAGE_OUT",
    "CONFIGURING",
    "RESIZING",
    "REQUEUED",
    "REQUEUE_FED",
    "REQUEUE_HOLD",
    "SPECIAL_EXIT",
    "STOPPED",
    "REVOKED",
    "RESV_DEL_HOLD",
    "SIGNALING",
)
# Flags printed in place of a base state they imply (slurmctld sets them
# only on jobs in that state): a requeued or held-on-requeue job is pending,
# a booting, resizing or SIGSTOPped one is running.
IMPLIED_BASE = {
    "CONFIGURING": "RUNNING",
    "RESIZING": "RUNNING",
    "STOPPED": "RUNNING",
    "REQUEUED": "PENDING",
    "REQUEUE_FED": "PENDING",
    "REQUEUE_HOLD": "PENDING",
    "SPECIAL_EXIT": "PENDING",
    "RESV_DEL_HOLD": "PENDING",
}

OTHER_REASON = "Other"
_CODE = re.compile(r"[A-Za-z]+")
# What slurmctld 24.11 writes into a pending job's state_desc (matched at the
# start), and the state_reason code it sets with it.
DESCRIPTIONS = tuple(
    (re.compile(pattern), code)
    for pattern, code in (
        # job_scheduler.c: too many of the partition's nodes down, drained or reserved
        (r"Nodes required for job are DOWN, DRAINED", "Resources"),
        # node_scheduler.c: UnavailableNodes:<nodes> / May be reserved for other
        # job / Reserved for maintenance
        (r"ReqNodeNotAvail\b", "ReqNodeNotAvail"),
        # node_scheduler.c: the user is not in the partition's AllowGroups
        (r"uid \d+ not in group permitted to use this partition", "AccountNotAllowed"),
        # partition_mgr.c: the partition's AllowQOS / DenyQOS
        (
            r"Job's QOS not (?:known, so it can't use|permitted to use) this partition",
            "QOSNotAllowed",
        ),
        # job_mgr.c: requeued on hold (requeuehold, a failed launch, a special exit)
        (
            r"(?:job requeued in (?:special exit|held) state|launch failed requeued held)$",
            "JobHeldUser",
        ),
        (r"launch failure limit exceeded requeued held$", "JobHoldMaxRequeue"),
        # reservation.c: the job's reservation went away
        (r"Reservation \S+ was deleted$", "ReservationDeleted"),
        (r"Reservation \S+ is invalid$", "ReservationInvalid"),
        # burst_buffer plugins: "burst_buffer/lua: <op>: <message>" and fixed texts
        (
            r"(?:burst_buffer/\w+: |Burst buffer \w+ error$|Could not find burst buffer record$"
            r"|Error managing persistent burst buffers$)",
            "BurstBufferOperation",
        ),
    )
)


def squeue_lean_argv() -> list[str]:
    """All jobs (hidden partitions too), one line per array task, no header,
    times as epoch seconds: ``env SLURM_TIME_FORMAT=%s squeue ...``.

    `env` sets the variable for squeue alone (a Runner takes no environment);
    when squeue is missing env exits 127, which the exporter reads as missing.
    """
    spec = ",".join(f"{field}:|" for field in LEAN_FIELDS)
    assignments = [f"{key}={value}" for key, value in LEAN_ENV.items()]
    return ["env", *assignments, "squeue", "--noheader", "--all", "--array", "--Format", spec]


@lru_cache(maxsize=4096)
def reason_code(text: str) -> str:
    """The reason code of what `squeue -O Reason` printed (see the module doc)."""
    if _CODE.fullmatch(text):
        return text
    for pattern, code in DESCRIPTIONS:
        if pattern.match(text):
            return code
    return OTHER_REASON


def shown_state(state: str, flags: tuple[str, ...]) -> str:
    """The state squeue's text gives this job, with implied base states resolved:
    equal for a `JobInfo` of either squeue form (see the module doc)."""
    if not flags:
        return state
    for flag in FLAG_PRECEDENCE:
        if flag == state or flag in flags:
            return state if flag in IMPLIED_BASE else flag
    return state


def _absent(value: str) -> bool:
    return value in ("", "N/A", "(null)")


def _state(text: str) -> tuple[str, tuple[str, ...]]:
    base = IMPLIED_BASE.get(text)
    if base is not None:
        return base, (text,)
    return states(text, BASE_STATES)


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
    (job_id, array_id, task, state_text, partition, user, account, submit, eligible, start) = parts[
        :_REASON
    ]
    tres = parts[-1]
    state, flags = _state(state_text)
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
        reason=reason_code(reason),
        partition=partition,
        submit_time=parse_time(submit),
        start_time=parse_time(start),
        array_job_id=array_job,
        array_task=array_task,
        raw_id=job_id,
        source="squeue",
        account=account,
        tres_alloc="" if _absent(tres) else tres,
        eligible_time=parse_time(eligible),
    )


def parse_squeue_lean(stdout: str) -> list[JobInfo]:
    return [lean_job(line) for line in stdout.splitlines() if line.strip()]
