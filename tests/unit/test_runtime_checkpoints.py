"""Checkpoints are never half-written; TERM becomes a checkpoint request.

atomic_path writes a hidden temporary beside the target and renames it only
after the data is on disk; a save killed midway (here: an exception, and a
child process killed with SIGKILL while writing) leaves the last good file
and at most a `.name.*` partial that latest_checkpoint() ignores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aihpc import runtime
from tests.unit.conftest import REPO


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    runtime._reset_for_tests()
    yield
    runtime._reset_for_tests()


def test_a_save_killed_midway_leaves_the_last_good_checkpoint(tmp_path: Path) -> None:
    tmp_path = tmp_path / "ckpts"
    tmp_path.mkdir()
    target = tmp_path / "ckpt.pt"
    target.write_bytes(b"good")
    # A writer that dies (SIGKILL, as with a node losing power) inside atomic_path.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.path.insert(0, sys.argv[2]); from aihpc import runtime\n"
            "with runtime.atomic_path(sys.argv[1]) as tmp:\n"
            "    f = open(tmp, 'wb'); f.write(b'half'); f.flush(); print('writing', flush=True)\n"
            "    time.sleep(60)\n",
            str(target),
            str(REPO),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    partials = [p for p in tmp_path.iterdir() if p.name != "ckpt.pt"]
    assert len(partials) == 1 and runtime.is_partial(partials[0]), partials
    assert target.read_bytes() == b"good"
    assert runtime.latest_checkpoint(directory=tmp_path) == target


def test_latest_checkpoint_skips_a_torn_newer_file(tmp_path: Path) -> None:
    tmp_path = tmp_path / "ckpts"
    tmp_path.mkdir()
    old = tmp_path / "step-00050.pt"
    old.write_bytes(b"complete")
    time.sleep(0.01)
    torn = tmp_path / ".step-00100.pt.x1y2z3"  # what atomic_path leaves when killed
    torn.write_bytes(b"par")
    assert runtime.latest_checkpoint("*.pt", tmp_path) == old
    assert runtime.latest_checkpoint("*.pt", tmp_path / "missing") is None
    with runtime.atomic_path(tmp_path / "step-00100.pt") as tmp:
        tmp.write_bytes(b"complete too")
    assert runtime.latest_checkpoint("*.pt", tmp_path) == tmp_path / "step-00100.pt"


def test_atomic_path_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "ckpt"
    with runtime.atomic_path(target) as tmp:
        assert runtime.is_partial(tmp) and tmp.parent == target.parent
        tmp.write_text("v1")
    with pytest.raises(RuntimeError), runtime.atomic_path(target) as tmp:
        tmp.write_text("v2-partial")
        raise RuntimeError("killed")
    assert target.read_text() == "v1"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ckpt"]


def test_sigterm_becomes_a_checkpoint_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIHPC_CHECKPOINT_FLAG", raising=False)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        runtime.stop_on_sigterm()
        assert runtime.checkpoint_requested() is False
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # srun's and slurmstepd's: still alive
        assert runtime.checkpoint_requested() is True
    finally:
        signal.signal(signal.SIGTERM, previous)
