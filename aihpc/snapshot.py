"""The code snapshot: which files of the workdir a job gets, and the copy.

Listing happens before `materialize` (it is read-only); copying is a side
effect of the submit step. The job runs from the copy in its job directory,
so editing the workdir later cannot change a queued or requeued job.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from aihpc import ignore
from aihpc.errors import UsageError
from aihpc.request.model import SnapshotFiles, SnapshotPlan

IGNORE_FILE = ".aihpcignore"


def _maybe_in_git(workdir: Path) -> bool:
    """False when git could not find a repository for workdir, without running it.

    git looks for `.git` (a directory, or a file in worktrees and submodules)
    in workdir and each parent (of its real path), or takes a directory that is
    itself a git directory (HEAD, objects/, refs/), unless $GIT_DIR names one. When none of
    that is there, `git ls-files` would only say "not a git repository": a dry
    run outside a checkout skips starting git (and importing subprocess).
    """
    if os.environ.get("GIT_DIR"):
        return True
    directory = os.path.realpath(workdir)  # git walks up the physical path
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return True
        if os.path.isfile(os.path.join(directory, "HEAD")) and all(
            os.path.isdir(os.path.join(directory, sub)) for sub in ("objects", "refs")
        ):
            return True
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent


def _git_files(workdir: Path) -> list[str] | None:
    """Tracked files relative to workdir, or None when it is not in a git repo."""
    if not _maybe_in_git(workdir):
        return None
    import subprocess  # ~4 ms of imports: only when git has to run

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
    root = str(workdir)
    if tracked is not None:
        rules = _read_rules(workdir, ())
        files = []
        total = 0
        for f in tracked:
            if ignore.is_ignored_file(rules, f):
                continue
            try:
                info = os.lstat(os.path.join(root, f))
            except OSError:
                continue  # deleted since it was committed
            # Files and symlinks (copied as links); a directory (a submodule
            # not recursed into) or a special file is not copied.
            if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                files.append(f)
                total += info.st_size
        method = "git"
    else:
        files = _walk(workdir, _read_rules(workdir, ignore.DEFAULT_PATTERNS))
        method = "aihpcignore"
        total = sum(os.lstat(os.path.join(root, f)).st_size for f in files)
    return SnapshotFiles(method=method, files=tuple(sorted(files)), total_bytes=total)


def copy(plan: SnapshotPlan, progress: Callable[[int, int], None] | None = None) -> None:
    """Copy the planned files into plan.dest, keeping symlinks as symlinks."""
    import shutil  # not on the dry-run path

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
