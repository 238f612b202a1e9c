"""Drain on failure; resume only our own, untouched drain; never an admin's."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from aihpc.errors import UsageError
from aihpc.health import main, provenance
from aihpc.health.model import CheckResult, Report, Status, fail, ok, unknown
from aihpc.slurm import control
from tests.unit.health_fakes import FakeSlurm

GPU_FAIL = fail("gpu_count", "3 of 4 GPU device files (/dev/nvidia3 missing)", device_files=3)
GPU_OK = ok("gpu_count", "4 GPU(s) present")


def run(slurm: FakeSlurm, state: Path, *results: CheckResult) -> Report:
    report = Report(slurm.name, time.time(), 0.1, list(results))
    provenance.reconcile(report, slurm, state)
    slurm.tick()
    return report


def test_failure_drains_with_precise_reason_and_record(tmp_path: Path) -> None:
    slurm = FakeSlurm()
    report = run(slurm, tmp_path, GPU_FAIL, ok("memory", "fine"))
    assert report.action == "drained"
    assert slurm.drained
    assert slurm.reason == "aihpc-health: gpu_count: 3 of 4 GPU device files (/dev/nvidia3 missing)"
    record = json.loads((tmp_path / "drain.json").read_text())
    assert record["reason"] == slurm.reason and record["reason_user"] == "root"
    assert record["reason_time"] == slurm.node["reason_changed_at"]["number"]
    assert record["checks"] == ["gpu_count"]
    assert record["evidence"]["gpu_count"]["device_files"] == 3
    assert (tmp_path / "drain.json").stat().st_mode & 0o077 == 0


def test_own_drain_is_kept_while_failing_then_resumed(tmp_path: Path) -> None:
    slurm = FakeSlurm()
    run(slurm, tmp_path, GPU_FAIL)
    assert run(slurm, tmp_path, GPU_FAIL).action == "kept"
    updates = [c for c in slurm.calls if c[1] == "update"]
    assert len(updates) == 1  # the drain is not rewritten (its time would change)
    report = run(slurm, tmp_path, GPU_OK)
    assert report.action == "resumed" and not slurm.drained
    assert not (tmp_path / "drain.json").exists()


def test_admin_drain_is_never_touched(tmp_path: Path) -> None:
    slurm = FakeSlurm()
    slurm.admin_drain("bad DIMM, ticket 123", user="alice")
    assert run(slurm, tmp_path, GPU_OK).action == "none"
    report = run(slurm, tmp_path, GPU_FAIL)
    assert report.action == "none" and "already drained by alice" in report.action_detail
    assert slurm.reason == "bad DIMM, ticket 123"
    assert [c for c in slurm.calls if c[1] == "update"] == []


def test_admin_drain_over_health_drain_stays(tmp_path: Path) -> None:
    slurm = FakeSlurm()
    run(slurm, tmp_path, GPU_FAIL)
    slurm.admin_drain("RMA: GPU 3 replaced, burn-in first")
    report = run(slurm, tmp_path, GPU_OK)
    assert report.action == "none" and slurm.drained
    assert "dropped the health drain claim" in report.action_detail
    assert not (tmp_path / "drain.json").exists()
    assert run(slurm, tmp_path, GPU_OK).action == "none" and slurm.drained


def test_admin_rewriting_the_same_reason_is_still_the_admins(tmp_path: Path) -> None:
    """The prefix trap: the reason text matches ours, the time Slurm recorded does not."""
    slurm = FakeSlurm()
    run(slurm, tmp_path, GPU_FAIL)
    slurm.admin_drain(slurm.reason)
    assert run(slurm, tmp_path, GPU_OK).action == "none" and slurm.drained


def test_admin_resume_then_new_failure_drains_again(tmp_path: Path) -> None:
    slurm = FakeSlurm()
    run(slurm, tmp_path, GPU_FAIL)
    slurm.admin_resume()
    report = run(slurm, tmp_path, GPU_FAIL)
    assert report.action == "drained" and slurm.drained
    assert "dropped the health drain claim (node no longer drained)" in report.action_detail


def test_unknown_never_drains_and_never_confirms_recovery(tmp_path: Path) -> None:
    slurm = FakeSlurm()
    assert run(slurm, tmp_path, unknown("gpu_count", "timed out")).action == "none"
    assert not slurm.drained
    run(slurm, tmp_path, GPU_FAIL)
    report = run(slurm, tmp_path, unknown("gpu_count", "timed out"))
    assert report.action == "kept" and slurm.drained


def test_scontrol_refusing_is_an_error_not_a_crash(tmp_path: Path) -> None:
    slurm = FakeSlurm()
    slurm.fail_updates = True
    report = run(slurm, tmp_path, GPU_FAIL)
    assert report.action == "error" and "Access/permission denied" in report.action_detail
    assert not (tmp_path / "drain.json").exists()


def test_long_reason_is_one_bounded_line() -> None:
    long = fail("mounts", "x\n" * 400)
    report = Report("gpu2", 0.0, 0.0, [long, fail("memory", "low")])
    reason = provenance.drain_reason(report)
    assert len(reason) <= control.MAX_REASON and "\n" not in reason
    short = provenance.drain_reason(Report("gpu2", 0.0, 0.0, [GPU_FAIL, fail("memory", "low")]))
    assert short.endswith("(+ memory)")
    assert Status.FAIL.metric == 1


def test_control_argv_quotes_nothing_and_refuses_bad_input() -> None:
    argv = control.drain_argv(["gpu1", "gpu2"], "it's; rm -rf / $(x)")
    assert argv == [
        "scontrol", "update", "NodeName=gpu1,gpu2", "State=DRAIN", "Reason=it's; rm -rf / $(x)"
    ]  # fmt: skip
    assert control.resume_argv("gpu2") == ["scontrol", "update", "NodeName=gpu2", "State=RESUME"]
    with pytest.raises(UsageError, match="needs a reason"):
        control.drain_argv(["gpu1"], " ")
    with pytest.raises(UsageError, match="without spaces or commas"):
        control.drain_argv(["a b"], "r")


def test_resume_only_run_resumes_its_own_drain_and_never_drains(tmp_path: Path) -> None:
    """The timer's run on a drained node (Slurm's NONDRAINED_IDLE skips it there)."""
    slurm = FakeSlurm()
    report = Report(slurm.name, time.time(), 0.1, [GPU_FAIL])
    provenance.reconcile(report, slurm, tmp_path, may_drain=False)
    assert report.action == "none" and not slurm.drained
    assert "does not drain" in report.action_detail
    assert [c for c in slurm.calls if c[1] == "update"] == []

    run(slurm, tmp_path, GPU_FAIL)  # slurmd's run drains
    slurm.tick()
    report = Report(slurm.name, time.time(), 0.1, [GPU_OK])
    provenance.reconcile(report, slurm, tmp_path, may_drain=False)
    assert report.action == "resumed" and not slurm.drained


def test_resume_only_without_a_claim_does_nothing_at_all(tmp_path: Path) -> None:
    """No record: exit 0 before reading expectations or asking Slurm anything."""
    opts = main.Options(
        resume_only=True, state_dir=str(tmp_path), expect=str(tmp_path / "missing.json")
    )
    out, err = io.StringIO(), io.StringIO()
    assert main.execute(opts, out, err) == 0
    assert out.getvalue() == "no drain set by aihpc health on this node: nothing to resume\n"
    assert err.getvalue() == ""
    (tmp_path / "drain.json").write_text("{}")
    assert main.execute(opts, out, err) == 2  # now it runs, and the missing file is exit 2
    assert "missing.json" in err.getvalue()
