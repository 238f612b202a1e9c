"""Report benchmark: one million synthetic accounting rows, streamed through `aihpc report`.

    python bench/report/bench_report.py             # 1,000,000 rows
    python bench/report/bench_report.py --rows 200000 --keep

The fixture is generated here, in `sacct -a -X -P -n --noconvert -o <FIELDS>`
form with epoch times (what the report's one sacct call prints): 256 nodes of
8 GPUs (h100 and a100), 40 accounts, 400 users, array tasks, running and
pending jobs, a `|` in some job names, over a 30-day window.

Each measurement is a fresh process; peak memory is that process's max RSS:
  * `python -c pass` and `wc -l` on the file (floors for start-up and reading);
  * a Python loop that only splits every line on `|` (the parse floor);
  * the report: every row parsed and aggregated, exactly as `aihpc report`
    does it (aihpc.report.accumulate's `add_rows` over
    aihpc.slurm.sacct_records' `iter_window_rows`), then the report dict
    built and rendered to JSON and CSV.
Targets (issue 12): under 10 s and under 500 MB for a million rows.

sacct itself cannot be timed here: there is no slurmdbd with a million jobs
on this machine, so the figure to compare with (the time sacct needs to
print the same rows) is left for a real cluster; the line rate of the other
baselines is printed instead.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
W0 = 1767225600  # 2026-01-01T00:00:00Z
DAYS = 30
NODES = 256
TIME_TARGET_S = 10.0
MEMORY_TARGET_MB = 500.0

REPORT_CHILD = """
import json, sys, time
sys.path.insert(0, {repo!r})
from aihpc.report.accumulate import Accumulator
from aihpc.report.build import Filters, build_report
from aihpc.report.capacity import LostTime, NodeGpus
from aihpc.report.prices import GpuPrice, PriceTable
from aihpc.report.render_csv import render_csv
from aihpc.report.window import Window
from aihpc.slurm.events import NodeEvent
from aihpc.slurm.sacct_records import iter_window_rows

window = Window({w0}, {w1})
nodes = {{
    f"gpu{{i:03d}}": NodeGpus(f"gpu{{i:03d}}", {{"h100" if i % 2 else "a100": 8}}, ("gpu",))
    for i in range({nodes})
}}
events = [
    NodeEvent(f"gpu{{i:03d}}", {w0} + i * 3000, {w0} + i * 3000 + 7200, "IDLE+DRAIN", "root", "x")
    for i in range(0, {nodes}, 8)
]
lost = LostTime.build(window, nodes, events, [])
acc = Accumulator(window, nodes, lost, top_n=10)
with open({path!r}) as lines:
    acc.add_rows(iter_window_rows(lines))
prices = PriceTable("EUR", {{"h100": GpuPrice(2.5, 1.1), "a100": GpuPrice(1.2, 0.6)}})
report = build_report(acc, nodes, events, [], prices, Filters(), {{"available": False}})
text = json.dumps(report) + render_csv(report)
print(json.dumps({{"rows": acc.rows, "gpu_hours": sum(a["gpu_hours"] for a in report["accounts"]),
                  "bytes": len(text)}}))
"""

SPLIT_CHILD = """
n = 0
with open({path!r}) as lines:
    for line in lines:
        n += len(line.split("|", 16))
