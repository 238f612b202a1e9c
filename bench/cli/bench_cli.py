"""CLI benchmark: prints ratios measured in one run.

    python bench/cli/bench_cli.py                 # start-up and --dry-run, anywhere
    python bench/cli/bench_cli.py --torchx PATH   # + torchx --dryrun (torchx from a throwaway venv)
    python bench/cli/bench_cli.py --cluster       # + live sbatch comparisons (on the login node)
    python bench/cli/bench_cli.py --importtime    # + the slowest imports of the dry run
    python bench/cli/bench_cli.py --on ctl1       # all of it, --cluster too, on the login node

Measurements (median wall time of --repeat runs, each a fresh process; the
local commands run interleaved, one of each per round):
  * `aihpc --help` against `python -c pass`            (target: ratio <= 2.5)
  * `aihpc submit --dry-run examples/ddp/train.yaml`  (and torchx's dry run of dist.ddp)
  * --cluster: `aihpc submit` (held) against `sbatch` of the same pre-rendered script,
    and a 100-point sweep as one array against a loop of 100 sbatch calls.
    Every job it submits is held (--hold) and cancelled at the end: nothing runs.

`--on HOST` copies this file and examples/ddp to the user's home on HOST (the
local container cluster's login node: `ssh -F --ssh-config HOST` as root, then
`su - --user`, as tests/cluster does), runs it there with --cluster and the
installed aihpc's Python (--remote-python), and prints its output here.

The summary prints every row of issue 14's table with its ratio to
`python -c pass` measured in the same run, and each target as a ratio: the
issue's login-node targets (ms) divided by that node's `python -c pass`
(22 ms / 1.7 = 12.9 ms), so the verdict holds on a slower or faster host.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DDP_SPEC = REPO / "examples" / "ddp" / "train.yaml"
HELP_TARGET = 2.5
# Issue 14's targets on the login node, whose `python -c pass` took 12.9 ms.
LOGIN_PYTHON_MS = 22 / 1.7
DRY_RUN_TARGET = 120 / LOGIN_PYTHON_MS  # x python -c pass
DRY_RUN_TORCHX_TARGET = 0.35  # x torchx run --dryrun dist.ddp
SUBMIT_TARGET = 150 / LOGIN_PYTHON_MS  # x python -c pass

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


Command = tuple[list[str], dict[str, str] | None]  # argv, environment


def timed_rounds(commands: dict[str, Command], repeat: int) -> dict[str, list[float]]:
    """Seconds of `repeat` runs of each command, interleaved: every round runs each
    command once (in a rotating order), so a load that comes and goes on a shared
    machine falls on all of them alike. One warm-up run each first (page cache)."""
    samples: dict[str, list[float]] = {key: [] for key in commands}
    keys = list(commands)
    for i in range(repeat + 1):
        for key in keys[i % len(keys) :] + keys[: i % len(keys)]:
            argv, env = commands[key]
            start = time.perf_counter()
            proc = subprocess.run(argv, capture_output=True, env=env, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()[-2000:]}")
            if i:
                samples[key].append(elapsed)
    return samples


def paired(samples: dict[str, list[float]], top: str, bottom: str) -> float:
    """The median over rounds of top/bottom measured in the same round."""
    return statistics.median(a / b for a, b in zip(samples[top], samples[bottom], strict=True))


def ensure_bytecode() -> None:
    """Write the .pyc files of the aihpc being measured, as an installed wheel has them.

    With PYTHONDONTWRITEBYTECODE (or a read-only tree), a module edited since
    its .pyc was written is compiled from source at every start, which is not
    what users run. Where the package is not writable (an install owned by
    root), compileall fails quietly and the installer's .pyc files are used.
    """
    where = subprocess.run(
        [sys.executable, "-c", "import aihpc, os; print(os.path.dirname(aihpc.__file__))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if where:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", where], capture_output=True, env=env
        )


def line(label: str, seconds: float, extra: str = "") -> None:
    print(f"  {label:<52} {seconds * 1000:8.1f} ms  {extra}")


def _dry_run_env(tmp: Path) -> dict[str, str]:
    """This environment, with a demo profile when the host has none."""
    env = dict(os.environ)
    if not Path(env.get("AIHPC_CLUSTER_PROFILE", "/etc/aihpc/cluster.yaml")).exists():
        profile = tmp / "cluster.yaml"
        profile.write_text(DEMO_PROFILE.format(shared=tmp))
        env["AIHPC_CLUSTER_PROFILE"] = str(profile)
    return env


def bench_local(repeat: int, torchx: str | None, results: dict[str, Any]) -> None:
    """python -c pass, --help, the dry run and torchx's, interleaved round by round."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _dry_run_env(Path(tmp))
        # A copy outside any git checkout: the snapshot is listed the same way
        # whether or not the example is committed.
        example = shutil.copytree(DDP_SPEC.parent, Path(tmp) / "ddp")
        commands: dict[str, Command] = {
            "python_pass": ([sys.executable, "-c", "pass"], None),
            "aihpc_help": ([*aihpc_command(), "--help"], None),
            "aihpc_dry_run": (
                [*aihpc_command(), "submit", str(example / "train.yaml"), "--dry-run"],
                env,
            ),
        }
        if torchx is not None:
            script = str(REPO / "examples" / "ddp" / "train.py")
            dist_ddp = ["dist.ddp", "-j", "2x2", "--script", script]
            commands["torchx_dry_run"] = (
                [torchx, "run", "--dryrun", "-s", "slurm", *dist_ddp],
                None,
            )
            commands["torchx_help"] = ([torchx, "--help"], None)
        samples = timed_rounds(commands, repeat)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    results.update(medians)

    print("start-up")
    base, help_time = medians["python_pass"], medians["aihpc_help"]
    ratio = help_time / base
    line("python -c pass", base)
    verdict = "OK" if ratio <= HELP_TARGET else f"OVER the {HELP_TARGET}x target"
    line("aihpc --help", help_time, f"ratio {ratio:.2f}x  ({verdict})")
    results["help_ratio"] = ratio

    print("dry run (render script + sbatch argv, no submission)")
    dry = medians["aihpc_dry_run"]
    line("aihpc submit --dry-run examples/ddp/train.yaml", dry)
    if torchx is None:
        print("  torchx: skipped (not installed; pass --torchx /path/to/venv/bin/torchx)")
        return
    tx, tx_help = medians["torchx_dry_run"], medians["torchx_help"]
    # aihpc's dry run also validates against the profile and lists the snapshot.
    pair = paired(samples, "aihpc_dry_run", "torchx_dry_run")
    line(
        "torchx run --dryrun -s slurm dist.ddp",
        tx,
        f"aihpc / torchx = {dry / tx:.2f}x (same-round median {pair:.2f}x)",
    )
    line("torchx --help", tx_help, f"aihpc / torchx = {help_time / tx_help:.2f}x")
    results["paired_dry_run_over_torchx"] = pair


