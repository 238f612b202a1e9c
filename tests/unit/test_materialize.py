"""materialize() details: precedence of env, paths, placeholders, purity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from aihpc.errors import ProfileError, SpecError
from aihpc.request.materialize import gloo_ifname, grace_seconds, materialize
from aihpc.request.model import SnapshotFiles
from aihpc.spec.model import TrainSpec
from aihpc.spec.profile import load_profile
from tests.unit.conftest import FIXTURES

NOW = datetime(2025, 1, 2, 3, 4, 5)


def _request(tmp_path: Path, profile: bool = True, **fields: object):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"name": "demo", "script": "train.py"}
    data.update(fields)
    return materialize(
        TrainSpec.model_validate(data),
        load_profile(FIXTURES / "golden-profile.yaml") if profile else None,
        workdir=tmp_path,
        template=str(data.get("launcher", "srun")),
        user="alice",
        now=NOW,
        token="c0ffee",
        snapshot=SnapshotFiles("git", ("train.py",), 10),
    )


def _exports(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("export ")]


def test_env_precedence_defaults_profile_user(tmp_path: Path) -> None:
    request = _request(
        tmp_path, env={"NCCL_DEBUG": "INFO", "NCCL_SOCKET_IFNAME": "ib0"}, cpus_per_task=4
    )
    exports = _exports(request.script)
    assert "export NCCL_DEBUG=INFO" in exports  # train.yaml wins over the default
    assert "export NCCL_SOCKET_IFNAME=ib0" in exports  # ... and over the profile
    assert "export OMP_NUM_THREADS=4" in exports
    assert exports.count("export NCCL_DEBUG=INFO") == 1 and "export NCCL_DEBUG=WARN" not in exports


def test_gloo_interface_from_profile_is_made_gloo_readable(tmp_path: Path) -> None:
    assert gloo_ifname("=eth0") == "eth0" and gloo_ifname("=eth0,=ib0") == "eth0,ib0"
    assert gloo_ifname("eth0") == "eth0"
    assert "export GLOO_SOCKET_IFNAME=eth0" in _exports(_request(tmp_path).script)
    assert "export NCCL_SOCKET_IFNAME==eth0" in _exports(_request(tmp_path).script)


def test_profile_gloo_exclusion_is_refused(tmp_path: Path) -> None:
    text = (
        (FIXTURES / "golden-profile.yaml")
        .read_text()
        .replace('GLOO_SOCKET_IFNAME: "=eth0"', 'GLOO_SOCKET_IFNAME: "^docker0"')
    )
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match="cannot exclude"):
        load_profile(path)


def test_without_profile_no_network_env(tmp_path: Path) -> None:
    request = _request(tmp_path, profile=False, jobs_dir="/scratch/jobs/{user}")
    assert request.job_dir == "/scratch/jobs/alice/demo-20250102-030405-c0ffee"
    assert not [e for e in _exports(request.script) if "IFNAME" in e]


def test_paths_and_placeholders(tmp_path: Path) -> None:
    request = _request(
        tmp_path,
        checkpoint={"dir": "{scratch}/{user}/{name}/ck"},
        container={"image": "img", "mounts": ["{shared}/data:/data"]},
    )
    job_dir = "/shared/aihpc/jobs/alice/demo-20250102-030405-c0ffee"
    assert request.job_dir == job_dir
    assert request.dirs == (job_dir, f"{job_dir}/logs", f"{job_dir}/code")
    assert request.snapshot is not None and request.snapshot.dest == f"{job_dir}/code"
    assert "export AIHPC_CHECKPOINT_DIR=/tmp/alice/demo/ck" in request.script
    # the job dir and an outside checkpoint dir are mounted into the container
    assert (
        f"--container-mounts={job_dir}:{job_dir},/tmp/alice/demo/ck:/tmp/alice/demo/ck,"
        "/shared/data:/data"
    ) in request.script
    assert request.metadata["checkpoint_dir"] == "/tmp/alice/demo/ck"


def test_grace() -> None:
    assert [grace_seconds(s) for s in (2, 60, 120, 300, 3600)] == [1, 30, 60, 240, 3540]


def test_same_inputs_same_request(tmp_path: Path) -> None:
    assert _request(tmp_path, nodes=2) == _request(tmp_path, nodes=2)


def test_odd_user_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="odd user name"):
        materialize(
            TrainSpec.model_validate({"name": "a", "script": "t.py"}),
            None,
            workdir=tmp_path,
            template="srun",
            user="bob\nrm",
            now=NOW,
            token="x",
            snapshot=None,
        )


def test_user_template_errors_are_spec_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sbatch.j2"
    broken.write_text("#!/bin/bash\n{{ job.nope }}\n")
    with pytest.raises(SpecError) as err:
        materialize(
            TrainSpec.model_validate({"name": "a", "script": "t.py", "jobs_dir": "/j"}),
            None,
            workdir=tmp_path,
            template=broken,
            user="u",
            now=NOW,
            token="x",
            snapshot=None,
        )
    assert err.value.field == "template" and "nope" in err.value.reason
    none_printer = tmp_path / "none.sbatch.j2"
    none_printer.write_text("#!/bin/bash\necho {{ job.cpus_per_task }}\n")
    with pytest.raises(SpecError, match="printed None"):
        materialize(
            TrainSpec.model_validate({"name": "a", "script": "t.py", "jobs_dir": "/j"}),
            None,
            workdir=tmp_path,
            template=none_printer,
            user="u",
            now=NOW,
            token="x",
            snapshot=None,
        )
