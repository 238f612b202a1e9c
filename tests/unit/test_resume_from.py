"""`resume_from` / `--resume-from`: the earlier job's complete checkpoints, same user only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aihpc.backend import logs as joblogs
from aihpc.cli import fast_submit
from aihpc.cli.submit_run import resume_override
from aihpc.errors import UsageError
from aihpc.request import resume
from aihpc.slurm.jobs import JobInfo
from aihpc.spec.model import TrainSpec


def earlier_job(tmp: Path, user: str = "tester", files: dict[str, bytes] | None = None) -> JobInfo:
    job_dir = tmp / "jobs" / "ddp-20250101-000000-aaaaaa"
    ckpt = job_dir / "checkpoints"
    ckpt.mkdir(parents=True)
    (job_dir / "code").mkdir()
    meta = {"checkpoint_dir": str(ckpt), "array_size": 0, "launcher": "srun"}
    (job_dir / "aihpc-job.json").write_text(json.dumps(meta))
    for name, data in (files or {}).items():
        (ckpt / name).write_bytes(data)
    return JobInfo(
        job_id="77", name="ddp", user=user, state="FAILED", workdir=str(job_dir / "code")
    )


def test_resume_links_only_complete_checkpoints(tmp_path: Path) -> None:
    info = earlier_job(tmp_path, files={"ckpt.pt": b"good", ".ckpt.pt.abc123": b"torn"})
    plan = resume.plan_resume("77", [info], "tester")
    assert plan.entries == ("ckpt.pt",)
    dest = tmp_path / "new" / "checkpoints"
    resume.install(plan, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["ckpt.pt"]
    assert (dest / "ckpt.pt").read_bytes() == b"good"
    assert (dest / "ckpt.pt").stat().st_ino == (Path(plan.source_dir) / "ckpt.pt").stat().st_ino


def test_another_users_job_is_refused(tmp_path: Path) -> None:
    info = earlier_job(tmp_path, user="bob", files={"ckpt.pt": b"x"})
    with pytest.raises(UsageError, match="job 77 belongs to bob, not to you"):
        resume.plan_resume("77", [info], "tester")


def test_a_job_without_a_usable_checkpoint_is_refused(tmp_path: Path) -> None:
    info = earlier_job(tmp_path, files={".ckpt.pt.abc123": b"torn"})
    with pytest.raises(UsageError, match="job 77 has no usable checkpoint"):
        resume.plan_resume("77", [info], "tester")


def test_a_job_not_submitted_by_aihpc_is_refused(tmp_path: Path) -> None:
    info = JobInfo(job_id="78", name="x", user="tester", state="FAILED", workdir=str(tmp_path))
    with pytest.raises(UsageError, match="not submitted by aihpc"):
        resume.plan_resume("78", [info], "tester")


def test_spec_key_takes_a_number_or_a_string() -> None:
    base = {"name": "j", "script": "t.py"}
    assert TrainSpec.model_validate({**base, "resume_from": 1234}).resume_from == "1234"
    assert TrainSpec.model_validate({**base, "resume_from": "12_3"}).resume_from == "12_3"
    with pytest.raises(Exception, match="must be a job id"):
        TrainSpec.model_validate({**base, "resume_from": "12; rm"})


def test_both_submit_paths_take_resume_from() -> None:
    parsed = fast_submit.parse(["train.yaml", "--resume-from", "42", "-o", "nodes=2"])
    assert parsed is not None and parsed.resume_from == "42"
    parsed = fast_submit.parse(["--resume-from=43", "train.yaml"])
    assert parsed is not None and parsed.resume_from == "43"
    assert fast_submit.parse(["train.yaml", "--resume-from"]) is None  # click says what is missing
    assert resume_override("42") == ('resume_from="42"',)


def test_status_reads_restart_causes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "restarts.jsonl").write_text(
        '{"time": 1733000000, "job_id": "5", "restart_count": 0, "cause": "node_failure", '
        '"requeued": true, "nodes": "gpu2", "step_exit": 1}\n'
        '{"time": 1733000100, "job_id": "5", "restart_count": 1, "cause": "preemp'  # torn line
    )
    rows = joblogs.restarts(tmp_path)
    assert [r["cause"] for r in rows] == ["node_failure"]
    (line,) = joblogs.restart_lines(rows)
    assert "run 0: node failure (gpu2), step exit 1, requeued" in line
