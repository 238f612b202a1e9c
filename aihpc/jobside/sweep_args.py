"""Print one sweep task's extra arguments, NUL-separated, for `mapfile -d ''`.

Runs inside the job (`python3 -I sweep_args.py TABLE INDEX`): stdlib only,
no aihpc import. Values travel as argv words end to end; the batch script
never evaluates them.
"""

from __future__ import annotations

import json
import sys


def task_args(table: str, index: int) -> list[str]:
    with open(table, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["index"] == index:
                return [str(word) for word in row["args"]]
    raise LookupError(f"no row {index} in sweep table {table}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: sweep_args.py TABLE INDEX", file=sys.stderr)
        return 2
    try:
        words = task_args(argv[1], int(argv[2]))
    except (OSError, ValueError, LookupError) as exc:
        print(f"aihpc: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    for word in words:
        if "\0" in word:
            print("aihpc: NUL in a sweep value", file=sys.stderr)
            return 2
        out.write(word.encode("utf-8") + b"\0")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
