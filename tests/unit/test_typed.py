"""The spec validator (aihpc/spec/typed.py) against messages recorded from pydantic.

Every expected text in tests/golden/messages/typed-messages.json is what the
pydantic-based model printed for the same input (recorded before the switch,
issue 14), so the switch changed no message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aihpc.errors import ProfileError, SpecError
from aihpc.spec.loader import load_spec
from aihpc.spec.model import TrainSpec
from aihpc.spec.profile import load_profile
from aihpc.spec.typed import Invalid
from tests.unit.conftest import REPO

# Recorded from the pydantic-based model before the switch: the file, the whole message.
CASES = json.loads((REPO / "tests" / "golden" / "messages" / "typed-messages.json").read_text())
SPEC_CASES = [(c["file"], c["message"]) for c in CASES["spec"]]
PROFILE_CASES = [(c["file"], c["message"]) for c in CASES["profile"]]


@pytest.mark.parametrize(("content", "message"), SPEC_CASES)
def test_spec_messages_are_the_pydantic_ones(content: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    spec = tmp_path / "train.yaml"
    spec.write_text(content)
    with pytest.raises(SpecError) as exc:
        load_spec(spec, environ={}, use_profile=False, preview=True)
    assert str(exc.value) == message.replace("@SPEC@", str(spec))


@pytest.mark.parametrize(("content", "message"), PROFILE_CASES)
def test_profile_messages_are_the_pydantic_ones(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(content)
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    assert str(exc.value) == message.replace("@PROFILE@", str(path))


def test_strict_types_and_what_the_model_keeps() -> None:
    with pytest.raises(Invalid) as exc:
        TrainSpec.model_validate({"name": "a", "nodes": True, "args": ["1", 2], "env": {1: "x"}})
    problems = {(p.path, p.about_key): p.msg for p in exc.value.problems}
    assert problems == {
        (("nodes",), False): "Input should be a valid integer",
        (("args", 1), False): "Input should be a valid string",
        (("env", 1), True): "Input should be a valid string",
    }
    spec = TrainSpec.model_validate({"name": "a", "script": "t.py", "checkpoint": {}})
    assert spec.model_fields_set == {"name", "script", "checkpoint"}
    assert spec.checkpoint is not None and spec.checkpoint.signal_before == 300
    copy = spec.model_copy(update={"launcher": "torchrun"})
    assert copy.launcher == "torchrun" and "launcher" in copy.model_fields_set
    dumped = copy.model_dump(mode="json")
    assert dumped["checkpoint"] == {
        "dir": "{job_dir}/checkpoints",
        "signal_before": 300,
        "max_restarts": 3,
    }
    assert dumped["args"] == [] and dumped["container"] is None


def test_profile_keeps_unknown_keys_out_of_the_way(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(
        "schema: 1\ncluster: c\nlogin_host: l\ndefault_partition: gpu\nfuture_key: {a: 1}\n"
        "partitions: {gpu: {nodes: 1, gpus_per_node: 0, gpu_types: [], cpus_per_node: 2,"
        " mem_per_node_mb: 1, max_time: UNLIMITED, later: x}}\n"
    )
    profile = load_profile(path)
    assert profile.schema_ == 1 and profile.partitions["gpu"].default is False
    assert profile.path == str(path) and profile.network.env == {}
