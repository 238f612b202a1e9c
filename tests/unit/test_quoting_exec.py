"""Hypothesis: arbitrary args, env values and names survive the job script exactly.

The rendered script is executed by bash with srun/scontrol/torchrun/python3
stubbed (tests/unit/jobrun.py). The stubs record what reached them; we
compare with the spec byte for byte, check that only the expected commands
ran, and that injection attempts never created the canary file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aihpc.spec.model import NAME_RE
from tests.unit import jobrun

CANARY = Path(tempfile.gettempdir()) / "aihpc-quoting-canary"
INJECTIONS = [
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f"'; touch {CANARY}; '",
    f'"; touch {CANARY}; "',
    f"\ntouch {CANARY}\n",
    f"x' $(touch {CANARY}) '",
    f"${{IFS}}$(touch${{IFS}}{CANARY})",
    f"$'\\n'touch {CANARY}",
    "a,b c\td",
    "$HOME ~ * ? [a] {a,b} !! %t %j",
    "--kill-on-bad-exit=0",
    "",
    "\\",
    "'",
    '"',
    "\x01\x1b[31mred",
    "é ü 日本 🚀",
]

# Any text that can live in argv/environ: everything but NUL and lone surrogates.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
VALUE = st.one_of(TEXT, st.sampled_from(INJECTIONS))
ENV_KEY = st.from_regex(r"T_[A-Z0-9_]{0,8}", fullmatch=True)
NAME = st.from_regex(NAME_RE, fullmatch=True)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _assert_no_injection() -> None:
    assert not CANARY.exists(), "an injected command ran"


@SETTINGS
@given(
    name=NAME,
    args=st.lists(VALUE, max_size=6),
    env=st.dictionaries(ENV_KEY, VALUE, max_size=4),
)
def test_srun_launcher_passes_values_exactly(
    name: str, args: list[str], env: dict[str, str]
) -> None:
    CANARY.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        spec = jobrun.spec_for(tmp, name=name, args=args, env=env, nodes=2, procs_per_node=2)
        request = jobrun.prepare(spec, jobrun.project_dir(tmp))
        run = jobrun.run_script(request, jobrun.base_env(tmp, STUB_NTASKS="4"))
        assert run.returncode == 0, run.stderr
        assert [c.name for c in run.calls] == ["scontrol", "srun", "python3"]
        trainer = run.calls[-1]
        assert trainer.argv == ["-u", "train.py", *args]
        for key, value in env.items():
            assert trainer.env[key] == value
        assert trainer.env["AIHPC_JOB_NAME"] == name
        assert trainer.env["AIHPC_JOB_DIR"] == request.job_dir
        assert trainer.env["RANK"] == "0" and trainer.env["WORLD_SIZE"] == "4"
        assert trainer.env["MASTER_ADDR"] == "node1"
        assert trainer.env["MASTER_PORT"] == str(10000 + 4242 % 20000)
        assert trainer.env["USE_LIBUV"] == "0"
        srun = run.calls[1].argv
        assert srun[:2] == ["--kill-on-bad-exit=1", "--wait=60"]
        assert "--ntasks=4" in srun and "--ntasks-per-node=2" in srun
        assert run.calls[0].argv == ["show", "hostnames", "node[1-2]"]
    _assert_no_injection()


@SETTINGS
@given(args=st.lists(VALUE, max_size=5), env=st.dictionaries(ENV_KEY, VALUE, max_size=3))
def test_torchrun_launcher_passes_values_exactly(args: list[str], env: dict[str, str]) -> None:
    CANARY.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        spec = jobrun.spec_for(
            tmp,
            module="pkg.train",
            script=None,
            launcher="torchrun",
            args=args,
            env=env,
            nodes=2,
            gpus_per_node=4,
        )
        request = jobrun.prepare(spec, jobrun.project_dir(tmp))
        run = jobrun.run_script(request, jobrun.base_env(tmp))
        assert run.returncode == 0, run.stderr
        assert [c.name for c in run.calls] == ["scontrol", "srun", "torchrun"]
        torchrun = run.calls[-1]
        assert torchrun.argv == [
            "--nnodes=2",
            "--nproc-per-node=4",
            "--rdzv-backend=c10d",
            "--rdzv-endpoint=node1:14242",
            "--rdzv-id=4242",
            "-m",
            "pkg.train",
            *args,
        ]
        for key, value in env.items():
            assert torchrun.env[key] == value
        assert "USE_LIBUV" not in torchrun.env
    _assert_no_injection()


@SETTINGS
@given(
    args=st.lists(VALUE, max_size=3),
    sweep=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_.-]{0,6}", fullmatch=True),
        st.lists(VALUE, min_size=1, max_size=3),
        min_size=1,
        max_size=2,
    ),
    pick=st.integers(min_value=0, max_value=10_000),
)
def test_sweep_task_gets_its_row_exactly(
    args: list[str], sweep: dict[str, list[str]], pick: int
) -> None:
    CANARY.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        spec = jobrun.spec_for(tmp, args=args, sweep=sweep)
        request = jobrun.prepare(spec, jobrun.project_dir(tmp))
        row = request.sweep_rows[pick % len(request.sweep_rows)]
        env = jobrun.base_env(tmp, SLURM_ARRAY_JOB_ID="4000", SLURM_ARRAY_TASK_ID=str(row.index))
        run = jobrun.run_script(request, env)
        assert run.returncode == 0, run.stderr
        assert [c.name for c in run.calls] == ["scontrol", "srun", "python3"]
        trainer = run.calls[-1]
        expected = [*args]
        for key, value in row.params:
            expected += [f"--{key}", value]
        assert trainer.argv == ["-u", "train.py", *expected]
        assert trainer.env["AIHPC_TASK_ID"] == str(row.index)
        assert trainer.env["AIHPC_CHECKPOINT_DIR"].endswith(f"/task-{row.index}")
        assert trainer.env["AIHPC_LOG_DIR"].endswith(f"/logs/task-{row.index}")
    _assert_no_injection()


def test_yaml_round_trip_keeps_hostile_values(tmp_path: Path) -> None:
    """The same guarantee from a train.yaml file, through the YAML loader."""
    import yaml

    from aihpc.spec.loader import load_spec

    CANARY.unlink(missing_ok=True)
    project = jobrun.project_dir(tmp_path)
    args = [*INJECTIONS[:8], "1e-4", "010"]
    env = {f"T_{i}": v for i, v in enumerate(INJECTIONS[8:])}
    spec_file = project / "train.yaml"
    spec_file.write_text(
        yaml.safe_dump(
            {
                "name": "yaml",
                "script": "train.py",
                "args": args,
                "env": env,
                "jobs_dir": str(tmp_path / "jobs"),
            },
            allow_unicode=True,
        )
    )
    spec = load_spec(spec_file, environ={}, use_profile=False).spec
    request = jobrun.prepare(spec, project)
    run = jobrun.run_script(request, jobrun.base_env(tmp_path))
    assert run.returncode == 0, run.stderr
    assert run.calls[-1].argv == ["-u", "train.py", *args]
    assert all(run.calls[-1].env[k] == v for k, v in env.items())
    _assert_no_injection()
