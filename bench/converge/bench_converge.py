#!/usr/bin/env python3
"""Benchmark: how long converging the local container cluster takes.

Measured in one run, on fresh containers each time (the shared apt cache is
warm after the first, as it is for a sysadmin's second rack):

  first    site.yml on the local layout (ctl1 + 2 compute nodes)
  rerun    site.yml again on the same nodes (nothing to change)
  one      site.yml on ctl1 + 1 compute node
  four     site.yml on ctl1 + 4 compute nodes
  one_notorch, four_notorch
           the same two without Debian's torch on the compute nodes
           (aihpc_install_torch=false): what the cluster layers alone cost

Prints rerun/first (target <= 0.35) and four/one (target <= 1.3), and writes
bench/results/converge-<time>.json. Not part of CI: about 18 minutes
(12 with --skip-notorch).

Why the split: every container shares the host's cores, so work that each
node does for itself (unpacking 94 torch packages: about 23 s of CPU) is
multiplied by the node count here, where a rack gives every node its own CPU.

    python bench/converge/bench_converge.py [--keep] [--skip-notorch]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "aihpc-bench-"
console = Console()


def make_inventory(dest: Path, compute_nodes: int) -> Path:
    """inventories/local with gpu1..gpuN as compute nodes."""
    inv = dest / f"local-{compute_nodes}"
    shutil.copytree(ROOT / "inventories" / "local", inv)
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    gpu_hosts = {f"gpu{i}": None for i in range(1, compute_nodes + 1)}
    hosts["all"]["children"]["slurm_compute"]["children"]["gpu_nodes"]["hosts"] = gpu_hosts
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return inv


def run(playbook: str, inventory: Path, log: Path, extra: list[str] | None = None) -> float:
    env = dict(
        os.environ,
        AIHPC_LOCAL_PREFIX=PREFIX,
        AIHPC_STATE_DIR=str(ROOT / ".cache" / "local-cluster"),
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
    )
    cmd = ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / playbook)]
    cmd += extra or []
    start = time.monotonic()
    with log.open("a") as out:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        console.print(f"[red]{playbook} failed[/red]; see {log}")
        sys.exit(1)
    return elapsed


def fresh_converge(inventory: Path, log: Path, label: str, extra: list[str] | None = None) -> float:
    with console.status(f"{label}: containers"):
        run("local/down.yml", inventory, log)
        run("local/up.yml", inventory, log)
    with console.status(f"{label}: site.yml"):
        elapsed = run("site.yml", inventory, log, extra)
    console.print(f"  {label}: {elapsed:.1f} s")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the last cluster up")
    parser.add_argument(
        "--skip-notorch", action="store_true", help="skip the two runs without torch"
    )
    args = parser.parse_args()

    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = results_dir / f"converge-{stamp}.log"
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        inv2 = make_inventory(Path(tmp), 2)
        inv1 = make_inventory(Path(tmp), 1)
        inv4 = make_inventory(Path(tmp), 4)

        times["first"] = fresh_converge(inv2, log, "first converge, 2 compute nodes")
        with console.status("idempotent re-run"):
            times["rerun"] = run("site.yml", inv2, log)
        console.print(f"  re-run: {times['rerun']:.1f} s")
        run("local/down.yml", inv2, log)

        times["one"] = fresh_converge(inv1, log, "1 compute node")
        run("local/down.yml", inv1, log)
        times["four"] = fresh_converge(inv4, log, "4 compute nodes")
        if not args.skip_notorch:
            notorch = ["-e", "aihpc_install_torch=false"]
            run("local/down.yml", inv4, log)
            times["one_notorch"] = fresh_converge(inv1, log, "1 compute node, no torch", notorch)
            run("local/down.yml", inv1, log)
            times["four_notorch"] = fresh_converge(inv4, log, "4 compute nodes, no torch", notorch)
        if not args.keep:
            run("local/down.yml", inv4, log)

    ratios = {
        "rerun/first": times["rerun"] / times["first"],
        "four/one": times["four"] / times["one"],
    }
    targets = {"rerun/first": 0.35, "four/one": 1.3}
    if "four_notorch" in times:
        ratios["four/one without torch"] = times["four_notorch"] / times["one_notorch"]
        targets["four/one without torch"] = 1.3
    cores = os.cpu_count() or 0
    table = Table(title=f"converge benchmark (seconds, one run, {cores} cores)")
    for col in ("measure", "value", "target", "met"):
        table.add_column(col)
    for key, value in times.items():
        table.add_row(key, f"{value:.1f}", "", "")
    for key, value in ratios.items():
        met = "yes" if value <= targets[key] else "NO"
        table.add_row(key, f"{value:.2f}", f"<= {targets[key]}", met)
    console.print(table)
    out = results_dir / f"converge-{stamp}.json"
    out.write_text(
        json.dumps(
            {"seconds": times, "ratios": ratios, "targets": targets, "cores": cores}, indent=2
        )
    )
    console.print(f"results: {out}\nlog: {log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
