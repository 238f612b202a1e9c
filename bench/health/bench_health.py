"""Time `aihpc health` on this node against `python -c pass` measured in the same run.

    python bench/health/bench_health.py [--runs 10] [--expect /etc/aihpc/health.json]

Without --expect it writes an expectations file that exercises the checks a
container node has (4 fake GPUs by device file when /dev/nvidia0-3 exist,
/tmp, memory, munged/slurmd), so it also runs on a laptop. The target is a
run far inside Slurm's 60 s limit: under 5 s on a node. Prints the median
and worst wall time of the health program and of the interpreter start-up
baseline, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = 5.0


def timed(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - start, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--expect", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        expect = args.expect
        if not expect:
            expect = str(Path(tmp) / "health.json")
            data = {
                "gpus": {"vendor": "nvidia", "type": "h100", "count": 4},
                "mounts": [{"path": "/tmp", "writable": True, "min_free_gib": 0.1}],
                "memory": {"min_available_percent": 1},
                "daemons": ["munged", "slurmd"],
            }
            Path(expect).write_text(json.dumps(data))
        health = [sys.executable, "-I", "-m", "aihpc.health", "--expect", expect]
        health += ["--state-dir", str(Path(tmp) / "state"), "--metrics-dir", tmp]
        baseline = [timed([sys.executable, "-I", "-c", "pass"])[0] for _ in range(args.runs)]
        runs = [timed(health) for _ in range(args.runs)]
    times = [t for t, _ in runs]
    codes = sorted({c for _, c in runs})
    base = statistics.median(baseline)
    med = statistics.median(times)
    print(f"python -c pass   median {base * 1000:7.1f} ms")
    print(f"aihpc health     median {med * 1000:7.1f} ms  worst {max(times) * 1000:7.1f} ms")
    print(f"ratio (health / interpreter start) {med / base:.1f}x; exit codes {codes}")
    print(f"target: worst < {TARGET:g} s: {'met' if max(times) < TARGET else 'MISSED'}")
    return 0 if max(times) < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
