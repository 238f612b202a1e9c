"""One shared refresh per interval, and failures as metrics (aihpc.exporter.cache).

A fake Runner replays the recorded 24.11 replies (tests/fixtures/slurm/)
and counts calls; it can also fail, hang past the timeout or print garbage.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from aihpc.errors import ClusterError
from aihpc.exporter.cache import SlurmCache
from aihpc.exporter.families import FAMILIES, Values
from aihpc.exporter.sources import sources
from aihpc.slurm.run import CommandNotFoundError, CommandTimeoutError, Completed, Runner
from tests.unit.slurm_synth import SLURM, recorded

RECORDED = {
    "scontrol": "scontrol_show_nodes_24.11.json",
    "squeue": "squeue_lean_24.11.txt",
    "sdiag": "sdiag_24.11.json",
    "sshare": "sshare_24.11.json",
}
Fault = Callable[[list[str], float], Completed]
# The recorded jobs' times (squeue_running_24.11.json, recorded together with
# squeue_lean_24.11.txt): the tests below measure ages from them, so a
# re-recording of both keeps them true.
_RECORDED_JOBS = {j["job_id"]: j for j in recorded("squeue_running_24.11.json")["jobs"]}
RECORDED_NOW = float(recorded("squeue_running_24.11.json")["last_update"]["number"]) + 7200
FIRST_ELIGIBLE = min(
    j["eligible_time"]["number"] for j in _RECORDED_JOBS.values() if "PENDING" in j["job_state"]
)  # of the pending jobs: the oldest pending age
STARTED = _RECORDED_JOBS[1]["start_time"]["number"]  # jobs 1 and 2, the same second


def command_name(argv: list[str]) -> str:
    """The Slurm command of an argv, past an `env VAR=value` prefix."""
    if argv[0] != "env":
        return argv[0]
    return next(arg for arg in argv[1:] if "=" not in arg)


class FakeSlurm:
    """Replays recorded output; `faults` replaces one command's behaviour."""

    def __init__(self, delay: float = 0.0, faults: dict[str, Fault] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.delay = delay
        self.faults = faults or {}
        self.timeouts: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, argv: list[str], timeout: float) -> Completed:
        name = command_name(argv)
        with self._lock:
            self.calls[name] += 1
            self.timeouts.append(timeout)
        time.sleep(self.delay)
        if name in self.faults:
            return self.faults[name](argv, timeout)
        return Completed(0, (SLURM / RECORDED[name]).read_text(), "")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _names(values: Values) -> set[str]:
    return {family.name for family, _ in values.series()}


def _sample(values: Values, name: str, labels: tuple[str, ...] = ()) -> float:
    return dict(values.samples[name])[labels]


def test_concurrent_scrapes_share_one_call_of_each_command() -> None:
    slurm = FakeSlurm(delay=0.2)
    cache = SlurmCache(sources(), slurm, interval=30, timeout=5)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert slurm.calls == {"scontrol": 1, "squeue": 1, "sdiag": 1, "sshare": 1}
    assert len({id(refresh) for refresh in got}) == 1  # all eight got the same refresh
    assert set(slurm.timeouts) == {5}  # every command ran with its own timeout
    assert cache.refreshes == 1


def test_refresh_again_only_after_the_interval() -> None:
    slurm, clock = FakeSlurm(), Clock()
    cache = SlurmCache(sources(), slurm, interval=30, timeout=5, clock=clock)
    first = cache.get()
    clock.now += 29.9
    assert cache.get() is first
    assert slurm.calls["squeue"] == 1
    clock.now += 0.1
    assert cache.get() is not first
    assert slurm.calls == {"scontrol": 2, "squeue": 2, "sdiag": 2, "sshare": 2}
    own = cache.exporter_values(cache.get(), 0.01)
    assert _sample(own, "aihpc_exporter_data_age_seconds") == 0.0


def test_commands_run_in_parallel() -> None:
    slurm = FakeSlurm(delay=0.3)
    cache = SlurmCache(sources(), slurm, interval=30, timeout=5)
    start = time.monotonic()
    cache.get()
    assert time.monotonic() - start < 4 * 0.3  # four commands, not one after the other


