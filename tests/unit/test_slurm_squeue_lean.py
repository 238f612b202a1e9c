"""squeue's lean -O text (aihpc.slurm.squeue_lean) against recorded and hand-made output."""

from __future__ import annotations

import pytest

from aihpc.errors import ClusterError
from aihpc.slurm.jobs import JobInfo, parse_squeue
from aihpc.slurm.squeue_lean import LEAN_FIELDS, lean_job, parse_squeue_lean, squeue_lean_argv
from tests.unit.slurm_synth import SLURM, recorded


def test_argv_is_the_recorded_command() -> None:
    # The fixture README names the exact -O spec the recording used.
    argv = squeue_lean_argv()
    assert argv[:4] == ["squeue", "--noheader", "--all", "--array"]
    assert f'-O "{argv[-1]}"' in (SLURM / "README.md").read_text()
    assert argv[-1].count(":|") == len(LEAN_FIELDS)


def test_recorded_lean_output() -> None:
    jobs = parse_squeue_lean((SLURM / "squeue_lean_24.11.txt").read_text())
    assert [j.job_id for j in jobs] == ["4_0", "4_1", "4_2", "4_3", "3", "1", "2"]
    running = {j.job_id: j for j in jobs if j.state == "RUNNING"}
    assert running["1"].tres_alloc.endswith("gres/gpu=2")
    assert running["2"].tres_alloc.endswith("gres/gpu=1")  # --gpus-per-node=1
    assert {j.account for j in jobs} == {"research"}
    assert {j.user for j in jobs} == {"alice"}
    pending = [j for j in jobs if j.state == "PENDING"]
    assert [j.reason for j in pending[:4]] == ["Priority"] * 4
    assert pending[4].reason.startswith("Nodes required for job are DOWN, DRAINED")
    assert pending[0].array_job_id == "4" and pending[0].array_task == "0"
    assert running["1"].array_job_id is None and running["1"].array_task is None


def test_lean_and_json_agree_on_running_jobs() -> None:
    """Recorded together: the two squeue forms report the same running jobs."""
    lean = parse_squeue_lean((SLURM / "squeue_lean_24.11.txt").read_text())
    full = parse_squeue(recorded("squeue_running_24.11.json"))

    def running(jobs: list[JobInfo]) -> set[tuple[str, str, str, str, str]]:
        return {
            (j.raw_id, j.partition, j.user, j.account, j.tres_alloc)
            for j in jobs
            if j.state == "RUNNING"
        }

    assert running(lean) == running(full)
    assert len(running(lean)) == 2


def test_reason_with_a_bar_does_not_shift_columns() -> None:
    job = lean_job("24|24|N/A|PENDING|gpu|erin|ops|Dependency|a|b|cpu=1,node=1|")
    assert job.reason == "Dependency|a|b"
    assert job.tres_alloc == "cpu=1,node=1"
    assert (job.user, job.account, job.partition) == ("erin", "ops", "gpu")


def test_handmade_fixture_parses_every_line() -> None:
    jobs = parse_squeue_lean((SLURM / "squeue_lean_handmade.txt").read_text())
    assert len(jobs) == 13
    assert {j.state for j in jobs} == {"RUNNING", "PENDING", "SUSPENDED"}
    assert jobs[-1].reason == "Dependency|a|b"


def test_short_line_is_a_clear_error() -> None:
    with pytest.raises(ClusterError, match="squeue line has 3 fields, expected 9"):
        lean_job("1|RUNNING|gpu|")


def test_blank_lines_are_skipped() -> None:
    assert parse_squeue_lean("\n\n") == []
