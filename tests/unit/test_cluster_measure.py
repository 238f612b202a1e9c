"""Parsers of the raw tool output validate.yml gathers (fixtures: tests/fixtures/validate)."""

from __future__ import annotations

import pytest

from aihpc.cluster import measure
from tests.unit.conftest import FIXTURES

VALIDATE = FIXTURES / "validate"


def test_dd_rate_from_recorded_gnu_dd() -> None:
    write = measure.dd_rate((VALIDATE / "dd-write.stderr").read_text())
    assert write == pytest.approx(67108864 / 0.750464 / 1e6)
    read = measure.dd_rate((VALIDATE / "dd-read.stderr").read_text())
    assert read == pytest.approx(67108864 / 0.055392 / 1e6)
    assert measure.dd_rate("dd: failed to open 'x': No such file or directory\n") is None


def test_dd_rate_takes_the_last_summary_after_a_refused_direct_read() -> None:
    text = (
        "dd: failed to open '/tmp/f': Invalid argument\n"
        + (VALIDATE / "dd-write.stderr").read_text()
    )
    assert measure.dd_rate(text) == pytest.approx(89.42, rel=1e-3)


def test_all_reduce_reads_the_largest_message_row() -> None:
    result = measure.all_reduce((VALIDATE / "all_reduce_perf-8xh100.txt").read_text())
    assert result is not None
    assert result.size == 8589934592
    assert result.busbw == pytest.approx(443.87)  # in-place beat out-of-place
    assert result.algbw == pytest.approx(253.64)
    assert result.wrong == 0 and result.ranks == 8
    assert result.avg_busbw == pytest.approx(218.374)


def test_all_reduce_counts_wrong_values_and_rejects_garbage() -> None:
    row = (
        "  8589934592    2147483648     float     sum      -1    33870  253.61  443.82      3"
        "    33866  253.64  443.87      N/A\n"
    )
    result = measure.all_reduce(row)
    assert result is not None and result.wrong == 3
    assert measure.all_reduce("srun: error: Unable to allocate resources\n") is None


def test_perftest_bandwidth_in_gbits() -> None:
    assert measure.perftest_bw((VALIDATE / "ib_write_bw-ndr.txt").read_text()) == pytest.approx(
        375.32
    )
    mb = (
        " #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]\n"
        " 65536 1000 0.00 10000.00 0.15\n"
    )
    assert measure.perftest_bw(mb) == pytest.approx(10000 * 8 * 1.048576 / 1000)
    assert measure.perftest_bw("Couldn't connect to 10.0.0.1:18515\n") is None


def test_unmunge_status() -> None:
    assert measure.unmunge_status((VALIDATE / "unmunge-success.txt").read_text()) == ("Success", 0)
    assert measure.unmunge_status("STATUS:          Invalid credential (6)\n") == (
        "Invalid credential",
        6,
    )
    assert measure.unmunge_status("") is None


def test_device_probe_as_the_job_prints_it() -> None:
    # What playbooks/validate/files/gpu_probe.py prints for 2 of 4 fake GPUs
    # (ENXIO/EPERM as molecule/cluster/verify.yml sees on the local cluster).
    probe = measure.device_probe(
        "CVD=0,1\n/dev/nvidia0 ENXIO\n/dev/nvidia1 ENXIO\n/dev/nvidia2 EPERM\n/dev/nvidia3 EPERM\n"
    )
    assert probe.visible == ("0", "1")
    assert probe.allowed == ["/dev/nvidia0", "/dev/nvidia1"]
    assert probe.denied == ["/dev/nvidia2", "/dev/nvidia3"]
    assert probe.smi_gpus is None
    assert measure.device_probe("CVD=\nSMI_GPUS=8\n").smi_gpus == 8


def test_key_values_and_sysfs_rate() -> None:
    assert measure.key_values("slurm=24.11.5\ndriver=\nnoise\ncuda = 12.4\n") == {
        "slurm": "24.11.5",
        "cuda": "12.4",
    }
    rate = (FIXTURES / "infiniband/ndr-8hca/sys/class/infiniband/mlx5_0/ports/1/rate").read_text()
    assert measure.link_rate_gbits(rate) == 400.0
    assert measure.link_rate_gbits("garbage") is None
