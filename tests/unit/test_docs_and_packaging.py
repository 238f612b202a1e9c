"""Generated reference is current; templates ship with the package; examples validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from aihpc.request import templates
from aihpc.spec import docgen
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
        for name, field in model.model_fields.items():
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
