#!/usr/bin/python
"""Ansible module: probe block devices and decide what the storage role may do.

This is the role's data-loss guard. It never writes: it reads what is on the
devices (blkid -p, wipefs --no-act, mdadm --examine/--detail, sysfs) and
returns the exact commands the role should run, or fails naming each device
and what it holds.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: storage_device_probe
short_description: Decide whether devices may be assembled/formatted, adopted, or must be refused
description:
  - Probes every device with C(blkid -p -o export) (low-level probe, no cache),
    C(wipefs --no-act --json), C(mdadm --examine --export) and sysfs (partitions, holders).
  - "With several I(devices): an md array named I(md_name) that is running with exactly these
    members is adopted; members whose md superblocks all belong to one such array are assembled;
    blank members get C(mdadm --create). Anything else on a member is a refusal."
  - "With one device (a plain device, or the md array itself): a filesystem of I(fstype) with
    I(label) is adopted; a blank device gets mkfs; anything else is a refusal."
  - A device listed in I(force_format) may be wiped; nothing else ever is.
  - Read-only; supports check mode.
options:
  devices:
    description: Block devices, in order. More than one means an md array.
    type: list
    elements: str
    required: true
  md_name:
    description: Name of the md array (C(/dev/md/NAME)); required with more than one device.
    type: str
  md_level:
    description: md RAID level (0, 1, 5, 6, 10).
    type: str
    default: "0"
  md_chunk_kib:
    description: md chunk size in KiB (not used for RAID1).
    type: int
    default: 512
  md_metadata:
    description: md superblock format.
    type: str
    default: "1.2"
  fstype:
    description: Filesystem the role makes (only xfs has tuned options).
    type: str
    default: xfs
  label:
    description: Filesystem label; a filesystem with this label and type is the role's own.
    type: str
    required: true
  mkfs_options:
    description: Extra mkfs arguments, e.g. C([-m, reflink=1]).
    type: list
    elements: str
    default: []
  stripe:
    description: "For a filesystem on an md array: {chunk_kib, data_disks} for XFS su/sw."
    type: dict
  fresh:
    description: The device was just created by the role (an md array): mkfs may use -f.
    type: bool
    default: false
  force_format:
    description: Devices whose contents may be destroyed. Compared by device number, so any path
      to the same device counts.
    type: list
    elements: str
    default: []
  mount_path:
    description: Where the role mounts the filesystem (a device mounted elsewhere is refused).
    type: str
  assume_blank:
    description: Do not probe; plan as if every device were blank (for previews and golden
      files on the control node, never on a server).
    type: bool
    default: false
author: aihpc
"""

RETURN = r"""
action:
  description: "For an array: create, assemble or adopt. For a filesystem: mkfs or adopt."
  type: str
commands:
  description: argv lists to run, in order (empty for adopt).
  type: list
md_device:
  description: /dev/md/NAME for an array.
  type: str
stripe:
  description: "For an array: {chunk_kib, data_disks}, the XFS su/sw of a filesystem on it."
  type: dict
found:
  description: Per device, what the probes found (signatures, md superblock, partitions, holders).
  type: dict
"""

import json  # noqa: E402  (Ansible puts docs first)
import os  # noqa: E402
import stat  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

# --- parsers for the tools' output (unit-tested on recorded output) ----------


