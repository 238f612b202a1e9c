"""The public status page on the live local cluster: the monitoring role's
`aihpc-public-page` timer on ctl1 writes `aihpc report --public --format html`
into /var/www/aihpc-status, and nginx serves it there with no login.

The test runs the service itself, reads the page over HTTP from gpu1 (curl,
installed there if absent: a test tool, not part of the roles), then loads it
in a real headless Chromium on ctl1 (the Debian `chromium` package, installed
by the test if absent). The figures the browser shows must equal those of
`aihpc report --public --format json` over the same window: the one printed on
the page (the service's `--since 30d` ending when it ran), given back as
@EPOCH, so the two reports read the same accounting. The page must name no
user, account or job of the window, and the browser must log no
Content-Security-Policy violation (the policy nginx sends must allow the
page). A screenshot lands in build/screenshots/public-page.png.

About 90 s, most of it installing Chromium the first time (the apt cache keeps
it for the next cluster).
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import struct
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.cluster.jobs import LOGIN, as_alice, ok, ssh_on, ssh_root
from tests.clusterlib import ROOT, require_live_cluster

pytestmark = pytest.mark.cluster

require_live_cluster()

UNIT = "aihpc-public-page"
WEB_ROOT = "/var/www/aihpc-status"
# monitoring_public_page_port's default, which inventories/local keeps.
URL = f"http://{LOGIN}/"
CLIENT = "gpu1"  # the page is read from another node, as a visitor would
WINDOW_S = 30 * 86400  # monitoring_public_page_since's default, 30d
SCREENSHOT = ROOT / "build" / "screenshots" / "public-page.png"
# Every user and account the cluster tests use (inventories/local, test_report,
# test_policy), whether or not they ran jobs in the window.
KNOWN_NAMES = {"alice", "bob", "carol", "mallory", "research", "physics", "biology"}
CHROMIUM = (
    "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--hide-scrollbars --no-first-run --disable-background-networking "
    "--user-data-dir=/tmp/aihpc-public-page-chromium "
    "--enable-logging=stderr --v=0"
)


ssh = ssh_on


def ensure_package(host: str, command: str, package: str) -> None:
    """Install a Debian package the test needs (through the containers' apt cache)."""
    ssh(
        host,
        f"command -v {command} >/dev/null || {{ apt-get update -qq && "
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        f"{package} >/dev/null; }}",
        timeout=600,
    )


def now_on_ctl1() -> int:
    return int(ssh_root("date +%s").strip())


def epoch(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def show(unit: str, *properties: str) -> dict[str, str]:
    argv = " ".join(f"-p {p}" for p in properties)
    lines = ssh_root(f"systemctl show {unit} {argv}").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="module")
def triggered() -> int:
    """Run the service now (as the timer would); the time it was started."""
    started = now_on_ctl1()
    ssh_root(f"systemctl start {UNIT}.service", timeout=300)
    state = show(f"{UNIT}.service", "Result", "ConditionResult", "ExecMainStatus")
    assert state == {"Result": "success", "ConditionResult": "yes", "ExecMainStatus": "0"}, state
    return started


@pytest.fixture(scope="module")
def chromium() -> None:
    ensure_package(LOGIN, "chromium", "chromium")


class Page(HTMLParser):
    """What a reader sees: the visible text, the cards, the tables under each heading."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.subtitle = ""
        self.cards: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._hidden = 0
        self._stack: list[tuple[str, str]] = []  # (tag, class)
        self._heading = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._card: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        klass = dict(attrs).get("class") or ""
        self._stack.append((tag, klass))
        if tag in ("style", "script"):
            self._hidden += 1
        elif tag == "h2":
            self._heading = ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "div" and klass == "card":
            self._card = []

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, klass = self._stack.pop()
            if open_tag == tag:
                break
        if tag in ("style", "script"):
            self._hidden -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables.setdefault(self._heading, []).append(self._row)
            self._row = None
        elif tag == "div" and klass == "card" and len(self._card) == 2:
            value, label = self._card
            self.cards[label] = value

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.text.append(data)
        tag, klass = self._stack[-1] if self._stack else ("", "")
        if tag == "h2":
            self._heading += data
        elif tag == "p" and klass == "sub":
            self.subtitle += data
        elif tag in ("b", "span") and any(k == "card" for _, k in self._stack):
            self._card.append(data.strip())
        if self._cell is not None:
            self._cell.append(data)


def percent(text: str) -> float:
    assert text.endswith("%"), text
    return float(text[:-1])


def number(text: str) -> float:
    return float(text.replace(",", ""))


def names_in_window(since: int, until: int) -> set[str]:
    """Every user, account and job name in the window's accounting, as sacct has them."""
    out = ok(
        as_alice(
            "sacct -a -X -n -P --noconvert "
            f"-S $(date -d @{since} +%Y-%m-%dT%H:%M:%S) -E $(date -d @{until} +%Y-%m-%dT%H:%M:%S) "
            "-o User,Account,JobName"
        )
    )
    return {name for line in out.splitlines() for name in line.split("|") if len(name) > 1}


@pytest.mark.usefixtures("triggered")
def test_the_timer_is_enabled_and_active() -> None:
    timer = show(f"{UNIT}.timer", "UnitFileState", "ActiveState", "TimersCalendar", "Persistent")
    assert timer["UnitFileState"] == "enabled" and timer["ActiveState"] == "active", timer
    assert "OnCalendar=*-*-* *:00/10:00 ;" in timer["TimersCalendar"], timer
    assert timer["Persistent"] == "yes"
    # Written by the service's own user, readable by nginx's. Nothing else in the web
    # root (.index.html.tmp exists only while a timer run writes it).
    owner = ssh_root(f"stat -c '%U %a' {WEB_ROOT}/index.html").split()
    assert owner == ["aihpc-public-page", "644"]
    files = set(ssh_root(f"ls -A {WEB_ROOT}").split()) - {".index.html.tmp"}
    assert files == {"index.html"}


@pytest.mark.usefixtures("triggered")
def test_the_page_is_served_to_another_node_without_a_login() -> None:
    ensure_package(CLIENT, "curl", "curl")
    headers = ssh(CLIENT, f"curl -sS -o /tmp/aihpc-public-page.html -D - {URL}")
    status, *lines = headers.strip().splitlines()
    assert status.split()[1] == "200", headers
    got = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    assert got["content-type"] == "text/html; charset=utf-8"
    assert got["x-content-type-options"] == "nosniff"
    assert got["cache-control"] == "public, max-age=60"
    policy = got["content-security-policy"]
    assert policy.startswith("default-src 'none'; style-src 'unsafe-inline'; img-src data:;")
    assert "www-authenticate" not in got
    page = ssh(CLIENT, "cat /tmp/aihpc-public-page.html")
    assert page.startswith("<!DOCTYPE html>") and "<title>GPU cluster status</title>" in page
    # Read-only: a POST is refused, a missing file is missing.
    codes = ssh(
        CLIENT,
        f"curl -sS -o /dev/null -w '%{{http_code}} ' -X POST -d x=1 {URL}; "
        f"curl -sS -o /dev/null -w '%{{http_code}}' {URL}missing.html",
    )
    assert codes.split() == ["405", "404"]


@pytest.mark.usefixtures("chromium")
def test_a_browser_shows_the_figures_of_the_json_report(triggered: int) -> None:
    ssh_root(
        f"{CHROMIUM} --dump-dom {URL} >/tmp/aihpc-public-page.dom 2>/tmp/aihpc-public-page.err",
        timeout=180,
    )
    dom = ssh_root("cat /tmp/aihpc-public-page.dom")
    console = ssh_root("cat /tmp/aihpc-public-page.err")
    assert "Content Security Policy" not in console, console[-3000:]
    page = Page()
    page.feed(dom)

    since_text, until_text = page.subtitle.split(" to ")
    since, until = epoch(since_text), epoch(until_text)
    # The page we started (or a timer run after it), over the role's 30-day window.
    assert triggered - 1 <= until <= now_on_ctl1() and until - since == WINDOW_S
    data: dict[str, Any] = json.loads(
        ok(
            as_alice(
                shlex.join(
                    [
                        *("aihpc", "report", "--public", "--format", "json"),
                        *("--since", f"@{since}", "--until", f"@{until}"),
                    ]
                )
            )
        )
    )
    assert data["window"]["since"] == since_text and data["window"]["until"] == until_text
    types = data["gpu_types"]
    assert types, data
    rows = {row[0]: row for row in page.tables["GPUs in operation"][1:]}
    assert set(rows) == set(types)
    # Within the page's rounding, and a few GPU-seconds slurmdbd may have recorded
    # after the page was written.
    for gpu_type, want in types.items():
        assert page.cards[f"{gpu_type} GPUs"] == str(want["gpus"])
        util, uptime = want["utilisation"] or 0.0, want["uptime"]
        assert percent(page.cards[f"{gpu_type} utilisation"]) == pytest.approx(util * 100, abs=0.06)
        assert percent(page.cards[f"{gpu_type} uptime"]) == pytest.approx(uptime * 100, abs=0.006)
        _, gpus, row_util, row_uptime, down, drained, planned = rows[gpu_type]
        assert int(gpus) == want["gpus"]
        assert percent(row_util) == pytest.approx(util * 100, abs=0.06)
        assert percent(row_uptime) == pytest.approx(uptime * 100, abs=0.006)
        assert number(down) == pytest.approx(want["down_gpu_hours"], abs=0.02)
        assert number(drained) == pytest.approx(want["drained_gpu_hours"], abs=0.02)
        assert number(planned) == pytest.approx(want["planned_down_gpu_hours"], abs=0.02)
    incidents = page.tables.get("Incidents", [])
    assert max(0, len(incidents) - 1) == len(data["incidents"])

    text = " ".join(page.text)
    for name in sorted(KNOWN_NAMES | names_in_window(since, until)):
        assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), name


@pytest.mark.usefixtures("triggered", "chromium")
def test_a_screenshot_of_the_page() -> None:
    ssh_root(
        f"rm -f /tmp/aihpc-public-page.png; {CHROMIUM} --window-size=1280,2000 "
        f"--screenshot=/tmp/aihpc-public-page.png {URL} >/dev/null 2>&1",
        timeout=180,
    )
    png = base64.b64decode(ssh_root("base64 -w0 /tmp/aihpc-public-page.png"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (1280, 2000)
    assert len(png) > 20_000, len(png)  # a page with a plot, not a blank one
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(png)
