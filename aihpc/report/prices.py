"""The price table: what a GPU-hour of each type is charged and what it costs.

It lives in the cluster profile (`/etc/aihpc/cluster.yaml`), in one of two
forms the profile model passes through:

- ``gpu_prices: {h100: 100}``: what the slurm role writes from the inventory's
  `slurm_gpu_prices`, the same table that sets each partition's
  TRESBillingWeights (billing units per GPU-hour). A cost per GPU-hour comes
  from an optional ``gpu_costs: {h100: 60}`` in the same units; without it
  the report shows revenue but no cost, margin or break-even.
- ``prices:`` with a currency and both figures per type, which wins when
  present:

      prices:
        currency: EUR
        gpu_types:
          h100: {price_per_gpu_hour: 2.50, cost_per_gpu_hour: 1.10}
      prometheus_url: http://monitor1:9090   # optional, for GPU utilisation

Read here with a small loader of its own (only these two keys), so the
report does not depend on the rest of the profile model.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aihpc.errors import ProfileError

# The same file and override variable as aihpc.spec.profile.
DEFAULT_PROFILE_PATH = "/etc/aihpc/cluster.yaml"
PROFILE_ENV = "AIHPC_CLUSTER_PROFILE"


BILLING_UNITS = "billing units"


@dataclass(frozen=True)
class GpuPrice:
    price: float  # charged per allocated GPU-hour
    cost: float | None  # what one GPU-hour of capacity costs the site, used or not


@dataclass(frozen=True)
class PriceTable:
    currency: str = ""
    gpu_types: dict[str, GpuPrice] = field(default_factory=dict)

    def get(self, gpu_type: str) -> GpuPrice | None:
        return self.gpu_types.get(gpu_type)


@dataclass(frozen=True)
class ReportSettings:
    prices: PriceTable
    prometheus_url: str = ""
    path: str = ""


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileError(f"{where}: must be a number, not {value!r}")
    if value < 0:
        raise ProfileError(f"{where}: must not be negative ({value})")
    return float(value)


def parse_prices(data: Any, path: str) -> PriceTable:
    if data is None:
        return PriceTable()
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: prices must be a mapping")
    currency = data.get("currency", "")
    if not isinstance(currency, str):
        raise ProfileError(f"{path}: prices.currency must be a string")
    types = data.get("gpu_types") or {}
    if not isinstance(types, dict):
        raise ProfileError(f"{path}: prices.gpu_types must be a mapping of GPU type to prices")
    table: dict[str, GpuPrice] = {}
    for name, entry in types.items():
        where = f"{path}: prices.gpu_types.{name}"
        if not isinstance(entry, dict):
            raise ProfileError(f"{where}: must be a mapping")
        unknown = sorted(set(entry) - {"price_per_gpu_hour", "cost_per_gpu_hour"})
        if unknown:
            raise ProfileError(f"{where}: unknown keys {unknown}")
        missing = [k for k in ("price_per_gpu_hour", "cost_per_gpu_hour") if k not in entry]
        if missing:
            raise ProfileError(f"{where}: missing {missing}")
        table[str(name)] = GpuPrice(
            price=_number(entry["price_per_gpu_hour"], f"{where}.price_per_gpu_hour"),
            cost=_number(entry["cost_per_gpu_hour"], f"{where}.cost_per_gpu_hour"),
        )
    return PriceTable(currency, table)


def parse_billing_prices(prices: Any, costs: Any, path: str) -> PriceTable:
    """The slurm role's ``gpu_prices`` (billing units per GPU-hour) and optional ``gpu_costs``."""
    if not isinstance(prices, dict):
        raise ProfileError(f"{path}: gpu_prices must be a mapping of GPU type to a number")
    if costs is not None and not isinstance(costs, dict):
        raise ProfileError(f"{path}: gpu_costs must be a mapping of GPU type to a number")
    costs = costs or {}
    unknown = sorted(set(costs) - set(prices))
    if unknown:
        raise ProfileError(f"{path}: gpu_costs has types without a price in gpu_prices: {unknown}")
    table = {
        str(name): GpuPrice(
            _number(value, f"{path}: gpu_prices.{name}"),
            _number(costs[name], f"{path}: gpu_costs.{name}") if name in costs else None,
        )
        for name, value in prices.items()
    }
    return PriceTable(BILLING_UNITS, table)


def load_settings(environ: dict[str, str] | None = None) -> ReportSettings:
    """Prices and the Prometheus URL; an absent profile means neither."""
    env = os.environ if environ is None else environ
    path = Path(env.get(PROFILE_ENV) or DEFAULT_PROFILE_PATH)
    if not path.exists():
        return ReportSettings(PriceTable())
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"cannot read cluster profile {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: the cluster profile must be a mapping")
    url = data.get("prometheus_url", "") or ""
    if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
        raise ProfileError(f"{path}: prometheus_url must be an http(s) URL, not {url!r}")
    if data.get("prices") is None and data.get("gpu_prices"):
        table = parse_billing_prices(data["gpu_prices"], data.get("gpu_costs"), str(path))
    else:
        table = parse_prices(data.get("prices"), str(path))
    return ReportSettings(table, url, str(path))
