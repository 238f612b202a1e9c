"""One job-directory layout and one run-time contract (issue 14, structure 1).

The templates, the request stage and the log lookup all take their names
from aihpc.layout; these tests tie the three together and check that every
variable the templates export is reserved in train.yaml `env`.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from pathlib import Path

import pytest

from aihpc import layout
from aihpc.backend import logs as joblogs
from aihpc.request.materialize import materialize
from aihpc.spec.loader import load_spec
from aihpc.spec.model import RESERVED_ENV
from aihpc.spec.profile import load_profile
from tests.unit.conftest import FIXTURES, REPO

TEMPLATES = sorted((REPO / "job_templates").glob("*.j2"))
# Exported by a template but deliberately open to the user:
NOT_RESERVED = {
    "PYTHONPATH": "the job's lib dir is prepended; the user's value is kept after it",
    "JUPYTER_TOKEN": "jupyter.sbatch.j2 only, which takes no train.yaml env",
}
EXPORT_RE = re.compile(r"\bexport\s+([^;\n]*)")
NAME_RE = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)")


def exported_names() -> dict[str, set[str]]:
    """Variable name -> templates whose `export` lines set it ({{ var.name }} skipped)."""
    found: dict[str, set[str]] = {}
    for template in TEMPLATES:
        for args in EXPORT_RE.findall(template.read_text()):
            # drop quoted values so `X="a b"` yields only X
            bare = re.sub(r'"[^"]*"|\'[^\']*\'|\{\{.*?\}\}', "", args)
            for name in NAME_RE.findall(bare):
                found.setdefault(name, set()).add(template.name)
    return found


def test_the_export_scan_sees_every_kind_of_export() -> None:
    names = exported_names()
    # a plain export, one inside `if`, the srun launcher's bash -c, the jupyter token
    for name in ("AIHPC_JOB_DIR", "AIHPC_TASK_ID", "LOCAL_RANK", "NODE_RANK", "JUPYTER_TOKEN"):
        assert name in names, sorted(names)


def test_every_exported_variable_is_reserved() -> None:
    open_names = set(NOT_RESERVED)
    unreserved = {n: t for n, t in exported_names().items() if n not in RESERVED_ENV | open_names}
    assert unreserved == {}, f"reserve these in aihpc.layout.CONTRACT_ENV: {unreserved}"


def test_every_reserved_contract_name_is_exported() -> None:
    """No stale reservation: each contract name is set by some template."""
    assert layout.CONTRACT_ENV - set(exported_names()) == set()
    assert RESERVED_ENV == layout.CONTRACT_ENV


def test_template_names_are_plain_shell_words() -> None:
    """The renderer shell-quotes `layout.*`; plain words come out unchanged."""
    for value in layout.template_names().values():
        assert shlex.quote(value) == value, value


def test_job_layout_paths() -> None:
    paths = layout.JobLayout("/shared/jobs/alice/demo-1")
    assert paths.script == "/shared/jobs/alice/demo-1/job.sbatch"
    assert paths.metadata == "/shared/jobs/alice/demo-1/aihpc-job.json"
    assert paths.code == "/shared/jobs/alice/demo-1/code"
    assert paths.batch_output(True) == "/shared/jobs/alice/demo-1/logs/batch-%a.log"
    assert paths.dirs() == (paths.root, paths.logs, paths.code)


@pytest.mark.parametrize(
    ("launcher", "rank", "procs", "task", "expected"),
    [
        ("srun", 3, 2, None, "logs/rank-3.log"),
        ("torchrun", 5, 4, None, "logs/node-1.log"),
        ("srun", 1, 2, "2", "logs/task-2/rank-1.log"),
        ("torchrun", 0, 4, "7", "logs/task-7/node-0.log"),
    ],
)
def test_rank_log(launcher: str, rank: int, procs: int, task: str | None, expected: str) -> None:
    assert layout.rank_log(launcher, rank, procs, task) == expected


@pytest.mark.parametrize("launcher", ["srun", "torchrun"])
def test_logs_finds_the_file_the_script_writes(launcher: str, tmp_path: Path) -> None:
    """The rendered --output pattern and `aihpc logs` agree (defect 4: no rank_log copy)."""
    spec = tmp_path / "train.yaml"
    spec.write_text(
        "name: demo\nscript: train.py\nnodes: 2\ngpus_per_node: 4\n"
        f"launcher: {launcher}\nworkdir: {FIXTURES / 'project'}\n"
    )
    loaded = load_spec(spec, profile=load_profile(FIXTURES / "golden-profile.yaml"), environ={})
    request = materialize(
        loaded.spec,
        loaded.profile,
        workdir=loaded.workdir,
        template=loaded.template,
        user="alice",
        now=datetime(2025, 1, 2, 3, 4, 5),
        token="c0ffee",
        snapshot=None,
    )
    assert "rank_log" not in request.metadata  # written but never read before
    pattern = layout.TASK_LOG[launcher].format("%t")
    assert f'--output="$AIHPC_LOG_DIR/{pattern}"' in request.script
    job_dir = Path(request.job_dir)
    path = joblogs.log_path(job_dir, request.metadata, None, 5)
    task = 5 // 4 if launcher == "torchrun" else 5  # %t: the Slurm task of rank 5
    assert path == job_dir / "logs" / pattern.replace("%t", str(task))


# Names that must come from aihpc.layout, as string literals anywhere else.
LAYOUT_LITERALS = ('"aihpc-job.json"', '"job.sbatch"', '"sweep.jsonl"', '"jupyter.json"')


def test_no_module_spells_the_layout_itself() -> None:
    offenders = []
    for path in (REPO / "aihpc").rglob("*.py"):
        if path.name == "layout.py":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(REPO)}: {lit}" for lit in LAYOUT_LITERALS if lit in text]
        offenders += [
            f"{path.relative_to(REPO)}: {m}"
            for m in re.findall(r"""(?:"|/)(?:logs|code)/(?:batch|rank|node|task)""", text)
        ]
    assert offenders == []
