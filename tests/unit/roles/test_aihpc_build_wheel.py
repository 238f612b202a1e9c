"""roles/aihpc/files/build_wheel.py: the wheel the aihpc role installs on login nodes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "roles" / "aihpc" / "files" / "build_wheel.py"


def build(out: Path) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(ROOT), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    facts: dict[str, str] = json.loads(proc.stdout)
    return facts


def test_digest_is_stable_across_builds_and_wheel_is_complete(tmp_path: Path) -> None:
    first, second = build(tmp_path / "a"), build(tmp_path / "b")
    assert first["name"] == "aihpc"
    assert first["version"] == second["version"]
    # Two builds of one tree: same content digest (the role skips the
    # reinstall), whatever the zip timestamps.
    assert first["digest"] == second["digest"]
    names = zipfile.ZipFile(first["wheel"]).namelist()
    assert "aihpc/job_templates/srun.sbatch.j2" in names
    assert "aihpc/runtime.py" in names
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)


def test_build_leaves_the_checkout_alone(tmp_path: Path) -> None:
    """What an in-tree setuptools build would leave: *.egg-info, build/lib, build/bdist.*."""

    def leftovers() -> set[str]:
        found = {p.name for p in ROOT.glob("*.egg-info")}
        found |= {f"build/{p.name}" for p in ROOT.glob("build/*") if p.name == "lib"}
        return found | {f"build/{p.name}" for p in ROOT.glob("build/bdist.*")}

    before = leftovers()
    build(tmp_path / "c")
    assert leftovers() == before


def test_refuses_a_directory_without_pyproject(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "no pyproject.toml" in proc.stderr
