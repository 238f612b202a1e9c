"""One pass over a window's accounting rows; nothing per job is kept but the top N.

Each row adds its GPU-seconds, clipped to the window, to running totals per
account, user, partition and GPU type and to the timeline's bins; its
queue wait is counted per partition and whole second (`waits`); the top
jobs live in a bounded heap. A million rows stay well under the memory a
list of records would need.

GPU counts are the allocation's `gres/gpu` TRES (what was granted, not
what was used). Typed entries name the GPU type; an untyped count takes
the type of the job's nodes when they have exactly one.

Why the loop looks the way it does: a million rows make every per-row
operation count (bench/report/bench_report.py; docs/benchmarks.md).
- Rows arrive as plain tuples (`iter_window_rows`) and the loop runs in
  one function over local names: no object and no call per row.
- What depends only on a row's partition, NodeList and the GPU entries of
  its TRES is worked out once per distinct triple (`Shape`); mem and
  billing, which differ per job, are left out of that key (`gpu_entries`).
- A row adds its seconds once, per (account, user, partition) and GPU
  type *set*, not once per type; `finish()` multiplies the sets out.
- Times become seconds into the window: epochs are past 2**30, beyond
  CPython's fast path for integer arithmetic.
- Dict keys are strings joined with `SEP`, not tuples: about twice as fast.
- Sums stay integers until `finish()`, where each becomes the float that a
  running float sum of the same integers gave (exact below 2**53), with
  each account's GPU types in the order rows first brought them, the
  order the money figures are summed in. The figures do not change.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from aihpc.report.bins import Bins
from aihpc.report.capacity import LostTime, NodeGpus
from aihpc.report.waits import WaitCounts
from aihpc.report.window import Window
from aihpc.slurm.hostlist import expand_hostlist
from aihpc.slurm.sacct_records import WindowRow
from aihpc.slurm.tres import gpu_entries, gpus_by_type, tres_gpus

NICE_STEPS = (10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BINS = 120


def choose_step(seconds: int) -> int:
    """The smallest round bin width that keeps the timeline at MAX_BINS bins or fewer."""
    for step in NICE_STEPS:
        if seconds / step <= MAX_BINS:
            return step
    return NICE_STEPS[-1]


@dataclass(order=True, frozen=True)
class TopJob:
    gpu_seconds: float
    job_id: str = field(compare=False)
    user: str = field(compare=False)
    account: str = field(compare=False)
    partition: str = field(compare=False)
    name: str = field(compare=False)
    gpus: int = field(compare=False)
    state: str = field(compare=False)
    elapsed_s: int = field(compare=False)


@dataclass
class Totals:
    gpu_seconds: dict[str, float] = field(default_factory=dict)  # per GPU type
    jobs: int = 0

    @property
    def total(self) -> float:
        return sum(self.gpu_seconds.values())


# Distinct shapes remembered, per cache; a site's jobs repeat a few TRES strings
# and node lists, so most rows parse neither.
SHAPE_CACHE = 65536
# Dict keys joined from a row's fields are strings, not tuples: a dict of str
# keys is looked up about twice as fast. No field of a sacct line holds a
# newline (it ends the line), so joining with one is unambiguous.
SEP = "\n"

_K = TypeVar("_K")
ByType = tuple[tuple[str, int], ...]  # GPUs per type, sorted by type


@dataclass(frozen=True, slots=True)
class Hosts:
    """What a NodeList means for the report (cached per NodeList)."""

    names: tuple[str, ...]
    gpu_types: tuple[str, ...]  # the GPU types of those nodes, in host order
    touches_lost: bool  # a host has down/drained/reserved segments in the window


@dataclass(frozen=True, slots=True)
class Shape:
    """What a row's (partition, NodeList, AllocTRES) means (cached per triple)."""

    gpus: int
    type_key: int  # index of its GPUs by type in Accumulator._type_sets
    partial: list[int]  # the timeline of jobs of this type set: `bins.partial`
    bins: Bins  # (in jobs, each holding the set's GPUs; types multiplied out in finish)
    hosts: tuple[str, ...]
    share: dict[str, float] | None  # GPUs per type per host, when a host has lost segments


