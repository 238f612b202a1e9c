"""Timeline bins at a constant cost per job, however many bins it spans.

A job that runs over bins first..last adds its held amount to the two end
bins, clipped (`partial`), and its count once to a difference array for the
whole bins between them (`whole`): +count at first+1, -count at last.
`held()` turns the running sum of that array into count x step per bin. A
month-long job costs four additions, not one per bin.

Every amount is an integer (epoch seconds times a count), so the result is
exactly the sum of each job's overlap with each bin, bin by bin.
"""

from __future__ import annotations


class Bins:
    """One series: `bin_count` bins of `step` seconds from the window's start."""

    __slots__ = ("partial", "step", "whole")

    def __init__(self, bin_count: int, step: int) -> None:
        self.step = step
        self.partial = [0] * bin_count  # amounts of jobs that cover a bin only in part
        self.whole = [0] * bin_count  # difference array: counts covering whole bins

    def add(self, first: int, last: int, head: int, tail: int, count: int) -> None:
        """`count` held from `head` seconds before the end of bin `first` to `tail`
        seconds into bin `last` (first < last); within one bin, add to `partial`."""
        self.partial[first] += count * head
        self.partial[last] += count * tail
        if last > first + 1:
            self.whole[first + 1] += count
            self.whole[last] -= count

    def held(self) -> list[int]:
        """Count-seconds per bin."""
        out: list[int] = []
        running = 0
        step = self.step
        for partial, change in zip(self.partial, self.whole, strict=True):
            running += change
            out.append(partial + running * step)
        return out
