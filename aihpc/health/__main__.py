"""`python -m aihpc.health`: the health check without click (what Slurm runs)."""

from __future__ import annotations

import argparse
import os
import sys

from aihpc.health import engine, expect
from aihpc.health import main as health


def parse_args(argv: list[str]) -> health.Options:
    parser = argparse.ArgumentParser(
        prog="aihpc health", description="Check this node; drain it on failure (--drain)."
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--expect", default=expect.DEFAULT_PATH, help="expectations file")
    parser.add_argument("--node", default="", help="Slurm node name (default: this host)")
    parser.add_argument("--drain", action="store_true", help="drain on failure, resume own drains")
    parser.add_argument("--metrics-dir", default="", help="node_exporter textfile directory")
    parser.add_argument("--state-dir", default=health.DEFAULT_STATE_DIR)
    parser.add_argument("--budget", type=float, default=engine.BUDGET)
    parser.add_argument("--check-timeout", type=float, default=engine.CHECK_TIMEOUT)
    parser.add_argument("--only", action="append", default=[], metavar="CHECK")
    parser.add_argument("--ack-xids", action="store_true", help="forget pending critical Xids")
    parser.add_argument(
        "--resume-only",
        action="store_true",
        help="only if this program drained the node: re-check, resume when healthy",
    )
    parser.add_argument("--root", default="/", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return health.Options(**vars(args))


def main() -> None:
    opts = parse_args(sys.argv[1:])
    code = health.execute(opts)
    sys.stdout.flush()
    # A check stuck in the kernel (hung NFS) must not keep the process alive.
    os._exit(code)


if __name__ == "__main__":
    main()