class _Cell:
    """One (account, user, partition): jobs, and seconds held per GPU type set."""

    __slots__ = ("jobs", "seconds")

    def __init__(self) -> None:
        self.jobs = 0
        self.seconds: dict[int, int] = {}  # type_key -> seconds in the window


class _Sums:
    """Jobs and GPU-seconds per type of one account, user, partition or of all."""

    __slots__ = ("jobs", "seconds")

    def __init__(self) -> None:
        self.jobs = 0
        self.seconds: dict[str, int] = {}


# A top-N entry: (GPU-seconds, arrival, (job_id, user, account, partition, name, state),
# GPUs, seconds in the window)
_TopEntry = tuple[float, int, tuple[str, str, str, str, str, str], int, int]


class Accumulator:
    """Running totals over sacct rows; `finish()` turns them into per-account,
    per-user, per-partition and per-type `Totals` and the timeline's `bins`."""

    def __init__(
        self,
        window: Window,
        nodes: dict[str, NodeGpus],
        lost: LostTime,
        top_n: int = 10,
        idle_by_job: dict[str, float] | None = None,
    ) -> None:
        self.window = window
        self.nodes = nodes
        self.lost = lost
        self.top_n = top_n
        self.idle_by_job = idle_by_job
        self.step = choose_step(window.seconds)
        self.bin_count = -(-window.seconds // self.step)
        self.bins: dict[str, list[float]] = {}  # GPU type -> GPU-seconds per bin (finish)
        # Rows are summed per GPU type *set* (("a100", 2), ("h100", 4)), not per
        # type: one addition per row; finish() multiplies the sets out per type.
        self._type_keys: dict[ByType, int] = {}
        self._type_sets: list[ByType] = []
        self._set_bins: list[Bins] = []  # per type_key
        self._use: dict[str, _Cell] = {}  # account SEP user SEP partition -> _Cell
        # (account, user, partition, type_key) in the order rows first brought each:
        # a running float sum per account (user, ...) met GPU types in that order.
        self._first_seen: list[tuple[str, str, str, int]] = []
        self.by_account: dict[str, Totals] = {}
        self.by_user: dict[tuple[str, str], Totals] = {}
        self.by_partition: dict[str, Totals] = {}
        self.by_type = Totals()
        self.idle_by_account: dict[str, float] = {}
        self.waits: WaitCounts = {}
        self.states: dict[
            str, int
        ] = {}  # base state -> jobs counted (a dict: twice a Counter's speed)
        self._top: list[_TopEntry] = []
        self._seq = 0
        self.rows = 0
        self.names: set[str] = set()  # users and accounts seen, for the public view
        self._partition_types: dict[str, list[str]] = {}
        for info in nodes.values():
            for part in info.partitions:
                known = self._partition_types.setdefault(part, [])
                known.extend(t for t in info.gpus if t not in known)
        self._shapes: dict[str, Shape] = {}  # partition SEP NodeList SEP AllocTRES -> Shape
        self._by_gpus: dict[str, Shape] = {}  # partition SEP NodeList SEP gpu_entries(TRES)
        self._hosts: dict[str, Hosts] = {}
        self._tres: dict[str, tuple[int, dict[str, int]]] = {}  # by gpu_entries(TRES)

    def _hosts_of(self, nodelist: str) -> Hosts:
        hosts = self._hosts.get(nodelist)
        if hosts is None:
            try:
                names = tuple(expand_hostlist(nodelist))
            except ValueError:
                names = ()
            types: list[str] = []
            for host in names:
                info = self.nodes.get(host)
                if info:
                    types.extend(t for t in info.gpus if t not in types)
            touches = any(self.lost.has_segments(h) for h in names)
            hosts = Hosts(names, tuple(types), touches)
            if len(self._hosts) >= SHAPE_CACHE:
                self._hosts.clear()
            self._hosts[nodelist] = hosts
        return hosts

    def _gpus_of(self, tres: str) -> tuple[int, dict[str, int]]:
        gpus = self._tres.get(tres)
        if gpus is None:
            gpus = tres_gpus(tres)
            if len(self._tres) >= SHAPE_CACHE:
                self._tres.clear()
            self._tres[tres] = gpus
        return gpus

    def _shape(self, tres: str, nodelist: str, partition: str) -> Shape:
        """The shape of a (partition, NodeList, AllocTRES) not seen as such yet; most
        differ from a known one only in mem or billing, and share its shape."""
        gpu_tres = gpu_entries(tres)
        by_gpus = f"{partition}{SEP}{nodelist}{SEP}{gpu_tres}"
        shape = self._by_gpus.get(by_gpus)
        if shape is None:
            shape = self._new_shape(gpu_tres, nodelist, partition)
            if len(self._by_gpus) >= SHAPE_CACHE:
                self._by_gpus.clear()
            self._by_gpus[by_gpus] = shape
        if len(self._shapes) >= SHAPE_CACHE:
            self._shapes.clear()
        self._shapes[f"{partition}{SEP}{nodelist}{SEP}{tres}"] = shape
        return shape

    def _new_shape(self, gpu_tres: str, nodelist: str, partition: str) -> Shape:
        hosts = self._hosts_of(nodelist)
        total, typed = self._gpus_of(gpu_tres)
        known = hosts.gpu_types or self._partition_types.get(partition, [])
        by_type = tuple(sorted(gpus_by_type(total, typed, list(known)).items())) if total else ()
        type_key = self._type_keys.get(by_type)
        if type_key is None:
            type_key = self._type_keys[by_type] = len(self._type_sets)
            self._type_sets.append(by_type)
            self._set_bins.append(Bins(self.bin_count, self.step))
        share = None
        if hosts.touches_lost:
            share = {t: n / len(hosts.names) for t, n in by_type}
        set_bins = self._set_bins[type_key]
        return Shape(total, type_key, set_bins.partial, set_bins, hosts.names, share)

    def add_rows(self, rows: Iterable[WindowRow]) -> None:
        """Add every row, then finish. The cyclic garbage collector is paused
        meanwhile: rows make no cycles, and its passes over the growing totals
        would otherwise cost a fifth of a million-row read."""
        paused = gc.isenabled()
        gc.disable()
        try:
            self._add_rows(rows)
        finally:
            if paused:
                gc.enable()
        self.finish()

    def _add_rows(self, rows: Iterable[WindowRow]) -> None:
        """The per-row loop, in one function: a call per row is a tenth of its cost."""
        w_start, w_end = self.window.start, self.window.end
        span = w_end - w_start
        step = self.step
        names_add = self.names.add
        waits = self.waits
        states = self.states
        shapes = self._shapes
        use = self._use
        first_seen = self._first_seen.append
        idle_by_job = self.idle_by_job
        idle_by_account = self.idle_by_account
        subtract = self.lost.subtract_allocated
        top, top_n = self._top, self.top_n
        count_rows = 0
        for count_rows, row in enumerate(rows, self.rows + 1):  # noqa: B007 (read after)
            job = row[1]
            if "." in job:  # a step: a -X read has none; allocations only
                continue
            raw, _, user, account, partition, state, submit, start, end, tres, nodelist, name = row
            if start is None:
                names_add(user)  # counted rows add theirs in finish()
                names_add(account)
                continue
            if submit is not None and w_start <= start < w_end:
                counts = waits.get(partition)
                if counts is None:
                    counts = waits[partition] = {}
                wait = start - submit if start > submit else 0
                counts[wait] = counts.get(wait, 0) + 1
            # From here on, times are seconds into the window: epochs are past 2**30,
            # where CPython's integer arithmetic leaves its fast path; offsets are not.
            end = span if end is None or end > w_end else end - w_start
            start = start - w_start if start > w_start else 0
            if end <= start:
                names_add(user)
                names_add(account)
                continue
            states[state] = states.get(state, 0) + 1
            seconds = end - start
            shape = shapes.get(f"{partition}\n{nodelist}\n{tres}")  # SEP
            if shape is None:
                shape = self._shape(tres, nodelist, partition)
            key = f"{account}\n{user}\n{partition}"  # SEP
            cell = use.get(key)
            if cell is None:
                cell = use[key] = _Cell()
            cell.jobs += 1
            gpus = shape.gpus
            if not gpus:
                continue
            if idle_by_job is not None:
                idle = idle_by_job.get(raw) or idle_by_job.get(job)
                if idle:
                    idle_by_account[account] = idle_by_account.get(account, 0.0) + idle
            held = cell.seconds
            type_key = shape.type_key
            so_far = held.get(type_key)
            if so_far is None:
                held[type_key] = seconds
                first_seen((account, user, partition, type_key))
            else:
                held[type_key] = so_far + seconds
            first = start // step
            last = (end - 1) // step  # end <= span: never past the last bin
            if first == last:
                shape.partial[first] += seconds
            else:
                head = (first + 1) * step - start
                shape.bins.add(first, last, head, tail=end - last * step, count=1)
            share = shape.share
            if share is not None:
                for host in shape.hosts:
                    subtract(host, start + w_start, end + w_start, share)
            gpu_seconds = gpus * seconds
            if len(top) < top_n:
                self._seq += 1
                job_row = (job, user, account, partition, name, state)
                heapq.heappush(top, (float(gpu_seconds), self._seq, job_row, gpus, seconds))
            elif top_n and gpu_seconds > top[0][0]:
                self._seq += 1
                job_row = (job, user, account, partition, name, state)
                heapq.heapreplace(top, (float(gpu_seconds), self._seq, job_row, gpus, seconds))
        self.rows = max(self.rows, count_rows)

    def finish(self) -> None:
        """Fold the running totals into per-account/user/partition/type Totals and
        the timeline's bins (idempotent).

        Sums stay integers until here; each becomes a float once, equal to
        what a running float sum of the same integers gives (exact below 2**53).
        """
        per_account: dict[str, _Sums] = {}
        per_user: dict[tuple[str, str], _Sums] = {}
        per_partition: dict[str, _Sums] = {}
        per_type = _Sums()
        type_sets = self._type_sets
        cells = []
        for key, cell in self._use.items():  # names in the order rows first brought them
            account, user, partition = key.split(SEP)
            cells.append(
                (
                    cell,
                    _sums(per_account, account),
                    _sums(per_user, (user, account)),
                    _sums(per_partition, partition),
                    per_type,
                )
            )
        for account, user, partition, type_key in self._first_seen:  # then their types
            for gpu_type, _ in type_sets[type_key]:
                per_account[account].seconds.setdefault(gpu_type, 0)
                per_user[(user, account)].seconds.setdefault(gpu_type, 0)
                per_partition[partition].seconds.setdefault(gpu_type, 0)
                per_type.seconds.setdefault(gpu_type, 0)
        for cell, *into in cells:
            for sums in into:
                sums.jobs += cell.jobs
            for type_key, seconds in cell.seconds.items():
                for gpu_type, count in type_sets[type_key]:
                    for sums in into:
                        sums.seconds[gpu_type] += count * seconds
        self.names.update(per_account)
        self.names.update(user for user, _ in per_user)
        self.by_account = {name: _totals(sums) for name, sums in per_account.items()}
        self.by_user = {name: _totals(sums) for name, sums in per_user.items()}
        self.by_partition = {name: _totals(sums) for name, sums in per_partition.items()}
        self.by_type = _totals(per_type)
        bins: dict[str, list[int]] = {}
        for by_type, set_bins in zip(type_sets, self._set_bins, strict=True):
            jobs_per_bin = set_bins.held()
            for gpu_type, count in by_type:
                per_bin = bins.setdefault(gpu_type, [0] * self.bin_count)
                for i, held in enumerate(jobs_per_bin):
                    per_bin[i] += count * held
        self.bins = {t: [float(v) for v in per_bin] for t, per_bin in bins.items()}

    def top_jobs(self) -> list[TopJob]:
        return [
            TopJob(gpu_s, job, user, account, partition, name, gpus, state, sec)
            for gpu_s, _, (job, user, account, partition, name, state), gpus, sec in sorted(
                self._top, key=lambda t: (-t[0], t[1])
            )
        ]


def _sums(into: dict[_K, _Sums], name: _K) -> _Sums:
    sums = into.get(name)
    if sums is None:
        sums = into[name] = _Sums()
    return sums


def _totals(sums: _Sums) -> Totals:
    return Totals({t: float(s) for t, s in sums.seconds.items()}, sums.jobs)
