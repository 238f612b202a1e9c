"""One shared Slurm refresh per interval, whatever the number of scrapers.

A scrape asks `SlurmCache.get()`. If the cached refresh is younger than the
interval it is returned at once; otherwise the first caller runs a refresh
(the commands in parallel, each with its own timeout) while later callers
wait on the same lock and then share its result. So slurmctld sees at most
one call of each command per interval, and never two at once from here.

The families are computed once per refresh, not once per scrape; ages are
measured against the wall-clock time the refresh began (`wall`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from aihpc.exporter.aggregate import STARTED_WINDOW_SECONDS
from aihpc.exporter.families import Values, When, command_values
from aihpc.exporter.sources import ERROR_REASONS, CommandResult, Source, fetch
from aihpc.slurm.run import Runner

log = logging.getLogger("aihpc.exporter")


@dataclass(frozen=True)
class Refresh:
    taken_at: float  # clock() when the refresh started
    results: dict[str, CommandResult]
    values: Values = field(default_factory=Values)


class SlurmCache:
    def __init__(
        self,
        sources: list[Source],
        runner: Runner,
        interval: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.sources = sources
        self.runner = runner
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        self.wall = wall
        # A job that starts between two refreshes must still be in the window at
        # the next one: never less than two intervals.
        self.started_window = max(STARTED_WINDOW_SECONDS, 2 * interval)
        self.refreshes = 0
        self.errors: dict[tuple[str, str], int] = {
            (source.command, reason): 0 for source in sources for reason in ERROR_REASONS
        }
        self._lock = threading.Lock()
        self._last: Refresh | None = None

    def get(self) -> Refresh:
        with self._lock:
            last = self._last
            if last is None or self.clock() - last.taken_at >= self.interval:
                last = self._last = self._refresh()
            return last

    def _refresh(self) -> Refresh:
        taken_at = self.clock()
        when = When(self.wall(), self.started_window)
        with ThreadPoolExecutor(max_workers=len(self.sources)) as pool:
            futures = [pool.submit(fetch, s, self.runner, self.timeout) for s in self.sources]
            results = {f.result().command: f.result() for f in futures}
        values = Values()
        for command, result in sorted(results.items()):
            if result.ok:
                try:
                    values.merge(command_values(command, result.data, when))
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    # Data the parser accepted but the counts could not use:
                    # that command's families are left out, like a parse error.
                    result = results[command] = replace(
                        result, data=None, error="parse", message=f"{exc.__class__.__name__}: {exc}"
                    )
            if result.error:
                self.errors[command, result.error] += 1
                log.warning("%s failed (%s): %s", command, result.error, result.message)
        self.refreshes += 1
        return Refresh(taken_at, results, values)

    def exporter_values(self, refresh: Refresh, scrape_seconds: float) -> Values:
        """The exporter's own families for one scrape."""
        values = Values()
        for command, result in sorted(refresh.results.items()):
            values.add("aihpc_slurm_command_up", (command,), int(result.ok))
            values.add("aihpc_slurm_command_duration_seconds", (command,), result.duration)
        for key, count in sorted(self.errors.items()):
            values.add("aihpc_slurm_command_errors_total", key, count)
        values.add("aihpc_exporter_scrape_duration_seconds", (), scrape_seconds)
        values.add("aihpc_exporter_data_age_seconds", (), self.clock() - refresh.taken_at)
        return values
