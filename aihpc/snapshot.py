"""The code snapshot: which files of the workdir a job gets, and the copy.

Listing happens before `materialize` (it is read-only); copying is a side
effect of the submit step. The job runs from the copy in its job directory,
so editing the workdir later cannot change a queued or requeued job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from aihpc import ignore
from aihpc.errors import UsageError
from aihpc.request.model import SnapshotFiles, SnapshotPlan

IGNORE_FILE = ".aihpcignore"


def _git_files(workdir: Path) -> list[str] | None:
    """Tracked files relative to workdir, or None when it is not in a git repo."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(workdir), "ls-files", "-z", "--cached", "--recurse-submodules"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        return None  # no git on this machine: fall back to .aihpcignore
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        if "not a git repository" in message:
            return None
        raise UsageError(f"git ls-files failed in {workdir}: {message}")
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _walk(workdir: Path, rules: list[ignore.Rule]) -> list[str]:
    found = []
    for root, dirs, files in os.walk(workdir):
        rel_root = os.path.relpath(root, workdir)
        prefix = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
        kept_dirs = []
        for name in sorted(dirs):
            full = os.path.join(root, name)
            if os.path.islink(full):
                # A symlinked directory is copied as a link, never followed.
                if not ignore.is_ignored(rules, prefix + name, is_dir=False):
                    found.append(prefix + name)
            elif not ignore.is_ignored(rules, prefix + name, is_dir=True):
                kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            if not ignore.is_ignored(rules, prefix + name, is_dir=False):
                found.append(prefix + name)
    return sorted(found)


def _read_rules(workdir: Path, defaults: tuple[str, ...]) -> list[ignore.Rule]:
    text = "\n".join(defaults)
    path = workdir / IGNORE_FILE
    if path.is_file():
        text += "\n" + path.read_text(encoding="utf-8", errors="replace")
    return ignore.parse(text)


def list_files(workdir: Path) -> SnapshotFiles:
    """git-tracked files when workdir is in a git repository, else a filtered walk.

    `.aihpcignore` applies in both cases, so it can also drop tracked files.
    """
    tracked = _git_files(workdir)
    if tracked is not None:
        rules = _read_rules(workdir, ())
        files = [
            f
            for f in tracked
            if (workdir / f).is_file() or (workdir / f).is_symlink()  # skip deleted files
            if not ignore.is_ignored_file(rules, f)
        ]
        method = "git"
    else:
        files = _walk(workdir, _read_rules(workdir, ignore.DEFAULT_PATTERNS))
        method = "aihpcignore"
    total = sum((workdir / f).lstat().st_size for f in files)
    return SnapshotFiles(method=method, files=tuple(sorted(files)), total_bytes=total)


def copy(plan: SnapshotPlan, progress: Callable[[int, int], None] | None = None) -> None:
    """Copy the planned files into plan.dest, keeping symlinks as symlinks."""
    source, dest = Path(plan.source), Path(plan.dest)
    dest.mkdir(parents=True, exist_ok=True)
    for done, rel in enumerate(plan.files, start=1):
        if rel.startswith("/") or ".." in rel.split("/"):
            raise UsageError(f"refusing to copy {rel!r}: outside the workdir")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target, follow_symlinks=False)
        if progress is not None:
            progress(done, len(plan.files))
