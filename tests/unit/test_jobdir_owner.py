"""The directory holding one user's job directories: made private, refused if others control it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from aihpc.errors import UsageError
from aihpc.jobdir import ensure_owner_dir

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


def test_a_new_directory_is_private(tmp_path: Path) -> None:
    target = tmp_path / "jobs" / "alice"
    ensure_owner_dir(target)
    assert target.is_dir()
    assert target.stat().st_mode & 0o777 == 0o700


def test_an_existing_own_directory_is_used(tmp_path: Path) -> None:
    target = tmp_path / "alice"
    target.mkdir(mode=0o755)
    ensure_owner_dir(target)  # no error


def test_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    link = tmp_path / "alice"
    link.symlink_to(real)
    with pytest.raises(UsageError, match="is not a directory"):
        ensure_owner_dir(link)


def test_a_world_writable_directory_without_sticky_bit_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "alice"
    target.mkdir()
    target.chmod(0o777)
    with pytest.raises(UsageError, match=r"without the sticky bit \(mode 0777\)"):
        ensure_owner_dir(target)


def test_a_sticky_shared_directory_is_accepted(tmp_path: Path) -> None:
    target = tmp_path / "team"
    target.mkdir()
    target.chmod(0o1777)
    ensure_owner_dir(target)


@needs_root
def test_a_directory_another_user_made_first_is_refused() -> None:
    # Not under tmp_path: pytest's base is 0700 and alice must reach the dir.
    base = Path(tempfile.mkdtemp(prefix="aihpc-jobdir-"))
    base.chmod(0o755)
    root = base / "jobs"
    root.mkdir()
    root.chmod(0o1777)
    squatted = root / "alice"
    squatted.mkdir(mode=0o700)
    os.chown(squatted, 4321, 4321)
    pid = os.fork()
    if pid == 0:  # as alice (uid 2001), as the CLI would run
        code = 3
        try:
            os.setgid(2001)
            os.setuid(2001)
            try:
                ensure_owner_dir(squatted)
                code = 1
            except UsageError as exc:
                code = 0 if "owned by uid 4321, not by you (uid 2001)" in str(exc) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(base)
    assert os.waitstatus_to_exitcode(status) == 0
