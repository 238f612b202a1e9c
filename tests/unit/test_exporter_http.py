"""The exporter over HTTP: valid exposition, shared refreshes, the CLI.

The in-process tests start the real prometheus-client server on 127.0.0.1
with a fake Runner over the recorded 24.11 replies, fetch /metrics with
urllib and parse it with prometheus_client.parser (so the exposition is
valid). The CLI tests put stub `scontrol`/`squeue`/`sdiag`/`sshare` scripts
that print the recorded replies first on PATH.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aihpc.exporter.cache import SlurmCache
from aihpc.exporter.families import FAMILIES, docs_table
from aihpc.exporter.server import serve
from aihpc.exporter.sources import sources
from tests.unit.cli_helpers import run_cli
from tests.unit.slurm_synth import SLURM
from tests.unit.test_exporter_cache import RECORDED, FakeSlurm
from tests.unit.test_lazy_imports import _imported

REPO = Path(__file__).resolve().parents[2]
Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def _parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode())


@pytest.fixture
def served() -> Iterator[tuple[str, FakeSlurm]]:
    slurm = FakeSlurm(delay=0.2)
    cache = SlurmCache(sources(), slurm, interval=60, timeout=5)
    server, _ = serve(cache, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_port}/metrics", slurm
    server.shutdown()


def test_metrics_over_http_parse_and_count_recorded_gpus(served: tuple[str, FakeSlurm]) -> None:
    url, _ = served
    samples = _parse(_get(url))
    assert sum(samples["aihpc_slurm_gpus_total"].values()) == 8
    assert samples["aihpc_slurm_gpus"][(("gpu_type", "h100"), ("state", "allocated"))] == 3
    assert samples["aihpc_slurm_account_gpus_allocated"] == {(("account", "research"),): 3}
    assert samples["aihpc_slurm_nodes"][(("state", "drained"),)] == 1
    assert samples["aihpc_slurm_command_up"] == {
        (("command", c),): 1 for c in ("scontrol", "sdiag", "squeue", "sshare")
    }
    assert "process_cpu_seconds_total" in samples
    # every family of FAMILIES is served and typed as declared
    parsed = {f.name: f.type for f in text_string_to_metric_families(_get(url))}
    for family in FAMILIES:
        exposed = family.name.removesuffix("_total") if family.kind == "counter" else family.name
        assert parsed[exposed] == family.kind, family.name


def test_concurrent_http_scrapes_share_one_refresh(served: tuple[str, FakeSlurm]) -> None:
    url, slurm = served
    bodies: list[str] = []
    threads = [threading.Thread(target=lambda: bodies.append(_get(url))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bodies) == 6
    assert slurm.calls == {"scontrol": 1, "squeue": 1, "sdiag": 1, "sshare": 1}


def test_docs_table_is_current() -> None:
    text = (REPO / "docs" / "exporter.md").read_text()
    begin, end = "<!-- families:begin -->\n", "<!-- families:end -->"
    current = text[text.index(begin) + len(begin) : text.index(end)]
    assert current == docs_table(), "regenerate with: python -m aihpc.exporter.families"


def _stubs(tmp_path: Path, fail: str = "") -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command, fixture in RECORDED.items():
        stub = bin_dir / command
        if command == fail:
            stub.write_text(
                "#!/bin/sh\necho 'slurm_load_jobs error: Socket timed out' >&2\nexit 1\n"
            )
        elif command == "squeue":
            # The lean form is only right with epoch times (SLURM_TIME_FORMAT=%s).
            stub.write_text(
                '#!/bin/sh\n[ "$SLURM_TIME_FORMAT" = "%s" ] || '
                "{ echo 'SLURM_TIME_FORMAT not set' >&2; exit 3; }\n"
                f"cat {SLURM / fixture}\n"
            )
        else:
            stub.write_text(f"#!/bin/sh\ncat {SLURM / fixture}\n")
        stub.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def test_once_prints_one_scrape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", _stubs(tmp_path)["PATH"])
    monkeypatch.delenv("SLURM_TIME_FORMAT", raising=False)
    code, out, err = run_cli(["exporter", "--once"], capsys)
    assert code == 0, err
    samples = _parse(out)
    assert sum(samples["aihpc_slurm_partition_gpus_total"].values()) == 8
    # the recorded pending jobs, eligible since the recording (in the past)
    count = samples["aihpc_slurm_jobs_pending_age_seconds_count"]
    assert count == {(("partition", "gpu"),): 5}
    buckets = samples["aihpc_slurm_jobs_pending_age_seconds_bucket"]
    assert buckets[(("le", "+Inf"), ("partition", "gpu"))] == 5
    assert samples["aihpc_slurm_jobs_pending_oldest_seconds"][(("partition", "gpu"),)] > 0
    assert samples["aihpc_slurm_jobs_pending"] == {
        (("partition", "gpu"), ("reason", "Priority")): 4,
        (("partition", "gpu"), ("reason", "Resources")): 1,
    }


def test_once_with_a_failing_command_exits_1_and_serves_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", _stubs(tmp_path, fail="squeue")["PATH"])
    code, out, err = run_cli(["exporter", "--once"], capsys)
    assert code == 1 and "Traceback" not in err
    samples = _parse(out)
    assert samples["aihpc_slurm_command_up"][(("command", "squeue"),)] == 0
    assert (
        samples["aihpc_slurm_command_errors_total"][(("command", "squeue"), ("reason", "exit"))]
        == 1
    )
    assert "aihpc_slurm_jobs" not in samples
    assert sum(samples["aihpc_slurm_gpus_total"].values()) == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "9341"], "expected ADDR:PORT"),
        (["--listen", "0.0.0.0:99999"], "port 1-65535"),
        (["--listen", "host:http"], "expected ADDR:PORT"),
        (["--listen", "::1:9341"], "IPv6 address in brackets"),
        (["--interval", "0"], "--interval 0: must be more than 0"),
        (["--interval", "abc"], "'abc' is not a valid float"),
        (["--command-timeout", "-1"], "--command-timeout -1"),
        (["--squeue", "xml"], "'xml' is not one of"),
    ],
)
def test_bad_options_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["exporter", *args, "--once"], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serves_until_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aihpc", "exporter", "--listen", f"127.0.0.1:{port}"],
        env=_stubs(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                body = _get(f"http://127.0.0.1:{port}/metrics")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert sum(_parse(body)["aihpc_slurm_gpus_total"].values()) == 8
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"serving http://127.0.0.1:{port}/metrics" in err


def test_address_in_use_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "aihpc", "exporter", "--listen", f"127.0.0.1:{port}"],
            env=_stubs(tmp_path),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_paths_do_not_load_prometheus_client() -> None:
    assert "prometheus_client" not in {m.split(".")[0] for m in _imported(["--help"])}
    modules = _imported(["exporter", "--help"])
    assert "aihpc.cli.cmd_exporter" in modules
    assert "prometheus_client" not in {m.split(".")[0] for m in modules}
