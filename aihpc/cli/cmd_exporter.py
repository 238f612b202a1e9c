"""aihpc exporter: serve Slurm metrics to Prometheus (see aihpc.exporter)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from aihpc.errors import AihpcError, UsageError
from aihpc.exporter import DEFAULT_COMMAND_TIMEOUT, DEFAULT_INTERVAL, DEFAULT_LISTEN

EPILOG = """\b
Examples:
  aihpc exporter                          # 0.0.0.0:9341, Slurm asked every 30 s
  aihpc exporter --listen 127.0.0.1:9341 --interval 15
  aihpc exporter --once                   # print one scrape and exit
"""


def parse_listen(text: str) -> tuple[str, int]:
    """ADDR:PORT, [IPv6]:PORT or :PORT (all addresses) -> (host, port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--listen {text!r}: expected ADDR:PORT with a port 1-65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UsageError(f"--listen {text!r}: write an IPv6 address in brackets, [::]:9341")
    return host or "0.0.0.0", int(port_text)


def _positive(name: str, value: float, most: float) -> float:
    if not 0 < value <= most:
        raise UsageError(f"{name} {value:g}: must be more than 0 and at most {most:g} seconds")
    return value


@click.command(epilog=EPILOG)
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, help="ADDR:PORT to serve.")
@click.option(
    "--interval",
    type=float,
    default=DEFAULT_INTERVAL,
    show_default=True,
    help="Seconds between Slurm refreshes (one call per command, shared by all scrapes).",
)
@click.option(
    "--command-timeout",
    type=float,
    default=DEFAULT_COMMAND_TIMEOUT,
    show_default=True,
    help="Seconds each Slurm command may take.",
)
@click.option(
    "--squeue",
    "squeue_mode",
    type=click.Choice(["lean", "json"]),
    default="lean",
    show_default=True,
    help="Read jobs from squeue -O text (lean) or squeue --json.",
)
@click.option("--once", is_flag=True, help="Print one scrape to stdout and exit (1 on errors).")
def exporter(
    listen: str, interval: float, command_timeout: float, squeue_mode: str, once: bool
) -> int:
    """Serve Slurm node, GPU, job, scheduler and fair-share metrics on /metrics."""
    host, port = parse_listen(listen)
    _positive("--interval", interval, 3600)
    _positive("--command-timeout", command_timeout, 300)
    from aihpc.exporter.cache import SlurmCache
    from aihpc.exporter.sources import sources
    from aihpc.slurm.run import run_command

    try:
        from aihpc.exporter import server
    except ImportError as exc:
        raise AihpcError(
            f"aihpc exporter needs prometheus-client ({exc}): pip install 'aihpc[exporter]' "
            "or apt install python3-prometheus-client"
        ) from None
    cache = SlurmCache(sources(squeue_mode), run_command, interval, command_timeout)
    if once:
        sys.stdout.write(server.exposition(cache).decode())
        return 0 if all(r.ok for r in cache.get().results.values()) else 1
    try:
        httpd, _ = server.serve(cache, host, port)
    except OSError as exc:
        raise AihpcError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    click.echo(f"aihpc exporter: serving http://{listen}/metrics", err=True)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()
    httpd.shutdown()
    return 0
