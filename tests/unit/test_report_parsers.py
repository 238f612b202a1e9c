"""The accounting parsers of aihpc.slurm: sacct -P rows, node events, reservations,
host lists, and the streaming runner."""

from __future__ import annotations

import sys
import time

import pytest

from aihpc.errors import ClusterError
from aihpc.slurm.events import DOWN, DRAINED, OTHER, NodeEvent, parse_events
from aihpc.slurm.hostlist import expand_hostlist
from aihpc.slurm.reservations import parse_reservations
from aihpc.slurm.run import CommandNotFoundError, CommandTimeoutError, stream_lines
from aihpc.slurm.sacct_records import (
    iter_records,
    parse_cpu_time,
    parse_record,
    parse_size,
    sacct_window_argv,
)
from tests.unit.report_fixtures import REPORT, load_json


def test_sacct_rows_parse_with_a_pipe_in_the_job_name() -> None:
    rows = list(iter_records(REPORT.joinpath("sacct_window.txt").read_text().splitlines()))
    assert len(rows) == 8
    last = rows[-1]
    assert (last.job_id, last.name, last.state, last.exit_code, last.signal) == (
        "107",
        "a|b",
        "CANCELLED",
        0,
        15,
    )
    assert last.alloc_tres.endswith("node=1") and last.nodes == "gpu2"
    running = rows[4]
    assert running.state == "RUNNING" and running.end is None and running.start == 1735709400
    pending = rows[6]
    assert pending.start is None and pending.nodes == "None assigned"


def test_a_short_row_is_an_error_naming_its_line() -> None:
    with pytest.raises(ClusterError, match="sacct line 2: expected 17"):
        list(iter_records(["", "1|1|alice"]))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:54.321", 54.321), ("01:30:00", 5400.0), ("1-02:03:04", 93784.0), ("10:00.500", 600.5)],
)
def test_total_cpu_forms(text: str, seconds: float) -> None:
    assert parse_cpu_time(text) == pytest.approx(seconds)


def test_sizes_and_times() -> None:
    assert parse_size("2000M") == 2000 * 1024**2
    assert parse_size("1048576K") == 1024**3
    assert parse_size("0", "K") == 0
    assert parse_size("junk") is None
    record = parse_record("1|1|u|a|p|COMPLETED|0:0|2025-01-01T00:00:00|Unknown|None|0|1|00:00||||n")
    assert record.submit is not None and record.start is None and record.end is None


def test_window_argv_is_one_call_over_all_users() -> None:
    argv = sacct_window_argv(10, 20, ["-r", "gpu"])
    assert argv[:6] == ["sacct", "-a", "-X", "-P", "-n", "--noconvert"]
    # Slurm parses dates, not epoch numbers: local ISO times
    assert argv[argv.index("-S") + 1] == time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(10))
    assert argv[argv.index("-E") + 1] == time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(20))
    assert argv[argv.index("-o") + 1].endswith(",JobName")  # free text last
    assert argv[-2:] == ["-r", "gpu"]


def test_node_events() -> None:
    events = parse_events(REPORT.joinpath("sacctmgr_events.txt").read_text().splitlines())
    assert [(e.node, e.kind, e.end) for e in events] == [
        ("gpu2", DRAINED, 1735706000),
        ("gpu1", DOWN, None),
    ]
    assert events[0].reason == "fixture: bob broke it" and events[0].user == "root"
    assert NodeEvent("n", 1, None, "IDLE+DRAIN", "", "").kind == DRAINED
    assert NodeEvent("n", 1, None, "DOWN+DRAIN", "", "").kind == DOWN
    assert NodeEvent("n", 1, None, "MAINT", "", "").kind == OTHER
    with pytest.raises(ClusterError, match="line 1: expected 6 fields"):
        parse_events(["gpu1|1"])


def test_reservations() -> None:
    found = parse_reservations(load_json(REPORT / "scontrol_show_reservations_24.11.json"))
    assert [(r.name, r.nodes, r.is_maintenance) for r in found] == [
        ("maint-dec", "gpu[1-2]", True),
        ("demo", "gpu2", False),
    ]
    assert found[0].start == 1735709000 and found[0].end == 1735709500
    with pytest.raises(ClusterError, match="access denied"):
        parse_reservations({"errors": [{"description": "access denied"}]})


@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        ("gpu[1-3,7],login1", ["gpu1", "gpu2", "gpu3", "gpu7", "login1"]),
        ("n[01-02]", ["n01", "n02"]),
        ("r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]),
        ("None assigned", []),
        ("gpu1", ["gpu1"]),
    ],
)
def test_hostlists(text: str, hosts: list[str]) -> None:
    assert expand_hostlist(text) == hosts


def test_bad_hostlist() -> None:
    with pytest.raises(ValueError, match="unbalanced"):
        expand_hostlist("gpu[1-2")


def test_stream_lines_yields_as_printed_and_reports_failure() -> None:
    script = "import sys\nfor i in range(3): print(i, flush=True)\nsys.exit(0)"
    with stream_lines([sys.executable, "-c", script], 30) as lines:
        assert [line.strip() for line in lines] == ["0", "1", "2"]
    failing = "import sys\nprint('half');sys.stderr.write('slurmdbd down');sys.exit(1)"
    with (
        pytest.raises(ClusterError, match=r"exit 1.*slurmdbd down"),
        stream_lines([sys.executable, "-c", failing], 30) as lines,
    ):
        assert list(lines) == ["half\n"]


def test_stream_lines_missing_binary_and_timeout() -> None:
    with (
        pytest.raises(CommandNotFoundError, match="login node"),
        stream_lines(["/nonexistent/sacct"], 5),
    ):
        pass
    with (
        pytest.raises(CommandTimeoutError, match="within 1s"),
        stream_lines([sys.executable, "-c", "import time; time.sleep(30)"], 1) as lines,
    ):
        list(lines)
