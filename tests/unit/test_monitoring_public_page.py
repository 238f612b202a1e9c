"""The public status page the monitoring role publishes: its nginx server, its
service and timer, rendered by playbooks/render/monitoring.yml from the local
inventory (defaults) and with overrides; the unit's command line parsed by the
real `aihpc report` command; and the page `aihpc report --public` writes on an
empty window (a cluster with no accounting yet), checked against the
Content-Security-Policy nginx sends with it.

The files themselves are also golden files (tests/unit/test_monitoring_render.py).
nginx -t, the units under systemd and the headers over HTTP are checked in the
role's Molecule scenario; the page with Slurm behind it, in a real browser, in
tests/cluster/test_public_page.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.cli_helpers import run_cli
from tests.unit.conftest import FIXTURES, REPO
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK, run_render

PLAYBOOK = REPO / "playbooks" / "render" / "monitoring.yml"
ROOT = "/var/www/aihpc-status"
OVERRIDES = {
    "monitoring_public_page_port": 8080,
    "monitoring_public_page_web_root": "/srv/status",
    "monitoring_public_page_since": "7d",
    "monitoring_public_page_on_calendar": "hourly",
    "monitoring_public_page_venv": "/opt/venvs/aihpc",
    "monitoring_public_page_user": "status-page",
    # --since again: the role's own options come after and win.
    "monitoring_public_page_extra_args": ["--partition", "gpu", "--since", "1d"],
}

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    home = tmp_path_factory.mktemp("home")
    out = {}
    for name, extra in (("default", None), ("overrides", json.dumps(OVERRIDES))):
        dest = tmp_path_factory.mktemp(f"render-{name}")
        run_render(PLAYBOOK, "local", home, f"render_dir={dest}", *([extra] if extra else []))
        out[name] = dest / "monitoring"
    return out


def _unit(path: Path) -> dict[str, list[str]]:
    """key -> every value it has (ExecStart= can repeat), sections ignored."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


Directive = tuple[str, ...]
Node = tuple[Directive, list["Node"]]


def _parse(conf: str) -> list[Node]:
    """nginx's syntax as a tree: (words, children) per directive; quotes removed."""
    lexer = shlex.shlex(conf, posix=True, punctuation_chars=";{}")
    lexer.whitespace_split = True
    lexer.escape = ""  # nginx keeps backslashes (regexes)
    lexer.commenters = "#"
    tree: list[Node] = []
    stack = [tree]
    words: list[str] = []
    for token in lexer:
        if token == ";":
            stack[-1].append((tuple(words), []))
            words = []
        elif token == "{":
            children: list[Node] = []
            stack[-1].append((tuple(words), children))
            stack.append(children)
            words = []
        elif token == "}":
            stack.pop()
        else:
            words.append(token)
    return tree


def _blocks(conf: str) -> tuple[list[Directive], dict[str, list[Directive]]]:
    """The server block's own directives, and each location's."""
    [(head, server)] = _parse(conf)
    assert head == ("server",)
    top = [words for words, children in server if not children]
    locations = {
        " ".join(words[1:]): [w for w, _ in children]
        for words, children in server
        if words[0] == "location"
    }
    return top, locations


def _if_blocks(conf: str) -> dict[str, list[Directive]]:
    [(_, server)] = _parse(conf)
    return {" ".join(w[1:]): [c for c, _ in ch] for w, ch in server if w[0] == "if"}


def test_nginx_serves_the_web_root_read_only_with_no_login(rendered: dict[str, Path]) -> None:
    conf = (rendered["default"] / "nginx" / "aihpc-public-page.conf").read_text()
    top, locations = _blocks(conf)
    for directive in (
        ("listen", "80", "default_server"),
        ("root", ROOT),
        ("index", "index.html"),
        ("autoindex", "off"),
        ("server_tokens", "off"),
    ):
        assert directive in top, directive
    # Only GET and HEAD; anything else is refused before a body is read.
    assert _if_blocks(conf) == {"($request_method !~ ^(GET|HEAD)$)": [("return", "405")]}
    assert ("add_header", "Allow", "GET, HEAD", "always") in top
    # Dot files (the page being written, .index.html.tmp) are never served.
    assert locations == {
        "/": [("try_files", "$uri", "$uri/", "=404")],
        r"~ /\.": [("return", "404")],
    }
    # Nothing that asks for or passes on credentials, nothing proxied or executed.
    words = {w[0] for w in top} | {d[0] for ds in locations.values() for d in ds}
    assert not words & {"auth_basic", "auth_request", "proxy_pass", "fastcgi_pass", "dav_methods"}


def _headers(rendered: dict[str, Path]) -> dict[str, str]:
    top, _ = _blocks((rendered["default"] / "nginx" / "aihpc-public-page.conf").read_text())
    return {
        d[1]: d[2] + (" [always]" if d[3:] == ("always",) else "")
        for d in top
        if d[0] == "add_header"
    }


def test_headers(rendered: dict[str, Path]) -> None:
    headers = _headers(rendered)
    assert headers["Cache-Control"] == "public, max-age=60"  # pages only, not errors
    assert headers["X-Content-Type-Options"] == "nosniff [always]"
    assert headers["Referrer-Policy"] == "no-referrer [always]"
    policy = headers["Content-Security-Policy"].removesuffix(" [always]")
    csp = dict(part.split(" ", 1) for part in policy.split("; "))
    assert csp == {
        "default-src": "'none'",
        "style-src": "'unsafe-inline'",
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }


