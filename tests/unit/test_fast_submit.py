"""`aihpc submit` without click (issue 14, speed): same output, same errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aihpc.cli import fast_submit
from aihpc.cli.app import run as run_click
from tests.unit.cli_helpers import run_cli
from tests.unit.test_lazy_imports import _imported


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["t.yaml"], (Path("t.yaml"), (), False, False)),
        (
            ["--dry-run", "t.yaml", "-o", "nodes=2", "-onodes=3", "--json"],
            (Path("t.yaml"), ("nodes=2", "nodes=3"), True, True),
        ),
        (
            ["t.yaml", "--override", "a=-1", "--override=b=2"],
            (Path("t.yaml"), ("a=-1", "b=2"), False, False),
        ),
        (["t.yaml", "-o", "-x"], (Path("t.yaml"), ("-x",), False, False)),
    ],
)
def test_plain_forms_are_parsed(args: list[str], expected: tuple[object, ...]) -> None:
    parsed = fast_submit.parse(args)
    assert parsed is not None
    assert (parsed.spec, parsed.overrides, parsed.dry_run, parsed.as_json) == expected


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["-h"],
        ["t.yaml", "-o"],
        ["t.yaml", "--hold"],
        ["a", "b"],
        ["--", "t"],
        ["-"],
    ],
)
def test_everything_else_goes_to_click(args: list[str]) -> None:
    assert fast_submit.parse(args) is None


def test_a_directory_goes_to_click(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fast_submit.parse([str(tmp_path)]) is None
    code, _, err = run_cli(["submit", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err


def _normalised(text: str) -> str:
    return re.sub(r"\d{8}-\d{6}-[0-9a-f]{6}", "@STAMP@", text)


@pytest.mark.parametrize("extra", [["--dry-run"], ["--dry-run", "--json"], ["-o", "nodes=0"]])
def test_same_output_and_exit_code_as_click(
    extra: list[str],
    profile_file: Path,
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert profile_file.exists()
    spec = project / "train.yaml"
    spec.write_text("name: demo\nscript: train.py\nnodes: 2\n")
    fast = run_cli(["submit", str(spec), *extra], capsys)
    with pytest.raises(SystemExit) as exc:
        run_click(["submit", str(spec), *extra])
    out, err = capsys.readouterr()
    assert fast[0] == exc.value.code
    assert _normalised(fast[1]) == _normalised(out) and fast[2] == err


def test_plain_submit_does_not_import_click(profile_file: Path, project: Path) -> None:
    spec = project / "train.yaml"
    spec.write_text("name: demo\nscript: train.py\n")
    env = {"AIHPC_CLUSTER_PROFILE": str(profile_file), "PATH": "/usr/bin:/bin"}
    modules = _imported(["submit", str(spec), "--dry-run"], env)
    assert "aihpc.cli.fast_submit" in modules
    assert not {m.split(".")[0] for m in modules} & {"click", "pydantic", "rich"}
