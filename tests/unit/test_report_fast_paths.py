"""The report's fast paths against the slow, obvious way of computing the same thing.

Each helper that made `aihpc report` cheaper per row (timestamps without
strptime, rows as tuples, timeline bins by difference array, waits as a
count per second, GPU-seconds summed per type set) is checked here against
a reference written out in the test, and on hand arithmetic where a figure
is small enough to do by hand.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import pytest

from aihpc.errors import ClusterError
from aihpc.report.accumulate import Accumulator
from aihpc.report.bins import Bins
from aihpc.report.capacity import LostTime, NodeGpus
from aihpc.report.waits import summarize
from aihpc.report.window import Window
from aihpc.slurm.sacct_records import iter_records, iter_window_rows, parse_time
from aihpc.slurm.tres import gpu_entries, tres_gpus
from tests.unit.report_fixtures import REPORT

ISO = "%Y-%m-%dT%H:%M:%S"


@pytest.fixture
def set_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Sets the local timezone (TZ, tzset); the process's zone is put back afterwards."""

    def apply(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield apply
    monkeypatch.undo()
    time.tzset()


def reference_time(text: str) -> int | None:
    """What parse_time did before the fast path: strptime, then mktime."""
    text = text.strip()
    if not text or text in ("Unknown", "None", "N/A"):
        return None
    if text.isdigit():
        return int(text) or None
    try:
        return int(time.mktime(time.strptime(text, ISO)))
    except (ValueError, OverflowError):
        return None


EDGE_TIMES = [
    "2025-01-31T23:59:59",  # month end
    "2025-02-01T00:00:00",
    "2025-12-31T23:59:59",  # year end
    "2026-01-01T00:00:00",
    "2024-02-29T12:00:00",  # leap day
    "2023-02-29T12:00:00",  # no such day: None, as strptime says
    "2100-02-29T00:00:00",  # not a leap year (divisible by 100)
    "2000-02-29T00:00:00",  # a leap year (divisible by 400)
    "2025-04-31T00:00:00",
    "2025-13-01T00:00:00",
    "2025-00-10T00:00:00",
    "2025-01-00T00:00:00",
    "2025-06-15T24:00:00",
    "2025-06-15T23:60:00",
    "2025-06-15T23:59:60",  # leap second: strptime accepts 60 and 61
    "2025-06-15T23:59:61",
    "2025-06-15T23:59:62",
    "2025-03-30T02:30:00",  # Europe: in the spring-forward gap
    "2025-10-26T02:30:00",  # Europe: in the hour that repeats
    "2025-03-09T02:30:00",  # US: gap
    "2025-11-02T01:30:00",  # US: repeat
    "2025-10-05T02:15:00",  # Lord Howe: 30-minute gap
    "2025-04-06T01:45:00",  # Lord Howe: 30-minute repeat
    "1970-01-01T00:00:00",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00",
    "0000-01-01T00:00:00",
    "2025-1-5T3:4:5",  # not zero-padded: strptime's own path reads it
    "2025-01-05 03:04:05",
    "2025-01-05T03:04:05Z",
    "2025-01-05T03:04",
    "２０２５-01-05T03:04:05",  # full-width digits: not the fast layout
    " 2025-01-05T03:04:05 ",
    "1767225600",
    "0",
    "",
    "Unknown",
    "None",
    "N/A",
    "junk",
]


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
)
def test_local_times_read_as_strptime_and_mktime_read_them(
    zone: str, set_zone: Callable[[str], None]
) -> None:
    set_zone(zone)
    assert (time.timezone != 0) == (zone != "UTC"), f"no tzdata for {zone} on this machine"
    for text in EDGE_TIMES:
        assert parse_time(text) == reference_time(text), (zone, text)


def test_local_times_by_hand(set_zone: Callable[[str], None]) -> None:
    set_zone("UTC")
    # 2024-02-29T12:00:00Z: 19782 days after 1970-01-01, plus 12 h
    assert parse_time("2024-02-29T12:00:00") == 19782 * 86400 + 12 * 3600
    assert parse_time("2023-02-29T12:00:00") is None
    set_zone("Europe/Berlin")
    # 01:59:59 CET (UTC+1) and 03:00:00 CEST (UTC+2) on 2025-03-30 are one second apart
    assert parse_time("2025-03-30T01:59:59") == 1743296399
    assert parse_time("2025-03-30T03:00:00") == 1743296400
    assert parse_time("2025-07-01T00:00:00") == 1751320800  # CEST: 22:00Z the day before


