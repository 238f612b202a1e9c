"""The judge: measurements.json as validate.yml writes it -> checks and the verdict.

The registered results are shaped as Ansible registers them ({"rc",
"stdout", "stderr"}, loops as {"results": [... "item" ...]}); the tool
output in them comes from tests/fixtures/validate and
tests/fixtures/slurm/scontrol_show_nodes_24.11.json (recorded, 24.11.5).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from aihpc.cluster import judge
from aihpc.cluster.report import Check, Report
from tests.unit.conftest import FIXTURES

VALIDATE = FIXTURES / "validate"
PROBE_ALL = "CVD=0,1,2,3\n" + "".join(f"/dev/nvidia{i} ENXIO\n" for i in range(4))
PROBE_ONE = "CVD=0\n/dev/nvidia0 ENXIO\n" + "".join(f"/dev/nvidia{i} EPERM\n" for i in (1, 2, 3))


def reg(stdout: str = "", rc: int = 0, stderr: str = "") -> dict[str, Any]:
    return {"rc": rc, "stdout": stdout, "stderr": stderr, "changed": False}


def loop(*pairs: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
    return {"results": [{**r, "item": item} for item, r in pairs]}


def idle_nodes() -> str:
    data = json.loads((FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json").read_text())
    for node in data["nodes"]:
        node["state"] = ["IDLE"]
        node["reason"] = ""
    return json.dumps(data)


def host(gpus: int, peer: str) -> dict[str, Any]:
    write = (VALIDATE / "dd-write.stderr").read_text()
    read = (VALIDATE / "dd-read.stderr").read_text()
    dirs = [{"key": "shared", "value": "/shared"}, {"key": "scratch", "value": "/tmp"}]
    return {
        "hardware": {
            "gpu_type": "h100" if gpus else "",
            "gpus": gpus,
            "pcie_cards": False,
            "nics": 0,
            "nic_gbits": 0.0,
        },
        "fingerprint": reg("kernel=6.12\nslurm=24.11.5\n"),
        "munge": {"peer": peer, "result": reg((VALIDATE / "unmunge-success.txt").read_text())},
        "gpu_job": reg(PROBE_ALL) if gpus else None,
        "gpu_isolation": reg(PROBE_ONE) if gpus else None,
        "storage": {
            "write": loop(*((d, reg(stderr=write)) for d in dirs)) if gpus else {"skipped": True},
            "read": loop(*((d, reg(stderr=read)) for d in dirs)) if gpus else {"skipped": True},
        },
        "ib": {"reason": "no IB device", "rates": reg(""), "peer": "", "client": {"results": []}},
    }


def local_cluster() -> dict[str, Any]:
    """What the local cluster (ctl1, gpu1, gpu2 with 4 fake GPUs) should give."""
    return {
        "schema": 1,
        "cluster": "aihpc-local",
        "fraction": 0.8,
        "storage_expect_mbps": {},
        "compute": ["gpu1", "gpu2"],
        "nodes": reg(idle_nodes()),
        "two_node": reg("gpu1\ngpu2\n"),
        "nccl": {"reason": "all_reduce_perf not found on gpu1,gpu2", "runs": {"results": []}},
        "hosts": {"ctl1": host(0, "gpu1"), "gpu1": host(4, "gpu2"), "gpu2": host(4, "ctl1")},
    }


def rows(report: Report, check: str) -> list[Check]:
    return [c for c in report.checks if c.check == check]


def test_the_local_cluster_passes_with_na_where_hardware_is_absent() -> None:
    report = judge.judge(local_cluster())
    assert report.ok and report.exit_code == 0, report.table()
    assert [c.result for c in rows(report, "node idle")] == ["pass", "pass"]
    assert {c.node for c in rows(report, "munge") if c.result == "pass"} == {"ctl1", "gpu1", "gpu2"}
    assert [c.result for c in rows(report, "gpu job")] == ["pass", "pass"]
    assert rows(report, "gpu isolation")[0].measured == "CVD=0 open=1 denied=3"
    assert rows(report, "2-node job")[0].measured == "gpu1,gpu2"
    nccl = rows(report, "nccl all_reduce")
    assert [c.result for c in nccl] == ["n/a"] and "not found" in nccl[0].basis
    assert [c.result for c in rows(report, "ib_write_bw")] == ["n/a"]
    assert rows(report, "same slurm")[0].measured == "24.11.5"
    assert rows(report, "same driver")[0].result == "n/a"  # no nvidia-smi: never a pass
    assert {c.result for c in rows(report, "shared write")} == {"pass"}
    assert rows(report, "shared write")[0].measured == "89 MB/s"
    assert report.fingerprint["gpu1"]["slurm"] == "24.11.5"


def test_a_drained_node_a_leaky_job_and_a_bad_munge_key_fail() -> None:
    data = local_cluster()
    data["nodes"] = reg((FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json").read_text())
    data["hosts"]["gpu1"]["gpu_isolation"] = reg(
        "CVD=0\n" + "".join(f"/dev/nvidia{i} ENXIO\n" for i in range(4))
    )
    data["hosts"]["gpu2"]["munge"]["result"] = reg(
        "STATUS:          Invalid credential (6)\n", rc=6
    )
    report = judge.judge(data)
    assert not report.ok and report.exit_code == 1
    idle = {c.node: c for c in rows(report, "node idle")}
    assert idle["gpu1"].result == "fail" and idle["gpu1"].measured == "allocated"
    assert idle["gpu2"].result == "fail" and "drain" in idle["gpu2"].measured
    isolation = {c.node: c for c in rows(report, "gpu isolation")}
    assert isolation["gpu1"].result == "fail" and "denied=0" in isolation["gpu1"].measured
    munge = {c.node: c for c in rows(report, "munge")}
    assert munge["gpu2"].result == "fail" and munge["gpu2"].measured == "Invalid credential (6)"


def test_nccl_runs_are_judged_against_the_inventory_bound() -> None:
    data = local_cluster()
    for name in ("gpu1", "gpu2"):
        data["hosts"][name]["hardware"].update(gpus=8, nics=8, nic_gbits=400.0)
    good = (VALIDATE / "all_reduce_perf-8xh100.txt").read_text()
    slow = good.replace("253.61  443.82", "100.00  175.00").replace(
        "253.64  443.87", "100.10  175.10"
    )
    data["nccl"] = {
        "reason": "",
        "runs": loop(
            ({"scope": "node", "nodes": ["gpu1"], "gpus": 8}, reg(good)),
            ({"scope": "pair", "nodes": ["gpu1", "gpu2"], "gpus": 8}, reg(slow)),
        ),
    }
    report = judge.judge(data)
    node, pair = (
        rows(report, "nccl all_reduce (node)")[0],
        rows(report, "nccl all_reduce (pair)")[0],
    )
    assert node.result == "pass" and node.measured.startswith("busbw 443.9 GB/s")
    assert "NVLink4: 18 links x 25 GB/s = 450 GB/s" in node.basis
    assert pair.result == "fail" and pair.expected == ">= 320.0 GB/s"
    assert "8 NICs x 400 Gb/s / 8 = 400 GB/s" in pair.basis and "NCCL_ALGO=RING" in pair.basis
    assert "busbw = algbw x 2(n-1)/n" in pair.basis


def test_ib_write_bw_uses_the_inventory_rate_or_the_port_rate() -> None:
    data = local_cluster()
    text = (VALIDATE / "ib_write_bw-ndr.txt").read_text()
    data["hosts"]["gpu2"]["ib"] = {
        "reason": "",
        "rates": reg("mlx5_0 400 Gb/sec (4X NDR)\nmlx5_1 200 Gb/sec (4X HDR)"),
        "peer": "gpu1",
        "client": loop(("mlx5_0", reg(text)), ("mlx5_1", reg(text.replace("375.32", "150.00")))),
    }
    checks = rows(judge.judge(data), "ib_write_bw")
    assert [(c.node, c.result) for c in checks] == [
        ("gpu1->gpu2 mlx5_0", "pass"),
        ("gpu1->gpu2 mlx5_1", "fail"),
    ]
    assert "port rate from sysfs" in checks[1].basis and checks[1].expected == ">= 160.0 Gb/s"


def test_a_driver_library_mismatch_is_explained() -> None:
    data = local_cluster()
    data["hosts"]["gpu1"]["fingerprint"] = reg(
        "slurm=24.11.5\n"
        "nvidia_smi_error=Failed to initialize NVML: Driver/library version mismatch\n"
    )
    [check] = rows(judge.judge(data), "gpu driver")
    assert check.result == "fail" and check.node == "gpu1" and "reboot" in check.basis


def test_amd_nodes_get_na_for_the_nvidia_device_check() -> None:
    data = local_cluster()
    data["hosts"]["gpu2"]["hardware"]["gpu_vendor"] = "amd"
    data["hosts"]["gpu2"]["gpu_job"] = reg("CVD=\n")  # no /dev/nvidia* on an AMD node
    report = judge.judge(data)
    gpu2 = [c for c in report.checks if c.node == "gpu2" and c.check.startswith("gpu ")]
    assert [c.result for c in gpu2] == ["n/a", "n/a"] and "amd" in gpu2[0].basis
    assert report.ok


def test_mixed_versions_fail_and_name_each_node() -> None:
    data = local_cluster()
    data["hosts"]["gpu2"]["fingerprint"] = reg("slurm=24.05.3\n")
    [check] = rows(judge.judge(data), "same slurm")
    assert check.result == "fail" and "gpu2=24.05.3" in check.measured


def test_missing_tools_are_failures_or_na_never_passes() -> None:
    data = local_cluster()
    data["nodes"] = reg(rc=2, stderr="scontrol: command not found")
    data["two_node"] = {"skipped": True, "changed": False}
    data["hosts"]["gpu1"]["storage"]["write"]["results"][1]["stdout"] = "ABSENT\n"
    report = judge.judge(data)
    assert {c.result for c in rows(report, "node idle")} == {"fail"}
    assert rows(report, "2-node job")[0].result == "n/a"
    scratch = [c for c in rows(report, "scratch write") if c.node == "gpu1"]
    assert scratch[0].result == "n/a" and "does not exist" in scratch[0].basis


def test_report_model_rules() -> None:
    with pytest.raises(ValueError, match="n/a needs a reason"):
        Check("x", "n", "n/a")
    with pytest.raises(ValueError):
        Check("x", "n", "skipped")  # type: ignore[arg-type]
    assert not Report().ok  # an empty report proves nothing
    report = judge.judge(local_cluster())
    again = Report.from_json(json.loads(report.dumps()))
    assert again.checks == report.checks and again.fingerprint == report.fingerprint
    header = report.table().splitlines()[0].split()
    assert header == ["CHECK", "NODE", "RESULT", "MEASURED", "EXPECTED", "BASIS"]


def test_run_dir_round_trip_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / judge.MEASUREMENTS).write_text(json.dumps(local_cluster()))
    assert judge.main([str(tmp_path)]) == 0
    assert json.loads((tmp_path / judge.REPORT_JSON).read_text())["ok"] is True
    assert "PASS:" in (tmp_path / judge.REPORT_TABLE).read_text()
    bad = copy.deepcopy(local_cluster())
    bad["two_node"] = reg("gpu1\n")
    (tmp_path / judge.MEASUREMENTS).write_text(json.dumps(bad))
    assert judge.main([str(tmp_path)]) == 1
    assert judge.main([str(tmp_path / "missing")]) == 2
    assert judge.main([]) == 2
    (tmp_path / judge.MEASUREMENTS).write_text(json.dumps({"schema": 99}))
    assert judge.main([str(tmp_path)]) == 2
    assert "schema" in capsys.readouterr().err
