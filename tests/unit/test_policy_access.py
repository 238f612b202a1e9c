"""Submit-time account/QOS checks against the profile's `policy` (issue 11):
what is refused, and that what the profile does not say is left to Slurm."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aihpc import api
from aihpc.errors import ProfileError, SpecError
from aihpc.spec.loader import load_spec
from aihpc.spec.profile import Policy, load_profile
from tests.unit.conftest import FIXTURES, REPO

RENDERED = REPO / "tests" / "golden" / "rendered" / "local" / "cluster.yaml"
SPEC = "name: demo\nscript: train.py\n"

BASE = """\
schema: 1
cluster: t
login_host: login1
default_partition: gpu
partitions:
  gpu: {nodes: 1, gpus_per_node: 0, gpu_types: [], cpus_per_node: 2,
        mem_per_node_mb: 2000, max_time: UNLIMITED}
  debug: {nodes: 1, gpus_per_node: 0, gpu_types: [], cpus_per_node: 2,
          mem_per_node_mb: 2000, max_time: UNLIMITED}
shared_dirs: {shared: /tmp}
"""

POLICY = """\
policy:
  qos:
    normal: {max_wall: null}
    short: {max_wall: "10"}
    odd: {max_wall: "soon"}
  users:
    alice:
      default_account: research
      accounts:
        research: [normal, short, odd]
        open: null
    nobody: null
    carol: {default_account: biology, accounts: null}
  partitions:
    gpu: {allow_accounts: [], allow_qos: [normal, odd]}
    debug: {allow_accounts: [open], allow_qos: []}
"""


@pytest.fixture
def profile_with(tmp_path: Path) -> Callable[[str], Path]:
    def write(extra: str) -> Path:
        path = tmp_path / "cluster.yaml"
        path.write_text(BASE + extra)
        return path

    return write


def _issues(
    write_spec: Callable[..., Path], profile: Path, extra: str, user: str | None
) -> list[str]:
    spec = write_spec(SPEC + extra)
    try:
        load_spec(spec, profile=load_profile(profile), environ={}, user=user)
    except SpecError as exc:
        return [f"{i.field}: {i.reason} ({i.hint})" for i in exc.issues]
    return []


def test_profile_without_policy_loads_and_checks_nothing(
    write_spec: Callable[..., Path],
) -> None:
    golden = FIXTURES / "golden-profile.yaml"
    assert "policy" not in golden.read_text()
    assert load_profile(golden).policy == Policy()
    extra = "account: nosuch\nqos: nosuch\ntime: '6-00:00:00'\n"
    assert _issues(write_spec, golden, extra, "alice") == []


@pytest.mark.parametrize(
    "policy",
    [
        "policy: null\n",
        "policy: {}\n",
        "policy: {accounts: null, qos: null, users: null, partitions: null}\n",
        "policy: {qos: {normal: null}, partitions: {gpu: null}}\n",
    ],
)
def test_absent_or_empty_policy_sections_load(
    policy: str, profile_with: Callable[[str], Path], write_spec: Callable[..., Path]
) -> None:
    path = profile_with(policy)
    assert _issues(write_spec, path, "account: x\nqos: normal\n", "alice") == []


def test_policy_of_wrong_shape_names_the_file_and_field(
    profile_with: Callable[[str], Path],
) -> None:
    path = profile_with("policy:\n  users: [alice]\n")
    with pytest.raises(ProfileError, match=rf"{path}:\d+:\d+: .*field policy.users: "):
        load_profile(path)


@pytest.mark.parametrize(
    ("user", "extra", "expected"),
    [
        # the user's accounts
        ("alice", "account: reserch\n", ["account: user 'alice' has no account 'reserch'"]),
        ("alice", "account: zzz\n", ["account: user 'alice' has no account 'zzz'"]),
        # the account's QOS list; null list: not checked
        (
            "alice",
            "qos: high\n",
            [
                "qos: QOS 'high' is not allowed on account 'research'",
                "qos: partition 'gpu' does not allow QOS 'high'",
            ],
        ),
        ("alice", "account: open\nqos: high\npartition: debug\n", []),
        # partition access; the default account is judged against the partition
        ("alice", "qos: short\n", ["qos: partition 'gpu' does not allow QOS 'short'"]),
        ("alice", "partition: debug\n", ["partition: partition 'debug' does not allow account"]),
        ("alice", "account: open\npartition: debug\n", []),
        # QOS wall limit, in Slurm time syntax; an unreadable limit is Slurm's business
        (
            "alice",
            "qos: short\npartition: debug\ntime: '11'\n",
            [
                "partition: partition 'debug' does not allow account 'research'",
                "time: time 11 exceeds QOS 'short' MaxWall 10",
            ],
        ),
        ("alice", "account: research\nqos: odd\ntime: '5-00:00:00'\n", []),
        ("alice", "qos: normal\ntime: '30-00:00:00'\n", []),
        # no QOS asked: no QOS checked
        ("alice", "time: '30-00:00:00'\n", []),
        # users the profile does not manage: Slurm decides
        ("bob", "account: anything\nqos: normal\n", []),
        ("nobody", "account: anything\n", []),
        ("carol", "account: anything\nqos: normal\n", []),
        # but a partition's rules hold for everyone who names an account
        ("bob", "account: other\npartition: debug\n", ["account: partition 'debug'"]),
        # no user given (a library caller that did not say): nothing checked
        (None, "account: reserch\nqos: high\n", []),
    ],
)
def test_policy_rules(
    user: str | None,
    extra: str,
    expected: list[str],
    profile_with: Callable[[str], Path],
    write_spec: Callable[..., Path],
) -> None:
    found = _issues(write_spec, profile_with(POLICY), extra, user)
    assert len(found) == len(expected), found
    assert all(f.startswith(e) for f, e in zip(found, expected, strict=True)), found


def test_unknown_account_stops_the_other_checks(
    profile_with: Callable[[str], Path], write_spec: Callable[..., Path]
) -> None:
    """A wrong account is one mistake: no QOS or partition noise about it."""
    found = _issues(write_spec, profile_with(POLICY), "account: x\nqos: short\n", "alice")
    assert len(found) == 1 and "has no account 'x'" in found[0]
    assert "your accounts: open, research" in found[0]


def test_rendered_profile_of_the_local_cluster(write_spec: Callable[..., Path]) -> None:
    """The profile the slurm role really renders: bob is in physics only."""
    assert _issues(write_spec, RENDERED, "account: physics\nqos: capped\n", "bob") == []
    found = _issues(write_spec, RENDERED, "account: research\n", "bob")
    assert found == ["account: user 'bob' has no account 'research' (your accounts: physics)"]
    found = _issues(write_spec, RENDERED, "qos: debug\ntime: '00:31:00'\n", "bob")
    assert found == [
        "time: time 00:31:00 exceeds QOS 'debug' MaxWall 00:30:00 "
        "(ask for less time or another QOS)"
    ]


def test_api_load_checks_for_the_current_user(
    profile_with: Callable[[str], Path],
    write_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIHPC_CLUSTER_PROFILE", str(profile_with(POLICY)))
    spec = write_spec(SPEC + "qos: high\npartition: debug\n")
    monkeypatch.setenv("LOGNAME", "alice")  # getpass.getuser() reads LOGNAME first
    with pytest.raises(SpecError, match="not allowed on account 'research'"):
        api.load(spec)
    monkeypatch.setenv("LOGNAME", "bob")  # not in the policy
    assert api.load(spec).spec.qos == "high"
