"""`aihpc stats`: a finished job with steps, a sweep, one failed task, a running job,
and GPU metrics from a local HTTP server answering in the Prometheus API's format."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.unit.cli_helpers import run_cli
from tests.unit.report_fixtures import fake_slurm

GIB = 1024**3


@pytest.fixture
def slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "calls.log"
    for key, value in fake_slurm(tmp_path / "bin", log).items():
        monkeypatch.setenv(key, value)
    return log


def stats_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run_cli(["stats", *args, "--json"], capsys)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_finished_job_with_steps(slurm: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = stats_json(capsys, "201")
    [job] = data["allocations"]
    assert (job["state"], job["exit_code"], job["gpus"], job["gpu_types"]) == (
        "COMPLETED",
        0,
        2,
        {"h100": 2},
    )
    assert job["gpu_hours"] == pytest.approx(2 * 60 / 3600, abs=1e-4)
    assert job["queue_wait_s"] == 30
    assert job["cpu_efficiency"] == pytest.approx(90 / (60 * 2))  # TotalCPU 1:30 of 2 CPUs x 60 s
    assert job["max_rss_bytes"] == GIB  # step 0: 1048576K
    assert job["memory_efficiency"] == pytest.approx(GIB / (2000 * 1024**2), abs=1e-4)
    assert [s["step"] for s in job["steps"]] == ["batch", "extern", "0"]
    assert "no prometheus_url" in data["gpu_metrics_note"]
    assert slurm.read_text().count("sacct ") == 1


@pytest.mark.usefixtures("slurm")
def test_sweep_tasks_and_one_failed_task(capsys: pytest.CaptureFixture[str]) -> None:
    data = stats_json(capsys, "300")
    states = [(a["job_id"], a["state"], a["exit_code"]) for a in data["allocations"]]
    assert states == [
        ("300_0", "COMPLETED", 0),
        ("300_1", "FAILED", 1),
        ("300_[2-3]", "PENDING", 0),
    ]
    [task] = stats_json(capsys, "300_1")["allocations"]
    assert task["job_id"] == "300_1" and task["steps"][0]["exit_code"] == 1
    assert task["max_rss_bytes"] == 262144 * 1024


@pytest.mark.usefixtures("slurm")
def test_running_job_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["stats", "400"], capsys)
    assert code == 0
    assert "RUNNING" in out and "GPUs 4 (untyped)" in out and "GPU-hours 0.133" in out
    assert "running: finished steps only" in out
    assert "nodes gpu[1-2]" in out
    assert "no GPU metrics" in out


@pytest.mark.usefixtures("slurm")
def test_unknown_job_and_bad_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["stats", "999"], capsys)
    assert code == 1 and "sacct knows no job 999" in err
    code, _, err = run_cli(["stats", "12;rm"], capsys)
    assert code == 2 and "expected 123 or 123_4" in err


class _Prometheus(BaseHTTPRequestHandler):
    """Answers like Prometheus' HTTP API (documented format), from canned series."""

    queries: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        body: dict[str, Any]
        result: list[dict[str, Any]]
        url = urllib.parse.urlparse(self.path)
        params = urllib.parse.parse_qs(url.query)
        type(self).queries.append({"path": [url.path], **params})
        query = params["query"][0]
        if url.path == "/api/v1/query_range" and "DCGM_FI_DEV_GPU_UTIL" in query:
            result = [
                {
                    "metric": {"hpc_job": "201", "Hostname": "gpu1", "gpu": str(i)},
                    "values": [[1735700040, v], [1735700055, v], [1735700070, "0"]],
                }
                for i, v in ((0, "90"), (1, "30"))
            ]
            body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        elif url.path == "/api/v1/query_range":
            result = [
                {
                    "metric": {"hpc_job": "201", "Hostname": "gpu1", "gpu": "0"},
                    "values": [[1735700040, "1000"], [1735700055, "4096"]],
                }
            ]
            body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        elif url.path == "/api/v1/query":
            result = [
                {"metric": {"hpc_job": "101"}, "value": [1735710000, "120"]},
                {"metric": {"hpc_job": "1031"}, "value": [1735710000, "0"]},
            ]
            body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        else:
            body = {"status": "error", "error": "unknown path"}
        wanted = re.search(r'hpc_job=~"([^"]*)"', query)
        if wanted and body.get("data"):  # the selector, as Prometheus would apply it
            body["data"]["result"] = [
                r for r in body["data"]["result"] if re.fullmatch(wanted[1], r["metric"]["hpc_job"])
            ]
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[str]:
    _Prometheus.queries = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("slurm")
def test_gpu_usage_from_prometheus(prometheus: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = stats_json(capsys, "201", "--prometheus", prometheus)
    [job] = data["allocations"]
    usage = {u["gpu"]: u for u in job["gpu_usage"]}
    assert usage["0"]["mean_util_pct"] == pytest.approx(60.0)  # (90 + 90 + 0) / 3
    assert usage["1"]["max_util_pct"] == 30 and usage["0"]["max_memory_mib"] == 4096
    assert usage["1"]["max_memory_mib"] is None
    assert data["gpu_metrics_note"] is None
    assert 'hpc_job=~"201"' in _Prometheus.queries[0]["query"][0]
    _, out, _ = run_cli(["stats", "201", "--prometheus", prometheus], capsys)
    assert "GPU 0 on gpu1: utilisation mean 60.0% max 90%, memory peak 4096 MiB" in out


@pytest.mark.usefixtures("slurm")
def test_prometheus_without_series_or_down(
    prometheus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = stats_json(capsys, "300_0", "--prometheus", prometheus)
    assert "no DCGM_FI_DEV_GPU_UTIL series labelled hpc_job=301" in data["gpu_metrics_note"]
    data = stats_json(capsys, "201", "--prometheus", "http://127.0.0.1:9")
    assert data["gpu_metrics_note"].startswith("no GPU metrics: Prometheus at http://127.0.0.1:9")


@pytest.mark.usefixtures("slurm")
def test_idle_allocated_gpu_hours_per_account(
    prometheus: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(
        [
            "report",
            "--since",
            "@1735700000",
            "--until",
            "@1735710000",
            "--format",
            "json",
            "--prometheus",
            prometheus,
            "--idle-threshold",
            "5",
        ],
        capsys,
    )
    assert code == 0, err
    accounts = {a["account"]: a for a in json.loads(out)["accounts"]}
    # job 101 (research): 120 idle samples x the 15 s subquery step = 1800 GPU-s
    assert accounts["research"]["idle_gpu_hours"] == pytest.approx(0.5)
    assert accounts["physics"]["idle_gpu_hours"] == 0.0
    [query] = [q for q in _Prometheus.queries if q["path"] == ["/api/v1/query"]]
    assert "< bool 5" in query["query"][0] and "[10000s:15s]" in query["query"][0]
