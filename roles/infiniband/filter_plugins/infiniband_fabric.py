"""Filters that turn the fabric variables and the infiniband facts into
/etc/nccl.conf and the cluster profile's network environment.

Pure functions of their arguments (no host access), so the same inputs give
the same files on every run, and they can be unit-tested on recorded facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# RoCE GIDs of IPv4 addresses are IPv4-mapped IPv6 addresses.
_IPV4_MAPPED_PREFIX = "0000:0000:0000:0000:0000:ffff:"
# What NVIDIA documents for ConnectX with a RoCE v2 IPv4 GID: index 3 (after
# the v1/v2 link-local pair and the v1 IPv4 entry).
DEFAULT_GID_INDEX = 3
LINK_LAYERS = ("infiniband", "ethernet")


def _facts_hcas(facts: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (facts or {}).get("hcas") or {}


def _soft_roce(fabric: Mapping[str, Any]) -> Mapping[str, Any]:
    soft = fabric.get("soft_roce") or {}
    return soft if soft.get("enabled") else {}


def fabric_hcas(fabric: Mapping[str, Any], facts: Mapping[str, Any] | None) -> list[str]:
    """The HCAs NCCL may use on this host, in order.

    The host's HCAs are the configured ones, else those the facts found. The
    NCCL list (often one list for the whole fabric) is cut down to the host's
    HCAs, so a node with one HCA gets that one; without an NCCL list, all of
    the host's. With neither, the Soft-RoCE device (a VM without RDMA
    hardware), or nothing.
    """
    nccl = [str(n) for n in fabric.get("nccl_hcas") or []]
    host = [str(n) for n in fabric.get("hcas") or []] or [
        str(n) for n in (facts or {}).get("hca_names") or []
    ]
    if nccl and host:
        return [n for n in nccl if n in host] or nccl
    if nccl or host:
        return nccl or host
    soft = _soft_roce(fabric)
    return [str(soft["name"])] if soft.get("name") else []


def fabric_link_layer(fabric: Mapping[str, Any], facts: Mapping[str, Any] | None) -> str:
    """infiniband or ethernet: as configured, else from the facts of the HCAs.

    Soft-RoCE is always Ethernet. With no facts for the HCAs (a render on the
    control node, a host before its driver loads) the fabric is InfiniBand.
    """
    configured = str(fabric.get("link_layer") or "auto").lower()
    if configured in LINK_LAYERS:
        return configured
    if configured != "auto":
        raise ValueError(f"link_layer must be infiniband, ethernet or auto, not {configured!r}")
    if _soft_roce(fabric):
        return "ethernet"
    hcas = _facts_hcas(facts)
    for name in fabric_hcas(fabric, facts):
        for port in (hcas.get(name) or {}).get("ports", {}).values():
            layer = str(port.get("link_layer") or "").lower()
            if layer in LINK_LAYERS:
                return layer
    return "infiniband"


def _roce_v2_gid_index(names: Iterable[str], facts: Mapping[str, Any] | None) -> int | None:
    """Index of the first RoCE v2 GID of an IPv4 address on these HCAs.

    The GID table is the same on every port of one model and driver, so the
    first HCA that has one decides. Link-local (fe80::) v2 entries are a
    fallback: they route only inside one L2 segment.
    """
    hcas = _facts_hcas(facts)
    fallback: int | None = None
    for name in names:
        for port in (hcas.get(name) or {}).get("ports", {}).values():
            for entry in port.get("gids") or []:
                if entry.get("type") != "RoCE v2":
                    continue
                if str(entry.get("gid", "")).startswith(_IPV4_MAPPED_PREFIX):
                    return int(entry["index"])
                if fallback is None:
                    fallback = int(entry["index"])
    return fallback


def fabric_socket_ifname(fabric: Mapping[str, Any]) -> str:
    """The interface for NCCL's and gloo's bootstrap sockets ('' = let them pick)."""
    if fabric.get("socket_ifname"):
        return str(fabric["socket_ifname"])
    if fabric.get("ipoib_interface"):
        return str(fabric["ipoib_interface"])
    soft = _soft_roce(fabric)
    return str(soft.get("netdev") or "")


def _exact(value: str) -> str:
    """NCCL reads a leading '=' as 'exactly these names'; '^' as 'all but'."""
    return value if value[:1] in ("=", "^") else "=" + value


def infiniband_nccl_env(
    fabric: Mapping[str, Any], facts: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """NCCL settings for /etc/nccl.conf, in the order they are written.

    fabric: nccl_hcas, hcas, link_layer (infiniband|ethernet|auto),
    socket_ifname, ipoib_interface, gid_index (-1 = from the facts),
    gpudirect (bool), gdr_level, soft_roce {enabled, netdev, name}, extra.
    facts: ansible_facts.infiniband from the infiniband_facts module.
    """
    env: dict[str, str] = {}
    hcas = fabric_hcas(fabric, facts)
    if hcas:
        env["NCCL_IB_HCA"] = "=" + ",".join(hcas)
    ifname = fabric_socket_ifname(fabric)
    if ifname:
        env["NCCL_SOCKET_IFNAME"] = _exact(ifname)
    if fabric_link_layer(fabric, facts) == "ethernet" and hcas:
        configured = fabric.get("gid_index")
        index = int(configured) if configured is not None else -1
        if index < 0:
            found = _roce_v2_gid_index(hcas, facts)
            index = DEFAULT_GID_INDEX if found is None else found
        env["NCCL_IB_GID_INDEX"] = str(index)
    if fabric.get("gpudirect") and fabric.get("gdr_level"):
        env["NCCL_NET_GDR_LEVEL"] = str(fabric["gdr_level"])
    for key, value in (fabric.get("extra") or {}).items():
        env[str(key)] = _text(value)
    return env


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def infiniband_profile_env(
    nccl_env: Mapping[str, str], fabric: Mapping[str, Any]
) -> dict[str, str]:
    """network.env for the cluster profile: the NCCL settings a job needs,
    plus GLOO_SOCKET_IFNAME (a plain name: gloo knows no '=' or '^')."""
    env = {k: str(v) for k, v in nccl_env.items()}
    ifname = fabric_socket_ifname(fabric).lstrip("=")
    if ifname and not ifname.startswith("^"):
        env["GLOO_SOCKET_IFNAME"] = ifname.split(",")[0]
    for key, value in (fabric.get("profile_extra") or {}).items():
        env[str(key)] = _text(value)
    return env


def infiniband_nccl_conf_lines(env: Mapping[str, Any]) -> list[str]:
    """NAME=value lines; NCCL splits each line at its first '='."""
    for key, value in env.items():
        text = str(value)
        if not key.replace("_", "").isalnum() or "\n" in text:
            raise ValueError(f"nccl.conf cannot hold {key}={text!r}")
    return [f"{key}={value}" for key, value in env.items()]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "infiniband_nccl_env": infiniband_nccl_env,
            "infiniband_profile_env": infiniband_profile_env,
            "infiniband_nccl_conf_lines": infiniband_nccl_conf_lines,
            "infiniband_fabric_hcas": fabric_hcas,
            "infiniband_fabric_link_layer": fabric_link_layer,
            "infiniband_fabric_socket_ifname": fabric_socket_ifname,
        }
