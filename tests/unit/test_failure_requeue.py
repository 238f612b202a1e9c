"""Node failure, program error and preemption through the real rendered batch script.

srun and scontrol are the stand-ins of tests/unit/jobrun.py. `scontrol show
nodes --json` and `show job --json` answer with records shaped like the
recorded 24.11 replies (tests/fixtures/slurm/scontrol_show_nodes_24.11.json,
squeue_24.11.json): state lists, `port`, `preempt_time` envelopes. A healthy
node's slurmd is a listening socket on 127.0.0.1; a dead node's is a port
nobody listens on (connection refused, as when slurmd is gone). The job-side
probe (aihpc/jobside/probe.py) really runs, with the job directory's copy
of aihpc.slurm.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aihpc.layout import TASK_LOG
from tests.unit import jobrun
from tests.unit.jobrun import Call


def failing_trainer(launcher: str) -> str:
    """A task that raises at step 5, writing its traceback to task 0's log:
    rank-0.log for srun; under torchrun the task is the node's agent, whose
    log (srun --output) is node-0.log, and it exits non-zero when a worker raises."""
    log = f'"$AIHPC_LOG_DIR/{TASK_LOG[launcher].format(0)}"'
    return (
        f'echo "Traceback (most recent call last):" >> {log}; '
        f'echo "ValueError: step 5" >> {log}; exit 1'
    )


# Both launchers run their task under the same wrapper and are judged alike.
LAUNCHERS = pytest.mark.parametrize("launcher", ["srun", "torchrun"])
# Started, then waits for the checkpoint flag, "saves" and exits 0.
POLITE = (
    'touch "$AIHPC_RUN_DIR/started"; '
    'while [ ! -e "$AIHPC_CHECKPOINT_FLAG" ]; do sleep 0.02; done; '
    'echo saved > "$AIHPC_CHECKPOINT_DIR/ckpt"'
)


@pytest.fixture
def slurmd() -> Iterator[int]:
    """A port where a 'slurmd' accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: connections are refused


def node(name: str, port: int, state: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "state": state or ["ALLOCATED"],
        "address": "127.0.0.1",
        "port": port,
        "reason": "",
        "partitions": ["gpu"],
    }


def write_nodes(tmp: Path, *nodes: dict[str, Any]) -> str:
    path = tmp / "nodes.json"
    path.write_text(json.dumps({"nodes": list(nodes), "errors": [], "warnings": []}))
    return str(path)


def write_job(tmp: Path, preempted: bool) -> str:
    path = tmp / "job.json"
    when = 1733000000 if preempted else 0
    job = {
        "job_id": 4242,
        "name": "job",
        "user_name": "tester",
        "job_state": ["RUNNING"],
        "preempt_time": {"set": True, "infinite": False, "number": when},
        "batch_host": "node1",
    }
    path.write_text(json.dumps({"jobs": [job], "errors": [], "warnings": []}))
    return str(path)


def setup(tmp: Path, max_restarts: int = 2, launcher: str = "srun") -> Any:
    spec = jobrun.spec_for(
        tmp,
        launcher=launcher,
        checkpoint={"signal_before": 20, "max_restarts": max_restarts},
    )
    return jobrun.prepare(spec, jobrun.project_dir(tmp))


def scontrol(calls: list[Call], verb: str) -> list[list[str]]:
    return [c.argv for c in calls if c.name == "scontrol" and c.argv[:1] == [verb]]


def restarts(request: Any) -> list[dict[str, Any]]:
    path = Path(request.job_dir) / "run" / "restarts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@LAUNCHERS
