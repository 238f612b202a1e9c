"""Generated reference is current; templates ship with the package; examples validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from aihpc.spec import docgen, templates
from aihpc.spec.loader import load_spec
from aihpc.spec.profile import load_profile
from tests.unit.conftest import FIXTURES, REPO


def test_reference_matches_the_model() -> None:
    committed = (REPO / "docs" / "train-yaml-reference.md").read_text()
    assert committed == docgen.render(), "run: python -m aihpc.spec.docgen"


def test_docgen_check_mode(tmp_path: Path) -> None:
    out = tmp_path / "ref.md"
    assert docgen.main(["--output", str(out), "--check"]) == 1
    assert docgen.main(["--output", str(out)]) == 0
    assert docgen.main(["--output", str(out), "--check"]) == 0


def test_every_key_is_documented() -> None:
    text = docgen.render()
    from aihpc.spec.model import Checkpoint, Container, TrainSpec

    for model in (TrainSpec, Checkpoint, Container):
        for name, field in model.fields().items():
            assert field.description, f"{model.__name__}.{name} has no description"
            assert f"| `{name}` |" in text


def test_templates_are_found_inside_the_package() -> None:
    """aihpc/job_templates (a symlink in the repo, real files in a wheel)."""
    package_dir = templates.template_dir()
    assert package_dir.parent.name == "aihpc"
    shipped = {p.name for p in (REPO / "job_templates").glob("*.j2")}
    assert {p.name for p in package_dir.glob("*.j2")} == shipped
    assert templates.shipped_names() == ["srun", "torchrun"]
    manifest = (REPO / "MANIFEST.in").read_text()
    assert "graft aihpc/job_templates" in manifest


@pytest.mark.parametrize("example", ["ddp", "sweep", "container"])
def test_examples_validate_against_the_demo_profile(example: str, tmp_path: Path) -> None:
    profile_text = (REPO / "tests" / "unit" / "conftest.py").read_text()
    assert "aihpc-local" in profile_text
    from tests.unit.conftest import PROFILE_TEMPLATE

    profile_path = tmp_path / "cluster.yaml"
    profile_path.write_text(PROFILE_TEMPLATE.format(shared="/shared"))
    loaded = load_spec(
        REPO / "examples" / example / "train.yaml", profile=load_profile(profile_path), environ={}
    )
    assert loaded.spec.name


def test_golden_profile_is_valid() -> None:
    assert load_profile(FIXTURES / "golden-profile.yaml").cluster == "golden"


def _tracked_copy(dest: Path) -> Path:
    """The files a fresh clone has (what `pip install -e .` sees), copied."""
    import shutil
    import subprocess

    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, text=True, check=True
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copyfile(source, target)
    return dest


def test_package_metadata_builds_without_warnings(tmp_path: Path) -> None:
    """The editable-install metadata step prints no warning about our metadata.

    setuptools warned that `project.license` as a table stops building after
    2027-02-18; MANIFEST.in lines that match nothing warn too. This runs the
    same build-backend hook `pip install -e .` runs, in a clean copy of the
    tracked files, and fails on any warning it prints.
    """
    import subprocess
    import sys

    tree = _tracked_copy(tmp_path / "tree")
    out = tmp_path / "metadata"
    out.mkdir()
    hook = (
        "import sys, setuptools.build_meta as b;"
        "print(b.prepare_metadata_for_build_editable(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", hook, str(out)],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    warnings = [line for line in output.splitlines() if "warning" in line.lower()]
    assert not warnings, "\n".join(warnings)
    assert (out / "aihpc-0.1.0.dist-info" / "METADATA").is_file()
    metadata = (out / "aihpc-0.1.0.dist-info" / "METADATA").read_text()
    assert "License-Expression: Apache-2.0" in metadata


# Dev dependencies that are commands, not imports: each is run by a script or make target.
DEV_TOOLS = {
    "pytest": "make unit",
    "ruff": "scripts/lint.sh",
    "mypy": "scripts/lint.sh",
    "types-pyyaml": "mypy's stubs for yaml",
    "ansible": "the playbooks",
    "ansible-lint": "scripts/lint.sh",
    "molecule": "scripts/test-cluster.sh",
    "molecule-plugins": "molecule's docker driver",
    "import-linter": "scripts/lint.sh (lint-imports)",
    "docker": "the Docker SDK behind community.docker's modules (playbooks/local)",
}
# A distribution's import name where it differs from its name.
IMPORT_NAMES = {"prometheus-client": "prometheus_client", "ansible-runner": "ansible_runner"}


def _imported_top_levels() -> set[str]:
    import ast

    names: set[str] = set()
    for folder in ("aihpc", "tests", "bench", "roles", "scripts", "playbooks"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return names


def test_dev_dependencies_are_imported_or_tools() -> None:
    """No dev dependency that nothing uses (matplotlib and requests once were)."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    dev = {
        dep.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
        for dep in project["optional-dependencies"]["dev"]
    }
    imported = _imported_top_levels()
    unused = sorted(
        d
        for d in dev - DEV_TOOLS.keys()
        if IMPORT_NAMES.get(d, d.replace("-", "_")) not in imported
    )
    assert unused == [], f"dev dependencies nothing imports or runs: {unused}"
    # Every optional feature's dependency is in dev too, so its tests run.
    features = {k: v for k, v in project["optional-dependencies"].items() if k not in ("dev",)}
    for extra, deps in features.items():
        if extra == "pyslurm":
            continue  # builds only against Slurm 25.11 (README), not installable here
        for dep in deps:
            assert dep in project["optional-dependencies"]["dev"], (extra, dep)
    assert project["license"] == "Apache-2.0"
