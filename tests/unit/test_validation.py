"""Every hostile or broken train.yaml: exit 2, file:line:col + field, no traceback,
and the backend is never reached (nothing created, nothing submitted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cli_helpers import run_cli
from tests.unit.conftest import REPO

VALID = """\
name: demo
script: train.py
nodes: 2
gpus_per_node: 0
procs_per_node: 2
"""

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)

# (id, file content, extra CLI args, field path in the message ("" = whole file),
#  expected line, substring of the reason)
CASES: list[tuple[str, str | bytes, list[str], str, int, str]] = [
    ("syntax", "name: demo\nscript: [train.py\nnodes: 1\n", [], "", 3, "YAML syntax error"),
    ("duplicate", VALID + "nodes: 1\n", [], "nodes", 6, "duplicate key"),
    ("alias-bomb", BOMB, [], "", 2, "aliases"),
    ("top-list", "- name: demo\n", [], "", 1, "not a list"),
    ("top-scalar", "hello\n", [], "", 1, "not a single value"),
    ("empty", "", [], "", 1, "empty file"),
    ("comments-only", "# nothing\n", [], "", 1, "empty file"),
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00", [], "", 1, "binary file"),
    ("latin1", b"name: caf\xe9\n", [], "", 1, "not UTF-8"),
    ("unknown-key", VALID + "nodse: 2\n", [], "nodse", 6, "did you mean 'nodes'"),
    (
        "unknown-nested",
        VALID + "checkpoint: {signal_befor: 3}\n",
        [],
        "checkpoint.signal_befor",
        6,
        "did you mean 'signal_before'",
    ),
    ("nodes-string", VALID.replace("nodes: 2", 'nodes: "2"'), [], "nodes", 3, "valid integer"),
    ("nodes-zero", VALID.replace("nodes: 2", "nodes: 0"), [], "nodes", 3, "greater than 0"),
    ("nodes-negative", VALID.replace("nodes: 2", "nodes: -3"), [], "nodes", 3, "greater than 0"),
    ("nodes-float", VALID.replace("nodes: 2", "nodes: 2.5"), [], "nodes", 3, "valid integer"),
    ("nodes-bool", VALID.replace("nodes: 2", "nodes: true"), [], "nodes", 3, "valid integer"),
    (
        "gpus-negative",
        VALID.replace("gpus_per_node: 0", "gpus_per_node: -1"),
        [],
        "gpus_per_node",
        4,
        "greater than or equal to 0",
    ),
    (
        "procs-zero",
        VALID.replace("procs_per_node: 2", "procs_per_node: 0"),
        [],
        "procs_per_node",
        5,
        "greater than 0",
    ),
    ("cpus-zero", VALID + "cpus_per_task: 0\n", [], "cpus_per_task", 6, "greater than 0"),
    (
        "restarts-negative",
        VALID + "checkpoint: {max_restarts: -1}\n",
        [],
        "checkpoint.max_restarts",
        6,
        "greater than or equal to 0",
    ),
    (
        "signal-zero",
        VALID + "checkpoint:\n  signal_before: 0\n",
        [],
        "checkpoint.signal_before",
        7,
        "greater than 0",
    ),
    ("parallel-zero", VALID + "max_parallel: 0\n", [], "max_parallel", 6, "greater than 0"),
    ("args-not-list", VALID + "args: --epochs 3\n", [], "args", 6, "valid list"),
    ("env-list", VALID + "env: [A]\n", [], "env", 6, "valid dictionary"),
    ("env-key-dash", VALID + "env: {BAD-KEY: x}\n", [], "env.BAD-KEY", 6, "not a shell variable"),
    ("env-key-digit", VALID + "env:\n  1ABC: x\n", [], "env.1ABC", 7, "not a shell variable"),
    ("env-key-space", VALID + "env: {'A B': x}\n", [], "env.A B", 6, "not a shell variable"),
    ("env-key-reserved", VALID + "env: {RANK: '3'}\n", [], "env.RANK", 6, "set by aihpc"),
    # Issue 14 defect 1: a stale completion flag would skip a requeue.
    (
        "env-key-complete-flag",
        VALID + "env: {AIHPC_COMPLETE_FLAG: /elsewhere/flag}\n",
        [],
        "env.AIHPC_COMPLETE_FLAG",
        6,
        "set by aihpc",
    ),
    ("env-key-ifs", VALID + "env: {IFS: ','}\n", [], "env.IFS", 6, "changes how bash"),
    ("env-null", VALID + "env: {A: null}\n", [], "env.A", 6, "valid string"),
    (
        "env-gloo-nccl-syntax",
        VALID + "env: {GLOO_SOCKET_IFNAME: '=eth0'}\n",
        [],
        "env",
        6,
        "plain interface names",
    ),
    ("script-missing", VALID.replace("train.py", "nope.py"), [], "script", 2, "does not exist"),
    ("script-escape", VALID.replace("train.py", "../train.py"), [], "script", 2, "inside workdir"),
    (
        "script-absolute",
        VALID.replace("train.py", "/etc/passwd"),
        [],
        "script",
        2,
        "relative to workdir",
    ),
    ("script-and-module", VALID + "module: pkg.train\n", [], "module", 6, "exactly one"),
    ("no-program", "name: demo\n", [], "script", 1, "exactly one"),
    ("name-missing", "script: train.py\n", [], "name", 1, "required key is missing"),
    ("name-bad", VALID.replace("name: demo", "name: 'my job'"), [], "name", 1, "must match"),
    ("name-newline", VALID.replace("name: demo", 'name: "a\\nb"'), [], "name", 1, "must match"),
    ("partition-newline", VALID + 'partition: "gpu\\nx"\n', [], "partition", 6, "letters"),
    ("workdir-newline", VALID + 'workdir: "a\\nb"\n', [], "workdir", 6, "single line"),
    ("setup-newline", VALID + 'setup: ["echo a\\necho b"]\n', [], "setup[0]", 6, "single line"),
    (
        "ckpt-dir-newline",
        VALID + 'checkpoint: {dir: "/x\\ny"}\n',
        [],
        "checkpoint.dir",
        6,
        "single line",
    ),
    (
        "image-newline",
        VALID + 'container: {image: "a\\nb"}\n',
        [],
        "container.image",
        6,
        "single line",
    ),
    (
        "mount-relative",
        VALID + "container: {image: x, mounts: [data:/data]}\n",
        [],
        "container.mounts[0]",
        6,
        "absolute",
    ),
    ("time-bad", VALID + "time: soon\n", [], "time", 6, "not a Slurm time"),
    ("mem-bad", VALID + "mem: lots\n", [], "mem", 6, "K/M/G/T"),
    ("launcher-bad", VALID + "launcher: mpirun\n", [], "launcher", 6, "'srun' or 'torchrun'"),
    ("sweep-empty", VALID + "sweep: {lr: []}\n", [], "sweep.lr", 6, "at least 1"),
    ("sweep-nested", VALID + "sweep: {lr: [[1]]}\n", [], "sweep.lr[0]", 6, "valid string"),
    (
        "placeholder",
        VALID + "checkpoint: {dir: '{nowhere}/x'}\n",
        [],
        "checkpoint.dir",
        6,
        "unknown placeholder",
    ),
    ("template-missing", VALID + "template: ./nope.j2\n", [], "template", 6, "does not exist"),
    ("template-unknown", VALID + "template: mpi\n", [], "template", 6, "no shipped template"),
    (
        "template-conflict",
        VALID + "template: torchrun\nlauncher: srun\n",
        [],
        "template",
        6,
        "conflicts",
    ),
    ("gpu-type-no-gpus", VALID + "gpu_type: h100\n", [], "gpu_type", 6, "needs gpus_per_node"),
    # checked against the cluster profile
    ("partition-unknown", VALID + "partition: gpus\n", [], "partition", 6, "did you mean 'gpu'"),
    (
        "too-many-nodes",
        VALID.replace("nodes: 2", "nodes: 3"),
        [],
        "nodes",
        3,
        "partition 'gpu' has 2",
    ),
    (
        "too-many-gpus",
        VALID.replace("gpus_per_node: 0", "gpus_per_node: 8"),
        [],
        "gpus_per_node",
        4,
        "nodes have 4",
    ),
    (
        "gpu-type-unknown",
        VALID.replace("gpus_per_node: 0", "gpus_per_node: 2") + "gpu_type: a100\n",
        [],
        "gpu_type",
        6,
        "not in partition",
    ),
    ("too-many-cpus", VALID + "cpus_per_task: 2\n", [], "cpus_per_task", 6, "have 2"),
    ("too-much-mem", VALID + "mem: 4G\n", [], "mem", 6, "2000M"),
    # -o overrides are located at the override
    ("override-bad", VALID, ["-o", "nodes=0"], "nodes", 1, "greater than 0"),
    ("override-unknown", VALID, ["-o", "nodez=1"], "nodez", 1, "did you mean 'nodes'"),
    ("override-alias", VALID, ["-o", "args=[&a x, *a]"], "args", 1, "aliases"),
    # the profile's policy (POLICY below) for user alice
    ("account-unknown", VALID + "account: reserch\n", [], "account", 6, "did you mean"),
    (
        "qos-not-on-account",
        VALID + "account: physics\nqos: high\n",
        [],
        "qos",
        7,
        "allowed there: normal, debug",
    ),
    (
        "partition-account",
        VALID + "account: biology\n",
        [],
        "account",
        6,
        "does not allow account 'biology'",
    ),
    ("qos-max-wall", VALID + "qos: debug\ntime: '01:00:00'\n", [], "time", 7, "MaxWall"),
]

# Shaped as the slurm role writes it (tests/golden/rendered/local/cluster.yaml).
POLICY = """\
policy:
  accounts: [biology, physics, research]
  qos:
    normal: {max_wall: null, preemptible: false}
    high: {max_wall: 1-00:00:00, preemptible: false}
    debug: {max_wall: "00:30:00", preemptible: false}
  users:
    alice:
      default_account: research
      accounts:
        research: [normal, high, debug]
        physics: [normal, debug]
        biology: [normal]
  partitions:
    gpu: {allow_accounts: [research, physics], allow_qos: [], qos: null}