def _timeout(argv: list[str], timeout: float) -> Completed:
    raise CommandTimeoutError(f"{command_name(argv)} did not answer within {timeout:.0f}s")


def _missing(argv: list[str], _timeout: float) -> Completed:
    raise CommandNotFoundError(f"{argv[0]} not found")


def _env_missing(argv: list[str], _timeout: float) -> Completed:
    # What `env SLURM_TIME_FORMAT=%s squeue ...` does without squeue (coreutils env).
    assert argv[0] == "env"
    return Completed(127, "", f"env: '{command_name(argv)}': No such file or directory")


def _exit(_argv: list[str], _timeout: float) -> Completed:
    return Completed(1, "", "sdiag: error: Unable to contact slurm controller (connect failure)")


def _garbage(_argv: list[str], _timeout: float) -> Completed:
    return Completed(0, "{not json", "")


def _slurm_error(_argv: list[str], _timeout: float) -> Completed:
    reply = '{"errors": [{"description": "Access denied", "error_number": 1}], "warnings": []}'
    return Completed(0, reply, "")


def _bad_line(_argv: list[str], _timeout: float) -> Completed:
    return Completed(0, "1|RUNNING|\n", "")


def _raises(_argv: list[str], _timeout: float) -> Completed:
    raise ClusterError("squeue: socket closed")


@pytest.mark.parametrize(
    ("command", "fault", "reason", "message"),
    [
        ("squeue", _timeout, "timeout", "did not answer within 5s"),
        ("sshare", _missing, "missing", "sshare not found"),
        ("squeue", _env_missing, "missing", "env: 'squeue': No such file or directory"),
        ("sdiag", _exit, "exit", "Unable to contact slurm controller"),
        ("scontrol", _garbage, "parse", "invalid JSON"),
        ("sshare", _slurm_error, "parse", "Access denied"),
        ("squeue", _bad_line, "parse", "squeue line has"),
        ("squeue", _raises, "exit", "socket closed"),
    ],
)
def test_a_failing_command_is_a_metric(
    command: str, fault: Fault, reason: str, message: str
) -> None:
    slurm, clock = FakeSlurm(faults={command: fault}), Clock()
    cache = SlurmCache(sources(), slurm, interval=30, timeout=5, clock=clock)
    refresh = cache.get()
    assert not refresh.results[command].ok
    assert refresh.results[command].error == reason
    assert message in refresh.results[command].message
    own = cache.exporter_values(refresh, 0.01)
    assert _sample(own, "aihpc_slurm_command_up", (command,)) == 0
    assert _sample(own, "aihpc_slurm_command_errors_total", (command, reason)) == 1
    others = {"scontrol", "squeue", "sdiag", "sshare"} - {command}
    assert all(_sample(own, "aihpc_slurm_command_up", (c,)) == 1 for c in others)
    # the failing command's families are left out; every other family is served
    served = _names(refresh.values)
    fed_by = {f.name for f in FAMILIES if f.command == command}
    assert not served & fed_by
    assert served == {f.name for f in FAMILIES if f.command in others}
    # the counter keeps counting across refreshes
    clock.now += 30
    own = cache.exporter_values(cache.get(), 0.01)
    assert _sample(own, "aihpc_slurm_command_errors_total", (command, reason)) == 2


def test_counts_the_parsers_accept_but_cannot_use_are_a_parse_error() -> None:
    def odd_nodes(_argv: list[str], _timeout: float) -> Completed:
        # Valid JSON, a node list, but a partitions field that is a number.
        return Completed(0, '{"nodes": [{"name": "n1", "partitions": 5, "gres": ""}]}', "")

    cache = SlurmCache(sources(), FakeSlurm(faults={"scontrol": odd_nodes}), 30, 5)
    refresh = cache.get()
    assert refresh.results["scontrol"].error == "parse"
    assert "aihpc_slurm_nodes" not in refresh.values.samples
    assert "aihpc_slurm_jobs" in refresh.values.samples


