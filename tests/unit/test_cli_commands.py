"""Every command end to end in-process, with a fake backend standing in for Slurm."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aihpc.cli.commands import COMMANDS
from aihpc.errors import ClusterError, JobNotFoundError
from aihpc.request.model import JobRequest
from aihpc.slurm.jobs import JobInfo, SubmitResult
from tests.unit.cli_helpers import run_cli

SPEC = """\
name: demo
script: train.py
args: ["--steps", "60"]
nodes: 2
gpus_per_node: 0
procs_per_node: 2
checkpoint: {signal_before: 120}
"""


class FakeBackend:
    name = "fake"

    def __init__(self) -> None:
        self.submitted: list[JobRequest] = []
        self.fail_submit: Exception | None = None
        self.on_submit: Callable[[JobRequest], None] | None = None
        self.jobs: dict[str, list[JobInfo]] = {}
        self.cancelled: list[str] = []
        self.log_calls: list[tuple[str, bool, int | None]] = []

    def submit(self, request: JobRequest) -> SubmitResult:
        # What sbatch needs must exist by now: the script, log dir and code copy.
        assert Path(request.script_path).is_file()
        assert (Path(request.job_dir) / "logs").is_dir()
        if self.fail_submit:
            raise self.fail_submit
        self.submitted.append(request)
        if self.on_submit:
            self.on_submit(request)
        return SubmitResult("77", None)

    def status(self, job_id: str) -> list[JobInfo]:
        if job_id not in self.jobs:
            raise JobNotFoundError(f"job {job_id} not found in squeue or sacct")
        return self.jobs[job_id]

    def list(self, user: str) -> list[JobInfo]:
        return [j for jobs in self.jobs.values() for j in jobs if j.user == user]

    def logs(self, job_id: str, follow: bool = False, rank: int | None = 0) -> Iterator[str]:
        self.log_calls.append((job_id, follow, rank))
        yield f"log of {job_id} rank {rank}\n"

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> FakeBackend:
    fake = FakeBackend()
    import aihpc.api

    monkeypatch.setattr(aihpc.api, "backend", lambda _environ=None: fake)
    monkeypatch.setattr(aihpc.api, "current_user", lambda: "alice")
    return fake


@pytest.fixture
def spec(write_spec: Callable[..., Path], profile_file: Path) -> Path:
    del profile_file  # requested for its side effect: AIHPC_CLUSTER_PROFILE set
    return write_spec(SPEC)


def _job_dirs(shared: Path) -> list[Path]:
    root = shared / "aihpc" / "jobs" / "alice"
    return sorted(root.iterdir()) if root.exists() else []


def test_dry_run_prints_script_and_argv_and_touches_nothing(
    spec: Path, shared: Path, backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["submit", str(spec), "--dry-run"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "# sbatch command (not run: --dry-run)"
    assert lines[1].startswith("sbatch --parsable --job-name=demo --chdir=")
    assert "--signal=B:USR1@120 --requeue" in lines[1]
    assert re.match(r"# code snapshot: 2 files, .* \(aihpcignore\)", lines[2])
    assert "#!/bin/bash" in out and "export AIHPC_JOB_NAME=demo" in out
    assert backend.submitted == [] and _job_dirs(shared) == []


@pytest.mark.usefixtures("backend")
def test_dry_run_json(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["submit", str(spec), "--dry-run", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["sbatch_argv"][0] == "sbatch"
    assert data["script"].startswith("#!/bin/bash") and data["snapshot"]["files"] == 2


def test_submit_creates_the_job_directory_then_calls_sbatch(
    spec: Path, shared: Path, backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["submit", str(spec)], capsys)
    assert code == 0
    [job_dir] = _job_dirs(shared)
    assert re.fullmatch(r"demo-\d{8}-\d{6}-[0-9a-f]{6}", job_dir.name)
    assert (job_dir / "code" / "train.py").read_text() == "print('train')\n"
    assert (job_dir / "code" / "train.yaml").exists()
    assert os.access(job_dir / "job.sbatch", os.X_OK)
    assert (job_dir / "lib" / "aihpc" / "runtime.py").is_file()
    assert (job_dir / "logs").is_dir()
    assert (job_dir / "job_id").read_text() == "77\n"
    meta = json.loads((job_dir / "aihpc-job.json").read_text())
    assert meta["world_size"] == 4 and meta["launcher"] == "srun"
    [request] = backend.submitted
    assert request.sbatch_argv[-1] == str(job_dir / "job.sbatch")
    assert f"--chdir={job_dir}/code" in request.sbatch_argv
    assert "Submitted job 77 (demo)" in out and "aihpc logs -f 77" in out


@pytest.mark.usefixtures("backend")
def test_later_edits_do_not_reach_the_submitted_job(
    spec: Path,
    project: Path,
    shared: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(["submit", str(spec)], capsys)
    (project / "train.py").write_text("print('edited later')\n")
    [job_dir] = _job_dirs(shared)
    assert (job_dir / "code" / "train.py").read_text() == "print('train')\n"


def test_sbatch_failure_exit_1_and_no_leftover_directory(
    spec: Path, shared: Path, backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.fail_submit = ClusterError("sbatch failed (exit 1): Invalid account")
    code, _, err = run_cli(["submit", str(spec)], capsys)
    assert code == 1 and "Invalid account" in err and "Traceback" not in err
    assert _job_dirs(shared) == []


@pytest.mark.usefixtures("shared")
def test_submit_sweep_json(
    spec: Path, backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        ["submit", str(spec), "-o", "sweep={lr: [1e-4, 3e-4], seed: [1, 2, 3]}", "--json"], capsys
    )
    data = json.loads(out)
    assert code == 0 and data["job_id"] == "77" and data["array_size"] == 6
    table = (Path(data["job_dir"]) / "sweep.jsonl").read_text().splitlines()
    assert json.loads(table[4]) == {
        "index": 4,
        "params": {"lr": "3e-4", "seed": "2"},
        "args": ["--lr", "3e-4", "--seed", "2"],
    }
    assert "--array=0-5" in backend.submitted[0].sbatch_argv


@pytest.mark.usefixtures("profile_file")
def test_untracked_script_is_refused_before_submit(
    project: Path, backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    spec = project / "train.yaml"
    spec.write_text(SPEC)
    code, _, err = run_cli(["submit", str(spec)], capsys)
    assert code == 2
    assert f"{spec}:2:9: script: train.py would not be in the code snapshot (git)" in err
    assert backend.submitted == []


def _job(job_id: str, state: str = "RUNNING", **kw: object) -> JobInfo:
    data: dict[str, object] = {
        "name": "demo",
        "user": "alice",
        "nodes": "gpu[1-2]",
        "start_time": 1000,
        "end_time": 1125,
    }
    data.update(kw)
    return JobInfo(job_id=job_id, state=state, **data)  # type: ignore[arg-type]


def test_status_table_json_and_not_found(
    backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.jobs["5"] = [_job("5", "COMPLETED", exit_code=0, workdir="/shared/j/x/code")]
    code, out, _ = run_cli(["status", "5"], capsys)
    assert code == 0
    assert re.search(r"^5\s+demo\s+COMPLETED\s+00:02:05\s+gpu\[1-2\]\s+exit 0$", out, re.M)
    assert "job dir: /shared/j/x" in out
    code, out, _ = run_cli(["status", "5", "--json"], capsys)
    data = json.loads(out)
    assert data["jobs"][0]["state"] == "COMPLETED" and data["jobs"][0]["terminal"] is True
    code, _, err = run_cli(["status", "6"], capsys)
    assert code == 1 and "not found" in err


def test_list(backend: FakeBackend, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["list"], capsys)
    assert code == 0 and "no jobs" in out
    backend.jobs["5"] = [
        _job("5", flags=("REQUEUED",), state="PENDING", reason="BeginTime", start_time=None)
    ]
    code, out, _ = run_cli(["list"], capsys)
    assert re.search(r"^5\s+demo\s+PENDING\+REQUEUED\s+-\s+gpu\[1-2\]\s+BeginTime$", out, re.M)
    code, out, _ = run_cli(["list", "--json"], capsys)
    assert json.loads(out)[0]["flags"] == ["REQUEUED"]


def test_logs_and_cancel(backend: FakeBackend, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["logs", "5", "-f", "--rank", "3"], capsys)
    assert code == 0 and out == "log of 5 rank 3\n"
    run_cli(["logs", "5_2", "--batch"], capsys)
    assert backend.log_calls == [("5", True, 3), ("5_2", False, None)]
    code, _, err = run_cli(["logs", "5", "--rank", "-1"], capsys)
    assert code == 2 and "Traceback" not in err
    code, out, _ = run_cli(["cancel", "5_2"], capsys)
    assert code == 0 and backend.cancelled == ["5_2"] and "cancelled 5_2" in out


@pytest.mark.usefixtures("profile_file")
def test_shell(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["shell", "--gpus", "2", "--time", "1:00:00", "--dry-run"], capsys)
    assert code == 0
    assert out.strip() == (
        "srun --pty --partition=gpu --nodes=1 --ntasks=1 --gres=gpu:2 --time=1:00:00 bash -l"
    )
    code, _, err = run_cli(["shell", "--gpus", "8", "--dry-run"], capsys)
    assert code == 2 and "nodes have 4" in err
    code, _, err = run_cli(["shell", "-p", "cpu", "--dry-run"], capsys)
    assert code == 2 and "partition 'cpu' does not exist" in err


@pytest.mark.usefixtures("profile_file")
def test_shell_execs_srun(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[list[str]] = []

    def fake_exec(_file: str, argv: list[str]) -> None:
        seen.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvp", fake_exec)
    code, _, _ = run_cli(["shell"], capsys)
    assert code == 0 and seen == [
        ["srun", "--pty", "--partition=gpu", "--nodes=1", "--ntasks=1", "bash", "-l"]
    ]


@pytest.mark.usefixtures("profile_file", "shared")
def test_jupyter_submits_waits_and_prints_tunnel(
    backend: FakeBackend,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)

    def started(request: JobRequest) -> None:  # the job writing its connection file
        info = {"host": "gpu1", "port": 24242, "token": "t0k"}
        (Path(request.job_dir) / "jupyter.json").write_text(json.dumps(info))

    backend.on_submit = started
    code, out, _ = run_cli(["jupyter", "--time", "2:00:00", "--setup", "module load lab"], capsys)
    assert code == 0, out
    assert "ssh -N -L 24242:gpu1:24242 alice@ctl1" in out
    assert "http://localhost:24242/lab?token=t0k" in out
    [request] = backend.submitted
    assert "--time=2:00:00" in request.sbatch_argv and "module load lab" in request.script


@pytest.mark.usefixtures("profile_file")
def test_jupyter_job_that_dies_is_reported(
    backend: FakeBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.jobs["77"] = [_job("77", "FAILED", exit_code=1)]
    code, _, err = run_cli(["jupyter"], capsys)
    assert code == 1 and "ended before starting" in err


@pytest.mark.usefixtures("profile_file")
def test_jupyter_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["jupyter", "--dry-run", "--mem", "bogus"], capsys)
    assert code == 2
    code, out, _ = run_cli(["jupyter", "--dry-run", "--gpus", "1"], capsys)
    assert code == 0 and "--gres=gpu:1" in out and "python3 -m jupyterlab" in out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([command, "--help"], capsys)
    assert code == 0 and "Examples:" in out and f"aihpc {command}" in out


def test_top_level_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0 and "_AIHPC_COMPLETE=bash_source aihpc" in out
    assert all(name in out for name in COMMANDS)
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and "0.1.0" in out
    code, _, err = run_cli(["frobnicate"], capsys)
    assert code == 2 and "No such command" in err


def test_unexpected_errors_are_one_line(
    spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import aihpc.api

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(aihpc.api, "load", boom)
    code, _, err = run_cli(["submit", str(spec)], capsys)
    assert code == 1 and "internal error: RuntimeError: kaboom" in err
    assert "Traceback" not in err


def test_shell_completion_script() -> None:
    import sys

    env = dict(os.environ, _AIHPC_COMPLETE="bash_source")
    out = subprocess.run([sys.executable, "-m", "aihpc"], env=env, capture_output=True, text=True)
    assert "_aihpc_completion" in out.stdout or "complete" in out.stdout
    env = dict(os.environ, _AIHPC_COMPLETE="bash_complete", COMP_WORDS="aihpc su", COMP_CWORD="1")
    out = subprocess.run([sys.executable, "-m", "aihpc"], env=env, capture_output=True, text=True)
    assert "submit" in out.stdout


def test_fast_help_is_what_click_renders(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aihpc --help` skips importing click; its text must be click's own."""
    from aihpc.cli.app import run
    from aihpc.cli.main import FAST_HELP

    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exc:
        run(["--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == FAST_HELP
    with pytest.raises(SystemExit):
        run(["--version"])
    click_version = capsys.readouterr().out
    code, fast_version, _ = run_cli(["--version"], capsys)
    assert code == 0 and fast_version == click_version


@pytest.mark.usefixtures("shared")
def test_submit_through_a_fake_sbatch_binary(
    spec: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The real CLI backend and subprocess path, with `sbatch` a script on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$@\" > {tmp_path / 'sbatch.argv'}\n"
        "echo 'sbatch: site wrapper: remember to cite the cluster' >&2\n"
        "echo '4242;aihpc-local'\n"
    )
    sbatch.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("AIHPC_BACKEND", "cli")
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    code, out, err = run_cli(["submit", str(spec), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert (data["job_id"], data["cluster"]) == ("4242", "aihpc-local")
    argv = (tmp_path / "sbatch.argv").read_text().splitlines()
    assert argv[0] == "--parsable" and argv[-1] == f"{data['job_dir']}/job.sbatch"
    assert (Path(data["job_dir"]) / "job_id").read_text() == "4242;aihpc-local\n"


def test_dry_run_without_a_profile_previews_with_a_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14 defect 8: on a laptop, `--dry-run` failed on `{shared}` in jobs_dir."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print('train')\n")
    spec = project / "train.yaml"
    spec.write_text("name: demo\nscript: train.py\nnodes: 2\n")
    code, out, err = run_cli(["submit", str(spec), "--dry-run"], capsys)
    assert code == 0, err
    assert err == (
        f"aihpc: note: no cluster profile at {tmp_path / 'no-profile.yaml'}: preview only: "
        "{shared} left as written, no partition default and no partition limits checked\n"
    )
    assert "'{shared}/aihpc/jobs/" in out and "#!/bin/bash" in out
    # A real submit still refuses: the placeholder cannot be expanded.
    code, _, err = run_cli(["submit", str(spec)], capsys)
    assert code == 2 and "unknown placeholder {shared} (no cluster profile was found)" in err


def test_checks_only_check() -> None:
    """Issue 14 defect 5 and structure 3: checks.run takes what it uses and returns issues."""
    import inspect

    from aihpc.spec import checks

    params = list(inspect.signature(checks.run).parameters)
    assert params == ["spec", "resolved", "locate", "profile", "preview", "user"]
    assert inspect.signature(checks.run).return_annotation == "list[SpecIssue]"
