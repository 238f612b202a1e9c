#!/usr/bin/python
"""Ansible module: RDMA devices from /sys/class/infiniband as facts."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: infiniband_facts
short_description: Report the RDMA devices (HCAs, ports, GIDs, netdevs) of a host
description:
  - Reads C(/sys/class/infiniband) the way C(ibstat) and C(ibv_devinfo) see it, without
    opening any device, so it works without rdma-core and on hosts with no HCA (empty result).
  - Sets the fact C(infiniband) with every device, its ports (state, physical state, rate,
    link layer, LID, GID table with RoCE types and netdevs) and the network interfaces bound
    to it (C(device/net), the GID netdevs, or C(parent) for Soft-RoCE devices).
options:
  sysfs_root:
    description: Root of the sysfs tree; a fake tree in tests.
    type: path
    default: /sys
author: aihpc
"""

EXAMPLES = r"""
- name: Read the RDMA devices
  infiniband_facts:

- name: Show the active ones
  ansible.builtin.debug:
    msg: "{{ ansible_facts.infiniband.active_hcas }}"
"""

RETURN = r"""
ansible_facts:
  description: C(infiniband) with C(present), C(hcas), C(hca_names), C(active_hcas), C(link_layers).
  returned: always
  type: dict
"""

import os  # noqa: E402  (Ansible puts docs first)
import re  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

_ZERO_GID = "0000:0000:0000:0000:0000:0000:0000:0000"
_RATE_RE = re.compile(r"^([\d.]+) Gb/sec(?: \((\d+)X ?(\w+)\))?")
_NUMBERED_RE = re.compile(r"^(\d+):\s*(.*)$")


def _read(path: str) -> str | None:
    """A sysfs attribute, stripped; None when it is absent or unreadable.

    The kernel returns an error (EINVAL, ENODATA) when reading some attributes,
    e.g. the type or netdev of an unused GID table entry: that is "no value".
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def natural_key(name: str) -> list[Any]:
    """mlx5_2 before mlx5_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _numbered(text: str | None) -> tuple[int | None, str | None]:
    """'4: ACTIVE' -> (4, 'ACTIVE')."""
    if text is None:
        return None, None
    match = _NUMBERED_RE.match(text)
    if not match:
        return None, text
    return int(match.group(1)), match.group(2)


def parse_rate(text: str | None) -> dict[str, Any]:
    """'400 Gb/sec (4X NDR)' -> {'rate_gbps': 400.0, 'width': '4X', 'speed': 'NDR'}."""
    match = _RATE_RE.match(text or "")
    if not match:
        return {"rate_gbps": None, "width": None, "speed": None}
    gbps, width, speed = match.groups()
    return {
        "rate_gbps": float(gbps),
        "width": f"{width}X" if width else None,
        "speed": speed,
    }


def _netdev_port(net_dir: str, netdev: str) -> int | None:
    """The HCA port a network interface sits on (dev_port is 0-based)."""
    dev_port = _read(os.path.join(net_dir, netdev, "dev_port"))
    if dev_port is None:
        return None
    try:
        return int(dev_port, 0) + 1
    except ValueError:
        return None


