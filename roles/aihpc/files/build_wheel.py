#!/usr/bin/env python3
"""Build the aihpc wheel from a checkout, on the Ansible control node.

    build_wheel.py SOURCE_DIR OUT_DIR

prints one JSON line: {"wheel": path, "name": ..., "version": ..., "digest": ...}.

The files a build reads are copied to OUT_DIR/src first, so the build leaves
nothing (build/, *.egg-info) in the checkout and two converges can build side
by side. `digest` is the sha256 of the wheel's RECORD, which lists the sha256
and size of every file in the wheel: it changes exactly when what gets
installed changes, not when only zip timestamps do (two builds of one tree
differ byte for byte).

Standard library only; runs with the Python that runs ansible-playbook.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

# What a setuptools build of this project reads (pyproject.toml, MANIFEST.in).
SOURCES = (
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "aihpc",
    "job_templates",
)


def copy_sources(source: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = source / name
        if path.is_dir():
            # symlinks=True: aihpc/job_templates is a link to ../job_templates.
            shutil.copytree(path, dest / name, symlinks=True, ignore=ignore)
        elif path.exists():
            shutil.copy2(path, dest / name)


def can_build_offline() -> bool:
    """setuptools >= 70.1 builds wheels alone; older ones need the wheel package."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    if importlib.util.find_spec("setuptools.command.bdist_wheel") is not None:
        return True
    return importlib.util.find_spec("wheel") is not None


def wheel_facts(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = next(n for n in names if n.count("/") == 1 and n.endswith(".dist-info/RECORD"))
        metadata = HeaderParser().parsestr(
            archive.read(record.replace("/RECORD", "/METADATA")).decode("utf-8")
        )
        digest = hashlib.sha256(archive.read(record)).hexdigest()
    return {
        "wheel": str(wheel),
        "name": str(metadata["Name"]),
        "version": str(metadata["Version"]),
        "digest": digest,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, out = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    if not (source / "pyproject.toml").is_file():
        print(f"build_wheel: {source} has no pyproject.toml", file=sys.stderr)
        return 2
    src, dist = out / "src", out / "dist"
    copy_sources(source, src)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check"]
    if can_build_offline():
        # Use the setuptools already here: no download, works air-gapped.
        command.append("--no-build-isolation")
    command += ["-w", str(dist), str(src)]
    # pip's output goes to stderr: stdout is the one JSON line.
    done = subprocess.run(command, stdout=sys.stderr, check=False)
    if done.returncode != 0:
        print(f"build_wheel: {' '.join(command)} failed", file=sys.stderr)
        return 1
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        print(f"build_wheel: expected one wheel in {dist}, found {wheels}", file=sys.stderr)
        return 1
    print(json.dumps(wheel_facts(wheels[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
