"""Layered defaults: profile < user config < AIHPC_* < spec file < -o, with origins."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aihpc.errors import SpecError, UsageError
from aihpc.spec.loader import load_spec
from aihpc.spec.yamlsafe import Origin

BASE = "name: demo\nscript: train.py\n"

pytestmark = pytest.mark.usefixtures("profile_file")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "home" / ".config" / "aihpc" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_profile_default_partition(write_spec: Callable[..., Path], profile_file: Path) -> None:
    loaded = load_spec(write_spec(BASE))
    assert loaded.spec.partition == "gpu"
    assert loaded.origins[("partition",)].file == str(profile_file)


def test_each_layer_wins_over_the_weaker_ones(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, "account: cfg\nqos: cfg\ntime: '10'\nmem: 100M\n")
    monkeypatch.setenv("AIHPC_QOS", "envq")
    monkeypatch.setenv("AIHPC_TIME", "20")
    monkeypatch.setenv("AIHPC_MEM", "200M")
    spec = write_spec(BASE + "time: '30'\nmem: 300M\n")
    loaded = load_spec(spec, ["mem=400M"])
    s = loaded.spec
    assert (s.account, s.qos, s.time, s.mem) == ("cfg", "envq", "30", "400M")
    assert loaded.origins[("account",)].file == str(config)
    assert loaded.origins[("qos",)].file == "$AIHPC_QOS"
    assert loaded.origins[("time",)] == Origin(str(spec), 3, 7)
    assert loaded.origins[("mem",)].file == "<-o mem>"


def test_mappings_merge_key_by_key(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    _config(tmp_path, "env: {WANDB_MODE: offline, A: cfg}\ncheckpoint: {max_restarts: 5}\n")
    loaded = load_spec(
        write_spec(BASE + "env: {A: spec}\ncheckpoint: {signal_before: 60}\n"),
        ["env.B=o", "checkpoint.max_restarts=1"],
    )
    assert loaded.spec.env == {"WANDB_MODE": "offline", "A": "spec", "B": "o"}
    assert loaded.spec.checkpoint is not None
    assert loaded.spec.checkpoint.signal_before == 60
    assert loaded.spec.checkpoint.max_restarts == 1


def test_lists_are_replaced_whole(write_spec: Callable[..., Path]) -> None:
    loaded = load_spec(write_spec(BASE + "args: [a, b, c]\n"), ["args=[x]"])
    assert loaded.spec.args == ["x"]


def test_null_in_spec_disables_config_section(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    _config(tmp_path, "checkpoint: {max_restarts: 5}\n")
    assert load_spec(write_spec(BASE + "checkpoint: null\n")).spec.checkpoint is None


def test_values_are_taken_as_written(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        BASE
        + "args: [--lr, 1e-4, --n, 010, --flag, yes, --x, 1.50]\n"
        + "time: 1:00:00\n"
        + "env: {OMP_NUM_THREADS: 4, DEBUG: on}\n"
        + "sweep: {lr: [1.0e-3, 2e-3], seed: [1, 2]}\n"
    )
    s = load_spec(spec).spec
    assert s.args == ["--lr", "1e-4", "--n", "010", "--flag", "yes", "--x", "1.50"]
    assert s.time == "1:00:00"
    assert s.env == {"OMP_NUM_THREADS": "4", "DEBUG": "on"}
    assert s.sweep == {"lr": ["1.0e-3", "2e-3"], "seed": ["1", "2"]}


def test_override_values_are_yaml_typed(write_spec: Callable[..., Path]) -> None:
    s = load_spec(
        write_spec(BASE),
        ["nodes=2", "gpus_per_node=0", "sweep={lr: [1e-4, 3e-4]}", "name=other"],
    ).spec
    assert (s.nodes, s.name) == (2, "other")
    assert s.sweep == {"lr": ["1e-4", "3e-4"]}


def test_runtime_variables_are_not_configuration(
    write_spec: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job exports AIHPC_CHECKPOINT_DIR etc.; aihpc run inside it must ignore them."""
    monkeypatch.setenv("AIHPC_CHECKPOINT_DIR", "/x")
    monkeypatch.setenv("AIHPC_NAME", "evil")
    monkeypatch.setenv("AIHPC_RESTART_COUNT", "3")
    s = load_spec(write_spec(BASE)).spec
    assert s.name == "demo" and s.checkpoint is None


def test_config_path_override(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("account: elsewhere\n")
    monkeypatch.setenv("AIHPC_CONFIG", str(other))
    assert load_spec(write_spec(BASE)).spec.account == "elsewhere"


def test_relative_paths_resolve_against_the_spec_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = project / "sub"
    sub.mkdir()
    (sub / "x.py").write_text("")
    spec = project / "conf" / "train.yaml"
    spec.parent.mkdir()
    spec.write_text("name: a\nscript: x.py\nworkdir: ../sub\n")
    monkeypatch.chdir(tmp_path)
    assert load_spec(spec).workdir == sub.resolve()
    # ... and -o paths against the current directory
    monkeypatch.chdir(project)
    assert load_spec(spec, ["workdir=sub"]).workdir == sub.resolve()


def test_template_name_selects_launcher(write_spec: Callable[..., Path]) -> None:
    loaded = load_spec(write_spec(BASE + "template: torchrun\n"))
    assert loaded.spec.launcher == "torchrun" and loaded.template == "torchrun"
    loaded = load_spec(write_spec(BASE + "launcher: torchrun\n"))
    assert loaded.template == "torchrun"


def test_user_template_path(write_spec: Callable[..., Path], project: Path) -> None:
    (project / "t.sbatch.j2").write_text("#!/bin/bash\n")
    loaded = load_spec(write_spec(BASE + "template: t.sbatch.j2\n"))
    assert loaded.template == (project / "t.sbatch.j2").resolve()


def test_spec_error_attributes(write_spec: Callable[..., Path]) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(write_spec(BASE + "nodse: 1\n"))
    e = err.value
    assert (e.line, e.column, e.field, e.reason) == (3, 1, "nodse", "unknown key")
    assert e.hint == "did you mean 'nodes'?"
    assert e.file.endswith("train.yaml")


def test_directory_instead_of_file(project: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(project)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_spec(tmp_path / "nope.yaml")


def test_no_profile_means_no_profile_checks(
    write_spec: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIHPC_CLUSTER_PROFILE", str(tmp_path / "absent.yaml"))
    loaded = load_spec(write_spec(BASE + "nodes: 64\njobs_dir: /scratch/jobs\n"))
    assert loaded.profile is None and loaded.spec.nodes == 64
    with pytest.raises(SpecError, match=r"unknown placeholder \{shared\}.*no cluster profile"):
        load_spec(write_spec(BASE))
