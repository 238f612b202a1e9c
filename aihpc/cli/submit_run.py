"""What `aihpc submit` does, without click: the click command and the fast
path of aihpc.cli.main both call `submit_job`, so both print the same bytes.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Echo = Callable[..., None]  # echo(text, nl=True, err=False), like click.echo


def plain_echo(message: str = "", nl: bool = True, err: bool = False) -> None:
    """click.echo for plain text: write, newline, flush."""
    stream = sys.stderr if err else sys.stdout
    stream.write(message + ("\n" if nl else ""))
    stream.flush()


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _progress_bar(total: int) -> Callable[[int, int], None]:
    """A rich progress bar for big snapshots on a terminal; rich is imported only here."""
    from rich.progress import Progress

    progress = Progress(transient=True)
    task = progress.add_task("copying code snapshot", total=total)
    progress.start()

    def update(done: int, _total: int) -> None:
        progress.update(task, completed=done)
        if done >= _total:
            progress.stop()

    return update


def _json(echo: Echo, data: Any) -> None:
    echo(json.dumps(data, indent=2, sort_keys=True))


def resume_override(job_id: str | None) -> tuple[str, ...]:
    """`--resume-from ID` as the override `resume_from="ID"` (checked like the spec key)."""
    return () if job_id is None else (f"resume_from={json.dumps(job_id)}",)


def submit_job(
    spec: Path,
    overrides: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    echo: Echo,
    resume_from: str | None = None,
) -> int:
    from aihpc import api

    overrides = (*overrides, *resume_override(resume_from))

    loaded = api.load(spec, overrides, preview=dry_run)
    for notice in loaded.notices:
        echo(f"aihpc: note: {notice}", err=True)
    request = api.plan(loaded)
    snap = request.snapshot
    if dry_run:
        if as_json:
            _json(echo, request.to_json())
            return 0
        echo("# sbatch command (not run: --dry-run)")
        echo(shlex.join(request.sbatch_argv))
        if snap is not None:
            echo(
                f"# code snapshot: {len(snap.files)} files, {_size(snap.total_bytes)} "
                f"({snap.method}) from {snap.source} -> {snap.dest}"
            )
        echo(f"# job script {request.script_path}:")
        echo(request.script, nl=False)
        return 0
    progress = None
    if snap is not None and len(snap.files) > 200 and sys.stderr.isatty() and not as_json:
        progress = _progress_bar(len(snap.files))
    result = api.submit(request, progress=progress)
    if as_json:
        _json(
            echo,
            {
                "job_id": result.job_id,
                "cluster": result.cluster,
                "name": request.name,
                "job_dir": request.job_dir,
                "array_size": len(request.sweep_rows),
                "resume_from": None if request.resume is None else request.resume.job_id,
            },
        )
        return 0
    what = f"array job of {len(request.sweep_rows)} tasks" if request.is_array else "job"
    echo(f"Submitted {what} {result.job_id} ({request.name})")
    echo(f"  job dir: {request.job_dir}")
    if request.resume is not None:
        echo(f"  resumes: job {request.resume.job_id}'s checkpoints ({request.resume.source_dir})")
    follow_id = f"{result.job_id}_0" if request.is_array else result.job_id
    echo(f"  follow:  aihpc logs -f {follow_id}")
    return 0
