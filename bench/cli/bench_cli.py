"""CLI benchmark: prints ratios measured in one run.

    python bench/cli/bench_cli.py                 # start-up and --dry-run, anywhere
    python bench/cli/bench_cli.py --torchx PATH   # + torchx --dryrun (torchx from a throwaway venv)
    python bench/cli/bench_cli.py --cluster       # + live sbatch comparisons (on the login node)

Measurements (median wall time of --repeat runs, each a fresh process):
  * `aihpc --help` against `python -c pass`            (target: ratio <= 2.5)
  * `aihpc submit --dry-run examples/ddp/train.yaml`  (and torchx's dry run of dist.ddp)
  * --cluster: `aihpc submit` against `sbatch` of the same pre-rendered script,
    and a 100-point sweep as one array against a loop of 100 sbatch calls.
    Every job it submits is held (--hold) and cancelled at the end: nothing runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DDP_SPEC = REPO / "examples" / "ddp" / "train.yaml"
HELP_TARGET = 2.5

DEMO_PROFILE = """\
schema: 1
cluster: bench
login_host: localhost
default_partition: gpu
partitions:
  gpu: {{nodes: 2, gpus_per_node: 4, gpu_types: [h100], cpus_per_node: 2,
        mem_per_node_mb: 2000, max_time: UNLIMITED, default: true}}
shared_dirs: {{shared: {shared}}}
network: {{env: {{}}}}
"""


def aihpc_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m aihpc`."""
    candidate = Path(sys.executable).parent / "aihpc"
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("aihpc")
    return [found] if found else [sys.executable, "-m", "aihpc"]


def timed(argv: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    """Median seconds of `repeat` runs (after one warm-up run for the page cache)."""
    samples = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=env, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()[-2000:]}")
        if i:
            samples.append(elapsed)
    return statistics.median(samples)


def line(label: str, seconds: float, extra: str = "") -> None:
    print(f"  {label:<52} {seconds * 1000:8.1f} ms  {extra}")


def bench_startup(repeat: int, results: dict[str, Any]) -> None:
    print("start-up")
    base = timed([sys.executable, "-c", "pass"], repeat)
    help_time = timed([*aihpc_command(), "--help"], repeat)
    ratio = help_time / base
    line("python -c pass", base)
    verdict = "OK" if ratio <= HELP_TARGET else f"OVER the {HELP_TARGET}x target"
    line("aihpc --help", help_time, f"ratio {ratio:.2f}x  ({verdict})")
    results.update(python_pass=base, aihpc_help=help_time, help_ratio=ratio)


def bench_dry_run(repeat: int, torchx: str | None, results: dict[str, Any]) -> None:
    print("dry run (render script + sbatch argv, no submission)")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        if not Path(env.get("AIHPC_CLUSTER_PROFILE", "/etc/aihpc/cluster.yaml")).exists():
            profile = Path(tmp) / "cluster.yaml"
            profile.write_text(DEMO_PROFILE.format(shared=tmp))
            env["AIHPC_CLUSTER_PROFILE"] = str(profile)
        # A copy outside any git checkout: the snapshot is listed the same way
        # whether or not the example is committed.
        example = shutil.copytree(DDP_SPEC.parent, Path(tmp) / "ddp")
        dry = timed(
            [*aihpc_command(), "submit", str(example / "train.yaml"), "--dry-run"], repeat, env
        )
    line("aihpc submit --dry-run examples/ddp/train.yaml", dry)
    results["aihpc_dry_run"] = dry
    if torchx is None:
        print("  torchx: skipped (not installed; pass --torchx /path/to/venv/bin/torchx)")
        return
    script = str(REPO / "examples" / "ddp" / "train.py")
    argv = [torchx, "run", "--dryrun", "-s", "slurm", "dist.ddp", "-j", "2x2", "--script", script]
    tx = timed(argv, repeat)
    # aihpc's dry run also validates against the profile and lists the snapshot.
    line("torchx run --dryrun -s slurm dist.ddp", tx, f"aihpc / torchx = {dry / tx:.2f}x")
    tx_help = timed([torchx, "--help"], repeat)
    line("torchx --help", tx_help, f"aihpc / torchx = {results['aihpc_help'] / tx_help:.2f}x")
    results.update(torchx_dry_run=tx, torchx_help=tx_help)


def _sbatch(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1].split(";")[0]


def bench_cluster(results: dict[str, Any]) -> None:
    """Real submissions: held at submit time and cancelled, so nothing runs."""
    print("live cluster (jobs are submitted held and cancelled)")
    submitted: list[str] = []
    cmd = aihpc_command()
    try:
        start = time.perf_counter()
        out = subprocess.run(
            [*cmd, "submit", str(DDP_SPEC), "--json"],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, SBATCH_HOLD="1"),  # sbatch reads SBATCH_HOLD like --hold
        )
        aihpc_submit = time.perf_counter() - start
        job = json.loads(out.stdout)
        submitted.append(job["job_id"])
        # The same job through plain sbatch: the argv and script aihpc rendered.
        meta = json.loads((Path(job["job_dir"]) / "aihpc-job.json").read_text())
        argv = list(meta["sbatch_argv"])
        start = time.perf_counter()
        submitted.append(_sbatch([argv[0], "--hold", *argv[1:]]))
        plain = time.perf_counter() - start
        line("aihpc submit (validate, snapshot, sbatch)", aihpc_submit)
        line(
            "sbatch of the pre-rendered script", plain, f"aihpc/sbatch {aihpc_submit / plain:.2f}x"
        )
        results.update(cluster_aihpc_submit=aihpc_submit, cluster_sbatch=plain)

        sweep = "sweep={i: [" + ", ".join(str(i) for i in range(100)) + "]}"
        start = time.perf_counter()
        out = subprocess.run(
            [*cmd, "submit", str(DDP_SPEC), "-o", sweep, "-o", "checkpoint=null", "--json"],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, SBATCH_HOLD="1"),
        )
        array = time.perf_counter() - start
        submitted.append(json.loads(out.stdout)["job_id"])
        start = time.perf_counter()
        for _ in range(100):
            submitted.append(_sbatch([argv[0], "--hold", *argv[1:]]))
        loop = time.perf_counter() - start
        line("100-point sweep as one array (aihpc submit)", array)
        line("100 x sbatch in a loop", loop, f"loop/array {loop / array:.1f}x")
        results.update(cluster_sweep_array=array, cluster_sbatch_loop_100=loop)
    finally:
        if submitted:
            subprocess.run(["scancel", *submitted], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--torchx", default=shutil.which("torchx"), help="torchx executable")
    parser.add_argument("--cluster", action="store_true", help="also submit to the live cluster")
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    args = parser.parse_args()
    results: dict[str, Any] = {"python": sys.version.split()[0], "aihpc": aihpc_command()}
    bench_startup(args.repeat, results)
    bench_dry_run(args.repeat, args.torchx, results)
    if args.cluster:
        bench_cluster(results)
    else:
        print("live cluster: needs the cluster (run on the login node with --cluster)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["help_ratio"] <= HELP_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
