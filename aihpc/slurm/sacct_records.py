"""Accounting records as `sacct -P -n --noconvert -o FIELDS` prints them, streamed.

`aihpc report` reads a whole window of jobs in ONE call, line by line, so a
month of a large cluster's rows is never held at once (`sacct --json` has
to be read whole, and is several times larger). `aihpc stats` reads one job
with its steps through the same fields.

Each line is ``|``-separated in the order of `FIELDS`. Only `JobName` is
free text, so it is asked for last and split with a maximum: a ``|`` in a
job's name cannot shift the other columns.

Two readers of the same lines, sharing FIELDS and `parse_time`:
`iter_records` yields a `SacctRecord` per row (`aihpc stats`: every field);
`iter_window_rows` yields a plain tuple of the fields a report reads
(`aihpc report`: a million rows, where a record per row was a third of the
cost). tests/unit/test_report_fast_paths.py holds them to the same values.

Times: the argv is run with ``SLURM_TIME_FORMAT=%s`` (`sacct_env`), so
Submit/Start/End arrive as epoch seconds and no timezone is guessed;
ISO-8601 local times (sacct's default format) are accepted too. ``Unknown``
(not started, still running) and ``None`` read as None.

Shape checked against Slurm 24.11 `sacct -P` output (tests/fixtures/report/).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aihpc.errors import ClusterError

FIELDS = (
    "JobIDRaw",
    "JobID",
    "User",
    "Account",
    "Partition",
    "State",
    "ExitCode",
    "Submit",
    "Start",
    "End",
    "ElapsedRaw",
    "NCPUS",
    "TotalCPU",
    "MaxRSS",
    "AllocTRES",
    "NodeList",
    "JobName",
)
_LAST = len(FIELDS) - 1  # split at most this often: JobName, last, may hold a |
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGTP]?)$")
_CPU_TIME = re.compile(r"^(?:(?:([0-9]+)-)?([0-9]+):)?([0-9]+):([0-9]+(?:\.[0-9]+)?)$")


@dataclass(slots=True)  # not frozen: a frozen init costs a third of a million-row read
class SacctRecord:
    """One row: a job allocation, an array task, or (without -X) one of its steps."""

    raw_id: str  # Slurm's own id of this record (array tasks have one each)
    job_id: str  # "123", "123_4", "123.batch", "123_4.0"
    user: str
    account: str
    partition: str
    state: str  # base state: "CANCELLED by 1000" -> "CANCELLED"
    exit_code: int | None
    signal: int | None
    submit: int | None
    start: int | None
    end: int | None
    elapsed_s: int
    ncpus: int
    total_cpu: str  # as printed; parsed on demand (a report never needs it)
    max_rss: str
    alloc_tres: str
    nodes: str
    name: str

    @property
    def total_cpu_s(self) -> float:
        return parse_cpu_time(self.total_cpu)

    @property
    def max_rss_bytes(self) -> int | None:
        """The largest task RSS; sacct prints KiB with a K unless converted."""
        return parse_size(self.max_rss, "K") if self.max_rss.strip() else None

    @property
    def is_step(self) -> bool:
        return "." in self.job_id

    @property
    def allocation_id(self) -> str:
        """The allocation this row belongs to: "123_4.batch" -> "123_4"."""
        return self.job_id.split(".", 1)[0]


def sacct_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a sacct/sacctmgr call: times as epoch seconds."""
    return {**(os.environ if environ is None else environ), "SLURM_TIME_FORMAT": "%s"}


def slurm_time(epoch: int) -> str:
    """A time argument Slurm's parser reads (-S/-E, Start=/End=): local ISO-8601.

    Slurm's time parser takes dates, not epoch numbers, and reads them in the
    local timezone; aihpc runs on the login node, so local time is the host's.
    """
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def sacct_window_argv(start: int, end: int, extra: list[str] | None = None) -> list[str]:
    """The one call for a report: every user's allocations that overlap [start, end)."""
    return [
        "sacct",
        "-a",
        "-X",
        "-P",
        "-n",
        "--noconvert",
        "-S",
        slurm_time(start),
        "-E",
        slurm_time(end),
        "-o",
        ",".join(FIELDS),
        *(extra or []),
    ]


def sacct_job_argv(job_id: str) -> list[str]:
    """One job (all its array tasks) with its steps, for `aihpc stats`."""
    return ["sacct", "-j", job_id, "-P", "-n", "--noconvert", "-o", ",".join(FIELDS)]


_ISO = "%Y-%m-%dT%H:%M:%S"
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _iso_fields(text: str) -> tuple[int, int, int, int, int, int] | None:
    """(Y, M, D, h, m, s) of a zero-padded ``YYYY-MM-DDTHH:MM:SS`` that strptime
    would accept with `_ISO`; None for any other text (strptime then decides).

    Same ranges as strptime: month 1-12, a day that exists in that month
    (leap years included), hour 0-23, minute 0-59, second 0-61.
    """
    if len(text) != 19 or text[4] != "-" or text[7] != "-" or text[10] != "T":
        return None
    if text[13] != ":" or text[16] != ":":
        return None
    digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:]
    if not (digits.isascii() and digits.isdigit()):
        return None
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:])
    if year < 1 or not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 61:
        return None
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= _MONTH_DAYS[month - 1] + leap:
        return None
    return year, month, day, hour, minute, second


