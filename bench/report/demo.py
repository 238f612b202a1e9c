"""The demo behind docs/img/report*.png: a plausible month on 32 GPU nodes, through the CLI.

    python bench/report/demo.py OUTDIR   # writes report.html, public.html, report.txt

Unlike the benchmark's fixture, jobs here respect capacity: each node runs
four lanes of 2 GPUs, jobs follow each other with day/night gaps, and no
job runs on a node while it is drained, down or in maintenance. Slurm is
replaced by stub commands on PATH printing these records, so the pictures
come from exactly the code path `aihpc report` runs on a cluster.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

W0 = 1767225600  # 2026-01-01T00:00:00Z
W1 = W0 + 30 * 86400
NODES = 32
ACCOUNTS = ("nlp-lab", "vision", "climate", "genomics", "robotics", "chem-sim", "astro")
INCIDENTS = (
    ("gpu004", 3 * 86400, 5 * 3600, "IDLE+DRAIN", "root", "XID 79: GPU fell off the bus"),
    ("gpu011", 9 * 86400, 26 * 3600, "DOWN*", "slurm", "Not responding"),
    ("gpu017", 16 * 86400, 9 * 3600, "MIXED+DRAIN", "root", "NHC: ECC row remap pending"),
    ("gpu023", 24 * 86400, 3 * 3600, "IDLE+DRAIN", "root", "dana asked for a reboot"),
)
MAINT = ("firmware-update", "gpu[000-015]", 20 * 86400, 6 * 3600)


def _gpu_type(node: int) -> str:
    return "h100" if node < 20 else "a100"


def _blocked(node: str, start: int, end: int) -> bool:
    for name, offset, length, *_ in INCIDENTS:
        if name == node and start < W0 + offset + length and end > W0 + offset:
            return True
    maint_start = W0 + MAINT[2]
    in_maint = int(node[3:]) < 16 and start < maint_start + MAINT[3] and end > maint_start
    return in_maint


def generate(outdir: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 0.9 for i in range(len(ACCOUNTS))]
    users = {a: [f"{a.split('-')[0][:3]}{k}" for k in range(4)] for a in ACCOUNTS}
    users["vision"][0] = "dana"
    rows = []
    job = 5000
    for n in range(NODES):
        node = f"gpu{n:03d}"
        gpu_type = _gpu_type(n)
        for _lane in range(4):
            t = W0 - rng.randrange(3 * 3600)
            while t < W1:
                hour = ((t - W0) // 3600) % 24
                busy = 0.5 + 0.5 * math.sin((hour - 9) / 24 * 2 * math.pi)
                t += int(rng.expovariate(1 / (600 + 5400 * (1 - busy))))
                length = int(rng.expovariate(1 / (3 * 3600))) + 120
                if _blocked(node, t, t + length):
                    t += 3600
                    continue
                job += 1
                account = rng.choices(ACCOUNTS, weights)[0]
                user = rng.choice(users[account])
                submit = t - int(rng.expovariate(1 / (900 if account != "nlp-lab" else 2400)))
                end: int | str = t + length
                state = rng.choice(["COMPLETED"] * 8 + ["FAILED", "TIMEOUT", "CANCELLED by 0"])
                elapsed = length
                if t + length > W1:
                    end, state, elapsed = "Unknown", "RUNNING", W1 - t
                rows.append(
                    f"{job}|{job}|{user}|{account}|gpu|{state}|0:0|{submit}|{t}|{end}|{elapsed}|8|"
                    f"00:00||billing=8,cpu=8,gres/gpu:{gpu_type}=2,gres/gpu=2,mem=128000M,node=1|"
                    f"{node}|train-{job % 40}\n"
                )
                t += length
    rows.sort(key=lambda r: int(r.split("|")[8]))
    (outdir / "sacct.txt").write_text("".join(rows))
    nodes = [
        {"name": f"gpu{i:03d}", "gres": f"gpu:{_gpu_type(i)}:8", "partitions": ["gpu"]}
        for i in range(NODES)
    ]
    (outdir / "nodes.json").write_text(json.dumps({"nodes": nodes}))
    (outdir / "events.txt").write_text(
        "".join(
            f"{node}|{W0 + off}|{W0 + off + length}|{state}|{user}|{reason}\n"
            for node, off, length, state, user, reason in INCIDENTS
        )
    )

    def epoch(value: int) -> dict[str, object]:
        return {"set": True, "infinite": False, "number": value}

    name, hosts, off, length = MAINT
    resv = {
        "reservations": [
            {
                "name": name,
                "node_list": hosts,
                "start_time": epoch(W0 + off),
                "end_time": epoch(W0 + off + length),
                "flags": ["MAINT", "SPEC_NODES"],
            }
        ],
        "errors": [],
    }
    (outdir / "resv.json").write_text(json.dumps(resv))
    (outdir / "cluster.yaml").write_text(
        "schema: 1\nprices:\n  currency: EUR\n  gpu_types:\n"
        "    h100: {price_per_gpu_hour: 2.40, cost_per_gpu_hour: 1.35}\n"
        "    a100: {price_per_gpu_hour: 1.30, cost_per_gpu_hour: 0.80}\n"
    )
    bin_dir = outdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    stubs = {
        "sacct": f"cat {outdir / 'sacct.txt'}",
        "sacctmgr": f"cat {outdir / 'events.txt'}",
        "scontrol": f'case "$*" in *nodes*) cat {outdir / "nodes.json"} ;; '
        f"*) cat {outdir / 'resv.json'} ;; esac",
    }
    for stub, body in stubs.items():
        path = bin_dir / stub
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-report").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    generate(outdir)
    env = {
        **os.environ,
        "PATH": f"{outdir / 'bin'}:{os.environ['PATH']}",
        "AIHPC_CLUSTER_PROFILE": str(outdir / "cluster.yaml"),
    }
    window = ["--since", f"@{W0}", "--until", f"@{W1}"]
    aihpc = [sys.executable, "-m", "aihpc", "report", *window]
    subprocess.run(
        [*aihpc, "--format", "html", "-o", str(outdir / "report.html")], env=env, check=True
    )
    subprocess.run(
        [*aihpc, "--public", "--format", "html", "-o", str(outdir / "public.html")],
        env=env,
        check=True,
    )
    text = subprocess.run(aihpc, env=env, check=True, capture_output=True, text=True).stdout
    (outdir / "report.txt").write_text(text)
    print(f"wrote {outdir}/report.html, public.html, report.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
