"""The expectations file: good input is read, bad input names the field and the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aihpc.health import expect
from aihpc.health.expect import ExpectationError


def test_full_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    data = {
        "schema": 1,
        "node": "gpu2",
        "gpus": {"vendor": "nvidia", "type": "h100", "count": 4},
        "ib": {"ports": 8, "rate_gbps": 400},
        "mounts": [{"path": "/shared", "mount": True, "min_free_gib": 50}],
        "memory": {"min_available_percent": 5},
        "daemons": ["munged", "slurmd"],
        "fabric_manager": True,
    }
    path.write_text(json.dumps(data))
    got = expect.load(path)
    assert got.gpus == expect.GpuExpect("nvidia", 4, "h100")
    assert (got.ib_ports, got.ib_rate_gbps) == (8, 400)
    assert got.mounts == (expect.MountExpect("/shared", True, True, 50.0),)
    assert got.min_available_percent == 5.0 and got.fabric_manager
    assert 79 in got.critical_xids and 13 not in got.critical_xids


def test_zero_gpus_means_no_gpu_checks() -> None:
    assert expect.parse({"gpus": {"vendor": "nvidia", "count": 0}}, "f").gpus is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"gpus": {"vendor": "intel", "count": 1}}, "f: gpus.vendor: must be one of nvidia, amd"),
        ({"gpus": {"count": -1}}, "f: gpus.count: must not be negative"),
        ({"gpus": {"count": "4"}}, "f: gpus.count: must be an integer, got str '4'"),
        ({"gpus": {"count": True}}, "f: gpus.count: must be an integer, got a boolean"),
        ({"mounts": [{"path": "shared"}]}, "f: mounts[0].path: must be an absolute path"),
        ({"mounts": ["/shared"]}, "f: mounts[0]: must be an object"),
        ({"memory": {"min_available_percent": 101}}, "f: memory.min_available_percent: must be"),
        ({"critical_xids": [79, "x"]}, "f: critical_xids[1]: must be an integer"),
        ({"daemons": ["a/b"]}, "f: daemons[0]: must be a process name"),
        ({"gpu": {}}, "f: gpu: unknown field"),
        ({"schema": 2}, "f: schema: version 2 is not supported"),
    ],
)
def test_bad_field_is_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(ExpectationError) as err:
        expect.parse(data, "f")
    assert str(err.value).startswith(message), str(err.value)
    assert err.value.exit_code == 2


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    path.write_text('{"gpus": {"count": 4,}}')
    with pytest.raises(ExpectationError, match=r"health\.json:1:22: invalid JSON"):
        expect.load(path)


def test_missing_file_says_who_writes_it(tmp_path: Path) -> None:
    with pytest.raises(ExpectationError, match=r"not found .*aihpc role"):
        expect.load(tmp_path / "nope.json")
