"""Where the live local cluster's ssh config is, for the cluster test lanes.

scripts/test-cluster.sh and `make cluster-up` write it (playbooks/local/up.yml);
the modules that need a live cluster skip when it is missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFIX = os.environ.get("AIHPC_LOCAL_PREFIX", "aihpc-")
STATE_DIR = Path(os.environ.get("AIHPC_STATE_DIR", ROOT / ".cache" / "local-cluster"))
SSH_CONFIG = STATE_DIR / f"{PREFIX}ssh_config"


def _controller_running() -> bool:
    # The ssh config outlives its cluster (a reboot, a new session): ask docker.
    proc = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", f"{PREFIX}ctl1"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def require_live_cluster() -> None:
    """Skip the calling test module when no live cluster is up."""
    if not SSH_CONFIG.exists() or not _controller_running():
        pytest.skip(
            f"no live cluster: {SSH_CONFIG} is missing or {PREFIX}ctl1 is not running "
            "(make cluster-up starts one)",
            allow_module_level=True,
        )