"""


@pytest.fixture
def profile_file(profile_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared profile plus a policy, submitted as alice (getpass reads LOGNAME first)."""
    profile_file.write_text(profile_file.read_text() + POLICY)
    monkeypatch.setenv("LOGNAME", "alice")
    return profile_file


@pytest.fixture
def no_backend(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and fail on) any attempt to reach Slurm or create a job directory."""
    calls: list[str] = []

    def forbidden(name: str) -> Callable[..., object]:
        def call(*_args: object, **_kwargs: object) -> object:
            calls.append(name)
            raise AssertionError(f"{name} was called for an invalid spec")

        return call

    import aihpc.api
    import aihpc.backend.select
    import aihpc.jobdir

    monkeypatch.setattr(aihpc.api, "backend", forbidden("api.backend"))
    monkeypatch.setattr(aihpc.backend.select, "get_backend", forbidden("get_backend"))
    monkeypatch.setattr(aihpc.jobdir, "prepare", forbidden("jobdir.prepare"))
    monkeypatch.setattr(subprocess, "Popen", forbidden("subprocess.Popen"))
    return calls


@pytest.mark.parametrize(
    ("content", "extra", "field", "line", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
@pytest.mark.usefixtures("profile_file")
def test_invalid_spec_exit_2_with_location(
    content: str | bytes,
    extra: list[str],
    field: str,
    line: int,
    reason: str,
    write_spec: Callable[..., Path],
    shared: Path,
    no_backend: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = write_spec(content)
    code, out, err = run_cli(["submit", str(spec), *extra], capsys)
    assert code == 2, err
    assert "Traceback" not in out + err
    assert "nothing was submitted" in err
    where = "<-o " if extra else re.escape(str(spec))
    pattern = rf"{where}[^\n]*:{line}:\d+: " + (re.escape(field) + ":" if field else "")
    assert re.search(pattern, err), err
    assert reason in err, err
    assert no_backend == []
    assert list(shared.iterdir()) == []  # no job directory either


MESSAGES = REPO / "tests" / "golden" / "messages"
UPDATE = os.environ.get("AIHPC_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize(("content", "extra"), [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_whole_message_matches_golden(
    content: str | bytes,
    extra: list[str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    write_spec: Callable[..., Path],
    profile_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The full stderr of every case, so a change in wording or case shows as a diff.

    Regenerate with AIHPC_UPDATE_GOLDEN=1 and review the diff like code.
    """
    assert profile_file.exists()
    spec = write_spec(content)
    code, _, err = run_cli(["submit", str(spec), *extra], capsys)
    assert code == 2
    text = err.replace(str(tmp_path), "@TMP@")
    path = MESSAGES / f"{request.node.callspec.id}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing {path}; run with AIHPC_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_no_stale_message_golden_files() -> None:
    assert {p.stem for p in MESSAGES.glob("*.txt")} == {c[0] for c in CASES}