def parse_time(text: str) -> int | None:
    """Epoch seconds of a Submit/Start/End value: epoch digits (SLURM_TIME_FORMAT=%s)
    or a local ``YYYY-MM-DDTHH:MM:SS``; None for Unknown/None/N/A/0/unparseable.

    Local times go through `time.mktime` with tm_isdst=-1, as
    ``mktime(strptime(text, _ISO))`` would: the fixed layout is read by
    `_iso_fields` (about 20x cheaper than strptime's regex), anything else
    by strptime itself, so DST gaps and repeats resolve exactly as before.
    """
    if text.isdigit():  # the common case under SLURM_TIME_FORMAT=%s: no strip, no regex
        return int(text) or None
    text = text.strip()
    if not text or text in ("Unknown", "None", "N/A"):
        return None
    if text.isdigit():
        return int(text) or None
    try:
        fields = _iso_fields(text)
        if fields is not None:
            return int(time.mktime((*fields, 0, 1, -1)))  # wday, yday: mktime ignores them
        return int(time.mktime(time.strptime(text, _ISO)))
    except (ValueError, OverflowError):  # OverflowError: a year mktime cannot represent
        return None


def parse_size(text: str, bare_unit: str = "") -> int | None:
    """Bytes from ``4000M`` / ``1234K`` / ``0``; a bare number is in `bare_unit`."""
    match = _SIZE.match(text.strip())
    if not match:
        return None
    unit = match.group(2) or bare_unit
    return int(float(match.group(1)) * _UNITS[unit])


def parse_cpu_time(text: str) -> float:
    """Seconds from sacct's TotalCPU: ``MM:SS.mmm``, ``HH:MM:SS``, ``D-HH:MM:SS``."""
    match = _CPU_TIME.match(text.strip())
    if not match:
        return 0.0
    days, hours, minutes, seconds = match.groups()
    if hours is not None and days is None and text.count(":") == 1:
        # "MM:SS.mmm": the optional group caught minutes as hours.
        hours, minutes = None, hours
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def _int(text: str) -> int:
    if text.isdigit():
        return int(text)
    text = text.strip()
    return int(text) if text.isdigit() else 0


def _exit(text: str) -> tuple[int | None, int | None]:
    if text == "0:0":
        return 0, None
    code, _, sig = text.partition(":")
    return (
        int(code) if code.isdigit() else None,
        (int(sig) or None) if sig.isdigit() else None,
    )


def parse_record(line: str) -> SacctRecord:
    """One `sacct -P` line in `FIELDS` order; ValueError when it has too few columns."""
    cols = line.rstrip("\n").split("|", len(FIELDS) - 1)
    if len(cols) != len(FIELDS):
        raise ValueError(f"expected {len(FIELDS)} '|'-separated fields, got {len(cols)}")
    (raw, job, user, account, partition, state, exit_code, submit, start, end) = cols[:10]
    (elapsed, ncpus, total_cpu, max_rss, tres, nodes, name) = cols[10:]
    code, sig = _exit(exit_code)
    # Positional, in field order: measurably cheaper than keywords a million times.
    return SacctRecord(
        raw,
        job,
        user,
        account,
        partition,
        state.partition(" ")[0],  # "CANCELLED by 1000" -> "CANCELLED"
        code,
        sig,
        int(submit) or None if submit.isdigit() else parse_time(submit),
        int(start) or None if start.isdigit() else parse_time(start),
        int(end) or None if end.isdigit() else parse_time(end),
        int(elapsed) if elapsed.isdigit() else _int(elapsed),
        int(ncpus) if ncpus.isdigit() else _int(ncpus),
        total_cpu,
        max_rss,
        tres,
        nodes,
        name,
    )


# What a report reads of each row, as a plain tuple in this order:
# (raw_id, job_id, user, account, partition, state, submit, start, end,
#  alloc_tres, nodes, name), with the same values SacctRecord's fields of
# those names hold. A tuple is built in a fraction of a SacctRecord's time:
# over a million rows that is most of the parse.
WindowRow = tuple[str, str, str, str, str, str, int | None, int | None, int | None, str, str, str]


def iter_window_rows(lines: Iterable[str], where: str = "sacct") -> Iterator[WindowRow]:
    """`WindowRow` tuples from sacct lines in `FIELDS` order, one at a time.

    The same reading as `iter_records` (same columns, times, base state,
    blank lines skipped, a short line a ClusterError naming its number),
    without the fields a report never reads (exit code, elapsed, CPUs,
    TotalCPU, MaxRSS). Epoch times are read inline; anything else goes
    through `parse_time`.
    """
    for number, line in enumerate(lines, 1):
        try:  # unpacking checks the column count at no cost to the rows that have it
            (
                raw, job, user, account, partition, state, _, submit, start, end,
                _, _, _, _, tres, nodes, name,
            ) = line.split("|", _LAST)  # fmt: skip
        except ValueError:
            if not line.strip():
                continue
            count = len(line.split("|", _LAST))
            raise ClusterError(
                f"{where} line {number}: expected {len(FIELDS)} '|'-separated fields, "
                f"got {count}: {line[:200]!r}"
            ) from None
        yield (
            raw,
            job,
            user,
            account,
            partition,
            state.partition(" ")[0] if " " in state else state,
            int(submit) or None if submit.isdigit() else parse_time(submit),
            int(start) or None if start.isdigit() else parse_time(start),
            int(end) or None if end.isdigit() else parse_time(end),
            tres,
            nodes,
            name.rstrip("\n"),
        )


def iter_records(lines: Iterable[str], where: str = "sacct") -> Iterator[SacctRecord]:
    """Records from sacct lines, one at a time; a malformed line is a ClusterError
    naming its line number (a truncated stream must not pass for a short window)."""
    for number, line in enumerate(lines, 1):
        try:
            yield parse_record(line)
        except ValueError as exc:
            if not line.strip():  # checked only on failure: a blank line has too few fields
                continue
            raise ClusterError(f"{where} line {number}: {exc}: {line[:200]!r}") from None
