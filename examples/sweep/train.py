"""One point of a hyper-parameter sweep: plain Python, no torch needed.

Fits y = 3x - 1 with SGD for the --lr and --seed that aihpc appended to the
arguments of this array task, and prints one machine-readable line:
  AIHPC_RESULT {"task": 4, "lr": 0.05, "seed": 2, "loss_first": ..., "loss_last": ...}
"""

from __future__ import annotations

import argparse
import json
import os
import random

from aihpc import runtime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    data = [(x, 3 * x - 1 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(256))]
    w, b = rng.gauss(0, 1), rng.gauss(0, 1)

    def loss() -> float:
        return sum((w * x + b - y) ** 2 for x, y in data) / len(data)

    first = loss()
    for _ in range(args.steps):
        x, y = rng.choice(data)
        err = w * x + b - y
        w -= args.lr * 2 * err * x
        b -= args.lr * 2 * err
    result = {
        "task": int(os.environ.get("AIHPC_TASK_ID", "-1")),
        "params": runtime.sweep_params(),
        "lr": args.lr,
        "seed": args.seed,
        "loss_first": first,
        "loss_last": loss(),
    }
    print("AIHPC_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
