"""Filters that turn the inventory into Prometheus and Alertmanager config.

Scrape targets are never a hand-kept list: every target is a host of an
inventory group, labelled with its inventory name (`node`), which is the
Slurm node name the aihpc exporter's series carry.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError


def _address(host: str, hostvars: Any, address_var: str) -> str:
    if not address_var:
        return host
    try:
        value = hostvars[host][address_var]
    except KeyError:
        raise AnsibleFilterError(
            f"monitoring_target_address_var: host {host} has no variable {address_var!r} "
            "(set it for every monitored host, or leave the variable empty to scrape "
            "by inventory name)"
        ) from None
    return str(value)


def _target(host: str, hostvars: Any, address_var: str, port: Any) -> str:
    address = _address(host, hostvars, address_var)
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"  # IPv6 literal
    return f"{address}:{int(port)}"


def monitoring_addresses(hosts: list[str], hostvars: Any, address_var: str, port: Any) -> list[str]:
    """host:port for each host, in inventory order (the Alertmanager list)."""
    return [_target(h, hostvars, address_var, port) for h in hosts]


def monitoring_scrape_configs(
    jobs: list[dict[str, Any]], hostvars: Any, address_var: str
) -> list[dict[str, Any]]:
    """One scrape config per job; one static_config per host with its `node` label.

    `instance` is set to the inventory name too, so a node reads the same in
    every job (node_exporter's `instance="gpu1"`, not `gpu1:9100`). A job with
    label_node false (the aihpc exporter, whose series carry their own `node`
    label for the Slurm node they describe) gets no `node` target label.
    """
    configs: list[dict[str, Any]] = []
    for job in jobs:
        # Sorted by name: the file does not change when the inventory is reordered.
        hosts = sorted(set(job["hosts"]))
        configs.append(
            {
                "job_name": job["name"],
                "static_configs": [
                    {
                        "targets": [_target(h, hostvars, address_var, job["port"])],
                        "labels": (
                            {"node": h, "instance": h}
                            if job.get("label_node", True)
                            else {"instance": h}
                        ),
                    }
                    for h in hosts
                ],
            }
        )
    return configs


def _require(item: dict[str, Any], kind: str, index: int, keys: list[str]) -> None:
    for key in keys:
        if not item.get(key):
            raise AnsibleFilterError(
                f"monitoring_alertmanager_{kind}_receivers[{index}].{key} is required"
            )


def monitoring_receivers(
    email: list[dict[str, Any]], webhook: list[dict[str, Any]]
) -> dict[str, Any]:
    """Alertmanager receivers and one child route each (continue: every
    receiver whose matchers fit gets the alert)."""
    receivers: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    for index, item in enumerate(email):
        _require(item, "email", index, ["name", "to", "from", "smarthost"])
        config = {
            "to": item["to"],
            "from": item["from"],
            "smarthost": item["smarthost"],
            "require_tls": bool(item.get("require_tls", True)),
            "send_resolved": bool(item.get("send_resolved", True)),
        }
        if item.get("auth_username"):
            config["auth_username"] = item["auth_username"]
        if item.get("auth_password_file"):
            config["auth_password_file"] = item["auth_password_file"]
        receivers.append({"name": item["name"], "email_configs": [config]})
        routes.append(_route(item))
    for index, item in enumerate(webhook):
        _require(item, "webhook", index, ["name", "url"])
        receivers.append(
            {
                "name": item["name"],
                "webhook_configs": [
                    {"url": item["url"], "send_resolved": bool(item.get("send_resolved", True))}
                ],
            }
        )
        routes.append(_route(item))
    names = [r["name"] for r in receivers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes or "aihpc-none" in names:
        raise AnsibleFilterError(
            "monitoring_alertmanager_*_receivers: receiver names must be unique and not "
            f"'aihpc-none' (repeated: {', '.join(dupes) or 'aihpc-none'})"
        )
    return {"receivers": receivers, "routes": routes}


def _route(item: dict[str, Any]) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": item["name"], "continue": True}
    if item.get("matchers"):
        route["matchers"] = list(item["matchers"])
    return route


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "monitoring_addresses": monitoring_addresses,
            "monitoring_scrape_configs": monitoring_scrape_configs,
            "monitoring_receivers": monitoring_receivers,
        }
