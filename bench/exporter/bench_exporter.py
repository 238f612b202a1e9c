"""Exporter benchmark: CPU of one scrape at 1,000 nodes and 10,000 jobs.

    python bench/exporter/bench_exporter.py [--nodes 1000] [--jobs 10000] [--repeat 3]

Slurm is replaced by a Runner that returns pre-built output in the shapes
recorded from the real 24.11 cluster (tests/unit/slurm_synth.py copies the
recorded records), so what is measured is the exporter's own work: parsing,
counting and rendering the exposition (pending-age and started-wait
histograms included: the jobs carry submit, eligible and start times around
slurm_synth.BIG_NOW). One scrape = a fresh cache, one refresh of the four
commands, one full /metrics rendering.

Both job paths run in the same process, so the ratios hold on a busy
machine: squeue --json (about 5 KB per job) against the lean squeue -O
text. Baseline: `json.loads` of the squeue --json text alone.
Target (issue 10): at most 0.5 s of exporter CPU per scrape.
Not a test: nothing here fails on a slow machine; it prints figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from aihpc.exporter.cache import SlurmCache  # noqa: E402
from aihpc.exporter.server import exposition  # noqa: E402
from aihpc.exporter.sources import sources  # noqa: E402
from aihpc.slurm.run import Completed  # noqa: E402
from tests.unit.slurm_synth import (  # noqa: E402
    BIG_NOW,
    SLURM,
    big_cluster,
    squeue_json,
    squeue_lean,
)

TARGET_CPU = 0.5


def cpu(action: Callable[[], object], repeat: int) -> float:
    """Median process CPU seconds (all threads) of `action`."""
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    nodes_text, jobs = big_cluster(args.nodes, args.jobs)
    outputs = {
        "scontrol": nodes_text,
        "sdiag": (SLURM / "sdiag_24.11.json").read_text(),
        "sshare": (SLURM / "sshare_24.11.json").read_text(),
        "squeue --json": squeue_json(jobs),
        "squeue lean": squeue_lean(jobs),
    }

    def runner(argv: list[str], _timeout: float) -> Completed:
        key = argv[0]
        if key == "env":  # the lean squeue: env SLURM_TIME_FORMAT=%s squeue ...
            key = next(arg for arg in argv[1:] if "=" not in arg)
        if key == "squeue":
            key = "squeue --json" if "--json" in argv else "squeue lean"
        return Completed(0, outputs[key], "")

    def scrape(mode: str) -> Callable[[], bytes]:
        def once() -> bytes:
            cache = SlurmCache(sources(mode), runner, interval=30, timeout=10, wall=lambda: BIG_NOW)
            body = exposition(cache)
            assert all(r.ok for r in cache.get().results.values()), cache.get().results
            return body

        return once

    warm = SlurmCache(sources("lean"), runner, interval=3600, timeout=10, wall=lambda: BIG_NOW)
    exposition(warm)
    figures = {
        "nodes": args.nodes,
        "jobs": args.jobs,
        "squeue_json_bytes": len(outputs["squeue --json"]),
        "squeue_lean_bytes": len(outputs["squeue lean"]),
        "nodes_json_bytes": len(nodes_text),
        "json_loads_squeue_cpu": cpu(lambda: json.loads(outputs["squeue --json"]), args.repeat),
        "scrape_json_cpu": cpu(scrape("json"), args.repeat),
        "scrape_lean_cpu": cpu(scrape("lean"), args.repeat),
        "cached_scrape_cpu": cpu(lambda: exposition(warm), args.repeat),
        "metrics_bytes": len(scrape("lean")()),
    }
    json_cpu, lean_cpu = figures["scrape_json_cpu"], figures["scrape_lean_cpu"]
    figures["ratio_json_over_lean"] = json_cpu / lean_cpu
    figures["ratio_json_loads_over_lean_scrape"] = figures["json_loads_squeue_cpu"] / lean_cpu
    figures["ratio_lean_over_target"] = lean_cpu / TARGET_CPU
    figures["faster_path"] = "lean" if lean_cpu < json_cpu else "json"
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    per_job = figures["squeue_json_bytes"] / args.jobs
    print(f"{args.nodes} nodes, {args.jobs} jobs; median CPU of {args.repeat} runs")
    print(
        f"  squeue --json text      {figures['squeue_json_bytes'] / 1e6:8.1f} MB "
        f"({per_job:.0f} B/job)"
    )
    print(f"  squeue -O text          {figures['squeue_lean_bytes'] / 1e6:8.1f} MB")
    print(f"  scontrol nodes --json   {figures['nodes_json_bytes'] / 1e6:8.1f} MB")
    print(f"  json.loads(squeue) only {figures['json_loads_squeue_cpu']:8.3f} s")
    print(f"  scrape, squeue --json   {json_cpu:8.3f} s")
    print(f"  scrape, squeue -O lean  {lean_cpu:8.3f} s")
    print(f"  scrape from the cache   {figures['cached_scrape_cpu']:8.3f} s")
    print(f"  ratio json/lean scrape        {figures['ratio_json_over_lean']:6.1f}x")
    print(f"  ratio json.loads/lean scrape  {figures['ratio_json_loads_over_lean_scrape']:6.1f}x")
    print(f"  lean scrape / 0.5 s target    {figures['ratio_lean_over_target']:6.2f}")
    print(f"  faster path: {figures['faster_path']} (the exporter's default is lean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