def test_names_keep_their_case_in_messages(
    write_spec: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14 defect 2: the reason after `env.RANK:` read `rANK is set by ...`."""
    spec = write_spec(VALID + "env: {RANK: '3', Foo-Bar: x}\n")
    code, _, err = run_cli(["submit", str(spec)], capsys)
    assert code == 2
    assert f"{spec}:6:7: env.RANK: RANK is set by aihpc/Slurm at run time" in err, err
    assert "'Foo-Bar' is not a shell variable name" in err, err
    # pydantic's own messages still read as a clause after the field.
    spec = write_spec(VALID.replace("nodes: 2", "nodes: x"))
    _, _, err = run_cli(["submit", str(spec)], capsys)
    assert f"{spec}:3:8: nodes: input should be a valid integer" in err, err


@pytest.mark.usefixtures("profile_file")
def test_all_issues_are_reported_at_once(
    write_spec: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(VALID.replace("nodes: 2", "nodes: 0") + "nodse: 1\nenv: {A-B: x}\n")
    code, _, err = run_cli(["submit", str(spec), "--dry-run"], capsys)
    assert code == 2
    lines = [x for x in err.splitlines() if str(spec) in x]
    assert [x.split(":")[1] for x in lines] == ["3", "6", "7"]


def test_error_in_user_config_points_at_config(
    write_spec: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "home" / ".config" / "aihpc" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("account: proj\nnodes: -1\n")
    spec = write_spec(VALID.replace("nodes: 2\n", ""))
    code, _, err = run_cli(["submit", str(spec), "--dry-run"], capsys)
    assert code == 2
    assert f"{config}:2:8: nodes:" in err


def test_env_var_layer_error_is_named(
    write_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIHPC_CPUS_PER_TASK", "zero")
    code, _, err = run_cli(["submit", str(write_spec(VALID)), "--dry-run"], capsys)
    assert code == 2
    assert "$AIHPC_CPUS_PER_TASK:1:1: cpus_per_task:" in err


@pytest.mark.parametrize("args", [["-o", "novalue"], ["-o", "=3"], ["-o", "a..b=1"]])
def test_malformed_override_is_usage_error(
    args: list[str], write_spec: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["submit", str(write_spec(VALID)), *args, "--dry-run"], capsys)
    assert code == 2
    assert "KEY=VALUE" in err and "Traceback" not in err


def test_missing_file_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["submit", str(tmp_path / "none.yaml"), "--dry-run"], capsys)
    assert code == 2 and "no such file" in err


@pytest.mark.usefixtures("profile_file")
def test_real_process_exit_code_and_no_traceback(write_spec: Callable[..., Path]) -> None:
    """The same through a real interpreter: the exit status the shell sees."""
    spec = write_spec(VALID + "nodes: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "aihpc", "submit", str(spec)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{spec}:6:1: nodes: duplicate key" in proc.stderr


def test_unknown_profile_schema_is_cluster_error(
    write_spec: Callable[..., Path], profile_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile_file.write_text(profile_file.read_text().replace("schema: 1", "schema: 7"))
    code, _, err = run_cli(["submit", str(write_spec(VALID)), "--dry-run"], capsys)
    assert code == 1
    assert str(profile_file) in err and "schema 7" in err
