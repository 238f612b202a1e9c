"""sdiag --json and sshare --json parsers against the recorded 24.11 replies."""

from __future__ import annotations

import math

import pytest

from aihpc.errors import ClusterError
from aihpc.slurm.sdiag import parse_sdiag
from aihpc.slurm.sshare import parse_sshare
from aihpc.slurm.values import real
from tests.unit.slurm_synth import recorded


def test_sdiag_recorded() -> None:
    stats = parse_sdiag(recorded("sdiag_24.11.json"))
    assert stats.main_cycle_max_us == 7371
    assert stats.main_cycle_last_us == 3936
    assert stats.main_cycle_mean_us == 2579
    assert stats.main_cycles == 5
    assert stats.main_queue_length == 2
    assert stats.server_threads == 1
    assert stats.dbd_agent_queue_size == 0
    assert stats.bf_cycles == 0
    assert stats.bf_last_cycle_time is None  # backfill never ran: 0 means never
    assert stats.bf_active is False
    assert stats.jobs == {"submitted": 7, "started": 2, "completed": 0, "canceled": 0, "failed": 0}


@pytest.mark.parametrize("payload", [{}, {"statistics": []}, [], None])
def test_sdiag_without_statistics(payload: object) -> None:
    with pytest.raises(ClusterError, match="sdiag --json returned no statistics"):
        parse_sdiag(payload)


def test_sshare_recorded() -> None:
    shares = parse_sshare(recorded("sshare_24.11.json"))
    kinds = [(s.kind, s.name, s.parent) for s in shares]
    assert kinds == [
        ("account", "root", ""),
        ("user", "root", "root"),
        ("account", "research", "root"),
        ("user", "root", "research"),
    ]
    research = shares[2]
    assert research.shares_normalized == 0.5
    assert research.raw_shares == 1
    assert research.fairshare_factor == 0.0
    assert research.fairshare_level == 0.0
    assert research.usage_effective == 0.0
    assert research.usage_normalized is None  # recorded as set: false
    # LevelFS of a user with no usage is "infinite" in the reply, kept as +inf
    assert shares[1].fairshare_level == math.inf
    assert shares[3].account == "research"


def test_sshare_list_form_and_errors() -> None:
    assert parse_sshare({"shares": []}) == []
    with pytest.raises(ClusterError, match="sshare --json returned no share list"):
        parse_sshare({"shares": {"total_shares": 0}})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"set": True, "infinite": False, "number": 0.5}, 0.5),
        ({"set": False, "infinite": False, "number": 0.0}, None),
        ({"set": False, "infinite": True, "number": 0.0}, math.inf),
        (3, 3.0),
        (None, None),
        (True, None),
        ("0.5", None),
    ],
)
def test_real(value: object, expected: float | None) -> None:
    assert real(value) == expected
