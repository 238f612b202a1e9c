"""`aihpc report` figures against arithmetic done by hand from the fixture rows.

Window [1735700000, 1735710000) = 10000 s; below, times are offsets from
its start. Nodes gpu1, gpu2 with 4 h100 each: capacity 8 x 10000 = 80000
GPU-s. Expected numbers are written out, never computed by the code under
test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from aihpc.errors import ProfileError, UsageError
from aihpc.report.build import Filters
from aihpc.report.collect import collect_report
from aihpc.report.prices import GpuPrice, PriceTable, ReportSettings, load_settings
from aihpc.report.window import Window, make_window
from aihpc.slurm.run import Completed
from tests.unit.report_fixtures import NODES_JSON, REPORT, W0, W1

H = 3600.0
NO_FILTERS = Filters()
PRICES = PriceTable("EUR", {"h100": GpuPrice(price=2.5, cost=1.0)})


class FakeSlurm:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.envs: list[dict[str, str] | None] = []

    def runner(self, argv: list[str], _timeout: float) -> Completed:
        self.calls.append(argv)
        if argv[:3] == ["scontrol", "show", "nodes"]:
            return Completed(0, NODES_JSON.read_text(), "")
        if argv[:3] == ["scontrol", "show", "reservations"]:
            return Completed(0, (REPORT / "scontrol_show_reservations_24.11.json").read_text(), "")
        raise AssertionError(f"unexpected call {argv}")

    @contextmanager
    def streamer(
        self, argv: list[str], _timeout: float, env: dict[str, str] | None
    ) -> Iterator[Iterator[str]]:
        self.calls.append(argv)
        self.envs.append(env)
        name = {"sacct": "sacct_window.txt", "sacctmgr": "sacctmgr_events.txt"}[argv[0]]
        with (REPORT / name).open() as handle:
            yield iter(handle)


def report(
    filters: Filters = NO_FILTERS, prices: PriceTable = PRICES, fake: FakeSlurm | None = None
) -> dict[str, Any]:
    fake = fake or FakeSlurm()
    data, _ = collect_report(
        Window(W0, W1), filters, ReportSettings(prices), runner=fake.runner, streamer=fake.streamer
    )
    return data


def test_one_sacct_call_over_the_window_streamed_with_epoch_times() -> None:
    fake = FakeSlurm()
    report(fake=fake)
    sacct = [c for c in fake.calls if c[0] == "sacct"]
    assert len(sacct) == 1 and len(fake.calls) == 4  # nodes, events, reservations, sacct
    assert all(env and env["SLURM_TIME_FORMAT"] == "%s" for env in fake.envs)


def test_gpu_hours_by_account_and_user() -> None:
    data = report()
    # research: 101 2 GPUs x 3600 s + 104 4 x 600 (running, to the window's end) + 105 no GPU
    # physics: 102 4 x 1800 (clipped at the start) + 103_0 1 x 1000 + 103_1 1 x 1000 + 107 4 x 1400
    accounts = {a["account"]: a for a in data["accounts"]}
    assert accounts["research"]["gpu_hours"] == pytest.approx((7200 + 2400) / H, abs=1e-4)
    assert accounts["research"]["jobs"] == 3  # the pending 106 is not counted
    assert accounts["physics"]["gpu_hours"] == pytest.approx(14800 / H, abs=1e-4)
    assert accounts["physics"]["jobs"] == 4
    users = {(u["user"], u["account"]): u["gpu_hours"] for u in data["users"]}
    assert users == pytest.approx(
        {
            ("alice", "research"): 9600 / H,
            ("bob", "physics"): 14800 / H,
            ("carol", "research"): 0.0,
        },
        abs=1e-4,
    )
    assert [a["account"] for a in data["accounts"]] == ["physics", "research"]  # most first


def test_capacity_allocated_and_lost_time() -> None:
    row = report()["gpu_types"]["h100"]
    assert row["gpus"] == 8
    assert row["capacity_gpu_hours"] == pytest.approx(80000 / H, abs=1e-4)
    assert row["allocated_gpu_hours"] == pytest.approx(24400 / H, abs=1e-4)
    # gpu1 down from 8000 s to the end (event still open): 4 x 2000; the MAINT
    # reservation over it (9000-9500) counts as down, which wins.
    assert row["down_gpu_hours"] == pytest.approx(8000 / H, abs=1e-4)
    # gpu2 drained 5000-6000 (4 x 1000) while job 107 still held its 4 GPUs
    # until 5400: 4 x 400 of that is allocated, not lost.
    assert row["drained_gpu_hours"] == pytest.approx(2400 / H, abs=1e-4)
    # MAINT on gpu2 9000-9500 (4 x 500) minus running 104 from 9400 (4 x 100)
    assert row["planned_down_gpu_hours"] == pytest.approx(1600 / H, abs=1e-4)
    # reservation "demo" on gpu2 6000-7000, no job there: 4 x 1000
    assert row["reserved_gpu_hours"] == pytest.approx(4000 / H, abs=1e-4)
    # the rest: 80000 - 24400 - 8000 - 2400 - 1600 - 4000
    assert row["idle_gpu_hours"] == pytest.approx(39600 / H, abs=1e-4)
    assert row["utilisation"] == pytest.approx(24400 / 80000, abs=1e-4)
    assert row["available_utilisation"] == pytest.approx(24400 / (80000 - 12000), abs=1e-4)


def test_partition_rows_match_their_nodes() -> None:
    data = report()
    part = data["partitions"]["gpu"]
    assert part["gpus"] == 8 and part["jobs"] == 7
    assert part["allocated_gpu_hours"] == pytest.approx(24400 / H, abs=1e-4)
    assert part["gpu_types"]["h100"]["down_gpu_hours"] == pytest.approx(8000 / H, abs=1e-4)


def test_queue_wait_percentiles() -> None:
    wait = report()["queue_wait"]["gpu"]
    # started in the window: 101 60 s, 103_0 0, 103_1 500, 104 100, 105 10, 107 100
    # sorted 0 10 60 100 100 500: nearest rank p50 = 3rd, p90 = 6th
    assert wait["jobs"] == 6
    assert (wait["p50_s"], wait["p90_s"], wait["max_s"]) == (60, 500, 500)
    assert wait["mean_s"] == pytest.approx(770 / 6, abs=0.1)


def test_money_per_type_and_account() -> None:
    money = report()["money"]
    h100 = money["gpu_types"]["h100"]
    assert h100["revenue"] == pytest.approx(round(24400 / H * 2.5, 2))  # 16.94
    assert h100["cost"] == pytest.approx(round(80000 / H * 1.0, 2))  # 22.22: capacity at cost
    assert h100["margin"] == pytest.approx(-5.28, abs=0.006)
    assert h100["break_even_utilisation"] == 0.4  # cost / price
    accounts = {a["account"]: a for a in money["accounts"]}
    assert accounts["research"]["revenue"] == pytest.approx(6.67, abs=0.006)
    assert accounts["research"]["cost"] == pytest.approx(2.67, abs=0.006)
    assert accounts["physics"]["margin"] == pytest.approx(14800 / H * 1.5, abs=0.006)
    unpriced = report(prices=PriceTable("EUR", {"a100": GpuPrice(1, 1)}))["money"]
    assert unpriced["gpu_types"]["h100"] == {"priced": False}
    assert report(prices=PriceTable())["money"] is None


def test_top_jobs_and_states() -> None:
    data = report()
    top = data["top_jobs"]
    assert {j["job_id"] for j in top[:2]} == {"101", "102"}  # 7200 GPU-s each
    assert top[2]["job_id"] == "107" and top[2]["name"] == "a|b"
    assert top[2]["gpu_hours"] == pytest.approx(5600 / H, abs=1e-4)
    assert data["jobs"]["by_state"] == {"CANCELLED": 1, "COMPLETED": 4, "FAILED": 1, "RUNNING": 1}


def test_incidents_and_maintenance() -> None:
    data = report()
    incidents = [(i["node"], i["kind"], i["duration_s"], i["open"]) for i in data["incidents"]]
    assert incidents == [("gpu2", "drained", 1000, False), ("gpu1", "down", 2000, True)]
    assert [m["name"] for m in data["maintenance"]] == ["maint-dec"]


def test_timeline_bins_add_up_to_the_allocation() -> None:
    timeline = report()["timeline"]
    assert timeline["step_s"] == 300  # 10000 s in at most 120 round bins
    series = timeline["gpu_types"]["h100"]
    widths = [300] * 33 + [100]  # 34 bins, the last one 100 s wide
    assert len(series["allocated_gpus"]) == 34
    total = sum(a * w for a, w in zip(series["allocated_gpus"], widths, strict=True))
    assert total == pytest.approx(24400, rel=1e-3)
    # the last bin (9900-10000): gpu1 down (4) and nothing else unavailable; 104 holds 4
    assert series["unavailable_gpus"][-1] == 4 and series["allocated_gpus"][-1] == 4


def test_filters_pass_to_sacct() -> None:
    fake = FakeSlurm()
    report(Filters(partition="gpu", account="research"), fake=fake)
    [sacct] = [c for c in fake.calls if c[0] == "sacct"]
    assert sacct[-4:] == ["-r", "gpu", "-A", "research"]


def test_window_parsing() -> None:
    now = 1735710000.0
    assert make_window("1d", "now", now) == Window(int(now) - 86400, int(now))
    assert make_window("@100", "now-1h", now).end == int(now) - 3600
    future = make_window("@100", "@9999999999", now)
    assert future.end == int(now)  # the future holds no accounting
    with pytest.raises(UsageError, match="--since 'yesterday'"):
        make_window("yesterday", "now", now)
    with pytest.raises(UsageError, match="not before"):
        make_window("now", "1d", now)


def test_price_table_from_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(
        "schema: 1\nprometheus_url: http://127.0.0.1:9090\nprices:\n  currency: EUR\n"
        "  gpu_types:\n    h100: {price_per_gpu_hour: 2.5, cost_per_gpu_hour: 1.1}\n"
    )
    settings = load_settings({"AIHPC_CLUSTER_PROFILE": str(path)})
    assert settings.prices.get("h100") == GpuPrice(2.5, 1.1)
    assert settings.prometheus_url == "http://127.0.0.1:9090"
    path.write_text(
        "schema: 1\nprices:\n  gpu_types:\n"
        "    h100: {price_per_gpu_hour: -1, cost_per_gpu_hour: 1}\n"
    )
    with pytest.raises(
        ProfileError, match=r"prices.gpu_types.h100.price_per_gpu_hour: must not be negative"
    ):
        load_settings({"AIHPC_CLUSTER_PROFILE": str(path)})
    path.write_text("schema: 1\nprices:\n  gpu_types:\n    h100: {price_per_gpu_hour: 1}\n")
    with pytest.raises(ProfileError, match=r"missing \['cost_per_gpu_hour'\]"):
        load_settings({"AIHPC_CLUSTER_PROFILE": str(path)})
    assert (
        load_settings({"AIHPC_CLUSTER_PROFILE": str(tmp_path / "none.yaml")}).prices.gpu_types == {}
    )


def test_the_slurm_roles_billing_table(tmp_path: Path) -> None:
    """`gpu_prices` as the slurm role writes it (billing units per GPU-hour, the
    TRESBillingWeights table), with and without `gpu_costs`."""
    path = tmp_path / "cluster.yaml"
    path.write_text("schema: 1\ngpu_prices:\n  h100: 100\n")
    table = load_settings({"AIHPC_CLUSTER_PROFILE": str(path)}).prices
    assert table.currency == "billing units" and table.get("h100") == GpuPrice(100.0, None)
    money = report(prices=table)["money"]
    assert money["gpu_types"]["h100"]["revenue"] == pytest.approx(round(24400 / H * 100, 2))
    assert money["gpu_types"]["h100"]["cost"] is None
    assert money["gpu_types"]["h100"]["break_even_utilisation"] is None
    assert money["total"]["margin"] is None
    path.write_text("schema: 1\ngpu_prices: {h100: 100}\ngpu_costs: {h100: 40}\n")
    money = report(prices=load_settings({"AIHPC_CLUSTER_PROFILE": str(path)}).prices)["money"]
    assert money["gpu_types"]["h100"]["cost"] == pytest.approx(round(80000 / H * 40, 2))
    assert money["gpu_types"]["h100"]["break_even_utilisation"] == 0.4
    path.write_text("schema: 1\ngpu_prices: {h100: 100}\ngpu_costs: {a100: 40}\n")
    with pytest.raises(ProfileError, match=r"gpu_costs has types without a price.*a100"):
        load_settings({"AIHPC_CLUSTER_PROFILE": str(path)})
