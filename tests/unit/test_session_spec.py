"""`shell` and `jupyter` go through the spec layer (issue 14, structure 2).

The same value rules, profile checks and "did you mean" hints as train.yaml,
and the user's jobs_dir instead of a hard-coded path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aihpc import api
from aihpc.errors import SpecError, UsageError
from aihpc.spec.session import load_session
from tests.unit.cli_helpers import run_cli


def _message(exc: pytest.ExceptionInfo[SpecError]) -> str:
    return str(exc.value)


def test_partition_typo_gets_the_train_yaml_hint(profile_file: Path) -> None:
    assert profile_file.exists()
    with pytest.raises(SpecError) as exc:
        load_session(partition="gpus")
    assert _message(exc) == (
        "<command line>:1:1: partition: partition 'gpus' does not exist (did you mean 'gpu'?)"
    )


def test_every_bad_option_is_reported_with_its_name(profile_file: Path) -> None:
    assert profile_file.exists()
    with pytest.raises(SpecError) as exc:
        load_session(mem="lots", time_limit="soon", setup=("ok", "a\nb"))
    lines = _message(exc).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["mem", "time", "setup[1]"]
    assert "must be a number with an optional K/M/G/T suffix, like 64G (got 'lots')" in lines[0]
    assert "must be a single line (no newline)" in lines[2]


def test_limits_of_the_partition_name_the_option(profile_file: Path) -> None:
    assert profile_file.exists()
    with pytest.raises(SpecError) as exc:
        load_session(gpus=8, cpus=4, mem="4G")
    assert _message(exc).splitlines() == [
        "<command line>:1:1: gpus: 8 GPUs per node requested, partition 'gpu' nodes have 4",
        "<command line>:1:1: cpus: 4 CPUs x 1 processes = 4 CPUs per node, partition 'gpu' "
        "nodes have 2",
        "<command line>:1:1: mem: mem 4G is more than partition 'gpu' nodes have (2000M)",
    ]


def test_without_a_profile_shell_needs_a_partition() -> None:
    with pytest.raises(UsageError, match="give --partition"):
        api.shell_argv()
    assert api.shell_argv(partition="debug") == [
        "srun",
        "--pty",
        "--partition=debug",
        "--nodes=1",
        "--ntasks=1",
        "bash",
        "-l",
    ]


def test_jupyter_uses_the_users_jobs_dir(profile_file: Path, tmp_path: Path) -> None:
    """It hard-coded <shared>/aihpc/jobs/<user> whatever jobs_dir said."""
    assert profile_file.exists()
    config = Path.home() / ".config" / "aihpc" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("jobs_dir: '{scratch}/mine/{user}'\n")
    request = api.jupyter_request(user="alice", token="c0ffee")
    assert request.job_dir.startswith("/tmp/mine/alice/jupyter-")
    assert request.sbatch_argv[-1] == f"{request.job_dir}/job.sbatch"
    # $AIHPC_JOBS_DIR wins over the config file, as for train.yaml
    env = {"AIHPC_JOBS_DIR": str(tmp_path / "jobs"), "HOME": str(Path.home())}
    env["AIHPC_CLUSTER_PROFILE"] = str(profile_file)
    request = api.jupyter_request(user="alice", token="c0ffee", environ=env)
    assert request.job_dir.startswith(f"{tmp_path}/jobs/jupyter-")


def test_jupyter_jobs_dir_placeholder_is_checked(profile_file: Path) -> None:
    assert profile_file.exists()
    config = Path.home() / ".config" / "aihpc" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("jobs_dir: '{sharde}/jobs'\n")
    with pytest.raises(SpecError) as exc:
        api.jupyter_request(user="alice")
    assert _message(exc) == (
        f"{config}:1:11: jobs_dir: unknown placeholder {{sharde}} "
        "(known: {home}, {name}, {scratch}, {shared}, {user})"
    )


def test_shell_cli_errors_exit_2(profile_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert profile_file.exists()
    code, _, err = run_cli(["shell", "-p", "gpu", "--time", "soon", "--dry-run"], capsys)
    assert code == 2 and "<command line>:1:1: time: is not a Slurm time" in err, err