def verdict(ratio: float, target: float) -> str:
    return "OK" if ratio <= target else "OVER"


def summary(results: dict[str, Any]) -> list[tuple[str, float, str, str]]:
    """(row, ms, ratio text, target text) for every row measured in this run."""
    base = results["python_pass"]
    rows = [("python -c pass", base, "1.00x (baseline)", "")]

    def add(label: str, key: str, target: float | None) -> None:
        if key not in results:
            return
        ratio = results[key] / base
        goal = "" if target is None else f"<= {target:.2f}x {verdict(ratio, target)}"
        rows.append((label, results[key], f"{ratio:.2f}x python", goal))

    add("aihpc --help", "aihpc_help", HELP_TARGET)
    add("aihpc submit --dry-run (examples/ddp)", "aihpc_dry_run", DRY_RUN_TARGET)
    if "torchx_dry_run" in results:
        ratio = results["aihpc_dry_run"] / results["torchx_dry_run"]
        rows.append(
            (
                "torchx run --dryrun dist.ddp",
                results["torchx_dry_run"],
                f"aihpc/torchx {ratio:.2f}x",
                f"<= {DRY_RUN_TORCHX_TARGET}x {verdict(ratio, DRY_RUN_TORCHX_TARGET)}",
            )
        )
    add("aihpc submit (held)", "cluster_aihpc_submit", SUBMIT_TARGET)
    if "cluster_sbatch" in results:
        ratio = results["cluster_aihpc_submit"] / results["cluster_sbatch"]
        rows.append(
            (
                "plain sbatch (the floor)",
                results["cluster_sbatch"],
                f"aihpc/sbatch {ratio:.2f}x",
                "",
            )
        )
    return rows


