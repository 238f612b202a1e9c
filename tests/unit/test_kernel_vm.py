"""scripts/kernel_vm.py: the qemu command lines of the kernel lane (make test-kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.modload import load_source

ROOT = Path(__file__).resolve().parents[2]


kvm = load_source("kernel_vm", ROOT / "scripts" / "kernel_vm.py", register=True)


def start_args(tmp_path: Path, *extra: str) -> object:
    parser_args = [
        "start", "--name", "stor1", "--state-dir", str(tmp_path),
        "--image-dir", str(tmp_path / "img"), "--pubkey", str(tmp_path / "k.pub"),
        "--ssh-port", "42221", "--data-addr", "10.77.0.11/24",
        *extra,
    ]  # fmt: skip
    captured: dict[str, object] = {}

    def fake(args: object) -> int:
        captured["args"] = args
        return 0

    orig = kvm.start
    kvm.start = fake
    try:
        assert kvm.main(parser_args) == 0
    finally:
        kvm.start = orig
    return captured["args"]


def test_command_is_tcg_only_with_forwarded_ssh_on_loopback(tmp_path: Path) -> None:
    args = start_args(tmp_path, "--data-listen", "42230", "--nvme", "a:2G", "--nvme", "b:1G")
    cmd = kvm.qemu_command(args, tmp_path / "vms" / "stor1", "ssh-ed25519 AAAA test")
    joined = " ".join(cmd)
    assert "-enable-kvm" not in cmd and "kvm" not in cmd[cmd.index("-accel") + 1]
    assert cmd[cmd.index("-accel") + 1] == "tcg,thread=multi,tb-size=256"
    assert "user,id=mgmt,hostfwd=tcp:127.0.0.1:42221-:22" in cmd
    assert "socket,id=data,listen=127.0.0.1:42230" in cmd
    append = cmd[cmd.index("-append") + 1].split()
    want = {"root=/dev/vda", "systemd.hostname=stor1", "aihpc.data_addr=10.77.0.11/24"}
    assert want <= set(append)
    assert [c for c in cmd if c.startswith("nvme,")] == [
        "nvme,serial=a,drive=nvme0",
        "nvme,serial=b,drive=nvme1",
    ]
    # The public key travels base64-encoded as a systemd credential.
    cred = "io.systemd.credential.binary:ssh.authorized_keys.root="
    assert cred + "c3NoLWVkMjU1MTkgQUFBQSB0ZXN0" in joined


def test_connecting_side_and_mac_addresses_differ_per_vm(tmp_path: Path) -> None:
    args = start_args(tmp_path, "--data-connect", "42230")
    cmd = kvm.qemu_command(args, tmp_path, "k")
    assert "socket,id=data,connect=127.0.0.1:42230" in cmd
    macs = {kvm.data_mac("stor1"), kvm.data_mac("cn1"), kvm.MGMT_MAC}
    assert len(macs) == 3
    append = cmd[cmd.index("-append") + 1].split()
    assert f"aihpc.data_mac={kvm.data_mac('stor1')}" in append
    assert f"virtio-net-pci,netdev=data,addr=0x4,mac={kvm.data_mac('stor1')},romfile=" in cmd


def test_bad_nvme_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        start_args(tmp_path, "--data-listen", "1", "--nvme", "noserial")


def test_stop_never_touches_a_process_it_did_not_start(tmp_path: Path) -> None:
    d = tmp_path / "vms" / "x"
    d.mkdir(parents=True)
    # Our own pid is alive but is not a qemu for this directory.
    (d / "qemu.pid").write_text(f"{__import__('os').getpid()}\n")
    assert kvm.running_pid(d) is None
