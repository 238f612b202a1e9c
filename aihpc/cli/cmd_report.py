"""aihpc report: GPU utilisation against capacity, GPU-hours, queue wait and money."""

from __future__ import annotations

import sys

import click

from aihpc.errors import UsageError

EPILOG = """\b
Examples:
  aihpc report --since 30d
  aihpc report --since 2026-11-01 --until 2026-12-01 --format html -o nov.html
  aihpc report --account research --format csv
  aihpc report --public --format html -o /var/www/status/index.html
"""
FORMATS = ("table", "json", "csv", "html")


@click.command(epilog=EPILOG)
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="Start: 2026-11-01, 2026-11-01T08:00, @EPOCH or 7d/12h back.",
)
@click.option(
    "--until", default="now", show_default=True, help="End (same forms); never after now."
)
@click.option("--partition", default="", help="Only this partition's nodes and jobs.")
@click.option(
    "--account", default="", help="Only this account's jobs (capacity stays the partition's)."
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of stdout.",
)
@click.option(
    "--public", is_flag=True, help="Aggregates only: no user, account or job names (a status page)."
)
@click.option(
    "--top", default=10, show_default=True, type=click.IntRange(0, 1000), help="How many top jobs."
)
@click.option(
    "--idle-threshold",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="GPU utilisation percent below which an allocated GPU counts as idle.",
)
@click.option(
    "--prometheus",
    default=None,
    metavar="URL",
    help="Prometheus with dcgm-exporter data (default: the profile's prometheus_url).",
)
def report(
    since: str,
    until: str,
    partition: str,
    account: str,
    fmt: str,
    output: str | None,
    public: bool,
    top: int,
    idle_threshold: float,
    prometheus: str | None,
) -> int:
    """Utilisation, GPU-hours, queue wait and money over a window, from one streamed sacct read."""
    if public and account:
        raise UsageError(
            "--public and --account do not go together: the public view names no account"
        )
    if prometheus is not None and not prometheus.startswith(("http://", "https://")):
        raise UsageError(f"--prometheus {prometheus!r}: expected an http(s) URL")
    from dataclasses import replace

    from aihpc.report.build import Filters
    from aihpc.report.collect import collect_report
    from aihpc.report.prices import load_settings
    from aihpc.report.public import public_view
    from aihpc.report.window import make_window

    window = make_window(since, until)
    settings = load_settings()
    if prometheus is not None:
        settings = replace(settings, prometheus_url=prometheus)
    data, names = collect_report(
        window,
        Filters(partition, account),
        settings,
        top_n=0 if public else top,
        idle_threshold=idle_threshold,
    )
    if public:
        data = public_view(data, names)
    text = render(data, fmt, public)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return 0


def render(data: dict[str, object], fmt: str, public: bool) -> str:
    if fmt == "json":
        import json

        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    if fmt == "csv":
        from aihpc.report.render_csv import render_csv

        return render_csv(data)
    if fmt == "html":
        from aihpc.report.render_html import render_html, render_public_html

        return render_public_html(data) if public else render_html(data)
    import io

    from rich.console import Console

    from aihpc.report.render_table import render_public_table, render_table

    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=sys.stdout.isatty())
    (render_public_table if public else render_table)(data, console)
    return buffer.getvalue()
