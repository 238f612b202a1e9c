"""Shared pieces for the report tests: the fixture window and a fake Slurm on PATH."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.unit.conftest import FIXTURES

REPORT = FIXTURES / "report"
NODES_JSON = FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json"
W0 = 1735700000
W1 = 1735710000

PRICED_PROFILE = """\
schema: 1
prices:
  currency: EUR
  gpu_types:
    h100: {price_per_gpu_hour: 2.5, cost_per_gpu_hour: 1.0}
"""


def fake_slurm(bin_dir: Path, log: Path) -> dict[str, str]:
    """sacct/sacctmgr/scontrol stubs that print the fixtures and log their argv.

    sacct refuses to answer unless SLURM_TIME_FORMAT=%s is set, as the
    fixtures hold epoch seconds.
    """
    bin_dir.mkdir(exist_ok=True)
    scripts = {
        "sacct": f"""#!/bin/sh
echo "sacct $*" >> {log}
[ "$SLURM_TIME_FORMAT" = "%s" ] || {{ echo "SLURM_TIME_FORMAT not set" >&2; exit 3; }}
case "$*" in
  *"-j 201 "*) cat {REPORT / "sacct_job_201.txt"} ;;
  *"-j 300 "*|*"-j 300_"*) cat {REPORT / "sacct_job_300.txt"} ;;
  *"-j 400 "*) cat {REPORT / "sacct_job_400.txt"} ;;
  *"-j "*) exit 0 ;;
  *) cat {REPORT / "sacct_window.txt"} ;;
esac
""",
        "sacctmgr": f"""#!/bin/sh
echo "sacctmgr $*" >> {log}
cat {REPORT / "sacctmgr_events.txt"}
""",
        "scontrol": f"""#!/bin/sh
echo "scontrol $*" >> {log}
case "$*" in
  "show nodes --json") cat {NODES_JSON} ;;
  "show reservations --json") cat {REPORT / "scontrol_show_reservations_24.11.json"} ;;
  *) echo "unexpected scontrol $*" >&2; exit 1 ;;
esac
""",
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def load_json(path: Path) -> object:
    return json.loads(path.read_text())
