"""`aihpc --help` and `aihpc list` must not import jinja2, pydantic or yaml.

A real process runs the CLI and, at exit, prints every module in
sys.modules, so a stray top-level import anywhere fails these tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.unit.conftest import FIXTURES

HEAVY = ("jinja2", "pydantic", "pydantic_core", "yaml", "rich")
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
    "sys.argv = ['aihpc', *sys.argv[1:]]\n"
    "from aihpc.cli.main import main\n"
    "main()\n"
)


def _imported(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("MODULES ")]
    return set(line.split()[1:])


def _top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_imports_nothing_heavy() -> None:
    modules = _imported(["--help"])
    assert "aihpc.cli.main" in modules  # sanity: the measurement works
    # The static top-level help does not even need click.
    assert not _top_level(modules) & {*HEAVY, "click"}
    assert not {
        m for m in modules if m.startswith(("aihpc.backend", "aihpc.spec", "aihpc.request"))
    }


def test_subcommand_help_loads_click_but_nothing_heavy() -> None:
    modules = _imported(["submit", "--help"])
    assert "click" in _top_level(modules) and "aihpc.cli.cmd_submit" in modules
    assert not _top_level(modules) & set(HEAVY)
    assert "aihpc.cli.cmd_logs" not in modules  # other subcommands stay unloaded


def test_list_imports_the_backend_but_nothing_heavy(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, fixture in (("squeue", "squeue_24.11.json"), ("sacct", "sacct_24.11.json")):
        stub = bin_dir / name
        stub.write_text(f"#!/bin/sh\ncat {FIXTURES / 'slurm' / fixture}\n")
        stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", AIHPC_BACKEND="cli")
    modules = _imported(["list"], env)
    assert "aihpc.backend.cli_backend" in modules
    assert not _top_level(modules) & set(HEAVY)


def test_dry_run_imports_neither_jinja2_nor_click(tmp_path: Path) -> None:
    """`submit --dry-run` renders from the compiled templates and skips click (issue 14).

    Outside a git checkout it does not start git either (no subprocess), and
    no module on its path imports typing at run time (~2 ms; see
    aihpc/spec/records.py for the idiom).
    """
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "train.yaml").write_text("name: demo\nscript: train.py\nnodes: 2\n")
    profile = tmp_path / "cluster.yaml"
    profile.write_text((FIXTURES / "golden-profile.yaml").read_text())
    env = dict(os.environ, AIHPC_CLUSTER_PROFILE=str(profile))
    env.pop("GIT_DIR", None)
    modules = _imported(["submit", str(tmp_path / "train.yaml"), "--dry-run"], env)
    assert "aihpc.request.compiled_templates" in modules
    assert not _top_level(modules) & {"jinja2", "click", "rich", "pydantic", "typing"}
    from aihpc import snapshot

    if not snapshot._maybe_in_git(tmp_path):
        assert "subprocess" not in modules
