"""`aihpc cluster`: status/drain/resume against a fake scontrol, deploy through ansible-runner.

The fake scontrol answers `show nodes --json` with the recorded 24.11 reply
(gpu1 allocated, gpu2 drained by root) and logs every `update` argv, one
argument per line, so the test sees exactly what would reach Slurm. deploy
runs the recorded localhost playbook (tests/fixtures/cluster/runner) for
real through ansible-runner.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from tests.unit.cli_helpers import run_cli
from tests.unit.conftest import FIXTURES

NODES_JSON = FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json"


@pytest.fixture
def scontrol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "updates.log"
    stub = bin_dir / "scontrol"
    stub.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = show ]; then cat {NODES_JSON}; exit 0; fi\n'
        f'if [ "$1" = update ]; then for a in "$@"; do printf "%s\\n" "$a"; done >> {log}; '
        "echo ---- >> " + str(log) + "; exit 0; fi\n"
        "echo 'scontrol: unexpected' >&2; exit 1\n"
    )
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("SUDO_USER", "alice")
    return log


@pytest.mark.usefixtures("scontrol")
def test_status_shows_who_drained_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["cluster", "status"], capsys)
    assert code == 0
    gpu2 = next(line for line in out.splitlines() if line.startswith("gpu2"))
    assert "drained" in gpu2 and "fixture: admin maintenance" in gpu2 and "root" in gpu2
    code, out, _ = run_cli(["cluster", "status", "--state", "drain", "--json"], capsys)
    assert code == 0 and [n["node"] for n in json.loads(out)["nodes"]] == ["gpu2"]


def test_drain_dry_run_changes_nothing(scontrol: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        ["cluster", "drain", "gpu[1-2]", "--reason", "PSU swap; rack 4", "--dry-run", "--json"],
        capsys,
    )
    assert code == 0 and not scontrol.exists()
    data = json.loads(out)
    assert data["dry_run"] and data["nodes"] == ["gpu1", "gpu2"] and data["by"] == "alice"
    assert data["argv"][:4] == ["scontrol", "update", "NodeName=gpu1,gpu2", "State=DRAIN"]
    assert data["argv"][4].startswith("Reason=PSU swap; rack 4 [by alice via aihpc 20")


def test_drain_passes_the_tagged_reason_as_one_argument(
    scontrol: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["cluster", "drain", "gpu1", "--reason", "it's $(broken)"], capsys)
    assert code == 0 and "drained gpu1" in out
    args = scontrol.read_text().split("----\n")[0].splitlines()
    assert args[:4] == ["update", "NodeName=gpu1", "State=DRAIN", args[3]]
    assert args[3].startswith("Reason=it's $(broken) [by alice via aihpc ")


def test_resume_by_state_reports_the_old_drain(
    scontrol: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["cluster", "resume", "--state", "drain"], capsys)
    assert code == 0 and "resumed gpu2" in out
    assert "was drained: fixture: admin maintenance (by root" in out
    assert scontrol.read_text().splitlines()[:3] == ["update", "NodeName=gpu2", "State=RESUME"]


def test_bad_input_is_exit_2_and_changes_nothing(
    scontrol: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["cluster", "drain", "gpu7", "--reason", "x"], capsys)
    assert code == 2 and "not Slurm nodes: gpu7" in err
    code, _, err = run_cli(["cluster", "drain", "gpu1", "--reason", "  "], capsys)
    assert code == 2 and "needs a reason" in err
    code, _, err = run_cli(["cluster", "resume"], capsys)
    assert code == 2 and "name the nodes" in err
    assert not scontrol.exists()
    assert "Traceback" not in err


def test_deploy_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["cluster", "deploy", "-i", str(tmp_path / "nope")], capsys)
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(
        [
            "cluster",
            "deploy",
            "-i",
            str(tmp_path),
            "--project",
            str(tmp_path),
            "--playbook",
            "x.yml",
        ],
        capsys,
    )
    assert code == 2 and "no playbook" in err
    code, _, err = run_cli(["cluster", "deploy", "-i", str(tmp_path), "-e", "novalue"], capsys)
    assert code == 2 and "KEY=VALUE" in err


def test_deploy_names_the_failed_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ansible_runner")
    project = tmp_path / "project"
    (project / "playbooks").mkdir(parents=True)
    (project / "roles").mkdir()
    shutil.copy(FIXTURES / "cluster" / "runner" / "site.yml", project / "playbooks" / "site.yml")
    run_dir = tmp_path / "run"
    code, out, err = run_cli(
        [
            "cluster",
            "deploy",
            "-i",
            str(FIXTURES / "cluster" / "runner" / "hosts.yml"),
            "--project",
            str(project),
            "--run-dir",
            str(run_dir),
        ],
        capsys,
    )
    assert code == 1
    assert "deploy failed on: ghost, web2" in err
    assert "web2: failed in play 'Check variables', task 'GPU count is a number'" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["failed_hosts"] == ["ghost", "web2"] and summary["rc"] != 0
    events = list(run_dir.glob("artifacts/*/job_events/*.json"))
    assert len(events) > 10  # the run's events are kept


def test_fail_fast_stops_every_host_at_the_first_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ansible_runner")
    project = tmp_path / "project"
    (project / "playbooks").mkdir(parents=True)
    (project / "roles").mkdir()
    shutil.copy(FIXTURES / "cluster" / "runner" / "site.yml", project / "playbooks" / "site.yml")
    run_dir = tmp_path / "run"
    code, _, err = run_cli(
        [
            "cluster",
            "deploy",
            "-i",
            str(FIXTURES / "cluster" / "runner" / "hosts.yml"),
            "--project",
            str(project),
            "--run-dir",
            str(run_dir),
            "--limit",
            "web1,web2",
            "--fail-fast",
        ],
        capsys,
    )
    assert code == 1 and "deploy failed on: web2" in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["plays"] == ["Check variables"]  # web1 never reached the play that writes
    assert not summary["stats"].get("changed")


def test_cluster_help_imports_nothing_heavy() -> None:
    from tests.unit.test_lazy_imports import HEAVY, _imported, _top_level

    modules = _imported(["cluster", "--help"])
    assert "aihpc.cli.cmd_cluster" in modules
    assert not _top_level(modules) & {*HEAVY, "ansible_runner"}
