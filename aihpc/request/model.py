"""The request: everything `submit` will do, as plain immutable data.

A JobRequest is produced by `materialize()` without touching the system, so
`aihpc submit --dry-run` prints exactly what a real submit would run.
"""

from __future__ import annotations

from aihpc.spec.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from aihpc.request.resume import ResumePlan


@record(frozen=True)
class SweepRow:
    """One array task: its index, the swept values and the extra argv words."""

    index: int
    params: tuple[tuple[str, str], ...]
    args: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "params": dict(self.params), "args": list(self.args)}


@record(frozen=True)
class SnapshotPlan:
    """Files to copy from `source` to `dest` (relative paths), and how they were chosen."""

    source: str
    dest: str
    method: str  # "git" (tracked files) or "aihpcignore" (walk minus ignore patterns)
    files: tuple[str, ...]
    total_bytes: int


@record(frozen=True)
class SnapshotFiles:
    """The file list chosen by aihpc.snapshot.list_files, before a destination exists."""

    method: str
    files: tuple[str, ...]
    total_bytes: int


@record(frozen=True)
class FileToWrite:
    """A file the submit step writes into the job directory before sbatch."""

    path: str  # absolute
    content: str
    mode: int = 0o644


@record(frozen=True)
class JobRequest:
    name: str
    job_dir: str
    script_path: str
    script: str
    sbatch_argv: tuple[str, ...]
    sweep_rows: tuple[SweepRow, ...]
    snapshot: SnapshotPlan | None
    files: tuple[FileToWrite, ...]
    dirs: tuple[str, ...]  # created before sbatch: Slurm will not create the log dir
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    # resume_from: the earlier job's checkpoints, linked into checkpoint_dir before sbatch.
    resume: ResumePlan | None = None
    checkpoint_dir: str = ""

    @property
    def is_array(self) -> bool:
        return bool(self.sweep_rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "job_dir": self.job_dir,
            "script_path": self.script_path,
            "sbatch_argv": list(self.sbatch_argv),
            "script": self.script,
            "sweep": [row.to_json() for row in self.sweep_rows],
            "snapshot": None
            if self.snapshot is None
            else {
                "source": self.snapshot.source,
                "dest": self.snapshot.dest,
                "method": self.snapshot.method,
                "files": len(self.snapshot.files),
                "bytes": self.snapshot.total_bytes,
            },
            "dirs": list(self.dirs),
            "resume_from": None
            if self.resume is None
            else {
                "job_id": self.resume.job_id,
                "checkpoint_dir": self.resume.source_dir,
                "entries": list(self.resume.entries),
            },
        }