print(n)
"""


def generate(path: Path, rows: int, seed: int = 12) -> None:
    """Rows shaped like a busy GPU cluster's month; written in chunks."""
    rng = random.Random(seed)
    span = DAYS * 86400
    accounts = [f"acct{i:02d}" for i in range(40)]
    states = ["COMPLETED"] * 14 + ["FAILED", "CANCELLED by 1001", "TIMEOUT", "OUT_OF_MEMORY"]
    chunk: list[str] = []
    job = 1000
    with path.open("w") as out:
        for i in range(rows):
            job += 1
            account = accounts[rng.randrange(40)]
            user = f"u{rng.randrange(400):03d}"
            gpus = rng.choice((1, 1, 2, 4, 8, 8, 16))
            node_count = max(1, gpus // 8)
            first = rng.randrange(NODES - node_count)
            nodes = (
                f"gpu{first:03d}"
                if node_count == 1
                else f"gpu[{first:03d}-{first + node_count - 1:03d}]"
            )
            submit = W0 - 3600 + rng.randrange(span)
            start = submit + int(rng.expovariate(1 / 600))
            elapsed = int(rng.expovariate(1 / 1800)) + 10
            state = rng.choice(states)
            end: int | str = start + elapsed
            if i % 500 == 0:
                state, end, elapsed = "RUNNING", "Unknown", max(0, W0 + span - start)
            if i % 700 == 0:
                state, start_text, end, elapsed = "PENDING", "Unknown", "Unknown", 0
                nodes = "None assigned"
            else:
                start_text = str(start)
            task = f"{job}_{i % 7}" if i % 3 == 0 else str(job)
            name = "sweep|lr" if i % 97 == 0 else f"train-{i % 50}"
            typed = f"gres/gpu:h100={gpus}," if first % 2 else ""
            chunk.append(
                f"{job}|{task}|{user}|{account}|gpu|{state}|0:0|{submit}|{start_text}|{end}|"
                f"{elapsed}|{gpus * 4}|{elapsed // 60:02d}:{elapsed % 60:02d}.000||"
                f"billing={gpus * 4},cpu={gpus * 4},{typed}gres/gpu={gpus},mem={gpus * 64000}M,"
                f"node={node_count}|{nodes}|{name}\n"
            )
            if len(chunk) >= 10000:
                out.writelines(chunk)
                chunk.clear()
        out.writelines(chunk)


def measure(argv: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MB, stdout) of one child process.

    CPU time (user + system) is printed next to wall time because this
    machine is shared: under load the wall time of the same work varies 2x.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest so far: measure the big one last.
    return wall, cpu, after.ru_maxrss / 1024, proc.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated fixture")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="aihpc-bench-report-"))
    fixture = workdir / "sacct.txt"
    started = time.perf_counter()
    generate(fixture, args.rows)
    size_mb = fixture.stat().st_size / 1e6
    print(
        f"fixture: {args.rows:,} rows, {size_mb:.0f} MB, "
        f"generated in {time.perf_counter() - started:.1f} s"
    )
    w1 = W0 + DAYS * 86400
    runs = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("wc -l", ["wc", "-l", str(fixture)]),
        ("python split only", [sys.executable, "-c", SPLIT_CHILD.format(path=str(fixture))]),
        (
            "aihpc report (parse + aggregate + render)",
            [
                sys.executable,
                "-c",
                REPORT_CHILD.format(repo=str(REPO), w0=W0, w1=w1, nodes=NODES, path=str(fixture)),
            ],
        ),
    ]
    results = []
    for label, argv in runs:
        wall, cpu, peak, out = measure(argv)
        results.append((label, wall, cpu, peak, out))
    base = results[0][1]
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"\n{'run':<44} {'wall s':>8} {'cpu s':>7} {'rows/s (wall)':>14} {'x python':>9} "
        f"{'peak MB*':>9}"
    )
    for label, wall, cpu, peak, _ in results:
        rate = args.rows / wall if label != "python -c pass" else float("nan")
        print(f"{label:<44} {wall:8.2f} {cpu:7.2f} {rate:14,.0f} {wall / base:9.1f} {peak:9.0f}")
    report_wall, report_cpu, report_peak = results[-1][1], results[-1][2], results[-1][3]
    summary = json.loads(results[-1][4])
    print("* peak MB: the largest max RSS of any child so far (children run in this order)")
    print(
        f"\nreport: {summary['rows']:,} rows, {summary['gpu_hours']:,.0f} GPU-hours, "
        f"{report_wall / results[2][1]:.1f}x the split-only floor (wall)"
    )
    print(
        f"targets: time {report_wall:.2f} s wall, {report_cpu:.2f} s CPU (< {TIME_TARGET_S:.0f} s: "
        f"{'met' if report_wall < TIME_TARGET_S else 'MISSED'}), peak {report_peak:.0f} MB "
        f"(< {MEMORY_TARGET_MB:.0f} MB: {'met' if report_peak < MEMORY_TARGET_MB else 'MISSED'})"
    )
    print("sacct itself: not measurable here (no slurmdbd with a million jobs on this machine)")
    if args.keep:
        print(f"fixture kept: {fixture}")
    else:
        fixture.unlink()
        workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
