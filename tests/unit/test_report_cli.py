"""`aihpc report` end to end through the CLI, with Slurm stubs on PATH printing the
fixtures: every format, the public view (no user, account or job names), bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest

from tests.unit.cli_helpers import run_cli
from tests.unit.report_fixtures import PRICED_PROFILE, W0, W1, fake_slurm

WINDOW = ["--since", f"@{W0}", "--until", f"@{W1}"]
NAMES = ("alice", "bob", "carol", "research", "physics", "train-a", "a|b", "sweep")


@pytest.fixture
def slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "calls.log"
    for key, value in fake_slurm(tmp_path / "bin", log).items():
        monkeypatch.setenv(key, value)
    profile = tmp_path / "cluster.yaml"
    profile.write_text(PRICED_PROFILE)
    monkeypatch.setenv("AIHPC_CLUSTER_PROFILE", str(profile))
    return log


def test_json_report(slurm: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["report", *WINDOW, "--format", "json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["gpu_types"]["h100"]["allocated_gpu_hours"] == pytest.approx(24400 / 3600, abs=1e-4)
    assert data["money"]["currency"] == "EUR"
    assert "no prometheus_url" in data["gpu_metrics"]["note"]
    calls = slurm.read_text().splitlines()
    assert sum(line.startswith("sacct ") for line in calls) == 1


@pytest.mark.usefixtures("slurm")
def test_csv_report_is_one_long_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["report", *WINDOW, "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "key", "subkey", "metric", "value"]
    found = {(r[0], r[1], r[3]): r[4] for r in rows[1:]}
    assert float(found[("account", "physics", "gpu_hours")]) == pytest.approx(
        14800 / 3600, abs=1e-4
    )
    assert float(found[("gpu_type", "h100", "down_gpu_hours")]) == pytest.approx(
        8000 / 3600, abs=1e-4
    )
    assert float(found[("money_gpu_type", "h100", "break_even_utilisation")]) == 0.4


@pytest.mark.usefixtures("slurm")
def test_table_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["report", *WINDOW], capsys)
    assert code == 0
    assert "GPU-hours by account" in out and "physics" in out and "4.11" in out
    assert "Money by GPU type (EUR)" in out and "40.0%" in out  # break-even
    assert "no GPU metrics" in out


@pytest.mark.usefixtures("slurm")
def test_html_report_is_self_contained_with_svg_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"
    code, _, err = run_cli(["report", *WINDOW, "--format", "html", "-o", str(target)], capsys)
    assert code == 0, err
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 3  # timeline, accounts, queue wait
    assert not re.search(r"""(src|href)=["'](https?:|//)""", page)  # nothing fetched
    assert "physics" in page and "maint-dec" in page


@pytest.mark.usefixtures("slurm")
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_public_view_names_no_user_account_or_job(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["report", *WINDOW, "--public", "--format", fmt], capsys)
    assert code == 0, err
    for name in NAMES:
        assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", out), (name, fmt)
    assert "gpu2" in out  # incidents keep node names
    assert "[redacted] broke it" in out  # the drain reason named a user
    if fmt == "json":
        view = json.loads(out)
        assert view["kind"] == "aihpc-public"
        assert view["gpu_types"]["h100"]["uptime"] == pytest.approx(
            1 - (8000 + 2400) / 80000, abs=1e-4
        )
        assert "set_by" not in view["incidents"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday'"),
        (["--public", "--account", "physics"], "do not go together"),
        (["--prometheus", "file:///etc/passwd"], "expected an http(s) URL"),
        (["--format", "pdf"], "Invalid value for '--format'"),
    ],
)
def test_bad_input_exits_2_and_calls_nothing(
    args: list[str], message: str, slurm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["report", *args], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not slurm.exists()


@pytest.mark.usefixtures("slurm")
def test_a_bad_price_table_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("schema: 1\nprices: [1, 2]\n")
    monkeypatch.setenv("AIHPC_CLUSTER_PROFILE", str(profile))
    code, _, err = run_cli(["report", *WINDOW], capsys)
    assert code == 1 and f"{profile}: prices must be a mapping" in err


def test_sacct_failure_is_a_cluster_error(
    slurm: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SLURM_TIME_FORMAT", raising=False)
    bin_dir = slurm.parent / "bin"
    (bin_dir / "sacct").write_text("#!/bin/sh\necho 'slurmdbd unreachable' >&2\nexit 1\n")
    code, _, err = run_cli(["report", *WINDOW], capsys)
    assert code == 1 and "sacct failed (exit 1): slurmdbd unreachable" in err


@pytest.mark.usefixtures("slurm")
def test_help_loads_nothing_heavy_and_json_needs_no_plotting() -> None:
    from tests.unit.test_lazy_imports import _imported, _top_level

    for command in ("report", "stats"):
        modules = _top_level(_imported([command, "--help"]))
        assert not modules & {"rich", "yaml", "matplotlib", "pydantic"}, command
    env = {**os.environ}
    modules = _top_level(_imported(["report", *WINDOW, "--format", "json"], env))
    assert "aihpc" in modules and not modules & {"matplotlib", "rich", "pydantic"}