def _gids(port_dir: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    names = [n for n in _listdir(os.path.join(port_dir, "gids")) if n.isdigit()]
    for name in sorted(names, key=int):
        gid = _read(os.path.join(port_dir, "gids", name))
        if not gid or gid == _ZERO_GID:
            continue
        entries.append(
            {
                "index": int(name),
                "gid": gid,
                "type": _read(os.path.join(port_dir, "gid_attrs", "types", name)),
                "ndev": _read(os.path.join(port_dir, "gid_attrs", "ndevs", name)) or None,
            }
        )
    return entries


def _port(port_dir: str, number: int, hca_netdevs: dict[str, int | None]) -> dict[str, Any]:
    state_num, state = _numbered(_read(os.path.join(port_dir, "state")))
    phys_num, phys_state = _numbered(_read(os.path.join(port_dir, "phys_state")))
    rate = _read(os.path.join(port_dir, "rate"))
    gids = _gids(port_dir)
    netdevs = [name for name, port in hca_netdevs.items() if port in (None, number)]
    for entry in gids:
        if entry["ndev"] and entry["ndev"] not in netdevs:
            netdevs.append(entry["ndev"])
    return {
        "state": state,
        "state_num": state_num,
        "phys_state": phys_state,
        "phys_state_num": phys_num,
        "rate": rate,
        **parse_rate(rate),
        "link_layer": _read(os.path.join(port_dir, "link_layer")),
        "lid": _read(os.path.join(port_dir, "lid")),
        "sm_lid": _read(os.path.join(port_dir, "sm_lid")),
        "gids": gids,
        "netdevs": netdevs,
    }


def _hca(sysfs_root: str, name: str) -> dict[str, Any]:
    hca_dir = os.path.join(sysfs_root, "class", "infiniband", name)
    # Netdevs of the PCI function (mlx5: ib0 or the Ethernet port), with the
    # port each sits on; a Soft-RoCE device names its netdev in `parent`.
    hca_netdevs: dict[str, int | None] = {}
    net_dir = os.path.join(hca_dir, "device", "net")
    for netdev in sorted(_listdir(net_dir), key=natural_key):
        hca_netdevs[netdev] = _netdev_port(net_dir, netdev)
    parent = _read(os.path.join(hca_dir, "parent"))
    if parent and parent not in hca_netdevs:
        hca_netdevs[parent] = None
    ports: dict[str, Any] = {}
    port_names = [n for n in _listdir(os.path.join(hca_dir, "ports")) if n.isdigit()]
    for port in sorted(port_names, key=int):
        ports[port] = _port(os.path.join(hca_dir, "ports", port), int(port), hca_netdevs)
    netdevs: list[str] = []
    for port_facts in ports.values():
        netdevs.extend(n for n in port_facts["netdevs"] if n not in netdevs)
    _type_num, node_type = _numbered(_read(os.path.join(hca_dir, "node_type")))
    return {
        "node_guid": _read(os.path.join(hca_dir, "node_guid")),
        "sys_image_guid": _read(os.path.join(hca_dir, "sys_image_guid")),
        "node_type": node_type,
        "fw_ver": _read(os.path.join(hca_dir, "fw_ver")),
        "hca_type": _read(os.path.join(hca_dir, "hca_type")),
        "board_id": _read(os.path.join(hca_dir, "board_id")),
        "node_desc": _read(os.path.join(hca_dir, "node_desc")),
        "pci_device": os.path.basename(os.path.realpath(os.path.join(hca_dir, "device")))
        if os.path.exists(os.path.join(hca_dir, "device"))
        else None,
        "ports": ports,
        "netdevs": netdevs,
    }


def collect(sysfs_root: str) -> dict[str, Any]:
    """Everything /sys/class/infiniband says, as one JSON-able dict."""
    class_dir = os.path.join(sysfs_root, "class", "infiniband")
    names = sorted(_listdir(class_dir), key=natural_key)
    hcas = {name: _hca(sysfs_root, name) for name in names}
    active = [
        name
        for name, hca in hcas.items()
        if any(port["state"] == "ACTIVE" for port in hca["ports"].values())
    ]
    layers = sorted(
        {port["link_layer"] for hca in hcas.values() for port in hca["ports"].values()} - {None}
    )
    return {
        "present": bool(hcas),
        "hcas": hcas,
        "hca_names": names,
        "active_hcas": active,
        "link_layers": layers,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={"sysfs_root": {"type": "path", "default": "/sys"}},
        supports_check_mode=True,
    )
    facts = collect(module.params["sysfs_root"])
    module.exit_json(changed=False, ansible_facts={"infiniband": facts})


if __name__ == "__main__":
    main()
