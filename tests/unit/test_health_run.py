"""The whole run: parallel checks with time limits, exit codes, JSON, metrics, stdlib only."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from aihpc.health import engine, main, metrics
from aihpc.health.context import Context
from aihpc.health.expect import Expectations
from aihpc.health.model import CheckResult, Report, Status, fail, ok
from tests.unit.health_fakes import REPO, Commands


def _ctx(tmp_path: Path) -> Context:
    return Context(Expectations(), Commands({}), root=tmp_path, state_dir=tmp_path)


def test_hung_and_crashing_checks_are_unknown_and_do_not_hold_the_run(tmp_path: Path) -> None:
    release = threading.Event()

    def hangs(_ctx: Context) -> CheckResult:
        release.wait(30)
        return fail("hangs", "never seen")

    def crashes(_ctx: Context) -> CheckResult:
        raise KeyError("bug")

    def fine(_ctx: Context) -> CheckResult:
        return ok("fine", "ok")

    checks = {"hangs": hangs, "crashes": crashes, "fine": fine, "skip": lambda _ctx: None}
    start = time.monotonic()
    results = engine.run_checks(checks, _ctx(tmp_path), check_timeout=0.5, budget=5)
    elapsed = time.monotonic() - start
    release.set()
    assert elapsed < 2
    by = {r.check: r for r in results}
    assert set(by) == {"hangs", "crashes", "fine"}
    assert by["hangs"].status is Status.UNKNOWN and "within 0.5s" in by["hangs"].summary
    assert by["crashes"].status is Status.UNKNOWN and "KeyError" in by["crashes"].summary
    assert by["fine"].status is Status.OK


def test_checks_run_in_parallel_within_the_budget(tmp_path: Path) -> None:
    def slow(name: str):  # type: ignore[no-untyped-def]
        def check(_ctx: Context) -> CheckResult:
            time.sleep(0.4)
            return ok(name, "ok")

        return check

    start = time.monotonic()
    results = engine.run_checks({f"c{i}": slow(f"c{i}") for i in range(5)}, _ctx(tmp_path))
    assert time.monotonic() - start < 1.5  # five 0.4 s checks, not 2 s in a row
    assert [r.status for r in results] == [Status.OK] * 5


def _expect(tmp_path: Path, data: dict[str, object]) -> str:
    path = tmp_path / "health.json"
    path.write_text(json.dumps(data))
    return str(path)


def _execute(opts: main.Options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main.execute(opts, out, err)
    return code, out.getvalue(), err.getvalue()


def test_exit_codes_json_and_metrics(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir()
    good = _expect(tmp_path, {"mounts": [{"path": str(tmp_path / "scratch")}], "daemons": []})
    opts = main.Options(json=True, expect=good, node="gpu2", metrics_dir=str(tmp_path / "tf"))
    opts.state_dir = str(tmp_path / "state")
    code, out, _ = _execute(opts)
    assert code == 0
    data = json.loads(out)
    assert data["node"] == "gpu2" and data["healthy"] is True
    assert [c["check"] for c in data["checks"]] == ["mounts"]
    prom = (tmp_path / "tf" / metrics.FILE).read_text()
    assert 'aihpc_health_check_status{check="mounts"} 0\n' in prom
    assert "aihpc_health_healthy 1\n" in prom and "aihpc_health_drained 0\n" in prom
    assert [p.name for p in (tmp_path / "tf").iterdir()] == [metrics.FILE]  # no temp left

    bad = _expect(tmp_path, {"mounts": [{"path": "/nonexistent-aihpc"}], "daemons": []})
    opts.expect = bad
    code, out, _ = _execute(opts)
    assert code == 1 and json.loads(out)["checks"][0]["summary"] == "/nonexistent-aihpc missing"
    assert (
        'aihpc_health_check_status{check="mounts"} 1\n'
        in (tmp_path / "tf" / metrics.FILE).read_text()
    )

    opts.expect = str(tmp_path / "missing.json")
    code, out, err = _execute(opts)
    assert code == 2 and out == "" and "missing.json: not found" in err


def test_nothing_able_to_run_is_exit_2(tmp_path: Path) -> None:
    opts = main.Options(expect=_expect(tmp_path, {"daemons": []}), state_dir=str(tmp_path))
    code, out, _ = _execute(opts)
    assert code == 2 and "healthy" in out


def test_bad_options_are_exit_2(tmp_path: Path) -> None:
    opts = main.Options(expect=_expect(tmp_path, {}), budget=90, state_dir=str(tmp_path))
    code, _, err = _execute(opts)
    assert code == 2 and "Slurm kills the program at 60 s" in err
    opts = main.Options(expect=_expect(tmp_path, {}), only=["nope"], state_dir=str(tmp_path))
    assert _execute(opts)[0] == 2


def test_metrics_text_format() -> None:
    report = Report("gpu2", 1000.0, 1.25, [fail("gpu_count", "3 of 4"), ok("memory", "ok")])
    text = metrics.render(report, drained=True, now=1001.25)
    assert 'aihpc_health_check_status{check="gpu_count"} 1\n' in text
    assert "aihpc_health_last_run_timestamp_seconds 1001.250\n" in text
    assert "aihpc_health_duration_seconds 1.250\n" in text
    assert "aihpc_health_drained 1\n" in text and "aihpc_health_healthy 0\n" in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.split(" ")) == 2, line


def test_health_program_imports_nothing_outside_the_standard_library() -> None:
    code = (
        "import sys, aihpc.health.__main__, aihpc.health.main;"
        "heavy = {'click', 'yaml', 'pydantic', 'jinja2', 'rich'};"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_module_entry_point_exit_code(tmp_path: Path) -> None:
    path = _expect(tmp_path, {"mounts": [{"path": "/nonexistent-aihpc"}], "daemons": []})
    argv = [sys.executable, "-m", "aihpc.health", "--expect", path, "--state-dir", str(tmp_path)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "fail     mounts  /nonexistent-aihpc missing" in done.stdout
