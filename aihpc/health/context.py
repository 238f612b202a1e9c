"""What a check may touch: commands through a Runner, files under a root.

Tests give a Runner that replays recorded output and a root holding a fake
/dev, /sys and /proc; on a node the root is "/". The command results that
two checks need (nvidia-smi) are run once per run and shared.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aihpc.errors import ClusterError
from aihpc.health.expect import Expectations
from aihpc.slurm.run import Completed, Runner

# A command a check runs must answer well inside the check's own time limit.
COMMAND_TIMEOUT = 8.0


class CommandMissing(Exception):
    """The tool is not installed on this node (the check reports unknown or falls back)."""


@dataclass
class Context:
    expect: Expectations
    runner: Runner
    root: Path = Path("/")
    state_dir: Path = Path("/var/lib/aihpc/health")
    # shutil.which by default; tests say which tools "exist".
    which: Callable[[str], str | None] = shutil.which
    _cache: dict[tuple[str, ...], Completed | Exception] = field(default_factory=dict)
    _locks: dict[tuple[str, ...], threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def run(self, argv: list[str], timeout: float = COMMAND_TIMEOUT) -> Completed:
        """Run a command once per run (later callers get the same result).

        Raises CommandMissing when the tool is not installed and ClusterError
        when it does not answer in time.
        """
        key = tuple(argv)
        with self._lock:
            command_lock = self._locks.setdefault(key, threading.Lock())
        # One lock per command: different commands still run in parallel.
        with command_lock:
            if key not in self._cache:
                self._cache[key] = self._run(argv, timeout)
            found = self._cache[key]
        if isinstance(found, Exception):
            raise found
        return found

    def _run(self, argv: list[str], timeout: float) -> Completed | Exception:
        tool = self.which(argv[0])
        if tool is None:
            return CommandMissing(f"{argv[0]} is not installed")
        try:
            return self.runner([tool, *argv[1:]], timeout)
        except ClusterError as exc:
            return exc