def test_error_counters_start_at_zero_for_every_command_and_reason() -> None:
    cache = SlurmCache(sources(), FakeSlurm(), 30, 5)
    own = cache.exporter_values(cache.get(), 0.01)
    errors = own.samples["aihpc_slurm_command_errors_total"]
    assert len(errors) == 4 * 4 and {value for _, value in errors} == {0}


def _squeue_families(squeue: str, runner: Runner, now: float = RECORDED_NOW) -> dict[str, Any]:
    cache = SlurmCache(sources(squeue), runner, 30, 5, wall=lambda: now)
    samples = cache.get().values.samples
    return {f.name: samples[f.name] for f in FAMILIES if f.command == "squeue"}


def test_lean_and_json_paths_give_the_same_squeue_families() -> None:
    """Recorded together, the two squeue forms give identical values of every
    family squeue feeds: pending reasons (a description in the lean form, the
    code in JSON), a pending array (four lines, one JSON record), ages, waits."""
    recorded = dict(RECORDED, squeue="squeue_running_24.11.json")

    def runner(argv: list[str], _timeout: float) -> Completed:
        assert argv[0] != "squeue" or "--json" in argv
        return Completed(0, (SLURM / recorded[command_name(argv)]).read_text(), "")

    lean = _squeue_families("lean", FakeSlurm())
    full = _squeue_families("json", runner)
    assert lean == full
    assert dict(full["aihpc_slurm_account_gpus_allocated"]) == {("research",): 3.0}
    assert dict(full["aihpc_slurm_jobs_pending"]) == {
        ("gpu", "Priority"): 4.0,  # array 4, tasks 0-3
        ("gpu", "Resources"): 1.0,  # job 3: "Nodes required for job are DOWN, DRAINED ..."
    }
    # two hours after the recording
    count = dict(full["aihpc_slurm_jobs_pending_age_seconds_count"])
    assert count == {("gpu",): 5.0}
    oldest = dict(full["aihpc_slurm_jobs_pending_oldest_seconds"])
    assert oldest == {("gpu",): RECORDED_NOW - FIRST_ELIGIBLE}
    buckets = dict(full["aihpc_slurm_jobs_pending_age_seconds_bucket"])
    assert buckets["gpu", "3600.0"] == 0 and buckets["gpu", "14400.0"] == 5
    # jobs 1 and 2 started two hours ago: outside the 10-minute window
    assert dict(full["aihpc_slurm_jobs_started_wait_seconds_count"]) == {("gpu",): 0.0}


def test_recently_started_jobs_feed_the_wait_histogram() -> None:
    # Five minutes after jobs 1 and 2 started (within seconds of becoming eligible).
    samples = _squeue_families("lean", FakeSlurm(), now=STARTED + 300)
    waited = sum(STARTED - _RECORDED_JOBS[j]["eligible_time"]["number"] for j in (1, 2))
    assert dict(samples["aihpc_slurm_jobs_started_wait_seconds_count"]) == {("gpu",): 2.0}
    assert dict(samples["aihpc_slurm_jobs_started_wait_seconds_sum"]) == {("gpu",): waited}
    buckets = dict(samples["aihpc_slurm_jobs_started_wait_seconds_bucket"])
    assert buckets["gpu", "60.0"] == 2 and buckets["gpu", "+Inf"] == 2
    assert samples["aihpc_slurm_jobs_started_window_seconds"] == [((), 600.0)]


def test_the_started_window_covers_two_intervals() -> None:
    cache = SlurmCache(sources(), FakeSlurm(), interval=900, timeout=5)
    assert cache.started_window == 1800
    assert cache.get().values.samples["aihpc_slurm_jobs_started_window_seconds"] == [((), 1800.0)]


def test_lean_squeue_runs_with_epoch_times() -> None:
    [squeue] = [s for s in sources("lean") if s.command == "squeue"]
    assert squeue.argv[:3] == ["env", "SLURM_TIME_FORMAT=%s", "squeue"]