def test_node_failure_excludes_the_dead_node_and_requeues(
    tmp_path: Path, slurmd: int, launcher: str
) -> None:
    request = setup(tmp_path, launcher=launcher)
    env = jobrun.base_env(
        tmp_path,
        STUB_TRAINER="exit 1",  # gloo's "Connection reset by peer" on a survivor
        STUB_NODES_JSON=write_nodes(tmp_path, node("node1", slurmd), node("node2", dead_port())),
    )
    run = jobrun.run_script(request, env)
    assert run.returncode == 0, run.stderr
    assert scontrol(run.calls, "requeue") == [["requeue", "4242"]]
    # Tried before the requeue (running) and after it (pending): ExcNodeList
    # can only be changed while the job is pending.
    assert scontrol(run.calls, "update") == [["update", "JobId=4242", "ExcNodeList=node2"]] * 2
    assert "node node2 is unhealthy: slurmd at 127.0.0.1:" in run.stderr
    assert "requeuing 4242 (restart 1 of 2) after node_failure" in run.stderr
    (row,) = restarts(request)
    assert row["cause"] == "node_failure" and row["requeued"] is True
    assert row["nodes"] == "node2" and row["step_exit"] == 1 and row["job_id"] == "4242"
    assert not (Path(request.job_dir) / "run" / "failure.log").exists()
    # The launcher under test ran as the step's task (the torchrun agent, or the program).
    agents = [c for c in run.calls if c.name == "torchrun"]
    assert len(agents) == (1 if launcher == "torchrun" else 0), [c.name for c in run.calls]


def test_a_dead_node_ends_a_hanging_srun_at_once(tmp_path: Path, slurmd: int) -> None:
    """srun would wait for the lost node's tasks; the script does not."""
    request = setup(tmp_path)
    env = jobrun.base_env(
        tmp_path,
        STUB_TRAINER="exit 1",
        STUB_SRUN_HANG="60",
        STUB_NODES_JSON=write_nodes(tmp_path, node("node1", slurmd), node("node2", dead_port())),
    )
    started = time.monotonic()
    run = jobrun.run_script(request, env, timeout=50)
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    assert elapsed < 20, elapsed  # srun alone would have taken 60 s
    assert "a task failed and node2 is unhealthy: ending the step" in run.stderr
    assert scontrol(run.calls, "requeue") == [["requeue", "4242"]]


def test_drained_or_not_responding_nodes_count_as_failed(tmp_path: Path, slurmd: int) -> None:
    request = setup(tmp_path)
    nodes = write_nodes(
        tmp_path,
        node("node1", slurmd, ["MIXED", "DRAIN"]),
        node("node2", slurmd, ["ALLOCATED", "NOT_RESPONDING"]),
    )
    env = jobrun.base_env(tmp_path, STUB_TRAINER="exit 1", STUB_NODES_JSON=nodes)
    run = jobrun.run_script(request, env)
    assert run.returncode == 0, run.stderr
    assert ["update", "JobId=4242", "ExcNodeList=node1,node2"] in scontrol(run.calls, "update")


@LAUNCHERS
def test_program_error_fails_fast_with_the_traceback(
    tmp_path: Path, slurmd: int, launcher: str
) -> None:
    request = setup(tmp_path, launcher=launcher)
    env = jobrun.base_env(
        tmp_path,
        STUB_TRAINER=failing_trainer(launcher),
        STUB_NODES_JSON=write_nodes(tmp_path, node("node1", slurmd), node("node2", slurmd)),
    )
    run = jobrun.run_script(request, env)
    assert run.returncode == 1
    assert scontrol(run.calls, "requeue") == []
    failure = (Path(request.job_dir) / "run" / "failure.log").read_text()
    assert "task 0 on" in failure and "every node was healthy" in failure
    assert failure.rstrip().endswith("ValueError: step 5")
    assert "ValueError: step 5" in run.stderr  # the batch log too
    (row,) = restarts(request)
    assert row["cause"] == "program_error" and row["requeued"] is False


def test_unknown_node_health_is_not_requeued(tmp_path: Path) -> None:
    """scontrol answers nothing useful: do not loop through requeues on a guess."""
    request = setup(tmp_path)
    run = jobrun.run_script(request, jobrun.base_env(tmp_path, STUB_TRAINER="exit 3"))
    assert run.returncode == 3
    assert scontrol(run.calls, "requeue") == []
    assert "cannot judge node health" in run.stderr


