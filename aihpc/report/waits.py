"""Queue waits per partition, kept as a count per whole second: exact and small.

A wait is start - submit of two epoch seconds, so it is a whole number of
seconds. Counting how many jobs waited each number of seconds loses
nothing: the nearest-rank percentiles, the mean and the maximum are the
same numbers a sorted list of every wait gives. Its size is the number of
distinct waits (bounded by the longest wait in seconds, in practice a few
thousand), not the number of jobs, and summarising sorts only those
distinct values instead of a million floats.
"""

from __future__ import annotations

from typing import Any

# partition -> wait in seconds -> jobs that waited exactly that long
WaitCounts = dict[str, dict[int, int]]


def nearest_rank(count: int, fraction: float) -> int:
    """1-based nearest rank of `fraction` among `count` sorted values."""
    return min(max(1, int(-(-fraction * count // 1))), count)


def value_at_rank(sorted_counts: list[tuple[int, int]], rank: int) -> int:
    """The `rank`-th smallest value (1-based) of (value, how many) pairs sorted by value."""
    seen = 0
    for value, how_many in sorted_counts:
        seen += how_many
        if seen >= rank:
            return value
    raise ValueError(f"rank {rank} beyond {seen} values")


def summarize(counts: dict[int, int]) -> dict[str, Any]:
    """jobs, mean_s, p50_s, p90_s, p99_s, max_s of one partition's non-empty wait counts.

    Floats, as when the waits were kept as floats: the JSON does not change.
    """
    pairs = sorted(counts.items())
    jobs = sum(counts.values())
    total = sum(value * how_many for value, how_many in pairs)  # exact: integers
    return {
        "jobs": jobs,
        "mean_s": round(total / jobs, 1),
        **{
            f"p{round(fraction * 100)}_s": float(value_at_rank(pairs, nearest_rank(jobs, fraction)))
            for fraction in (0.5, 0.9, 0.99)
        },
        "max_s": float(pairs[-1][0]),
    }
