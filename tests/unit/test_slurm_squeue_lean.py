"""squeue's lean -O text (aihpc.slurm.squeue_lean) against recorded and hand-made output."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from aihpc.errors import ClusterError
from aihpc.slurm.jobs import JobInfo, array_task_count, parse_squeue
from aihpc.slurm.squeue_lean import (
    DESCRIPTIONS,
    IMPLIED_BASE,
    LEAN_FIELDS,
    OTHER_REASON,
    lean_job,
    parse_squeue_lean,
    reason_code,
    shown_state,
    squeue_lean_argv,
)
from tests.unit.slurm_synth import SLURM, recorded

LINE = "24|24|N/A|PENDING|gpu|erin|ops|1796199000|1796199000|N/A|{reason}|cpu=1,node=1|"


def test_argv_is_the_recorded_command() -> None:
    # The fixture README names the exact command line the recording used.
    argv = squeue_lean_argv()
    assert argv[:7] == [
        "env",
        "SLURM_TIME_FORMAT=%s",
        "squeue",
        "--noheader",
        "--all",
        "--array",
        "--Format",
    ]
    readme = (SLURM / "README.md").read_text()
    assert f'SLURM_TIME_FORMAT=%s squeue --noheader --all --array --Format "{argv[-1]}"' in readme
    assert argv[-1].count(":|") == len(LEAN_FIELDS)
    # Reason second to last, tres-alloc (never a |) last: a | in a reason cannot shift columns.
    assert LEAN_FIELDS[-2:] == ("Reason", "tres-alloc")


def test_recorded_lean_output() -> None:
    jobs = parse_squeue_lean((SLURM / "squeue_lean_24.11.txt").read_text())
    assert [j.job_id for j in jobs] == ["3", "4_0", "4_1", "4_2", "4_3", "1", "2"]
    running = {j.job_id: j for j in jobs if j.state == "RUNNING"}
    # billing at the h100 price weight; the typed gres/gpu:h100 from AccountingStorageTRES
    assert running["1"].tres_alloc.endswith("billing=200,gres/gpu=2,gres/gpu:h100=2")
    assert running["2"].tres_alloc.endswith("gres/gpu=1,gres/gpu:h100=1")  # --gpus-per-node=1
    assert {j.account for j in jobs} == {"research"}
    assert {j.user for j in jobs} == {"alice"}
    pending = [j for j in jobs if j.state == "PENDING"]
    assert [j.reason for j in pending[1:]] == ["Priority"] * 4
    # squeue printed "Nodes required for job are DOWN, DRAINED or reserved ...": its code
    assert pending[0].reason == "Resources"
    assert pending[1].array_job_id == "4" and pending[1].array_task == "0"
    assert running["1"].array_job_id is None and running["1"].array_task is None
    # times as epoch seconds; a pending job has no StartTime (N/A)
    assert running["1"].submit_time and running["1"].eligible_time and running["1"].start_time
    assert running["1"].submit_time <= running["1"].eligible_time <= running["1"].start_time
    assert pending[1].eligible_time and pending[1].start_time is None


def _comparable(jobs: list[JobInfo]) -> Counter[tuple[object, ...]]:
    """Jobs as both forms must report them: one entry per array task."""
    out: Counter[tuple[object, ...]] = Counter()
    for j in jobs:
        task = j.array_task or ""
        tasks = 1 if task.isdigit() or not task else array_task_count(task)
        key = (j.base_id if j.array_job_id else j.raw_id, j.state, j.flags, j.reason)
        out[
            (*key, j.partition, j.user, j.account, j.tres_alloc if j.state == "RUNNING" else "")
        ] += tasks
        out[(key[0], j.submit_time, j.eligible_time, j.start_time)] += tasks
    return out


def test_lean_and_json_agree_on_every_recorded_job() -> None:
    """Recorded together: the two squeue forms report the same jobs, states,
    reason codes and times (JSON holds the pending array in one record)."""
    lean = parse_squeue_lean((SLURM / "squeue_lean_24.11.txt").read_text())
    full = parse_squeue(recorded("squeue_running_24.11.json"))
    assert len(full) == 4 and len(lean) == 7
    assert _comparable(lean) == _comparable(full)


def test_reason_with_a_bar_does_not_shift_columns() -> None:
    job = lean_job(LINE.format(reason="ReqNodeNotAvail, UnavailableNodes:a|b"))
    assert job.reason == "ReqNodeNotAvail"
    assert job.tres_alloc == "cpu=1,node=1"
    assert (job.user, job.account, job.partition) == ("erin", "ops", "gpu")
    assert job.eligible_time == 1796199000


REASON_CASES = [
    # codes pass through (every 24.11 reason string is one word of letters)
    ("Priority", "Priority"),
    ("Resources", "Resources"),
    ("QOSMaxGRESPerUser", "QOSMaxGRESPerUser"),
    ("AssocGrpGRESRunMinutes", "AssocGrpGRESRunMinutes"),
    ("JobArrayTaskLimit", "JobArrayTaskLimit"),
    ("None", "None"),
    # descriptions slurmctld 24.11 sets on pending jobs
    (
        "Nodes required for job are DOWN, DRAINED or reserved for jobs in higher priority "
        "partitions",
        "Resources",
    ),
    (
        "Nodes required for job are DOWN, DRAINED, REBOOTING or reserved for jobs in higher "
        "priority partitions",
        "Resources",
    ),
    ("ReqNodeNotAvail, UnavailableNodes:gpu[1-9]", "ReqNodeNotAvail"),
    ("ReqNodeNotAvail, May be reserved for other job", "ReqNodeNotAvail"),
    ("ReqNodeNotAvail, Reserved for maintenance", "ReqNodeNotAvail"),
    (
        "uid 1005 not in group permitted to use this partition (gpu). groups allowed: ml",
        "AccountNotAllowed",
    ),
    (
        "Job's QOS not permitted to use this partition (gpu allows normal not high)",
        "QOSNotAllowed",
    ),
    (
        "Job's QOS not known, so it can't use this partition (gpu allows normal)",
        "QOSNotAllowed",
    ),
    ("job requeued in held state", "JobHeldUser"),
    ("job requeued in special exit state", "JobHeldUser"),
    ("launch failed requeued held", "JobHeldUser"),
    ("launch failure limit exceeded requeued held", "JobHoldMaxRequeue"),
    ("Reservation maint_0412 was deleted", "ReservationDeleted"),
    ("Reservation maint_0412 is invalid", "ReservationInvalid"),
    ("burst_buffer/lua: setup: no space", "BurstBufferOperation"),
    ("Burst buffer pre_run error", "BurstBufferOperation"),
    # anything else is bounded, never free text
    ("Reservation r1, which this job was running under, has ended", OTHER_REASON),
    ("Dependency|a|b", OTHER_REASON),
    ("some site plugin's message for job 1234", OTHER_REASON),
    ("", OTHER_REASON),
]


@pytest.mark.parametrize(("printed", "code"), REASON_CASES)
def test_reason_codes(printed: str, code: str) -> None:
    assert reason_code(printed) == code


def test_every_description_pattern_is_tested() -> None:
    for pattern, code in DESCRIPTIONS:
        assert any(pattern.match(text) and want == code for text, want in REASON_CASES), pattern


@pytest.mark.parametrize(
    ("printed", "state", "flags", "shown"),
    [
        ("PENDING", "PENDING", (), "PENDING"),
        ("REQUEUE_HOLD", "PENDING", ("REQUEUE_HOLD",), "PENDING"),
        ("REQUEUED", "PENDING", ("REQUEUED",), "PENDING"),
        ("SPECIAL_EXIT", "PENDING", ("SPECIAL_EXIT",), "PENDING"),
        ("RESV_DEL_HOLD", "PENDING", ("RESV_DEL_HOLD",), "PENDING"),
        ("CONFIGURING", "RUNNING", ("CONFIGURING",), "RUNNING"),
        ("STOPPED", "RUNNING", ("STOPPED",), "RUNNING"),
        ("COMPLETING", "COMPLETING", (), "COMPLETING"),
        ("SUSPENDED", "SUSPENDED", (), "SUSPENDED"),
    ],
)
def test_state_words(printed: str, state: str, flags: tuple[str, ...], shown: str) -> None:
    job = lean_job(LINE.replace("PENDING", printed).format(reason="None"))
    assert (job.state, job.flags) == (state, flags)
    assert shown_state(job.state, job.flags) == shown


@pytest.mark.parametrize(
    ("state", "flags", "shown"),
    [
        # squeue --json base states and flags, as squeue's text would show them
        ("COMPLETED", ("COMPLETING",), "COMPLETING"),
        ("CANCELLED", ("COMPLETING",), "COMPLETING"),
        ("PENDING", ("REQUEUED",), "PENDING"),
        ("RUNNING", ("CONFIGURING", "SIGNALING"), "RUNNING"),  # CONFIGURING is printed first
        ("RUNNING", ("SIGNALING",), "SIGNALING"),
        ("COMPLETED", ("STAGE_OUT",), "STAGE_OUT"),
        ("RUNNING", ("SOMETHING_NEW",), "RUNNING"),
    ],
)
def test_shown_state_of_json_states(state: str, flags: tuple[str, ...], shown: str) -> None:
    assert shown_state(state, flags) == shown
    assert all(base in ("PENDING", "RUNNING") for base in IMPLIED_BASE.values())


@pytest.mark.parametrize(
    ("tasks", "count"),
    [
        ("0-3", 4),
        ("2-5%2", 4),
        ("1,3,5-9", 7),
        ("0-99:3", 34),
        ("7", 1),
        ("", 1),
        ("0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,4...", 21),
    ],
)
def test_array_task_count(tasks: str, count: int) -> None:
    assert array_task_count(tasks) == count


def test_times_in_squeue_default_format_are_read_too() -> None:
    # Without SLURM_TIME_FORMAT=%s squeue prints local ISO times and "Unknown".
    line = (
        "5|5|N/A|RUNNING|gpu|bob|vision|2026-12-02T10:00:00|Unknown|2026-12-02T10:05:00|None|cpu=1|"
    )
    job = lean_job(line)
    assert job.eligible_time is None
    assert job.submit_time == int(time.mktime((2026, 12, 2, 10, 0, 0, 0, 1, -1)))
    assert job.start_time is not None and job.start_time - job.submit_time == 300


def test_handmade_fixture_parses_every_line() -> None:
    jobs = parse_squeue_lean((SLURM / "squeue_lean_handmade.txt").read_text())
    assert len(jobs) == 19
    assert {j.state for j in jobs} == {"RUNNING", "PENDING", "SUSPENDED", "COMPLETING"}
    by_id = {j.job_id: j for j in jobs}
    assert by_id["24"].reason == OTHER_REASON  # "Dependency|a|b": robustness only
    assert (by_id["26"].state, by_id["26"].flags, by_id["26"].reason) == (
        "PENDING",
        ("REQUEUE_HOLD",),
        "JobHeldUser",
    )
    assert by_id["29"].state == "RUNNING" and by_id["29"].flags == ("CONFIGURING",)
    assert by_id["30"].reason == "AccountNotAllowed"
    assert by_id["25"].eligible_time is None


def test_short_line_is_a_clear_error() -> None:
    with pytest.raises(ClusterError, match="squeue line has 3 fields, expected 12"):
        lean_job("1|RUNNING|gpu|")


def test_blank_lines_are_skipped() -> None:
    assert parse_squeue_lean("\n\n") == []