@pytest.fixture
def empty_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Slurm stubs for a cluster with nodes and no accounting yet: no jobs, no events."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nodes = FIXTURES / "slurm" / "scontrol_show_nodes_24.11.json"
    scripts = {
        "sacct": "#!/bin/sh\nexit 0\n",
        "sacctmgr": "#!/bin/sh\nexit 0\n",
        "scontrol": (
            '#!/bin/sh\ncase "$*" in\n'
            f'  "show nodes --json") cat {nodes} ;;\n'
            '  "show reservations --json") echo \'{"reservations": []}\' ;;\n'
            "  *) exit 1 ;;\nesac\n"
        ),
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("AIHPC_CLUSTER_PROFILE", str(tmp_path / "no-profile.yaml"))
    return tmp_path


def _unit_report_args(rendered: dict[str, Path], name: str, output: Path) -> list[str]:
    """The report's argv from the rendered unit, with -o pointed at `output`."""
    command = _unit(rendered[name] / "aihpc-public-page.service")["ExecStart"][0]
    argv = shlex.split(command)
    assert argv[1] == "report"
    return [*argv[1:-1], str(output)]


def test_an_empty_window_still_gives_a_page_the_policy_allows(
    rendered: dict[str, Path], empty_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = empty_cluster / ".index.html.tmp"
    code, _, err = run_cli(_unit_report_args(rendered, "default", page), capsys)
    assert code == 0, err
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    card = r'<div class="card"><b>([^<]*)</b><span>([^<]*)</span>'
    cards = {label: value for value, label in re.findall(card, html)}
    assert cards == {"h100 GPUs": "8", "h100 utilisation": "0.0%", "h100 uptime": "100.00%"}
    assert "No node was down or drained in this window." in html
    # What the policy allows is all the page needs: inline CSS (a <style> element and
    # style= attributes, 'unsafe-inline'), inline SVG; no script, nothing fetched.
    assert "<style" in html and 'style="' in html and "<svg" in html
    assert not re.search(r"<(script|img|link|iframe|object|embed|base|form)\b", html, re.I)
    assert not re.search(r"\son\w+\s*=", html)  # no inline event handlers
    assert not re.search(r"""\b(src|href)\s*=\s*["'](?!#|data:)""", html)
    assert "url(http" not in html and "@import" not in html


def test_the_service_writes_beside_the_page_and_renames(rendered: dict[str, Path]) -> None:
    unit = _unit(rendered["default"] / "aihpc-public-page.service")
    assert unit["Type"] == ["oneshot"]
    assert unit["ExecStart"] == [
        f"/opt/aihpc/bin/aihpc report --public --since 30d --format html -o {ROOT}/.index.html.tmp",
        f"/usr/bin/mv -f {ROOT}/.index.html.tmp {ROOT}/index.html",
    ]
    assert unit["ExecStopPost"] == [f"/usr/bin/rm -f {ROOT}/.index.html.tmp"]
    # Until the aihpc layer installed the CLI a run is skipped, not failed.
    assert unit["ConditionPathExists"] == ["/opt/aihpc/bin/aihpc"]
    assert unit["User"] == unit["Group"] == ["aihpc-public-page"]
    assert unit["UMask"] == ["0022"]  # nginx's user reads the page
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": ROOT,
        "CacheDirectory": "aihpc-public-page",
        "Environment": "MPLCONFIGDIR=/var/cache/aihpc-public-page",
    }.items():
        assert unit[key] == [value], key
    assert "WantedBy" not in unit  # started by its timer only


def test_the_unit_command_is_what_aihpc_report_accepts(rendered: dict[str, Path]) -> None:
    from aihpc.cli.cmd_report import report

    for name, since in (("default", "30d"), ("overrides", "7d")):
        argv = _unit_report_args(rendered, name, Path("/x/.index.html.tmp"))
        params = report.make_context("report", argv[1:]).params
        assert params["public"] is True and params["fmt"] == "html", name
        assert params["since"] == since and params["until"] == "now", name
        assert params["output"] == "/x/.index.html.tmp", name
    assert params["partition"] == "gpu"


def test_the_timer_runs_every_10_minutes_and_catches_up(rendered: dict[str, Path]) -> None:
    timer = _unit(rendered["default"] / "aihpc-public-page.timer")
    assert timer["OnCalendar"] == ["*:0/10"]
    assert timer["Persistent"] == ["true"]
    assert timer["WantedBy"] == ["timers.target"]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not found")
    done = subprocess.run(
        [analyze, "calendar", "*:0/10"], capture_output=True, text=True, check=True
    )
    assert "Normalized form: *-*-* *:00/10:00" in done.stdout


def test_overrides_reach_every_file(rendered: dict[str, Path]) -> None:
    service = _unit(rendered["overrides"] / "aihpc-public-page.service")
    assert service["ExecStart"] == [
        "/opt/venvs/aihpc/bin/aihpc report --partition gpu --since 1d --public --since 7d "
        "--format html -o /srv/status/.index.html.tmp",
        "/usr/bin/mv -f /srv/status/.index.html.tmp /srv/status/index.html",
    ]
    assert service["User"] == ["status-page"]
    assert service["ReadWritePaths"] == ["/srv/status"]
    assert service["ConditionPathExists"] == ["/opt/venvs/aihpc/bin/aihpc"]
    assert _unit(rendered["overrides"] / "aihpc-public-page.timer")["OnCalendar"] == ["hourly"]
    top, _ = _blocks((rendered["overrides"] / "nginx" / "aihpc-public-page.conf").read_text())
    assert ("listen", "8080", "default_server") in top and ("root", "/srv/status") in top