def parse_export(text: str) -> dict[str, str]:
    """KEY=value lines (blkid -o export, mdadm --export)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key:
            out[key] = value
    return out


def parse_wipefs_json(text: str) -> list[dict[str, str]]:
    """wipefs --json: [{type, offset, uuid, label}] (nulls dropped)."""
    if not text.strip():
        return []
    data = json.loads(text)
    found: list[dict[str, str]] = []
    for sig in data.get("signatures", []):
        found.append({k: str(v) for k, v in sig.items() if v is not None and k != "device"})
    return found


@dataclass
class Probe:
    """What is on one device."""

    device: str
    blkid: dict[str, str] = field(default_factory=dict)
    blkid_rc: int = 2
    wipefs: list[dict[str, str]] = field(default_factory=list)
    md: dict[str, str] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)
    mounted_at: list[str] = field(default_factory=list)

    def findings(self) -> list[str]:
        """Human-readable list of everything that makes the device non-blank."""
        items: list[str] = []
        seen: set[str] = set()
        if self.md.get("MD_UUID"):
            # mdadm names the array; blkid only calls it linux_raid_member.
            items.append(
                f"an md superblock (array {self.md.get('MD_NAME', '?')}, UUID {self.md['MD_UUID']})"
            )
            seen.add("linux_raid_member")
        fstype = self.blkid.get("TYPE")
        if fstype and fstype not in seen:
            items.append(_describe(fstype, self.blkid.get("UUID"), self.blkid.get("LABEL")))
            seen.add(fstype)
        if self.blkid.get("PTTYPE"):
            items.append(f"a {self.blkid['PTTYPE']} partition table")
            seen.add(self.blkid["PTTYPE"])
        if self.blkid_rc == 8:
            items.append("several conflicting signatures (blkid: ambivalent result)")
        for sig in self.wipefs:
            kind = sig.get("type", "?")
            if kind in seen or (kind == "PMBR" and "gpt" in seen):
                continue
            seen.add(kind)
            items.append(_describe(kind, sig.get("uuid"), sig.get("label"), sig.get("offset")))
        if self.partitions:
            items.append("partitions " + ", ".join(self.partitions))
        return items

    def is_blank(self) -> bool:
        return not self.findings() and not self.holders


def _describe(kind: str, uuid: str | None, label: str | None, offset: str | None = None) -> str:
    details = [f"UUID {uuid}"] if uuid else []
    if label:
        details.append(f"LABEL {label}")
    if offset and offset not in ("0x0", "0"):
        details.append(f"at offset {offset}")
    name = {"linux_raid_member": "an md superblock"}.get(kind, kind)
    return name + (f" ({', '.join(details)})" if details else "")


# --- the decisions -------------------------------------------------------------


class Refused(Exception):
    """The role must not touch the device(s); the message says why."""


def _forced(device: str, force: set[str]) -> bool:
    return device in force


def wipe_commands(probe: Probe) -> list[list[str]]:
    cmds: list[list[str]] = []
    if probe.md.get("MD_UUID") or probe.blkid.get("TYPE") == "linux_raid_member":
        cmds.append(["mdadm", "--zero-superblock", probe.device])
    cmds.append(["wipefs", "--all", probe.device])
    return cmds


def data_disks(level: str, members: int) -> int:
    """Disks that carry data in one stripe (XFS sw=)."""
    lvl = str(level).removeprefix("raid")
    if lvl == "0":
        return members
    if lvl == "5":
        return members - 1
    if lvl == "6":
        return members - 2
    if lvl == "10":
        return max(members // 2, 1)
    return 1


def mdadm_create_argv(
    md_device: str, name: str, level: str, chunk_kib: int, metadata: str, devices: list[str]
) -> list[str]:
    argv = ["mdadm", "--create", md_device, "--run", f"--metadata={metadata}"]
    argv += [f"--level={str(level).removeprefix('raid')}"]
    if str(level).removeprefix("raid") != "1":
        argv.append(f"--chunk={chunk_kib}K")
    argv += [f"--raid-devices={len(devices)}", f"--name={name}", *devices]
    return argv


def mkfs_argv(
    fstype: str,
    label: str,
    device: str,
    extra: list[str],
    stripe: dict[str, int] | None,
    force: bool,
) -> list[str]:
    argv = [f"mkfs.{fstype}", "-L", label, *extra]
    if fstype == "xfs" and stripe and stripe.get("data_disks", 1) > 1:
        argv += ["-d", f"su={stripe['chunk_kib']}k,sw={stripe['data_disks']}"]
    if force:
        argv.append("-f" if fstype == "xfs" else "-F")
    argv.append(device)
    return argv


def _refusal(device: str, probe: Probe, what: str) -> str:
    found = probe.findings()
    holds = ", ".join(found) if found else "data"
    return (
        f"{device} holds {holds}: refusing to {what} it. If its contents may be destroyed, "
        f"set force_format: true for {device} (storage_*_devices entry "
        f"{{path: {device}, force_format: true}}) and run again."
    )


def decide_filesystem(
    probe: Probe,
    *,
    fstype: str,
    label: str,
    force: set[str],
    fresh: bool,
    mount_path: str | None,
    extra: list[str],
    stripe: dict[str, int] | None,
) -> tuple[str, list[list[str]]]:
    """adopt or mkfs for one device; raises Refused."""
    dev = probe.device
    if probe.holders:
        raise Refused(f"{dev} is in use by {', '.join(probe.holders)}: refusing to format it.")
    elsewhere = [m for m in probe.mounted_at if m != mount_path]
    if elsewhere:
        raise Refused(
            f"{dev} is mounted at {', '.join(elsewhere)}: refusing to format or remount it."
        )
    ours = (
        probe.blkid.get("TYPE") == fstype
        and probe.blkid.get("LABEL") == label
        and not probe.blkid.get("PTTYPE")
        and not probe.partitions
        and all(s.get("type") == fstype for s in probe.wipefs)
    )
    if ours:
        return "adopt", []
    if probe.is_blank():
        return "mkfs", [mkfs_argv(fstype, label, dev, extra, stripe, force=fresh)]
    if fresh or _forced(dev, force):
        cmds = [] if fresh else wipe_commands(probe)
        return "mkfs", [*cmds, mkfs_argv(fstype, label, dev, extra, stripe, force=True)]
    raise Refused(_refusal(dev, probe, f"make {fstype} on"))


def _same_array_name(md_name_field: str, name: str) -> bool:
    # mdadm stores "homehost:name" unless created with --homehost=any.
    return md_name_field == name or md_name_field.endswith(":" + name)


def decide_array(
    probes: list[Probe],
    *,
    name: str,
    level: str,
    chunk_kib: int,
    metadata: str,
    force: set[str],
    active: dict[str, Any] | None,
) -> tuple[str, list[list[str]]]:
    """adopt, assemble or create an md array; raises Refused.

    active: the running /dev/md/NAME ({"members": [dev numbers], "member_paths": [...]})
    """
    md_device = f"/dev/md/{name}"
    devices = [p.device for p in probes]
    if active is not None:
        if sorted(active["members"]) == sorted(active["expected"]):
            return "adopt", []
        raise Refused(
            f"{md_device} is running with members {', '.join(active['member_paths'])}, "
            f"not {', '.join(devices)}: refusing to touch it. Stop it or fix the device list."
        )
    in_use = [f"{p.device} is in use by {', '.join(p.holders)}" for p in probes if p.holders]
    in_use += [
        f"{p.device} is mounted at {', '.join(p.mounted_at)}" for p in probes if p.mounted_at
    ]
    if in_use:
        raise Refused("; ".join(in_use) + ": refusing to assemble or create " + md_device)
    uuids = {p.md.get("MD_UUID") for p in probes}
    if (
        len(uuids) == 1
        and None not in uuids
        and all(_same_array_name(p.md.get("MD_NAME", ""), name) for p in probes)
        and all(p.md.get("MD_DEVICES") == str(len(probes)) for p in probes)
    ):
        return "assemble", [["mdadm", "--assemble", md_device, *devices]]
    refusals = [
        _refusal(p.device, p, f"add to {md_device}")
        for p in probes
        if not p.is_blank() and not _forced(p.device, force)
    ]
    if refusals:
        raise Refused(" ".join(refusals))
    cmds: list[list[str]] = []
    for p in probes:
        if not p.is_blank():
            cmds += wipe_commands(p)
    cmds.append(mdadm_create_argv(md_device, name, level, chunk_kib, metadata, devices))
    return "create", cmds


# --- probing a live system -------------------------------------------------------


def _devnum(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    return (os.major(st.st_rdev), os.minor(st.st_rdev))


def _sysfs_list(devnum: tuple[int, int], sub: str) -> list[str]:
    base = f"/sys/dev/block/{devnum[0]}:{devnum[1]}"
    if sub == "partitions":
        try:
            names = os.listdir(base)
        except OSError:
            return []
        return sorted(n for n in names if os.path.exists(os.path.join(base, n, "partition")))
    try:
        return sorted(os.listdir(os.path.join(base, sub)))
    except OSError:
        return []


def _mounts(devnum: tuple[int, int]) -> list[str]:
    found: list[str] = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            for line in fh:
                fields = line.split()
                if fields[2] == f"{devnum[0]}:{devnum[1]}":
                    found.append(fields[4])
    except OSError:
        pass
    return found


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "devices": {"type": "list", "elements": "str", "required": True},
            "md_name": {"type": "str"},
            "md_level": {"type": "str", "default": "0"},
            "md_chunk_kib": {"type": "int", "default": 512},
            "md_metadata": {"type": "str", "default": "1.2"},
            "fstype": {"type": "str", "default": "xfs"},
            "label": {"type": "str", "required": True},
            "mkfs_options": {"type": "list", "elements": "str", "default": []},
            "stripe": {"type": "dict"},
            "fresh": {"type": "bool", "default": False},
            "force_format": {"type": "list", "elements": "str", "default": []},
            "mount_path": {"type": "str"},
            "assume_blank": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    devices: list[str] = p["devices"]
    if len(devices) > 1 and not p["md_name"]:
        module.fail_json(msg="md_name is required with more than one device")
    if len(set(devices)) != len(devices):
        module.fail_json(msg=f"a device is listed twice: {devices}")

    def run(argv: list[str]) -> tuple[int, str, str]:
        rc, out, err = module.run_command(argv, environ_update={"LC_ALL": "C"})
        return int(rc), str(out), str(err)

    force_nums = {n for n in (_devnum(d) for d in p["force_format"]) if n is not None}
    probes: list[Probe] = []
    found: dict[str, Any] = {}
    missing = [d for d in devices if _devnum(d) is None]
    if p["assume_blank"]:
        probes = [Probe(device=d) for d in devices]
    elif missing:
        module.fail_json(msg=f"not a block device (or missing): {', '.join(missing)}")
    for dev in [] if p["assume_blank"] else devices:
        num = _devnum(dev)
        assert num is not None
        rc, out, err = run(["blkid", "-p", "-o", "export", dev])
        if rc not in (0, 2, 8):
            module.fail_json(msg=f"blkid -p {dev} failed (rc {rc}): {err.strip()}")
        probe = Probe(device=dev, blkid=parse_export(out), blkid_rc=rc)
        rc, out, err = run(["wipefs", "--no-act", "--json", dev])
        if rc != 0:
            module.fail_json(msg=f"wipefs --no-act {dev} failed (rc {rc}): {err.strip()}")
        probe.wipefs = parse_wipefs_json(out)
        if module.get_bin_path("mdadm"):
            _, out, _ = run(["mdadm", "--examine", "--export", dev])
            probe.md = parse_export(out) if "MD_UUID=" in out else {}
        probe.partitions = _sysfs_list(num, "partitions")
        probe.holders = _sysfs_list(num, "holders")
        probe.mounted_at = _mounts(num)
        probes.append(probe)
        found[dev] = {
            "blank": probe.is_blank(),
            "findings": probe.findings(),
            "holders": probe.holders,
            "mounted_at": probe.mounted_at,
        }
    # A path in force_format counts for the device it names, however it is spelled.
    force = {d for d in devices if _devnum(d) in force_nums}
    try:
        if len(devices) > 1:
            md_device = f"/dev/md/{p['md_name']}"
            active = None
            md_num = None if p["assume_blank"] else _devnum(md_device)
            if md_num is not None:
                members = [
                    _devnum("/dev/" + n)
                    for n in _sysfs_list(md_num, "slaves")
                    if os.path.exists("/dev/" + n)
                ]
                active = {
                    "members": sorted(m for m in members if m is not None),
                    "expected": sorted(n for n in (_devnum(d) for d in devices) if n),
                    "member_paths": ["/dev/" + n for n in _sysfs_list(md_num, "slaves")],
                }
            action, commands = decide_array(
                probes,
                name=p["md_name"],
                level=p["md_level"],
                chunk_kib=p["md_chunk_kib"],
                metadata=p["md_metadata"],
                force=force,
                active=active,
            )
            stripe = {
                "chunk_kib": p["md_chunk_kib"],
                "data_disks": data_disks(p["md_level"], len(devices)),
            }
            module.exit_json(
                changed=False,
                action=action,
                commands=commands,
                md_device=md_device,
                stripe=stripe,
                found=found,
            )
        action, commands = decide_filesystem(
            probes[0],
            fstype=p["fstype"],
            label=p["label"],
            force=force,
            fresh=p["fresh"],
            mount_path=p["mount_path"],
            extra=p["mkfs_options"],
            stripe=p["stripe"],
        )
    except Refused as refusal:
        module.fail_json(msg=str(refusal), found=found)
    module.exit_json(changed=False, action=action, commands=commands, found=found)


if __name__ == "__main__":
    main()
