"""Sweep expansion: the cartesian product of `sweep:` as array-task rows.

The rows go to a JSON-lines table in the job directory; the job reads its
row by SLURM_ARRAY_TASK_ID (aihpc/jobside/sweep_args.py), so no swept value
is ever pasted into shell text.
"""

from __future__ import annotations

import itertools
import json

from aihpc.request.model import SweepRow


def expand(sweep: dict[str, list[str]] | None) -> tuple[SweepRow, ...]:
    """Rows in product order: the first key varies slowest, like nested loops."""
    if not sweep:
        return ()
    keys = list(sweep)
    rows = []
    for index, values in enumerate(itertools.product(*(sweep[k] for k in keys))):
        params = tuple(zip(keys, values, strict=True))
        args = tuple(word for key, value in params for word in (f"--{key}", value))
        rows.append(SweepRow(index, params, args))
    return tuple(rows)


def table(rows: tuple[SweepRow, ...]) -> str:
    """The JSON-lines table: one object per line, line i is task i."""
    return "".join(json.dumps(row.to_json(), ensure_ascii=False) + "\n" for row in rows)


def array_spec(count: int, max_parallel: int | None) -> str:
    """`--array` value: `0-(N-1)` plus `%max_parallel` when given."""
    spec = f"0-{count - 1}"
    if max_parallel is not None:
        spec += f"%{max_parallel}"
    return spec
