"""aihpc cluster: deploy | validate | status | drain | resume (for sysadmins).

deploy and validate run the project's playbooks through ansible-runner
(imported only then); status, drain and resume read and change Slurm node
state through aihpc.slurm (nodes, control). docs/cluster-command.md.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

import click

from aihpc.errors import EXIT_FAILURE, EXIT_OK, UsageError

EPILOG = """\b
Examples:
  aihpc cluster deploy -i inventories/site            # playbooks/site.yml
  aihpc cluster deploy -i inv --playbook slurm.yml --limit gpu07
  aihpc cluster validate -i inventories/site --json
  aihpc cluster status --state drain
  aihpc cluster drain 'gpu[01-04]' --reason "PSU swap" --dry-run
  aihpc cluster resume --state drain --json

Exit codes: 0 ok, 1 a host, check or Slurm failed, 2 usage or validation error.
"""


def _default_project() -> Path:
    import aihpc

    checkout = Path(aihpc.__file__).resolve().parents[1]
    return checkout if (checkout / "playbooks" / "site.yml").is_file() else Path.cwd()


def _run_dir(given: str | None, kind: str) -> Path:
    if given:
        return Path(given)
    import os

    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "aihpc" / "runs" / f"{kind}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"


def _extravars(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-e {pair!r}: expected KEY=VALUE (VALUE may be JSON)")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _playbook_options(func: Any) -> Any:
    options = [
        click.option(
            "-i",
            "--inventory",
            required=True,
            envvar="AIHPC_INVENTORY",
            type=click.Path(path_type=Path),
            help="Inventory (file or directory).",
        ),
        click.option(
            "--project",
            type=click.Path(path_type=Path),
            envvar="AIHPC_PROJECT",
            help="The aihpc checkout holding playbooks/ and roles/.",
        ),
        click.option(
            "--ansible-config",
            "config",
            type=click.Path(path_type=Path),
            envvar="ANSIBLE_CONFIG",
            help="ansible.cfg to run with (default: PROJECT/ansible.cfg).",
        ),
        click.option("--run-dir", help="Where the run's events and results go."),
        click.option("--limit", default="", help="Ansible --limit."),
        click.option("-e", "--extra-var", "extra", multiple=True, help="KEY=VALUE (repeatable)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _book(
    name: str,
    inventory: Path,
    project: Path | None,
    config: Path | None,
    limit: str,
    extra: tuple[str, ...],
    tags: str = "",
) -> Any:
    from aihpc.cluster.runner import Playbook

    root = project or _default_project()
    cfg = config or (root / "ansible.cfg" if (root / "ansible.cfg").is_file() else None)
    return Playbook(root, name, inventory, cfg, limit, tags, _extravars(extra))


def _run(book: Any, run_dir: Path, title: str) -> tuple[int, Any]:
    from aihpc.cluster import runner
    from aihpc.cluster.progress import Progress

    book.check()
    with Progress(title) as view:
        rc, state = runner.run(book, run_dir, view.update)
    return rc, state


@click.group(epilog=EPILOG)
def cluster() -> None:
    """Deploy, validate and operate the cluster (sysadmins)."""


@cluster.command(epilog=EPILOG)
@_playbook_options
@click.option(
    "--playbook",
    "name",
    default="site.yml",
    show_default=True,
    help="Playbook under PROJECT/playbooks/.",
)
@click.option("--tags", default="", help="Ansible --tags.")
@click.option(
    "--fail-fast", is_flag=True, help="Stop all hosts at the first failure (any_errors_fatal)."
)
def deploy(
    inventory: Path,
    project: Path | None,
    config: Path | None,
    run_dir: str | None,
    limit: str,
    extra: tuple[str, ...],
    name: str,
    tags: str,
    fail_fast: bool,
) -> int:
    """Run the playbooks; summarize what failed on which host."""
    book = _book(name, inventory, project, config, limit, extra, tags)
    book.fail_fast = fail_fast
    where = _run_dir(run_dir, "deploy")
    rc, state = _run(book, where, f"deploy {name}")
    click.echo(state.summary_text())
    click.echo(f"run directory: {where}")
    if rc != 0 or state.failed_hosts():
        failed = ", ".join(state.failed_hosts()) or "(see the run directory)"
        click.echo(f"deploy failed on: {failed}", err=True)
        return EXIT_FAILURE
    return EXIT_OK


@cluster.command(epilog=EPILOG)
@_playbook_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate(
    inventory: Path,
    project: Path | None,
    config: Path | None,
    run_dir: str | None,
    limit: str,
    extra: tuple[str, ...],
    as_json: bool,
) -> int:
    """Run playbooks/validate.yml and judge it (table and JSON in the run dir)."""
    from aihpc.cluster import judge

    where = _run_dir(run_dir, "validate").resolve()
    extra = (*extra, f"validate_run_dir={where}", "validate_judge=false")
    # The first and last plays run on the control machine: a --limit must keep it.
    limit = f"{limit},localhost" if limit else ""
    book = _book("validate.yml", inventory, project, config, limit, extra)
    rc, state = _run(book, where, "validate")
    if not (where / judge.MEASUREMENTS).is_file():
        click.echo(state.summary_text(), err=True)
        click.echo(
            f"validate.yml ended before writing measurements (run directory: {where})", err=True
        )
        return EXIT_FAILURE
    try:
        report = judge.judge_run_dir(where)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if as_json:
        click.echo(report.dumps(), nl=False)
    else:
        click.echo(report.fingerprint_table())
        click.echo(report.table(), nl=False)
        click.echo(f"report: {where / judge.REPORT_JSON}")
    if rc != 0:
        click.echo(state.summary_text(), err=True)
    return EXIT_OK if report.ok and rc == 0 else EXIT_FAILURE


def _nodes() -> list[Any]:
    from aihpc.errors import ClusterError
    from aihpc.slurm.nodes import parse_nodes, show_nodes_argv
    from aihpc.slurm.run import QUERY_TIMEOUT, run_command

    done = run_command(show_nodes_argv(), QUERY_TIMEOUT)
    if done.returncode != 0:
        raise ClusterError(
            f"scontrol show nodes failed: {done.stderr.strip() or done.stdout.strip()}"
        )
    try:
        payload = json.loads(done.stdout)
    except ValueError:
        raise ClusterError("scontrol show nodes --json did not return JSON") from None
    return parse_nodes(payload)


def _node_row(node: Any) -> dict[str, Any]:
    from aihpc.cluster.nodeset import read_reason

    record = read_reason(node)
    return {
        "node": node.name,
        "state": node.state_label,
        "flags": list(node.flags),
        "gres": node.gres,
        "reason": record.reason,
        "by": record.by,
        "since": record.when,
    }


@cluster.command(epilog=EPILOG)
@click.argument("nodeset", required=False)
@click.option("--state", help="Only nodes in this state (drain, drained, down, idle, ...).")
@click.option("--json", "as_json", is_flag=True)
def status(nodeset: str | None, state: str | None, as_json: bool) -> int:
    """Node states, and who drained which node and why."""
    from aihpc.cli.output import table
    from aihpc.cluster.nodeset import select

    nodes = _nodes()
    names = set(select(nodes, nodeset, state)) if (nodeset or state) else {n.name for n in nodes}
    rows = [_node_row(n) for n in nodes if n.name in names]
    if as_json:
        click.echo(json.dumps({"nodes": rows}, indent=2, sort_keys=True))
        return EXIT_OK
    headers = ("NODE", "STATE", "GRES", "REASON", "BY", "SINCE")
    click.echo(
        table(
            headers,
            [
                (
                    r["node"],
                    r["state"],
                    r["gres"] or "-",
                    r["reason"] or "-",
                    r["by"] or "-",
                    r["since"] or "-",
                )
                for r in rows
            ],
        )
    )
    return EXIT_OK


def _change(
    action: str,
    nodeset: str | None,
    state: str | None,
    reason: str | None,
    dry_run: bool,
    as_json: bool,
) -> int:
    from aihpc.cluster import nodeset as sel
    from aihpc.slurm import control

    nodes = _nodes()
    names = sel.select(nodes, nodeset, state)
    before = {r["node"]: r for r in (_node_row(n) for n in nodes if n.name in names)}
    if action == "drain":
        who, when = sel.operator(), sel.stamp()
        text = sel.tag_reason(control.check_reason(reason or ""), who, when)
        argv = control.drain_argv(names, text) if names else []
    else:
        who, text = sel.operator(), ""
        argv = control.resume_argv(names) if names else []
    if names and not dry_run:
        (control.drain(names, text) if action == "drain" else control.resume(names))
    result = {
        "action": action,
        "nodes": names,
        "dry_run": dry_run,
        "by": who,
        "reason": text,
        "argv": argv,
        "before": [before[n] for n in names],
    }
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    elif not names:
        click.echo(f"no node matches; nothing to {action}")
    else:
        verb = "would run" if dry_run else ("drained" if action == "drain" else "resumed")
        click.echo(f"{verb}: {shlex.join(argv)}" if dry_run else f"{verb} {','.join(names)}")
        if action == "resume":
            for name in names:
                old = before[name]
                if old["reason"]:
                    click.echo(
                        f"  {name}: was {old['state']}: {old['reason']} "
                        f"(by {old['by'] or '?'} {old['since']})"
                    )
    return EXIT_OK


@cluster.command(epilog=EPILOG)
@click.argument("nodeset", required=False)
@click.option("--state", help="Pick nodes by state instead of (or within) NODESET.")
@click.option("--reason", required=True, help="Why; stored with your name and the time.")
@click.option("--dry-run", is_flag=True, help="Print the scontrol command, change nothing.")
@click.option("--json", "as_json", is_flag=True)
def drain(nodeset: str | None, state: str | None, reason: str, dry_run: bool, as_json: bool) -> int:
    """Drain nodes: running jobs finish, no new ones start."""
    return _change("drain", nodeset, state, reason, dry_run, as_json)


@cluster.command(epilog=EPILOG)
@click.argument("nodeset", required=False)
@click.option("--state", help="Pick nodes by state, e.g. --state drain.")
@click.option("--dry-run", is_flag=True, help="Print the scontrol command, change nothing.")
@click.option("--json", "as_json", is_flag=True)
def resume(nodeset: str | None, state: str | None, dry_run: bool, as_json: bool) -> int:
    """Resume nodes; prints who drained each one and why."""
    return _change("resume", nodeset, state, None, dry_run, as_json)