WINDOW_LINES = [
    "1|1|alice|lab|gpu|COMPLETED|0:0|2025-01-01T00:00:00|2025-01-01T00:10:00|None|60|1|00:00||"
    "gres/gpu=1|n1|iso times\n",
    "2|2_3|bob|lab|gpu|CANCELLED by 1000|0:15|1735700000|Unknown|Unknown|0|1|00:00||"
    "cpu=1|None assigned|pending\n",
    "\n",
    "3|3.batch|bob|lab|gpu|RUNNING|0:0|1735700000|1735700100|Unknown|5|1|00:01||"
    "gres/gpu:h100=2|n2|a|b|c\n",
    "4|4|carol|lab|gpu|COMPLETED|0:0|0|1735700100|1735700200|100|1|00:01||(null)|n3|last",
]


def test_window_rows_hold_the_same_values_as_records() -> None:
    fixture = REPORT.joinpath("sacct_window.txt").read_text().splitlines(keepends=True)
    for lines in (fixture, WINDOW_LINES):
        rows = list(iter_window_rows(lines))
        expected = [
            (
                r.raw_id,
                r.job_id,
                r.user,
                r.account,
                r.partition,
                r.state,
                r.submit,
                r.start,
                r.end,
                r.alloc_tres,
                r.nodes,
                r.name,
            )
            for r in iter_records(lines)
        ]
        assert rows == expected
    rows = list(iter_window_rows(WINDOW_LINES))
    assert rows[1][5] == "CANCELLED" and rows[2][11] == "a|b|c" and rows[3][6] is None


def test_a_short_window_row_is_the_same_error_as_a_short_record() -> None:
    lines = ["", "1|1|alice|lab\n"]
    with pytest.raises(ClusterError) as records:
        list(iter_records(lines, "sacct -X"))
    with pytest.raises(ClusterError) as rows:
        list(iter_window_rows(lines, "sacct -X"))
    assert str(rows.value) == str(records.value)
    assert "sacct -X line 2: expected 17 '|'-separated fields, got 4" in str(rows.value)


def reference_bins(jobs: list[tuple[int, int, int]], step: int, count: int) -> list[int]:
    """Each job's overlap with each bin, bin by bin: what the report did before."""
    out = [0] * count
    for start, end, gpus in jobs:
        for i in range(count):
            overlap = min(end, (i + 1) * step) - max(start, i * step)
            if overlap > 0:
                out[i] += gpus * overlap
    return out


def add_to_bins(bins: Bins, start: int, end: int, gpus: int) -> None:
    """As the accumulator does: one bin in `partial`, more through `Bins.add`."""
    first, last = start // bins.step, (end - 1) // bins.step
    if first == last:
        bins.partial[first] += gpus * (end - start)
    else:
        head, tail = (first + 1) * bins.step - start, end - last * bins.step
        bins.add(first, last, head, tail, gpus)


def test_bins_by_hand() -> None:
    bins = Bins(5, 100)
    add_to_bins(bins, 50, 420, 2)  # 2 GPUs: 50 s of bin 0, bins 1-3 whole, 20 s of bin 4
    add_to_bins(bins, 110, 130, 4)  # inside bin 1
    assert bins.held() == [100, 200 + 80, 200, 200, 40]


def test_bins_equal_each_jobs_overlap_bin_by_bin() -> None:
    rng = random.Random(7)
    step, count = 300, 40
    jobs = []
    for _ in range(500):
        start = rng.randrange(step * count - 1)
        end = min(step * count, start + 1 + int(rng.expovariate(1 / rng.choice((50, 900, 9000)))))
        jobs.append((start, end, rng.choice((1, 2, 8))))
    bins = Bins(count, step)
    for start, end, gpus in jobs:
        add_to_bins(bins, start, end, gpus)
    assert bins.held() == reference_bins(jobs, step, count)