def test_node_failures_stop_at_max_restarts(tmp_path: Path, slurmd: int) -> None:
    request = setup(tmp_path, max_restarts=1)
    env = jobrun.base_env(
        tmp_path,
        STUB_TRAINER="exit 1",
        SLURM_RESTART_COUNT="1",
        STUB_NODES_JSON=write_nodes(tmp_path, node("node1", slurmd), node("node2", dead_port())),
    )
    run = jobrun.run_script(request, env)
    assert run.returncode == 1
    assert scontrol(run.calls, "requeue") == []
    assert "not requeuing 4242: restart 1 reached max_restarts 1 (node_failure)" in run.stderr
    (row,) = restarts(request)
    assert row["requeued"] is False


def test_an_earlier_exclusion_is_dropped_once_the_node_is_back(tmp_path: Path, slurmd: int) -> None:
    request = setup(tmp_path)
    run_dir = Path(request.job_dir) / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "excluded-nodes").write_text("node9\n")  # excluded by the first failure
    # node9 is healthy again; this time node2 died.
    nodes = write_nodes(
        tmp_path, node("node1", slurmd), node("node2", dead_port()), node("node9", slurmd)
    )
    env = jobrun.base_env(
        tmp_path, STUB_TRAINER="exit 1", SLURM_RESTART_COUNT="1", STUB_NODES_JSON=nodes
    )
    run = jobrun.run_script(request, env)
    assert run.returncode == 0, run.stderr
    assert scontrol(run.calls, "update")[-1] == ["update", "JobId=4242", "ExcNodeList=node2"]


def _start(tmp: Path, request: Any, **extra: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = jobrun.base_env(tmp, STUB_TRAINER=POLITE, **extra)
    proc = subprocess.Popen(
        ["bash", request.script_path],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started = Path(request.job_dir) / "run" / "started"
    deadline = time.monotonic() + 15
    while not started.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "trainer never started"
        time.sleep(0.02)
    return proc, env


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM])
def test_preemption_requeues_beyond_max_restarts(tmp_path: Path, sig: signal.Signals) -> None:
    """USR1 (send_user_signal) or TERM: checkpoint, then requeue; not counted."""
    request = setup(tmp_path, max_restarts=1)
    proc, env = _start(
        tmp_path, request, SLURM_RESTART_COUNT="1", STUB_JOB_JSON=write_job(tmp_path, True)
    )
    os.kill(proc.pid, sig)
    code, err = _finish(proc)
    assert code == 0, err
    calls = jobrun.read_calls(Path(env["STUB_CALLS"]))
    assert scontrol(calls, "requeue") == [["requeue", "4242"]]
    assert "requeuing 4242 after preemption (not counted against max_restarts)" in err
    assert (Path(request.job_dir) / "checkpoints" / "ckpt").read_text() == "saved\n"
    (row,) = restarts(request)
    assert row["cause"] == "preemption" and row["requeued"] is True


def test_preemptions_do_not_use_up_max_restarts(tmp_path: Path) -> None:
    request = setup(tmp_path, max_restarts=1)
    run_dir = Path(request.job_dir) / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "restarts.jsonl").write_text(
        '{"time": 1, "job_id": "4242", "restart_count": 0, "cause": "preemption", '
        '"requeued": true, "nodes": "", "step_exit": 0}\n'
    )
    proc, _env = _start(
        tmp_path, request, SLURM_RESTART_COUNT="1", STUB_JOB_JSON=write_job(tmp_path, False)
    )
    os.kill(proc.pid, signal.SIGUSR1)  # the time limit this time
    code, err = _finish(proc)
    assert code == 0, err
    assert "requeuing 4242 (restart 1 of 1) after time_limit" in err
    assert [r["cause"] for r in restarts(request)] == ["preemption", "time_limit"]


def test_term_without_preemption_is_not_requeued(tmp_path: Path) -> None:
    """scancel or the end of the time limit: Slurm decides, the script does not requeue."""
    request = setup(tmp_path)
    proc, env = _start(tmp_path, request, STUB_JOB_JSON=write_job(tmp_path, False))
    os.kill(proc.pid, signal.SIGTERM)
    code, err = _finish(proc)
    assert code == 0, err
    assert scontrol(jobrun.read_calls(Path(env["STUB_CALLS"])), "requeue") == []
    assert "TERM without preemption" in err
