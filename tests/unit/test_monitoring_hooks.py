"""The GPU job prolog/epilog of the monitoring role, rendered by
playbooks/render/monitoring.yml with their paths in a temporary directory
and run with the environment slurmd gives them (SLURM_JOB_ID,
SLURM_JOB_GPUS, ...)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.conftest import REPO
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK, run_render

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")

MAX_BYTES = 400


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hooks with per-job labels on and a tiny rotation size, paths under root/."""
    dest = tmp_path_factory.mktemp("render-hooks")
    root = dest / "root"
    extra = {
        "render_dir": str(dest),
        "monitoring_gpu_job_labels": True,
        "monitoring_gpu_job_state_dir": str(root / "run/aihpc/gpu-jobs"),
        "monitoring_dcgm_job_mapping_dir": str(root / "run/dcgm-job-map"),
        "monitoring_amd_job_mapping_dir": str(root / "var/run/exporter"),
        "monitoring_gpu_job_record_file": str(root / "var/log/aihpc/gpu-jobs.tsv"),
        "monitoring_gpu_job_record_max_bytes": MAX_BYTES,
        "monitoring_gpu_job_record_keep": 2,
    }
    run_render(
        REPO / "playbooks" / "render" / "monitoring.yml",
        "local",
        tmp_path_factory.mktemp("home"),
        json.dumps(extra),
    )
    return dest / "monitoring" / "hooks"


@pytest.fixture
def root(rendered: Path) -> Path:
    """A fresh tree for each test (the rendered paths point into it)."""
    tree = rendered.parent.parent / "root"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir()
    return tree


def _run(hooks: Path, which: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "SLURMD_NODENAME": "gpu1", "SLURM_CLUSTER_NAME": "aihpc"}
    return subprocess.run(
        ["/bin/sh", str(hooks / f"monitoring-gpu-job-{which}")],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


JOB = {
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_GPUS": "1,3",
    "SLURM_JOB_USER": "alice",
    "SLURM_JOB_ACCOUNT": "research",
    "SLURM_JOB_PARTITION": "gpu",
}


def _record(root: Path) -> list[list[str]]:
    path = root / "var/log/aihpc/gpu-jobs.tsv"
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_prolog_writes_both_exporters_mappings(rendered: Path, root: Path) -> None:
    assert _run(rendered, "prolog", **JOB).returncode == 0
    dcgm = root / "run/dcgm-job-map"
    assert sorted(p.name for p in dcgm.iterdir() if not p.name.startswith(".")) == ["1", "3"]
    assert (dcgm / "1").read_text() == "4242\n"
    amd = json.loads((root / "var/run/exporter/3").read_text())
    assert amd == {
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_USER": "alice",
        "SLURM_JOB_PARTITION": "gpu",
        "SLURM_CLUSTER_NAME": "aihpc",
        "SLURM_JOB_GPUS": "1,3",
        "SLURM_SCRIPT_CONTEXT": "prolog_slurmd",
    }


def test_epilog_appends_one_line_per_gpu_and_removes_the_mappings(
    rendered: Path, root: Path
) -> None:
    assert _run(rendered, "prolog", **JOB).returncode == 0
    # A second job shares GPU 3 (sharding): its line must stay in dcgm's file.
    other = {**JOB, "SLURM_JOB_ID": "4243", "SLURM_JOB_GPUS": "3", "SLURM_JOB_USER": "bob"}
    assert _run(rendered, "prolog", **other).returncode == 0
    assert (root / "run/dcgm-job-map/3").read_text() == "4242\n4243\n"
    assert _run(rendered, "epilog", **JOB).returncode == 0
    lines = _record(root)
    assert [line[0] for line in lines] == ["v1", "v1"]
    assert [line[3:] for line in lines] == [
        ["aihpc", "4242", "gpu1", "1", "alice", "research", "gpu"],
        ["aihpc", "4242", "gpu1", "3", "alice", "research", "gpu"],
    ]
    end, start = int(lines[0][1]), int(lines[0][2])
    assert 0 <= end - start < 30
    assert not (root / "run/dcgm-job-map/1").exists()
    assert (root / "run/dcgm-job-map/3").read_text() == "4243\n"
    # The later prolog of 4243 rewrote AMD's file for GPU 3: it is not 4242's to remove.
    assert json.loads((root / "var/run/exporter/3").read_text())["SLURM_JOB_ID"] == "4243"
    assert not (root / "var/run/exporter/1").exists()
    assert not (root / "run/aihpc/gpu-jobs/4242").exists()
    assert oct((root / "var/log/aihpc/gpu-jobs.tsv").stat().st_mode & 0o777) == "0o644"


def test_epilog_without_its_prolog_still_records(rendered: Path, root: Path) -> None:
    # slurmd restarted between the two (state lost): the line has no start time.
    assert _run(rendered, "epilog", **{**JOB, "SLURM_JOB_GPUS": "0"}).returncode == 0
    [line] = _record(root)
    assert line[0] == "v1" and line[1].isdigit()
    assert line[2:] == ["", "aihpc", "4242", "gpu1", "0", "alice", "research", "gpu"]


def test_the_record_is_rotated_and_bounded(rendered: Path, root: Path) -> None:
    for job in range(1, 40):
        env = {**JOB, "SLURM_JOB_ID": str(job), "SLURM_JOB_GPUS": "0"}
        assert _run(rendered, "epilog", **env).returncode == 0
    logdir = root / "var/log/aihpc"
    files = sorted(p.name for p in logdir.iterdir() if not p.name.endswith(".lock"))
    assert files == ["gpu-jobs.tsv", "gpu-jobs.tsv.1", "gpu-jobs.tsv.2"]
    # keep=2: at most three files, each under the limit plus one line.
    assert all((logdir / f).stat().st_size < MAX_BYTES + 100 for f in files)
    jobs = [
        int(line[4])
        for f in reversed(files)
        for line in (x.split("\t") for x in (logdir / f).read_text().splitlines())
    ]
    assert jobs == sorted(jobs) and jobs[-1] == 39 and jobs[0] > 1


@pytest.mark.parametrize(
    "env",
    [
        {"SLURM_JOB_ID": "", "SLURM_JOB_GPUS": "0"},
        {"SLURM_JOB_ID": "12; rm -rf /", "SLURM_JOB_GPUS": "0"},
        {"SLURM_JOB_ID": "77", "SLURM_JOB_GPUS": ""},
        {"SLURM_JOB_ID": "77", "SLURM_JOB_GPUS": "0,../../etc"},
    ],
    ids=["no-job", "odd-job-id", "no-gpus", "odd-gpus"],
)
def test_odd_input_changes_nothing_and_never_fails(
    rendered: Path, root: Path, env: dict[str, str]
) -> None:
    for which in ("prolog", "epilog"):
        proc = _run(rendered, which, **env)
        assert proc.returncode == 0, proc.stderr
    written = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert written == []


def test_labels_off_writes_no_mapping(tmp_path_factory: pytest.TempPathFactory) -> None:
    dest = tmp_path_factory.mktemp("render-nolabels")
    run_render(
        REPO / "playbooks" / "render" / "monitoring.yml",
        "local",
        tmp_path_factory.mktemp("home"),
        f"render_dir={dest}",
    )
    prolog = (dest / "monitoring/hooks/monitoring-gpu-job-prolog").read_text()
    assert "dcgm-job-map" not in prolog and "/var/run/exporter" not in prolog
    epilog = (dest / "monitoring/hooks/monitoring-gpu-job-epilog").read_text()
    assert 'rm -f "$f" "$f.tmp"' in epilog  # mappings of jobs from before still go
