#!/usr/bin/env python3
"""Boot and stop the kernel-lane test VMs (make test-kernel).

Each VM is a stock Debian kernel under qemu software emulation (TCG; KVM
stalls on these machines, so it is never used), booted with -kernel/-initrd
from the image that images/kernel-vm/build.sh makes, on a throwaway qcow2
overlay of that image. It has:

- a management NIC on qemu user-net, ssh forwarded from 127.0.0.1:<ssh_port>
  (guest eth0, 10.0.2.15; the same MAC on every VM, each has its own user-net);
- a data NIC on a qemu socket network shared with the other VMs (guest eth1,
  MAC and address from the kernel command line, aihpc.data_mac= and
  aihpc.data_addr=, applied by the image's aihpc-vm-setup.service);
- optional blank NVMe drives (sparse raw files), /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_<serial>.

The root ssh key reaches the guest as the systemd credential
ssh.authorized_keys.root (SMBIOS type 11), the hostname as systemd.hostname=.

    kernel_vm.py start --name stor1 --image-dir DIR --state-dir DIR --ssh-port 42221 \
        --data-addr 10.77.0.11/24 --data-listen 42230 --nvme stor1-nvme0:2G ...
    kernel_vm.py wait --name stor1 --state-dir DIR --ssh-port 42221 --timeout 300
    kernel_vm.py stop --name stor1 --state-dir DIR

Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-system-x86_64"


@dataclass(frozen=True)
class Nvme:
    serial: str
    size: str

    @classmethod
    def parse(cls, spec: str) -> Nvme:
        serial, _, size = spec.partition(":")
        if not serial or not size:
            raise argparse.ArgumentTypeError(f"--nvme wants SERIAL:SIZE, got {spec!r}")
        return cls(serial, size)


def vm_dir(state_dir: Path, name: str) -> Path:
    return state_dir / "vms" / name


MGMT_MAC = "52:54:00:a1:00:03"


def data_mac(name: str) -> str:
    """A stable MAC per VM for the shared data network (never the management one)."""
    tail = zlib.crc32(name.encode()).to_bytes(4, "big")[1:]
    return "52:54:01:" + ":".join(f"{b:02x}" for b in tail)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def qemu_command(args: argparse.Namespace, d: Path, pubkey: str) -> list[str]:
    image = Path(args.image_dir)
    cmdline = [
        "root=/dev/vda",
        "rw",
        "console=ttyS0",
        f"systemd.hostname={args.name}",
        "net.ifnames=0",
        f"aihpc.data_addr={args.data_addr}",
        f"aihpc.data_mac={data_mac(args.name)}",
        # Emulated CPUs: no side-channel mitigations worth their cost here.
        "mitigations=off",
        "quiet",
    ]
    cred = base64.b64encode(pubkey.encode()).decode()
    if args.data_listen:
        data_socket = f"listen=127.0.0.1:{args.data_listen}"
    else:
        data_socket = f"connect=127.0.0.1:{args.data_connect}"
    cmd = [
        QEMU,
        "-name",
        f"aihpc-kernel-vm-{args.name}",
        "-nodefaults",
        "-display",
        "none",
        "-vga",
        "none",
        "-accel",
        "tcg,thread=multi,tb-size=256",
        "-cpu",
        "max",
        "-m",
        str(args.memory),
        "-smp",
        str(args.smp),
        "-kernel",
        str(image / "vmlinuz"),
        "-initrd",
        str(image / "initrd.img"),
        "-append",
        " ".join(cmdline),
        "-drive",
        f"file={d / 'root.qcow2'},if=virtio,format=qcow2,cache=unsafe",
        "-netdev",
        f"user,id=mgmt,hostfwd=tcp:127.0.0.1:{args.ssh_port}-:22",
        "-device",
        f"virtio-net-pci,netdev=mgmt,addr=0x3,mac={MGMT_MAC},romfile=",
        "-netdev",
        f"socket,id=data,{data_socket}",
        "-device",
        f"virtio-net-pci,netdev=data,addr=0x4,mac={data_mac(args.name)},romfile=",
        "-smbios",
        f"type=11,value=io.systemd.credential.binary:ssh.authorized_keys.root={cred}",
        "-serial",
        f"file:{d / 'console.log'}",
        "-monitor",
        "none",
        "-pidfile",
        str(d / "qemu.pid"),
        "-daemonize",
    ]
    for i, drive in enumerate(args.nvme):
        cmd += [
            "-drive",
            f"file={d / f'nvme{i}.raw'},if=none,id=nvme{i},format=raw,cache=unsafe",
            "-device",
            f"nvme,serial={drive.serial},drive=nvme{i}",
        ]
    return cmd


def start(args: argparse.Namespace) -> int:
    if shutil.which(QEMU) is None:
        print(f"{QEMU} is missing: apt-get install -y qemu-system-x86 qemu-utils", file=sys.stderr)
        return 1
    if (args.data_listen is None) == (args.data_connect is None):
        print("give exactly one of --data-listen and --data-connect", file=sys.stderr)
        return 2
    image = Path(args.image_dir)
    for f in ("disk.qcow2", "vmlinuz", "initrd.img"):
        if not (image / f).is_file():
            print(f"{image / f} is missing: run images/kernel-vm/build.sh", file=sys.stderr)
            return 1
    state = Path(args.state_dir)
    d = vm_dir(state, args.name)
    if running_pid(d) is not None:
        print(
            f"{args.name} is already running (pid {running_pid(d)}); stop it first", file=sys.stderr
        )
        return 1
    busy = [p for p in (args.ssh_port, args.data_listen) if p is not None and not port_free(p)]
    if busy:
        print(
            f"port(s) {busy} on 127.0.0.1 are in use: set AIHPC_KERNEL_VM_PORT_BASE",
            file=sys.stderr,
        )
        return 1
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    # A throwaway overlay per VM: the cached image is never written.
    subprocess.run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            str((image / "disk.qcow2").resolve()),
            str(d / "root.qcow2"),
        ],
        check=True,
    )
    for i, drive in enumerate(args.nvme):
        subprocess.run(["truncate", "-s", drive.size, str(d / f"nvme{i}.raw")], check=True)
    pubkey = Path(args.pubkey).read_text().strip()
    cmd = qemu_command(args, d, pubkey)
    (d / "qemu.cmd").write_text(" ".join(cmd) + "\n")
    (d / "started").write_text(f"{time.time()}\n")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"qemu failed to start {args.name}: {proc.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"{args.name}: qemu pid {running_pid(d)}, ssh on 127.0.0.1:{args.ssh_port}")
    return 0


def running_pid(d: Path) -> int | None:
    try:
        pid = int((d / "qemu.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    # Only ever a qemu this script started for this VM directory.
    return pid if QEMU.encode() in cmdline and str(d).encode() in cmdline else None


def console_tail(d: Path, lines: int = 40) -> str:
    try:
        text = (d / "console.log").read_text(errors="replace")
    except OSError:
        return "(no console log)"
    return "\n".join(text.splitlines()[-lines:])


def ssh_ok(args: argparse.Namespace) -> bool:
    cmd = [
        "ssh", "-i", args.key, "-p", str(args.ssh_port),
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
        "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
        "root@127.0.0.1", "true",
    ]  # fmt: skip
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def wait(args: argparse.Namespace) -> int:
    d = vm_dir(Path(args.state_dir), args.name)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if running_pid(d) is None:
            print(
                f"{args.name}: qemu is not running. Console tail:\n{console_tail(d)}",
                file=sys.stderr,
            )
            return 1
        if ssh_ok(args):
            try:
                started = float((d / "started").read_text())
            except (OSError, ValueError):
                started = time.time()
            print(f"{args.name}: ssh up {time.time() - started:.0f} s after qemu start")
            return 0
        time.sleep(3)
    print(
        f"{args.name}: no ssh on 127.0.0.1:{args.ssh_port} after {args.timeout} s. Console tail "
        f"({d / 'console.log'}):\n{console_tail(d)}",
        file=sys.stderr,
    )
    return 1


def peak_rss_mib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def stop(args: argparse.Namespace) -> int:
    d = vm_dir(Path(args.state_dir), args.name)
    pid = running_pid(d)
    if pid is not None:
        print(f"{args.name}: stopping qemu pid {pid} (peak RSS {peak_rss_mib(pid)} MiB)")
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if running_pid(d) is None:
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
    # Keep the console log for post-mortems; the disks go.
    if d.is_dir() and not args.keep_disks:
        for f in d.glob("*.qcow2"):
            f.unlink()
        for f in d.glob("nvme*.raw"):
            f.unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="action", required=True)
    for action in ("start", "wait", "stop"):
        s = sub.add_parser(action)
        s.add_argument("--name", required=True)
        s.add_argument("--state-dir", required=True)
        if action == "start":
            s.add_argument("--image-dir", required=True)
            s.add_argument("--pubkey", required=True)
            s.add_argument("--ssh-port", type=int, required=True)
            s.add_argument("--data-addr", required=True)
            s.add_argument("--data-listen", type=int)
            s.add_argument("--data-connect", type=int)
            s.add_argument("--nvme", type=Nvme.parse, action="append", default=[])
            s.add_argument("--memory", type=int, default=1024, help="MiB")
            s.add_argument("--smp", type=int, default=1)
        elif action == "wait":
            s.add_argument("--key", required=True)
            s.add_argument("--ssh-port", type=int, required=True)
            s.add_argument("--timeout", type=int, default=300)
        else:
            s.add_argument("--keep-disks", action="store_true")
    args = p.parse_args(argv)
    actions = {"start": start, "wait": wait, "stop": stop}
    return actions[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
