"""Jinja2 filter of the common role: the address of every host for /etc/hosts."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any


def _lookup(value: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def common_etc_hosts_addresses(
    hosts: Iterable[str], hostvars: Mapping[str, Any], path: Sequence[str]
) -> dict[str, str]:
    """{host: address} for the hosts whose variable (or fact) at `path` holds an
    IP address; hosts without one are left out (the role then names them).

    path is common_etc_hosts_address_var split at dots: ['ansible_host'] or
    ['ansible_facts', 'default_ipv4', 'address']. A name instead of an
    address (ansible_host: node1.example.org) is refused: /etc/hosts maps
    names to addresses, and writing a name there would need DNS anyway.
    """
    out: dict[str, str] = {}
    for host in hosts:
        if host not in hostvars:
            continue
        value = _lookup(hostvars[host], path)
        if value is None or str(value).strip() == "":
            continue
        try:
            out[host] = str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            continue
    return out


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"common_etc_hosts_addresses": common_etc_hosts_addresses}
