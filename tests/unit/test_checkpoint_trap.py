"""The batch script's USR1 path, executed for real with stubbed Slurm commands.

USR1 to the batch shell -> flag file -> the (fake) trainer saves and exits ->
`scontrol requeue <id>` (array-aware), bounded by max_restarts; a trainer
that ignores the flag is requeued after the grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.unit import jobrun
from tests.unit.jobrun import Call

# The fake trainer: announce start, wait for the flag, "save", exit 0.
POLITE = (
    'touch "$AIHPC_RUN_DIR/started"; '
    'while [ ! -e "$AIHPC_CHECKPOINT_FLAG" ]; do sleep 0.02; done; '
    'echo saved > "$AIHPC_CHECKPOINT_DIR/ckpt"'
)
# Ignores the flag; only the watchdog's requeue (which in Slurm kills the job) stops it.
STUBBORN = 'touch "$AIHPC_RUN_DIR/started"; sleep 30'


def _start(tmp: Path, trainer: str, signal_before: int = 20, max_restarts: int = 2, **env: str):  # type: ignore[no-untyped-def]
    spec = jobrun.spec_for(
        tmp, checkpoint={"signal_before": signal_before, "max_restarts": max_restarts}
    )
    request = jobrun.prepare(spec, jobrun.project_dir(tmp))
    full_env = jobrun.base_env(tmp, STUB_TRAINER=trainer, **env)
    proc = subprocess.Popen(
        ["bash", request.script_path],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so the test can clean up the whole group
    )
    task = env.get("SLURM_ARRAY_TASK_ID")
    run_dir = Path(request.job_dir) / "run" / (f"task-{task}" if task else "")
    deadline = time.monotonic() + 15
    while not (run_dir / "started").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "trainer never started"
        time.sleep(0.02)
    return request, proc, full_env


def _finish(proc: subprocess.Popen[str], timeout: float = 15) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc.returncode, err


def _requeues(calls: list[Call]) -> list[list[str]]:
    return [c.argv for c in calls if c.name == "scontrol" and c.argv[:1] == ["requeue"]]


def test_usr1_checkpoints_then_requeues(tmp_path: Path) -> None:
    request, proc, env = _start(tmp_path, POLITE)
    os.kill(proc.pid, signal.SIGUSR1)
    code, err = _finish(proc)
    assert code == 0, err
    calls = jobrun.read_calls(Path(env["STUB_CALLS"]))
    assert _requeues(calls) == [["requeue", "4242"]]
    assert (Path(request.job_dir) / "checkpoints" / "ckpt").read_text() == "saved\n"
    assert "requeuing 4242 (restart 1 of 2)" in err


def test_array_task_requeues_itself_not_the_array(tmp_path: Path) -> None:
    request, proc, env = _start(
        tmp_path, POLITE, SLURM_ARRAY_JOB_ID="4000", SLURM_ARRAY_TASK_ID="3"
    )
    os.kill(proc.pid, signal.SIGUSR1)
    code, err = _finish(proc)
    assert code == 0, err
    assert _requeues(jobrun.read_calls(Path(env["STUB_CALLS"]))) == [["requeue", "4000_3"]]
    assert (Path(request.job_dir) / "checkpoints" / "task-3" / "ckpt").exists()


def test_max_restarts_bounds_requeue(tmp_path: Path) -> None:
    _, proc, env = _start(tmp_path, POLITE, max_restarts=2, SLURM_RESTART_COUNT="2")
    os.kill(proc.pid, signal.SIGUSR1)
    code, err = _finish(proc)
    assert code == 0  # the trainer's own status: it saved and exited cleanly
    assert _requeues(jobrun.read_calls(Path(env["STUB_CALLS"]))) == []
    assert "not requeuing 4242: restart 2 reached max_restarts 2" in err


def test_trainer_ignoring_the_flag_is_requeued_after_grace(tmp_path: Path) -> None:
    # signal_before 2 -> grace max(1, 2 - 60) = 1 s
    _, proc, env = _start(tmp_path, STUBBORN, signal_before=2)
    os.kill(proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    calls_dir = Path(env["STUB_CALLS"])
    while not _requeues(jobrun.read_calls(calls_dir)):
        assert time.monotonic() < deadline, "watchdog never requeued"
        time.sleep(0.05)
    # In Slurm the requeue ends the job; here we end it ourselves.
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert _requeues(jobrun.read_calls(calls_dir)) == [["requeue", "4242"]]


# Finishes training (marks it complete), then the request arrives while it exits.
FINISHED_LATE = (
    'touch "$AIHPC_RUN_DIR/started"; '
    'touch "$AIHPC_COMPLETE_FLAG"; '
    'while [ ! -e "$AIHPC_CHECKPOINT_FLAG" ]; do sleep 0.02; done'
)


def test_a_request_after_training_finished_does_not_requeue(tmp_path: Path) -> None:
    _, proc, env = _start(tmp_path, FINISHED_LATE)
    os.kill(proc.pid, signal.SIGUSR1)
    code, err = _finish(proc)
    assert code == 0, err
    assert _requeues(jobrun.read_calls(Path(env["STUB_CALLS"]))) == []
    assert "training had finished; not requeuing" in err


def test_a_failed_step_after_the_request_is_requeued_even_if_marked(tmp_path: Path) -> None:
    # Marked complete but the step failed (e.g. a rank died in teardown):
    # requeue, the rerun resumes from the last checkpoint.
    _, proc, env = _start(tmp_path, FINISHED_LATE + "; exit 5")
    os.kill(proc.pid, signal.SIGUSR1)
    code, err = _finish(proc)
    assert code == 0, err
    assert _requeues(jobrun.read_calls(Path(env["STUB_CALLS"]))) == [["requeue", "4242"]]


def test_second_usr1_is_ignored(tmp_path: Path) -> None:
    _, proc, env = _start(tmp_path, POLITE + "; sleep 0.3")
    os.kill(proc.pid, signal.SIGUSR1)
    time.sleep(0.1)
    os.kill(proc.pid, signal.SIGUSR1)
    code, err = _finish(proc)
    assert code == 0, err
    assert len(_requeues(jobrun.read_calls(Path(env["STUB_CALLS"])))) == 1


def test_stale_flag_from_before_a_requeue_is_removed(tmp_path: Path) -> None:
    spec = jobrun.spec_for(tmp_path, checkpoint={})
    request = jobrun.prepare(spec, jobrun.project_dir(tmp_path))
    flag = Path(request.job_dir) / "run" / "checkpoint-requested"
    flag.parent.mkdir(parents=True)
    flag.touch()
    (flag.parent / "complete").touch()
    trainer = 'if [ -e "$AIHPC_CHECKPOINT_FLAG" ] || [ -e "$AIHPC_COMPLETE_FLAG" ]; then exit 7; fi'
    run = jobrun.run_script(
        request, jobrun.base_env(tmp_path, STUB_TRAINER=trainer, SLURM_RESTART_COUNT="1")
    )
    assert run.returncode == 0, run.stderr
    assert run.calls[-1].env["AIHPC_RESTART_COUNT"] == "1"


@pytest.mark.parametrize("status", ["0", "3"])
def test_without_signal_the_trainer_status_is_the_job_status(tmp_path: Path, status: str) -> None:
    spec = jobrun.spec_for(tmp_path, checkpoint={})
    request = jobrun.prepare(spec, jobrun.project_dir(tmp_path))
    run = jobrun.run_script(request, jobrun.base_env(tmp_path, STUB_TRAINER=f"exit {status}"))
    assert run.returncode == int(status)
    assert _requeues(run.calls) == []
