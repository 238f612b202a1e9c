"""Golden files: the exact script and sbatch argv of every template and option family.

Regenerate after an intended change with
    AIHPC_UPDATE_GOLDEN=1 pytest tests/unit/test_golden.py
and review the diff like code.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from aihpc.request.jupyter import materialize_jupyter
from aihpc.request.materialize import materialize
from aihpc.request.model import JobRequest, SnapshotFiles
from aihpc.spec.loader import load_spec
from aihpc.spec.profile import load_profile
from aihpc.spec.session import SessionSpec
from tests.unit.conftest import FIXTURES, REPO

GOLDEN = REPO / "tests" / "golden"
PROJECT = FIXTURES / "project"
UPDATE = os.environ.get("AIHPC_UPDATE_GOLDEN") == "1"
NOW = datetime(2025, 1, 2, 3, 4, 5)
SNAPSHOT = SnapshotFiles("git", ("my.sbatch.j2", "pkg/__init__.py", "pkg/train.py", "train.py"), 1)

HEAD = "name: demo\nscript: train.py\n"
CASES: dict[str, str] = {
    "srun-cpu": HEAD + "nodes: 2\ngpus_per_node: 0\nprocs_per_node: 2\nargs: [--steps, '60']\n",
    "srun-gpu-typed": HEAD
    + "nodes: 2\ngpus_per_node: 4\ngpu_type: h100\ncpus_per_task: 8\nmem: 64G\n"
    + "time: 2-00:00:00\naccount: proj\nqos: high\n",
    "cpu-partition": HEAD + "partition: cpu\nnodes: 2\n",
    "torchrun": "name: demo\nmodule: pkg.train\nlauncher: torchrun\nnodes: 2\n"
    + "gpus_per_node: 4\ncpus_per_task: 4\nargs: [--epochs, '3']\n",
    "checkpoint": HEAD
    + "nodes: 2\ngpus_per_node: 4\ntime: '12:00:00'\n"
    + "checkpoint: {dir: '{shared}/ckpt/{user}/{name}', signal_before: 600, max_restarts: 5}\n",
    "sweep-array": HEAD
    + "nodes: 1\ngpus_per_node: 1\nargs: [--epochs, '3']\n"
    + "sweep: {lr: [1e-4, 3e-4], seed: [1, 2, 3]}\nmax_parallel: 2\n"
    + "checkpoint: {signal_before: 120}\n",
    "container-pyxis": HEAD
    + "nodes: 2\ngpus_per_node: 4\n"
    + "container: {image: 'nvcr.io#nvidia/pytorch:24.05-py3', mounts: ['/data:/data:ro']}\n",
    "container-apptainer": HEAD
    + "nodes: 1\ngpus_per_node: 2\nlauncher: torchrun\n"
    + "container: {image: /shared/images/torch.sif, runtime: apptainer, "
    + "mounts: ['{shared}/datasets:/datasets']}\n",
    "user-template": HEAD
    + "nodes: 2\ngpus_per_node: 4\n"
    + f"template: {PROJECT / 'my.sbatch.j2'}\n",
    "setup-env-args": HEAD
    + "nodes: 1\nsetup: ['source $AIHPC_SUBMIT_DIR/.venv/bin/activate', 'module load cuda']\n"
    + "env: {NCCL_IB_HCA: 'mlx5_0,mlx5_1', WANDB_MODE: offline, GREETING: \"it's a $HOME `x`\"}\n"
    + "args: ['--name', 'a b', '--quote', \"'\", '--dollar', '$(touch /tmp/pwned)', '']\n",
}


def _golden_pair(name: str, request: JobRequest) -> dict[str, str]:
    argv = "\n".join(request.sbatch_argv) + "\n"
    return {f"{name}.sbatch": request.script, f"{name}.argv": argv}


def _check(files: dict[str, str]) -> None:
    for fname, content in files.items():
        content = content.replace(str(PROJECT), "@WORKDIR@")
        path = GOLDEN / fname
        if UPDATE:
            path.write_text(content)
        assert path.exists(), f"missing golden file {path}; run with AIHPC_UPDATE_GOLDEN=1"
        assert content == path.read_text(), f"{fname} differs; see the docstring to update"


def _render(name: str, tmp_path: Path) -> JobRequest:
    spec = tmp_path / "train.yaml"
    spec.write_text(CASES[name] + f"workdir: {PROJECT}\n")
    profile = load_profile(FIXTURES / "golden-profile.yaml")
    loaded = load_spec(spec, profile=profile, environ={})
    return materialize(
        loaded.spec,
        loaded.profile,
        workdir=loaded.workdir,
        template=loaded.template,
        user="alice",
        now=NOW,
        token="c0ffee",
        snapshot=SNAPSHOT,
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, tmp_path: Path) -> None:
    request = _render(name, tmp_path)
    _check(_golden_pair(name, request))
    # Every golden script is valid bash.
    proc = subprocess.run(["bash", "-n"], input=request.script, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_golden_jupyter() -> None:
    session = SessionSpec(
        partition="gpu",
        gpus=1,
        cpus=4,
        mem="16G",
        time="4:00:00",
        setup=("source ~/venvs/lab/bin/activate",),
        notebook_dir="/home/alice/notebooks",
    )
    request = materialize_jupyter(
        session,
        shared_dirs={"shared": "/shared"},
        user="alice",
        now=NOW,
        token="c0ffee",
        login_host="login1",
    )
    _check(_golden_pair("jupyter", request))


def test_no_stale_golden_files() -> None:
    expected = {f"{n}.{ext}" for n in [*CASES, "jupyter"] for ext in ("sbatch", "argv")}
    # Subdirectories belong to other golden tests (rendered/: test_rendered_config.py).
    assert {p.name for p in GOLDEN.iterdir() if p.is_file()} == expected


def test_template_names_pick_the_same_script(tmp_path: Path) -> None:
    """`template: torchrun` and `launcher: torchrun` render the same job."""
    a = _render("torchrun", tmp_path)
    CASES["torchrun-by-template"] = CASES["torchrun"].replace("launcher:", "template:")
    try:
        b = _render("torchrun-by-template", tmp_path)
    finally:
        del CASES["torchrun-by-template"]
    assert a.script == b.script and a.sbatch_argv == b.sbatch_argv


def test_raw_is_used_only_for_setup_lines() -> None:
    """The one unquoted value in the shipped templates is a setup line."""
    uses = []
    for template in (REPO / "job_templates").glob("*.j2"):
        for expr in re.findall(r"\{\{(.*?)\}\}", template.read_text(), flags=re.DOTALL):
            if re.search(r"\|\s*raw\b", expr):
                uses.append((template.name, expr.strip()))
    assert uses and all(expr == "line|raw" for _, expr in uses), uses
    # ... and those loops iterate over `setup`.
    for name, _ in uses:
        assert "{% for line in setup %}" in (REPO / "job_templates" / name).read_text()
