"""The CLI backend on recorded Slurm 24.11 JSON, with a fake command runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aihpc.backend.cli_backend import CliBackend, matches
from aihpc.errors import ClusterError, JobNotFoundError, UsageError
from aihpc.request.model import JobRequest
from aihpc.slurm import jobs as slurm_jobs
from aihpc.slurm import values as slurm_values
from aihpc.slurm.run import Completed
from tests.unit.conftest import FIXTURES

SQUEUE = (FIXTURES / "slurm" / "squeue_24.11.json").read_text()
SACCT = (FIXTURES / "slurm" / "sacct_24.11.json").read_text()


class FakeRunner:
    """Answers by command name; records every argv (always a list: no shell)."""

    def __init__(self, answers: dict[str, Completed]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], _timeout: float) -> Completed:
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
        self.calls.append(argv)
        return self.answers.get(argv[0], Completed(1, "", f"{argv[0]}: not faked"))


def ok(stdout: str, stderr: str = "") -> Completed:
    return Completed(0, stdout, stderr)


def test_squeue_parser() -> None:
    jobs = {j.job_id: j for j in slurm_jobs.parse_squeue(json.loads(SQUEUE))}
    assert set(jobs) == {"101", "150", "200_0", "200_1", "200_[2-5%2]"}
    run = jobs["101"]
    assert (run.state, run.nodes, run.node_count, run.time_limit_min) == (
        "RUNNING",
        "gpu[1-2]",
        2,
        15,
    )
    assert run.start_time == 1735787050 and run.restart_count == 1
    assert run.workdir.endswith("/ddp-demo-20250102-030405-c0ffee/code")
    assert run.exit_code == 0 and run.signal is None and not run.is_terminal
    requeued = jobs["150"]
    assert (requeued.state, requeued.flags, requeued.reason) == (
        "PENDING",
        ("REQUEUED",),
        "BeginTime",
    )
    assert requeued.time_limit_min is None  # infinite
    assert requeued.exit_code is None  # not set while pending
    task = jobs["200_1"]
    assert (task.array_job_id, task.array_task, task.raw_id) == ("200", "1", "202")
    pending = jobs["200_[2-5%2]"]
    assert (pending.array_task, pending.reason) == ("2-5%2", "JobArrayTaskLimit")


def test_sacct_parser() -> None:
    jobs = {j.job_id: j for j in slurm_jobs.parse_sacct(json.loads(SACCT))}
    done = jobs["90"]
    assert (done.state, done.exit_code, done.is_terminal, done.restart_count) == (
        "COMPLETED",
        0,
        True,
        1,
    )
    assert (done.start_time, done.end_time, done.time_limit_min) == (1735700000, 1735700030, 15)
    assert done.stdout.endswith("/logs/batch.log")
    assert (jobs["91"].state, jobs["91"].exit_code, jobs["91"].reason) == (
        "FAILED",
        1,
        "NonZeroExitCode",
    )
    assert (jobs["92"].state, jobs["92"].signal) == ("CANCELLED", 9)
    assert jobs["93"].state == "TIMEOUT"
    assert jobs["200_0"].array_task == "0" and jobs["200_0"].raw_id == "201"
    assert jobs["200_[2-5%2]"].start_time is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        ({"set": True, "infinite": False, "number": 7}, 7),
        ({"set": False, "infinite": False, "number": 0}, None),
        ({"set": True, "infinite": True, "number": 0}, None),
        (None, None),
        (True, None),
        ("12", 12),
        ("x", None),
    ],
)
def test_number(value: object, expected: int | None) -> None:
    assert slurm_values.number(value) == expected


def test_legacy_shapes() -> None:
    """Pre-23.02 output: string state, bare ints, "code:signal" exit codes."""
    old = slurm_jobs.squeue_job(
        {"job_id": 5, "job_state": "RUNNING", "time_limit": 60, "exit_code": "0:0", "name": "a"}
    )
    assert (old.state, old.time_limit_min, old.exit_code) == ("RUNNING", 60, 0)
    cancelled = slurm_jobs.sacct_job({"job_id": 6, "state": {"current": "CANCELLED by 1000"}})
    assert cancelled.state == "CANCELLED"


@pytest.mark.parametrize(
    ("stdout", "job", "cluster"),
    [
        ("1234\n", "1234", None),
        ("1234;aihpc-local\n", "1234", "aihpc-local"),
        ("site banner: welcome\nquota ok\n1234;c1\n", "1234", "c1"),
    ],
)
def test_sbatch_parsable(stdout: str, job: str, cluster: str | None) -> None:
    result = slurm_jobs.parse_sbatch(stdout)
    assert (result.job_id, result.cluster) == (job, cluster)


def test_sbatch_without_id() -> None:
    with pytest.raises(ClusterError, match=r"could not find a job id"):
        slurm_jobs.parse_sbatch("Submitted batch job\n")


def _request(argv: tuple[str, ...]) -> JobRequest:
    return JobRequest("n", "/x", "/x/job.sbatch", "#!/bin/bash\n", argv, (), None, (), ())


def test_submit_ignores_stderr_noise_and_passes_argv_untouched() -> None:
    argv = ("sbatch", "--parsable", "--job-name=a b", "/x/job.sbatch")
    runner = FakeRunner({"sbatch": ok("4242;aihpc-local\n", "WARNING: site wrapper says hi\n")})
    result = CliBackend(runner).submit(_request(argv))
    assert (result.job_id, result.cluster) == ("4242", "aihpc-local")
    assert runner.calls == [list(argv)]


def test_submit_failure_is_cluster_error() -> None:
    runner = FakeRunner(
        {"sbatch": Completed(1, "", "sbatch: error: Batch job submission failed: Invalid qos\n")}
    )
    with pytest.raises(ClusterError, match="Invalid qos"):
        CliBackend(runner).submit(_request(("sbatch", "/x")))


def test_status_prefers_squeue() -> None:
    runner = FakeRunner({"squeue": ok(SQUEUE), "sacct": ok(SACCT)})
    jobs = CliBackend(runner).status("101")
    assert [j.job_id for j in jobs] == ["101"] and jobs[0].source == "squeue"
    assert runner.calls == [["squeue", "--json", "--jobs=101"]]


def test_status_falls_back_to_sacct_when_controller_forgot_the_job() -> None:
    runner = FakeRunner(
        {
            "squeue": Completed(1, "", "slurm_load_jobs error: Invalid job id specified"),
            "sacct": ok(SACCT),
        }
    )
    jobs = CliBackend(runner).status("90")
    assert [(j.job_id, j.state, j.source) for j in jobs] == [("90", "COMPLETED", "sacct")]
    assert [c[0] for c in runner.calls] == ["squeue", "sacct"]


def test_status_of_array_and_one_task() -> None:
    backend = CliBackend(FakeRunner({"squeue": ok(SQUEUE)}))
    assert [j.job_id for j in backend.status("200")] == ["200_[2-5%2]", "200_0", "200_1"]
    assert [j.job_id for j in backend.status("200_1")] == ["200_1"]
    # a task still pending inside the remainder record
    assert [j.job_id for j in backend.status("200_4")] == ["200_[2-5%2]"]
    # the raw id of a task
    assert [j.job_id for j in backend.status("202")] == ["200_1"]


def test_status_unknown_job() -> None:
    runner = FakeRunner({"squeue": ok(json.dumps({"jobs": []})), "sacct": ok('{"jobs": []}')})
    with pytest.raises(JobNotFoundError):
        CliBackend(runner).status("999")


@pytest.mark.parametrize("bad", ["abc", "1;rm -rf /", "12_", "-1", "1 2", ""])
def test_job_ids_are_checked_before_any_command(bad: str) -> None:
    runner = FakeRunner({})
    with pytest.raises(UsageError):
        CliBackend(runner).status(bad)
    with pytest.raises(UsageError):
        CliBackend(runner).cancel(bad)
    assert runner.calls == []


def test_list_is_one_squeue_and_one_sacct_call() -> None:
    runner = FakeRunner({"squeue": ok(SQUEUE), "sacct": ok(SACCT)})
    jobs = CliBackend(runner).list("alice")
    assert runner.calls == [
        ["squeue", "--json", "--user=alice"],
        ["sacct", "--json", "--user=alice", "--starttime=now-1days"],
    ]
    by_id = {j.job_id: j for j in jobs}
    # the controller's view wins for jobs both know
    assert by_id["101"].source == "squeue" and by_id["200_0"].state == "RUNNING"
    assert by_id["90"].source == "sacct"
    assert [j.job_id for j in jobs][:4] == ["90", "91", "92", "93"]


def test_non_json_output_is_a_cluster_error() -> None:
    with pytest.raises(ClusterError, match="not JSON"):
        CliBackend(FakeRunner({"squeue": ok("squeue: error\n")})).list("alice")


def test_cancel() -> None:
    runner = FakeRunner({"scancel": ok("")})
    CliBackend(runner).cancel("200_3")
    assert runner.calls == [["scancel", "200_3"]]
    failing = FakeRunner({"scancel": Completed(1, "", "scancel: error: Kill job error")})
    with pytest.raises(ClusterError, match="Kill job error"):
        CliBackend(failing).cancel("5")


def test_matches() -> None:
    [task] = [j for j in slurm_jobs.parse_squeue(json.loads(SQUEUE)) if j.job_id == "200_0"]
    assert matches(task, "200") and matches(task, "200_0") and matches(task, "201")
    assert not matches(task, "200_1") and not matches(task, "20")


def test_real_runner_reports_missing_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ClusterError, match="login node"):
        CliBackend().list("alice")