def reference_waits(values: list[int]) -> dict[str, float | int]:
    """Sorted floats and nearest rank, as the report kept waits before."""
    ordered = sorted(float(v) for v in values)

    def rank(fraction: float) -> float:
        r = max(1, int(-(-fraction * len(ordered) // 1)))
        return ordered[min(r, len(ordered)) - 1]

    return {
        "jobs": len(ordered),
        "mean_s": round(sum(ordered) / len(ordered), 1),
        "p50_s": rank(0.5),
        "p90_s": rank(0.9),
        "p99_s": rank(0.99),
        "max_s": ordered[-1],
    }


def counted(values: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def test_wait_percentiles_by_hand() -> None:
    # 0 10 60 100 100 500: p50 = 3rd, p90 = p99 = 6th; mean 770 / 6
    summary = summarize(counted([100, 0, 500, 10, 100, 60]))
    assert summary == {
        "jobs": 6,
        "mean_s": 128.3,
        "p50_s": 60.0,
        "p90_s": 500.0,
        "p99_s": 500.0,
        "max_s": 500.0,
    }
    assert summarize({7: 1}) == {
        "jobs": 1,
        "mean_s": 7.0,
        "p50_s": 7.0,
        "p90_s": 7.0,
        "p99_s": 7.0,
        "max_s": 7.0,
    }


def test_wait_counts_give_what_the_sorted_list_gave() -> None:
    rng = random.Random(11)
    for size in (1, 2, 3, 9, 10, 11, 99, 100, 101, 1000, 20000):
        values = [int(rng.expovariate(1 / rng.choice((5, 600, 86400)))) for _ in range(size)]
        got, want = summarize(counted(values)), reference_waits(values)
        assert got == want and all(type(got[k]) is type(want[k]) for k in want), size


def test_gpu_types_of_an_account_keep_the_order_rows_brought_them() -> None:
    """Money per account is a float sum over its GPU types, in dict order: the
    order in which rows first brought each (account, type) must not change."""
    window = Window(0, 1000)
    nodes = {
        "a1": NodeGpus("a1", {"a100": 4}, ("gpu",)),
        "h1": NodeGpus("h1", {"h100": 4}, ("gpu",)),
        "l1": NodeGpus("l1", {"l40s": 4}, ("gpu",)),
    }
    acc = Accumulator(window, nodes, LostTime.build(window, nodes, [], []))

    def row(job: str, user: str, node: str, gpus: int) -> tuple[str, ...]:
        # FIELDS order: submit 50, start 100, end 300
        return (job, job, user, "lab", "gpu", "COMPLETED", "0:0", "50", "100", "300", "200",
                "1", "00:00", "", f"gres/gpu={gpus}", node, "x")  # fmt: skip

    lines = [
        "|".join(row("1", "u1", "l1", 1)),  # u1 brings l40s first
        "|".join(row("2", "u2", "a1", 2)),  # then u2 brings a100
        "|".join(row("3", "u1", "h1", 4)),  # then u1 brings h100
        "|".join(row("4", "u2", "l1", 1)),
    ]
    acc.add_rows(iter_window_rows(lines))
    assert list(acc.by_account["lab"].gpu_seconds.items()) == [
        ("l40s", 400.0),  # 2 jobs x 1 GPU x 200 s
        ("a100", 400.0),
        ("h100", 800.0),
    ]
    assert list(acc.by_user[("u1", "lab")].gpu_seconds) == ["l40s", "h100"]
    assert list(acc.by_type.gpu_seconds) == ["l40s", "a100", "h100"]
    assert acc.by_account["lab"].jobs == 4 and acc.rows == 4
    # the timeline: 1000 s in 10 s bins; job 3's 4 h100 from 100 to 300
    assert acc.bins["h100"][9:31] == [0.0] + [40.0] * 20 + [0.0]


TRES_STRINGS = [
    "billing=8,cpu=8,gres/gpu=4,gres/gpu:h100=4,mem=64G,node=1",
    "billing=8,cpu=8,gres/gpu:h100=2,gres/gpu:a100=2,mem=64G,node=1",  # typed only
    "gres/gpu=2",
    "cpu=4,gres/gpu=2",
    "gres/gpu=2,mem=1G",
    "cpu=4,mem=1G",
    "",
    "(null)",
    "N/A",
    "cpu=4,gres/gpu=1,gres/mps=100,gres/gpu:a100=1,mem=4G",  # another gres between
    "cpu=4,gres/gpu=1,gres/gpu=3",  # repeated: the last wins, either way
    "cpu=4, gres/gpu=2,mem=1G",  # a space before the key
    "cpu=4,license/xgres/gpu=7,gres/gpu=1",  # "gres/gpu" inside another key
    "cpu=4,gres/gpu=1,comment=gres/gpu",  # ... and inside a value
    "gres/gpu=2K,gres/gpu:h100=junk",
    "gres/gpu",
    ",,gres/gpu=1,,",
]


@pytest.mark.parametrize("text", TRES_STRINGS)
def test_gpu_entries_read_as_the_whole_tres_string(text: str) -> None:
    assert tres_gpus(gpu_entries(text)) == tres_gpus(text)


def test_gpu_entries_leave_out_what_varies_per_job() -> None:
    assert gpu_entries("billing=13,cpu=8,gres/gpu=4,gres/gpu:h100=4,mem=64123M,node=1") == (
        "gres/gpu=4,gres/gpu:h100=4"
    )
    assert gpu_entries("cpu=4,mem=1G") == ""
    whole = "cpu=4,license/xgres/gpu=7,gres/gpu=1"
    assert gpu_entries(whole) == whole  # not cut where an entry does not start
