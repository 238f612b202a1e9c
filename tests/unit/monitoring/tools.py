"""promtool/amtool for the monitoring tests, and the rendered monitoring tree.

scripts/ensure-promtool.sh unpacks them from the distribution's packages
into .cache/tools/bin (the unit lane runs it: scripts/lint.sh's neighbour in
the Makefile); a promtool on PATH is used when present.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.unit.conftest import REPO

TOOLS = REPO / ".cache" / "tools" / "bin"
MONITORING = REPO / "roles" / "monitoring"
FIXTURES = REPO / "tests" / "fixtures" / "monitoring"
ALERT_TESTS = Path(__file__).parent / "alerts_test.yml"


def tool(name: str) -> str:
    """The path of promtool/amtool; fetched by scripts/ensure-promtool.sh if missing."""
    local = TOOLS / name
    if not local.exists() and shutil.which(name) is None:
        subprocess.run([str(REPO / "scripts" / "ensure-promtool.sh")], check=True, timeout=600)
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} not found after scripts/ensure-promtool.sh"
    return found


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(name), *args], capture_output=True, text=True, timeout=120, check=False
    )
