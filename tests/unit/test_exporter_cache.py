"""One shared refresh per interval, and failures as metrics (aihpc.exporter.cache).

A fake Runner replays the recorded 24.11 replies (tests/fixtures/slurm/)
and counts calls; it can also fail, hang past the timeout or print garbage.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from aihpc.errors import ClusterError
from aihpc.exporter.cache import SlurmCache
from aihpc.exporter.families import FAMILIES, Values
from aihpc.exporter.sources import sources
from aihpc.slurm.run import CommandNotFoundError, CommandTimeoutError, Completed
from tests.unit.slurm_synth import SLURM

RECORDED = {
    "scontrol": "scontrol_show_nodes_24.11.json",
    "squeue": "squeue_lean_24.11.txt",
    "sdiag": "sdiag_24.11.json",
    "sshare": "sshare_24.11.json",
}
Fault = Callable[[list[str], float], Completed]


class FakeSlurm:
    """Replays recorded output; `faults` replaces one command's behaviour."""

    def __init__(self, delay: float = 0.0, faults: dict[str, Fault] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.delay = delay
        self.faults = faults or {}
        self.timeouts: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, argv: list[str], timeout: float) -> Completed:
        with self._lock:
            self.calls[argv[0]] += 1
            self.timeouts.append(timeout)
        time.sleep(self.delay)
        if argv[0] in self.faults:
            return self.faults[argv[0]](argv, timeout)
        return Completed(0, (SLURM / RECORDED[argv[0]]).read_text(), "")


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
    raise CommandTimeoutError(f"{argv[0]} did not answer within {timeout:.0f}s")


def _missing(argv: list[str], _timeout: float) -> Completed:
    raise CommandNotFoundError(f"{argv[0]} not found")


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


def test_json_squeue_path_gives_the_same_running_counts() -> None:
    recorded = dict(RECORDED, squeue="squeue_running_24.11.json")

    def runner(argv: list[str], _timeout: float) -> Completed:
        assert argv[0] != "squeue" or "--json" in argv
        return Completed(0, (SLURM / recorded[argv[0]]).read_text(), "")

    lean = SlurmCache(sources("lean"), FakeSlurm(), 30, 5).get().values.samples
    full = SlurmCache(sources("json"), runner, 30, 5).get().values.samples
    for name in ("aihpc_slurm_account_gpus_allocated", "aihpc_slurm_user_jobs_running"):
        assert lean[name] == full[name]
    assert dict(full["aihpc_slurm_account_gpus_allocated"]) == {("research",): 3.0}