def print_summary(results: dict[str, Any]) -> None:
    print("summary (issue 14 table; targets as ratios, see the docstring)")
    for label, seconds, ratio, goal in summary(results):
        print(f"  {label:<40} {seconds * 1000:8.1f} ms  {ratio:<22} {goal}")


def slowest_imports(env: dict[str, str], argv: list[str], top: int = 12) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports of one run."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, env=env
    )
    rows = []
    for text in proc.stderr.splitlines():
        parts = text.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def bench_importtime() -> None:
    print("slowest imports of `submit --dry-run` (cumulative, one run)")
    with tempfile.TemporaryDirectory() as tmp:
        env = _dry_run_env(Path(tmp))
        example = shutil.copytree(DDP_SPEC.parent, Path(tmp) / "ddp")
        argv = ["-m", "aihpc", "submit", str(example / "train.yaml"), "--dry-run"]
        for micros, module in slowest_imports(env, argv):
            print(f"  {micros / 1000:8.1f} ms  {module}")


def _checked(proc: subprocess.CompletedProcess[str]) -> str:
    """stdout, or exit with the command and its stderr (a bench cannot go on without it)."""
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(proc.args)} failed (rc={proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def _sbatch(argv: list[str]) -> str:
    out = _checked(subprocess.run(argv, capture_output=True, text=True, check=False))
    return out.strip().splitlines()[-1].split(";")[0]


def _submit_held(cmd: list[str], extra: list[str]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [*cmd, "submit", str(DDP_SPEC), *extra, "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, SBATCH_HOLD="1"),  # sbatch reads SBATCH_HOLD like --hold
    )
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(_checked(proc))


def bench_cluster(repeat: int, results: dict[str, Any]) -> None:
    """Real submissions: held at submit time and cancelled, so nothing runs."""
    print("live cluster (jobs are submitted held and cancelled)")
    submitted: list[str] = []
    cmd = aihpc_command()
    try:
        samples = []
        for _ in range(repeat):
            elapsed, job = _submit_held(cmd, [])
            samples.append(elapsed)
            submitted.append(job["job_id"])
        aihpc_submit = statistics.median(samples)
        # The same job through plain sbatch: the argv and script aihpc rendered.
        meta = json.loads((Path(job["job_dir"]) / "aihpc-job.json").read_text())
        argv = list(meta["sbatch_argv"])
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            submitted.append(_sbatch([argv[0], "--hold", *argv[1:]]))
            samples.append(time.perf_counter() - start)
        plain = statistics.median(samples)
        line("aihpc submit (validate, snapshot, sbatch)", aihpc_submit)
        line(
            "sbatch of the pre-rendered script", plain, f"aihpc/sbatch {aihpc_submit / plain:.2f}x"
        )
        results.update(cluster_aihpc_submit=aihpc_submit, cluster_sbatch=plain)

        sweep = "sweep={i: [" + ", ".join(str(i) for i in range(100)) + "]}"
        array, job = _submit_held(cmd, ["-o", sweep, "-o", "checkpoint=null"])
        submitted.append(job["job_id"])
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


# -- --on HOST: the same benchmark on the login node, from this machine ------
REMOTE_DIR = "aihpc-bench"  # under the user's home on the remote host
# The test cluster's (scripts/test-cluster.sh), or the one $AIHPC_LOCAL_PREFIX names.
DEFAULT_SSH_CONFIG = Path(os.environ.get("AIHPC_STATE_DIR", REPO / ".cache" / "local-cluster")) / (
    os.environ.get("AIHPC_LOCAL_PREFIX", "aihpc-test-") + "ssh_config"
)


def _bundle() -> bytes:
    """This file and examples/ddp, laid out as in the repository (tar)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(Path(__file__).resolve(), arcname="bench/cli/bench_cli.py")
        tar.add(
            DDP_SPEC.parent,
            arcname="examples/ddp",
            filter=lambda info: None if "__pycache__" in info.name else info,
        )
    return buffer.getvalue()


def remote_argv(args: argparse.Namespace) -> list[str]:
    """The bench command line run on the remote host (always with --cluster)."""
    argv = [args.remote_python, "bench/cli/bench_cli.py", "--cluster", "--repeat", str(args.repeat)]
    if args.remote_torchx:
        argv += ["--torchx", args.remote_torchx]
    if args.importtime:
        argv.append("--importtime")
    return [*argv, "--json", "bench-cli.json"]


def run_on(args: argparse.Namespace) -> int:
    """Copy the bench to HOST, run it there as the user, fetch its numbers."""
    ssh = ["ssh", "-F", str(args.ssh_config), args.on]
    if not args.ssh_config.exists():
        raise SystemExit(
            f"{args.ssh_config} is missing: is the local cluster up (make cluster-up)?"
        )
    user = shlex.quote(args.user)
    home = f'"$(getent passwd {user} | cut -d: -f6)/{REMOTE_DIR}"'
    setup = (
        f'set -e; d={home}; rm -rf "$d"; mkdir -p "$d"; tar -C "$d" -xf -; chown -R {user}: "$d"'
    )
    subprocess.run([*ssh, setup], input=_bundle(), check=True, timeout=120)
    inner = f"cd {REMOTE_DIR} && {shlex.join(remote_argv(args))}"
    print(f"on {args.on} as {args.user}: {inner}", flush=True)
    # The remote bench prints as it goes; its exit status is its --help verdict.
    proc = subprocess.run([*ssh, f"su - {user} -c {shlex.quote(inner)}"], check=False)
    if args.json:
        fetched = subprocess.run(
            [*ssh, f"cat {home}/bench-cli.json"], capture_output=True, check=False, timeout=60
        )
        if fetched.returncode == 0:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_bytes(fetched.stdout)
    return proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--torchx", default=shutil.which("torchx"), help="torchx executable")
    parser.add_argument("--cluster", action="store_true", help="also submit to the live cluster")
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports")
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    remote = parser.add_argument_group("running on the login node (--on)")
    remote.add_argument("--on", metavar="HOST", help="run there over ssh, with --cluster")
    remote.add_argument("--ssh-config", type=Path, default=DEFAULT_SSH_CONFIG)
    remote.add_argument("--user", default="alice", help="who runs it there (default alice)")
    remote.add_argument(
        "--remote-python",
        default="/opt/aihpc/bin/python",
        help="the Python of the installed aihpc there (its bin/ holds the aihpc CLI)",
    )
    remote.add_argument("--remote-torchx", help="a torchx executable on HOST, if any")
    args = parser.parse_args()
    if args.on:
        return run_on(args)
    results: dict[str, Any] = {"python": sys.version.split()[0], "aihpc": aihpc_command()}
    ensure_bytecode()
    bench_local(args.repeat, args.torchx, results)
    if args.cluster:
        bench_cluster(args.repeat, results)
    else:
        print("live cluster: needs the cluster (run on the login node with --cluster)")
    if args.importtime:
        bench_importtime()
    print_summary(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["help_ratio"] <= HELP_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
