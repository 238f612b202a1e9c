"""Code snapshot: git-tracked files or .aihpcignore, and the copy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from aihpc import ignore, snapshot
from aihpc.errors import UsageError
from aihpc.request.model import SnapshotPlan


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("*.pt", "ckpt.pt", False, True),
        ("*.pt", "deep/dir/ckpt.pt", False, True),
        ("/data", "data", True, True),
        ("/data", "sub/data", True, False),
        ("data/", "data", False, False),
        ("data/", "x/data", True, True),
        ("logs/*.txt", "logs/a.txt", False, True),
        ("logs/*.txt", "logs/sub/a.txt", False, False),
        ("**/cache", "a/b/cache", True, True),
        ("a/**/z", "a/z", False, True),
        ("a/**/z", "a/b/c/z", False, True),
        ("out/**", "out/x/y", False, True),
        ("?.py", "a.py", False, True),
        ("?.py", "ab.py", False, False),
        ("[ab].txt", "b.txt", False, True),
        ("[!ab].txt", "c.txt", False, True),
        ("\\#notes", "#notes", False, True),
        ("# comment", "# comment", False, False),
    ],
)
def test_ignore_patterns(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    assert ignore.is_ignored(ignore.parse(pattern), path, is_dir) is ignored


def test_negation_last_match_wins() -> None:
    rules = ignore.parse("*.log\n!keep.log\n")
    assert ignore.is_ignored(rules, "a.log", False)
    assert not ignore.is_ignored(rules, "keep.log", False)


def test_walk_with_aihpcignore(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        [
            "train.py",
            "data/big.bin",
            "data/keep.txt",
            "ckpt/a.pt",
            "src/m.py",
            "notes.log",
            ".git/HEAD",
            "src/__pycache__/m.cpython-311.pyc",
        ],
    )
    (tmp_path / ".aihpcignore").write_text("# heavy stuff\n/data/\n*.pt\n*.log\n")
    os.symlink("/etc", tmp_path / "etc-link")
    files = snapshot.list_files(tmp_path)
    assert files.method == "aihpcignore"
    assert files.files == (".aihpcignore", "etc-link", "src/m.py", "train.py")
    assert files.total_bytes == sum((tmp_path / f).lstat().st_size for f in files.files)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_git_tracked_files_only(tmp_path: Path) -> None:
    _tree(tmp_path, ["train.py", "lib/util.py", "big.bin", "gone.py", "sub/x.py"])
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "train.py", "lib/util.py", "gone.py", "sub/x.py")
    _git(tmp_path, "commit", "-qm", "init")
    (tmp_path / "gone.py").unlink()  # deleted but still tracked: skipped
    (tmp_path / "train.py").write_text("edited, not committed")  # working-tree copy wins
    (tmp_path / ".aihpcignore").write_text("lib/\n")  # can drop tracked files too
    files = snapshot.list_files(tmp_path)
    assert files.method == "git"
    assert files.files == ("sub/x.py", "train.py")
    # a workdir inside the repository lists paths relative to itself
    assert snapshot.list_files(tmp_path / "sub").files == ("x.py",)


def test_git_errors_other_than_not_a_repo_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Proc:
        returncode = 128
        stdout = b""
        stderr = b"fatal: detected dubious ownership in repository"

    (tmp_path / ".git").mkdir()  # looks like a checkout, so git is asked
    monkeypatch.setattr(subprocess, "run", lambda *_a, **_k: Proc())
    with pytest.raises(UsageError, match="dubious ownership"):
        snapshot.list_files(tmp_path)


def test_git_is_not_started_outside_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No .git in the workdir or a parent (nor $GIT_DIR): the walk, without running git."""
    _tree(tmp_path, ["train.py"])

    def no_git(*_a: object, **_k: object) -> None:
        raise AssertionError("git was started")

    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.setattr(subprocess, "run", no_git)
    if snapshot._maybe_in_git(tmp_path):
        pytest.skip(f"{tmp_path} is inside a git checkout or git directory")
    assert snapshot.list_files(tmp_path).method == "aihpcignore"
    # A `.git` file (worktree, submodule) or $GIT_DIR: git decides.
    (tmp_path / ".git").write_text("gitdir: /nowhere\n")
    assert snapshot._maybe_in_git(tmp_path)
    (tmp_path / ".git").unlink()
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    assert snapshot._maybe_in_git(tmp_path)
    # A bare repository (or a .git directory) as workdir is git's business too.
    monkeypatch.delenv("GIT_DIR")
    bare = tmp_path / "bare.git"
    for sub in ("objects", "refs"):
        (bare / sub).mkdir(parents=True)
    (bare / "HEAD").write_text("ref: refs/heads/main\n")
    assert snapshot._maybe_in_git(bare / "objects")


def test_git_listing_through_a_symlinked_workdir(tmp_path: Path) -> None:
    """git finds the repository on the real path; so must the shortcut."""
    repo = tmp_path / "repo"
    _tree(repo, ["sub/x.py"])
    _git(repo, "init", "-q")
    _git(repo, "add", "sub/x.py")
    _git(repo, "commit", "-qm", "init")
    link = tmp_path / "outside"
    link.mkdir()
    os.symlink(repo / "sub", link / "sub")
    files = snapshot.list_files(link / "sub")
    assert (files.method, files.files) == ("git", ("x.py",))


def test_copy_keeps_symlinks_and_refuses_escapes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _tree(src, ["a.py", "pkg/b.py"])
    os.symlink("a.py", src / "link.py")
    plan = SnapshotPlan(
        str(src), str(tmp_path / "dst"), "aihpcignore", ("a.py", "link.py", "pkg/b.py"), 0
    )
    seen: list[tuple[int, int]] = []
    snapshot.copy(plan, lambda done, total: seen.append((done, total)))
    dst = tmp_path / "dst"
    assert (dst / "pkg" / "b.py").read_text() == "pkg/b.py"
    assert os.readlink(dst / "link.py") == "a.py"
    assert seen[-1] == (3, 3)
    bad = SnapshotPlan(str(src), str(tmp_path / "dst2"), "git", ("../secret",), 0)
    with pytest.raises(UsageError, match="outside"):
        snapshot.copy(bad)
