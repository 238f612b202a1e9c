"""Load a role's module or plugin from its file, and run a module as Ansible does.

Role modules and filter plugins are loose files (roles/<role>/library/*.py),
not an importable package; the tests load them by path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def load_source(name: str, path: Path, *, register: bool = False) -> ModuleType:
    """Import the Python file at path as module `name`.

    register puts it in sys.modules first, which dataclasses defined in the
    file need to resolve their own annotations.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_module(
    module: Path,
    module_args: dict[str, Any],
    tmp: Path,
    env: dict[str, str] | None = None,
) -> tuple[dict[str, Any], int]:
    """Run an Ansible module in a subprocess with its arguments file.

    PATH puts tmp/bin first, where a test drops fake commands (nvidia-smi,
    sacctmgr, ...). Returns the module's JSON result and its exit code.
    """
    args = tmp / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    full_env = {
        "PATH": f"{tmp / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, str(module), str(args)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        result: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:  # pragma: no cover - shows the crash
        raise AssertionError(f"module output: {proc.stdout!r} {proc.stderr!r}") from exc
    return result, proc.returncode


def run_module_ok(
    module: Path, module_args: dict[str, Any], tmp: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """run_module for a module that must succeed: its result."""
    result, rc = run_module(module, module_args, tmp, env)
    assert rc == 0, result
    return result
