"""GPU utilisation from Prometheus: dcgm-exporter series over the HTTP API.

dcgm-exporter, started with `--hpc-job-mapping-dir` (a Slurm prolog writes
one file per GPU index holding the job id), labels each GPU's series with
`hpc_job`, next to `Hostname` and `gpu`. That label is the join between a
GPU's samples and a job: no guessing from node names and time spans, which
breaks on shared nodes. Series names are DCGM's field names:
DCGM_FI_DEV_GPU_UTIL (percent) and DCGM_FI_DEV_FB_USED (MiB).

Replies follow the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`:
``{"status": "success", "data": {"resultType": ..., "result": [...]}}``).
A site without Prometheus or without the label gets `MetricsUnavailable`
and a clear line instead of numbers.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

UTIL = "DCGM_FI_DEV_GPU_UTIL"
FB_USED = "DCGM_FI_DEV_FB_USED"
JOB_LABEL = "hpc_job"
TIMEOUT = 20.0
_JOB_ID = re.compile(r"^[0-9]+(?:_[0-9]+)?$")


class MetricsUnavailable(Exception):
    """No Prometheus, no reply, or no series for what was asked."""


def _get(base_url: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    url = base_url.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
    try:
        # Only http(s) URLs get here: the profile loader and --prometheus check the scheme.
        with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
            payload = json.load(reply)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise MetricsUnavailable(f"Prometheus at {base_url} did not answer: {exc}") from None
    if not isinstance(payload, dict) or payload.get("status") != "success":
        error = payload.get("error") if isinstance(payload, dict) else payload
        raise MetricsUnavailable(f"Prometheus at {base_url} refused the query: {error}")
    result = (payload.get("data") or {}).get("result")
    if not isinstance(result, list):
        raise MetricsUnavailable(f"Prometheus at {base_url} sent no result list")
    return [r for r in result if isinstance(r, dict)]


def idle_gpu_seconds_by_job(
    base_url: str, start: int, end: int, threshold: float
) -> dict[str, float]:
    """Job id -> GPU-seconds its GPUs spent below `threshold` percent, in [start, end).

    One instant query over the whole window (a subquery sampled every
    `step`), never one per job. `< bool` keeps busy samples as zeros, so a
    job whose GPUs were never idle is still present (with 0).
    """
    span = max(1, end - start)
    step = max(15, span // 2000)
    query = (
        f'sum by ({JOB_LABEL}) (sum_over_time(({UTIL}{{{JOB_LABEL}!=""}} < bool {threshold:g})'
        f"[{span}s:{step}s]))"
    )
    result = _get(base_url, "/api/v1/query", {"query": query, "time": str(end)})
    if not result:
        raise MetricsUnavailable(
            f"no {UTIL} series with a {JOB_LABEL} label in the window "
            "(dcgm-exporter needs --hpc-job-mapping-dir)"
        )
    out: dict[str, float] = {}
    for series in result:
        job = str((series.get("metric") or {}).get(JOB_LABEL, ""))
        value = series.get("value") or [0, "0"]
        out[job] = float(value[1]) * step
    return out


@dataclass(frozen=True)
class GpuUsage:
    host: str
    gpu: str
    mean_util_pct: float
    max_util_pct: float
    max_memory_mib: float | None
    samples: int


def _per_gpu(result: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[float]]:
    out: dict[tuple[str, str, str], list[float]] = {}
    for series in result:
        labels = series.get("metric") or {}
        key = (
            str(labels.get(JOB_LABEL, "")),
            str(labels.get("Hostname", "")),
            str(labels.get("gpu", "")),
        )
        out.setdefault(key, []).extend(float(v[1]) for v in series.get("values") or [])
    return out


def job_gpu_usage(
    base_url: str, job_ids: list[str], start: int, end: int
) -> dict[str, list[GpuUsage]]:
    """Per job id (Slurm's raw id of a job or array task), per GPU: mean/max
    utilisation and peak memory. Two range queries for all the ids together."""
    bad = [j for j in job_ids if not _JOB_ID.match(j)]
    if bad or not job_ids:
        raise MetricsUnavailable(f"not job ids Prometheus labels carry: {bad}")
    span = max(1, end - start)
    window = {"start": str(start), "end": str(end), "step": str(max(15, span // 500))}
    selector = f'{{{JOB_LABEL}=~"{"|".join(job_ids)}"}}'
    util = _per_gpu(_get(base_url, "/api/v1/query_range", {"query": UTIL + selector, **window}))
    if not any(util.values()):
        raise MetricsUnavailable(f"no {UTIL} series labelled {JOB_LABEL}={','.join(job_ids)}")
    memory = _per_gpu(
        _get(base_url, "/api/v1/query_range", {"query": FB_USED + selector, **window})
    )
    out: dict[str, list[GpuUsage]] = {}
    for (job, host, gpu), values in sorted(
        util.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2].zfill(4))
    ):
        if not values:
            continue
        peak = memory.get((job, host, gpu))
        out.setdefault(job, []).append(
            GpuUsage(
                host,
                gpu,
                round(sum(values) / len(values), 1),
                max(values),
                max(peak) if peak else None,
                len(values),
            )
        )
    return out
