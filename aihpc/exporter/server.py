"""prometheus-client glue: a Collector over `SlurmCache`, and the HTTP server.

The only module that imports prometheus_client, so `aihpc --help` and the
other commands never load it. A private registry holds this collector and
the process collector (`process_cpu_seconds_total` is the exporter's own
CPU, the figure bench/exporter budgets).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aihpc.exporter.cache import SlurmCache
from aihpc.exporter.families import Family, Samples, Values


def _metric(family: Family, samples: Samples) -> Metric:
    metric: GaugeMetricFamily | CounterMetricFamily
    if family.kind == "counter":
        metric = CounterMetricFamily(
            family.name.removesuffix("_total"), family.help, labels=family.labels
        )
    else:
        metric = GaugeMetricFamily(family.name, family.help, labels=family.labels)
    for labels, value in samples:
        metric.add_metric(list(labels), value)
    return metric


class SlurmCollector(Collector):
    def __init__(self, cache: SlurmCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        start = time.monotonic()
        refresh = self.cache.get()
        series = refresh.values.series()
        own: Values = self.cache.exporter_values(refresh, time.monotonic() - start)
        for family, samples in [*series, *own.series()]:
            yield _metric(family, samples)

    def describe(self) -> Iterator[Metric]:
        # No describe-time Slurm call: registering must not run squeue.
        return iter(())


def registry_for(cache: SlurmCache) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SlurmCollector(cache))
    ProcessCollector(registry=registry)
    return registry


def exposition(cache: SlurmCache) -> bytes:
    """The text exposition of one scrape (what /metrics serves)."""
    return generate_latest(registry_for(cache))


def serve(cache: SlurmCache, host: str, port: int) -> tuple[Any, threading.Thread]:
    """Start serving /metrics in a daemon thread; port 0 picks a free port (tests)."""
    server, thread = start_http_server(port, addr=host, registry=registry_for(cache))
    return server, thread
