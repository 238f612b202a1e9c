"""aihpc.runtime (imported by training code) and the job-side helper scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aihpc import runtime
from aihpc.jobside import jupyter_info, sweep_args
from aihpc.request import sweep
from tests.unit.conftest import REPO


@pytest.fixture(autouse=True)
def _reset() -> None:
    runtime._reset_for_tests()


def test_defaults_outside_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert not runtime.in_job() and runtime.job_dir() is None
    assert runtime.checkpoint_dir() == Path("checkpoints") and (tmp_path / "checkpoints").is_dir()
    assert runtime.restart_count() == 0
    info = runtime.rank_info()
    assert (info.rank, info.world_size, info.master_port, info.is_main) == (0, 1, 29500, True)
    assert runtime.checkpoint_requested() is False
    assert runtime.sweep_params() == {}


def test_values_from_the_job_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIHPC_JOB_DIR", str(tmp_path))
    monkeypatch.setenv("AIHPC_CHECKPOINT_DIR", str(tmp_path / "ck"))
    monkeypatch.setenv("AIHPC_RESTART_COUNT", "2")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("MASTER_ADDR", "gpu1")
    monkeypatch.setenv("MASTER_PORT", "14242")
    assert runtime.in_job() and runtime.job_dir() == tmp_path
    assert runtime.checkpoint_dir() == tmp_path / "ck"
    assert runtime.restart_count() == 2
    info = runtime.rank_info()
    assert (info.rank, info.local_rank, info.world_size, info.master_addr, info.master_port) == (
        3,
        1,
        4,
        "gpu1",
        14242,
    )
    assert not info.is_main


def test_rank_info_falls_back_to_slurm(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "GROUP_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLURM_PROCID", "5")
    monkeypatch.setenv("SLURM_LOCALID", "1")
    monkeypatch.setenv("SLURM_NTASKS", "8")
    monkeypatch.setenv("SLURM_NODEID", "2")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "4")
    info = runtime.rank_info()
    assert (info.rank, info.local_rank, info.world_size, info.node_rank) == (5, 1, 8, 2)
    assert runtime.restart_count() == 4


def test_checkpoint_flag_is_polled_and_sticky(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = tmp_path / "checkpoint-requested"
    monkeypatch.setenv("AIHPC_CHECKPOINT_FLAG", str(flag))
    clock = [100.0]
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock[0])
    assert runtime.checkpoint_requested() is False
    flag.touch()
    clock[0] += 0.5
    assert runtime.checkpoint_requested() is False  # at most one stat per second
    clock[0] += 0.6
    assert runtime.checkpoint_requested() is True
    flag.unlink()
    assert runtime.checkpoint_requested() is True  # once asked, stays asked


def test_poll_interval_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = tmp_path / "flag"
    monkeypatch.setenv("AIHPC_CHECKPOINT_FLAG", str(flag))
    monkeypatch.setenv("AIHPC_CHECKPOINT_POLL", "0")
    assert runtime.checkpoint_requested() is False
    flag.touch()
    assert runtime.checkpoint_requested() is True


def test_sweep_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "sweep.jsonl"
    table.write_text(sweep.table(sweep.expand({"lr": ["1e-4", "3e-4"], "seed": ["1"]})))
    monkeypatch.setenv("AIHPC_SWEEP_TABLE", str(table))
    monkeypatch.setenv("AIHPC_TASK_ID", "1")
    assert runtime.sweep_params() == {"lr": "3e-4", "seed": "1"}


def test_atomic_path_keeps_old_file_on_failure(tmp_path: Path) -> None:
    tmp_path = tmp_path / "ck"
    tmp_path.mkdir()
    target = tmp_path / "ckpt.pt"
    target.write_text("old")
    with pytest.raises(RuntimeError), runtime.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed while saving")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with runtime.atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]


def test_runtime_imports_nothing_heavy() -> None:
    """Training code imports aihpc.runtime: it must not drag in the CLI's dependencies."""
    code = (
        "import sys, aihpc.runtime as r; r.rank_info(); "
        "heavy = [m for m in ('pydantic', 'jinja2', 'yaml', 'click', 'rich', 'aihpc.spec', "
        "'aihpc.backend', 'aihpc.errors') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_jobside_copy_runs_standalone(tmp_path: Path) -> None:
    """The job-side copy works with -I (no site-packages, no aihpc installed)."""
    from aihpc import jobdir

    jobdir.install_jobside(tmp_path)
    code = "import aihpc.runtime as r, aihpc; print(r.restart_count(), aihpc.__file__)"
    out = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path / 'lib')!r}); {code}",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.startswith("0 " + str(tmp_path / "lib"))


def test_sweep_args_prints_nul_separated_words(tmp_path: Path) -> None:
    rows = sweep.expand({"lr": ["1e-4", ""], "tag": ["a b\nc"]})
    table = tmp_path / "sweep.jsonl"
    table.write_text(sweep.table(rows))
    script = REPO / "aihpc" / "jobside" / "sweep_args.py"
    out = subprocess.run(
        [sys.executable, "-I", str(script), str(table), "1"], capture_output=True, check=True
    )
    assert out.stdout == b"--lr\0\0--tag\0a b\nc\0"
    missing = subprocess.run(
        [sys.executable, "-I", str(script), str(table), "9"], capture_output=True
    )
    assert missing.returncode == 2 and b"no row 9" in missing.stderr
    assert sweep_args.main(["x"]) == 2


def test_jupyter_info_writes_private_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jupyter.json"
    assert jupyter_info.main(["x", str(out), "gpu1", "21234"]) == 0
    token = capsys.readouterr().out.strip()
    data = json.loads(out.read_text())
    assert data == {"host": "gpu1", "port": 21234, "token": token} and len(token) == 48
    assert out.stat().st_mode & 0o777 == 0o600


def test_sweep_expansion_order_and_array_spec() -> None:
    rows = sweep.expand({"lr": ["1", "2"], "seed": ["a", "b", "c"]})
    assert [dict(r.params) for r in rows][:4] == [
        {"lr": "1", "seed": "a"},
        {"lr": "1", "seed": "b"},
        {"lr": "1", "seed": "c"},
        {"lr": "2", "seed": "a"},
    ]
    assert rows[5].args == ("--lr", "2", "--seed", "c")
    assert sweep.expand(None) == () and sweep.expand({}) == ()
    assert sweep.array_spec(6, None) == "0-5" and sweep.array_spec(100, 4) == "0-99%4"


def test_mark_complete_creates_the_flag_the_batch_script_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = tmp_path / "run" / "complete"
    flag.parent.mkdir()
    monkeypatch.setenv("AIHPC_COMPLETE_FLAG", str(flag))
    runtime.mark_complete()
    assert flag.exists()


def test_mark_complete_outside_a_job_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIHPC_COMPLETE_FLAG", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    runtime.mark_complete()
    assert list(cwd.iterdir()) == []
