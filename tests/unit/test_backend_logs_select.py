"""Log lookup and following, pyslurm selection, and the pyslurm backend."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path

import pytest

from aihpc.backend import logs as joblogs
from aihpc.backend.base import LIST_SINCE
from aihpc.backend.cli_backend import CliBackend
from aihpc.backend.pyslurm_backend import PyslurmBackend
from aihpc.backend.select import get_backend
from aihpc.errors import ClusterError, UsageError
from aihpc.slurm.jobs import JobInfo
from aihpc.slurm.run import Completed


def _job_dir(tmp_path: Path, **meta: object) -> Path:
    job_dir = tmp_path / "job"
    (job_dir / "code").mkdir(parents=True)
    (job_dir / "logs").mkdir()
    data = {"launcher": "srun", "world_size": 4, "procs_per_node": 2, "array_size": 0}
    data.update(meta)
    (job_dir / "aihpc-job.json").write_text(json.dumps(data))
    return job_dir


def _info(job_dir: Path, state: str = "RUNNING", job_id: str = "7") -> JobInfo:
    return JobInfo(job_id=job_id, name="n", user="u", state=state, workdir=str(job_dir / "code"))


def test_job_dir_comes_from_the_working_directory(tmp_path: Path) -> None:
    job_dir = _job_dir(tmp_path)
    assert joblogs.job_dir_of(_info(job_dir)) == job_dir
    with pytest.raises(ClusterError, match="not submitted by aihpc"):
        joblogs.job_dir_of(_info(tmp_path / "elsewhere"))


@pytest.mark.parametrize(
    ("meta", "task", "rank", "expected"),
    [
        ({}, None, 0, "logs/rank-0.log"),
        ({}, None, 3, "logs/rank-3.log"),
        ({}, None, None, "logs/batch.log"),
        ({"launcher": "torchrun"}, None, 3, "logs/node-1.log"),
        ({"array_size": 6}, "2", 1, "logs/task-2/rank-1.log"),
        ({"array_size": 6}, "2", None, "logs/batch-2.log"),
        ({"launcher": "jupyter", "world_size": 1}, None, 0, "logs/batch.log"),
    ],
)
def test_log_paths(
    tmp_path: Path, meta: dict[str, object], task: str | None, rank: int | None, expected: str
) -> None:
    job_dir = _job_dir(tmp_path, **meta)
    path = joblogs.log_path(job_dir, joblogs.metadata(job_dir), task, rank)
    assert path == job_dir / expected


def test_log_path_errors(tmp_path: Path) -> None:
    job_dir = _job_dir(tmp_path, array_size=3)
    with pytest.raises(UsageError, match="array of 3 tasks"):
        joblogs.log_path(job_dir, joblogs.metadata(job_dir), None, 0)
    with pytest.raises(UsageError, match=r"outside 0\.\.3"):
        joblogs.log_path(job_dir, {"world_size": 4}, None, 4)


def test_follow_waits_for_the_file_then_drains_after_the_job_ends(tmp_path: Path) -> None:
    path = tmp_path / "rank-0.log"
    clock = [0.0]
    pending = ["", "step 1\n", "step 2\n", "done\n"]  # one write per poll
    checks: list[float] = []

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        chunk = pending.pop(0) if pending else ""
        if chunk:
            with path.open("a") as handle:
                handle.write(chunk)

    def is_done() -> bool:
        checks.append(clock[0])
        # The job ends when its last line is written; the follower must still print it.
        return not pending

    chunks = list(
        joblogs.follow(
            path, is_done, poll=1.0, check_every=2.0, sleep=sleep, clock=lambda: clock[0]
        )
    )
    assert "".join(chunks) == "step 1\nstep 2\ndone\n"
    assert checks == [0.0, 2.0, 4.0]  # the job state is asked every 2 s, not every poll


def test_cli_backend_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job_dir = _job_dir(tmp_path)
    (job_dir / "logs" / "rank-2.log").write_text("hello from rank 2\n")
    (job_dir / "logs" / "batch.log").write_text("aihpc: job 7\n")
    backend = CliBackend(lambda _argv, _timeout: Completed(1, "", ""))
    monkeypatch.setattr(backend, "status", lambda _job_id: [_info(job_dir)])
    assert "".join(backend.logs("7", rank=2)) == "hello from rank 2\n"
    assert "".join(backend.logs("7", rank=None)) == "aihpc: job 7\n"
    with pytest.raises(ClusterError, match="no log yet"):
        "".join(backend.logs("7", rank=1))


# -- pyslurm --------------------------------------------------------------
class _FakeJob:
    def __init__(self, job_id: int, user: str = "alice", state: str = "RUNNING") -> None:
        self.id = job_id
        self.name = "demo"
        self.user_name = user
        self.state = state
        self.state_reason = "None"
        self.partition = "gpu"
        self.allocated_nodes = "gpu[1-2]"
        self.num_nodes = 2
        self.working_directory = "/shared/x/code"
        self.requeue_count = 1
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def _fake_pyslurm(version: str) -> types.ModuleType:
    module = types.ModuleType("pyslurm")
    module.__version__ = version  # type: ignore[attr-defined]
    jobs = {5: _FakeJob(5), 6: _FakeJob(6, user="bob")}

    class Job:
        def __new__(cls, job_id: int) -> _FakeJob:  # type: ignore[misc]
            return jobs[job_id]

        @staticmethod
        def load(job_id: int) -> _FakeJob:
            if job_id not in jobs:
                raise RuntimeError("RPCError: Invalid job id")
            return jobs[job_id]

    class Jobs:
        @staticmethod
        def load() -> dict[int, _FakeJob]:
            return jobs

    module.Job = Job  # type: ignore[attr-defined]
    module.Jobs = Jobs  # type: ignore[attr-defined]
    module.jobs = jobs  # type: ignore[attr-defined]
    return module


def _runner(sinfo: str = "slurm 24.11.5\n"):  # type: ignore[no-untyped-def]
    def run(argv: list[str], _timeout: float) -> Completed:
        if argv[0] == "sinfo":
            return Completed(0, sinfo, "")
        if argv[0] == "sacct":
            return Completed(0, '{"jobs": []}', "")
        return Completed(1, "", "nope")

    return run


@pytest.fixture
def fake_pyslurm(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def install(version: str) -> types.ModuleType:
        module = _fake_pyslurm(version)
        monkeypatch.setitem(sys.modules, "pyslurm", module)
        monkeypatch.setattr(
            "importlib.util.find_spec", lambda name: object() if name == "pyslurm" else None
        )
        return module

    return install


def test_missing_pyslurm_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda _name: None)
    err = io.StringIO()
    assert get_backend({}, err, _runner()).name == "cli"
    assert err.getvalue() == ""


def test_explicit_pyslurm_request_explains_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda _name: None)
    err = io.StringIO()
    assert get_backend({"AIHPC_BACKEND": "pyslurm"}, err, _runner()).name == "cli"
    assert err.getvalue() == "aihpc: using the Slurm CLI backend: pyslurm is not installed\n"


def test_version_mismatch_falls_back_with_one_line(fake_pyslurm) -> None:  # type: ignore[no-untyped-def]
    fake_pyslurm("25.11.0")
    err = io.StringIO()
    assert get_backend({}, err, _runner("slurm 24.11.5\n")).name == "cli"
    lines = err.getvalue().splitlines()
    assert lines == [
        "aihpc: using the Slurm CLI backend: pyslurm 25.11.0 does not match Slurm 24.11"
    ]


def test_matching_pyslurm_is_used(fake_pyslurm) -> None:  # type: ignore[no-untyped-def]
    module = fake_pyslurm("24.11.2")
    err = io.StringIO()
    backend = get_backend({}, err, _runner())
    assert isinstance(backend, PyslurmBackend) and err.getvalue() == ""
    [job] = backend.status("5")
    assert (job.job_id, job.state, job.restart_count, job.source) == ("5", "RUNNING", 1, "pyslurm")
    assert [j.job_id for j in backend.list("alice")] == ["5"]
    backend.cancel("5")
    assert module.jobs[5].cancelled  # type: ignore[attr-defined]


def test_backend_choice_is_validated() -> None:
    with pytest.raises(UsageError):
        get_backend({"AIHPC_BACKEND": "rest"}, io.StringIO(), _runner())
    assert get_backend({"AIHPC_BACKEND": "cli"}, io.StringIO(), _runner()).name == "cli"


# -- one listing for every backend (issue 14, defect 3) ---------------------
def _sacct_of(*job_ids: int) -> str:
    """A minimal sacct --json payload, shaped like tests/fixtures/slurm/sacct_24.11.json."""
    jobs = [
        {
            "job_id": job_id,
            "name": "demo",
            "user": "alice",
            "state": {"current": ["COMPLETED"], "reason": "None"},
            "array": {"job_id": 0, "task_id": {"set": False, "infinite": False, "number": 0}},
            "working_directory": "/shared/x/code",
        }
        for job_id in job_ids
    ]
    return json.dumps({"jobs": jobs})


def test_both_backends_list_in_the_same_numeric_order(fake_pyslurm) -> None:  # type: ignore[no-untyped-def]
    module = fake_pyslurm("24.11.2")
    module.jobs.clear()
    module.jobs.update({1000: _FakeJob(1000), 99: _FakeJob(99)})
    calls: list[list[str]] = []

    def run(argv: list[str], _timeout: float) -> Completed:
        calls.append(argv)
        if argv[0] == "sacct":
            return Completed(0, _sacct_of(100, 99), "")
        if argv[0] == "squeue":
            return Completed(0, _squeue_of(1000, 99), "")
        return Completed(0, "slurm 24.11.5\n", "")

    via_pyslurm = [j.job_id for j in PyslurmBackend(module, run).list("alice")]
    via_cli = [j.job_id for j in CliBackend(run).list("alice")]
    assert via_pyslurm == via_cli == ["99", "100", "1000"]
    # the same accounting window, owned by the base class
    sacct_calls = [c for c in calls if c[0] == "sacct"]
    assert (
        sacct_calls[0]
        == sacct_calls[1]
        == [
            "sacct",
            "--json",
            "--user=alice",
            f"--starttime={LIST_SINCE}",
        ]
    )


def _squeue_of(*job_ids: int) -> str:
    payload = json.loads(_sacct_of(*job_ids))
    for job in payload["jobs"]:
        job["job_state"] = ["RUNNING"]
        job["user_name"] = "alice"
        job["current_working_directory"] = "/shared/x/code"
    return json.dumps(payload)


def test_pyslurm_status_falls_back_to_accounting(fake_pyslurm) -> None:  # type: ignore[no-untyped-def]
    module = fake_pyslurm("24.11.2")

    def run(argv: list[str], _timeout: float) -> Completed:
        return Completed(0, _sacct_of(42), "") if argv[0] == "sacct" else Completed(1, "", "")

    [job] = PyslurmBackend(module, run).status("42")  # not in the controller any more
    assert (job.job_id, job.source) == ("42", "sacct")
