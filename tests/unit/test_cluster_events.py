"""The event reducer, replayed on events recorded from ansible-runner 2.4.3.

tests/fixtures/cluster/runner/README.md says how they were recorded: web1
passes, web2 has a bad variable, ghost is unreachable, one failure on web1
is ignored (ignore_errors) and must not count.
"""

from __future__ import annotations

import json

from aihpc.cluster.events import RunState, failure_message
from tests.unit.conftest import FIXTURES

EVENTS = FIXTURES / "cluster" / "runner" / "events-2.4.3.jsonl"


def replay() -> RunState:
    state = RunState()
    for line in EVENTS.read_text().splitlines():
        state.feed(json.loads(line))
    return state


def test_failures_name_the_host_play_task_and_message() -> None:
    state = replay()
    assert state.finished
    assert state.plays == ["Check variables", "Configure", "Unreachable host"]
    assert state.failed_hosts() == ["ghost", "web2"]
    [bad_var, unreachable] = state.failures
    assert (bad_var.host, bad_var.play, bad_var.task) == (
        "web2",
        "Check variables",
        "GPU count is a number",
    )
    assert bad_var.message == "gpu_count must be a number, not four"
    assert unreachable.host == "ghost" and unreachable.unreachable
    assert "Failed to connect to the host via ssh" in unreachable.message


def test_per_host_tallies_match_ansibles_own_stats() -> None:
    state = replay()
    web1 = state.hosts["web1"]
    assert (web1.ok, web1.changed, web1.ignored, web1.skipped, web1.failed) == (3, 1, 1, 1, 0)
    assert web1.ok == state.stats["ok"]["web1"]
    assert web1.changed == state.stats["changed"]["web1"]
    assert web1.ignored == state.stats["ignored"]["web1"]
    assert {h: t.status for h, t in state.hosts.items()} == {
        "web1": "changed",
        "web2": "failed",
        "ghost": "unreachable",
    }
    assert state.play_hosts["Configure"]["web1"].changed == 1


def test_summary_text_lists_what_failed_by_host() -> None:
    text = replay().summary_text()
    assert "What failed, by host:" in text
    assert "web2: failed in play 'Check variables', task 'GPU count is a number'" in text
    assert "ghost: unreachable" in text


def test_a_run_cut_short_still_reports_its_failures() -> None:
    state = RunState()
    for line in EVENTS.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "playbook_on_stats":
            break
        state.feed(event)
    assert not state.finished and state.failed_hosts() == ["ghost", "web2"]


def test_failure_message_picks_the_useful_line() -> None:
    assert failure_message({"msg": "non-zero return code", "stderr": "x"}) == "non-zero return code"
    assert failure_message({"stderr": "first\nlast words"}) == "last words"
    assert (
        failure_message({"results": [{"failed": False}, {"failed": True, "msg": "item 2"}]})
        == "item 2"
    )
    assert failure_message({"rc": 3}) == "rc=3"


def test_argument_validation_names_the_variable() -> None:
    """ansible-core's validate_argument_spec result: the heading alone names nothing."""
    error = (
        "argument 'slurm_pam_adopt_enabled' is of type <class 'str'> and we were "
        "unable to convert to bool: The value 'sometimes' is not a valid boolean."
    )
    res = {
        "failed": True,
        "msg": "Validation of arguments failed:\n" + error,
        "argument_errors": [error],
    }
    assert failure_message(res) == error
    del res["argument_errors"]
    assert failure_message(res) == "Validation of arguments failed: " + error
