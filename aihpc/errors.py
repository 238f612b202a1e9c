"""Error types shared by every stage.

Each error knows its CLI exit code, so the CLI maps failures to
0 ok / 1 job or cluster failure / 2 usage or validation without guessing.
Kept free of heavy imports: the CLI imports it on every command.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class AihpcError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = EXIT_FAILURE


class UsageError(AihpcError):
    """Bad command-line usage (malformed -o, missing file, ...)."""

    exit_code = EXIT_USAGE


class ClusterError(AihpcError):
    """Slurm or the cluster failed (sbatch refused, squeue unreachable, ...)."""

    exit_code = EXIT_FAILURE


class ProfileError(AihpcError):
    """The cluster profile is missing a field or has an unknown schema.

    It is written by the slurm role, so this is a cluster problem (exit 1),
    not something the researcher can fix in train.yaml.
    """

    exit_code = EXIT_FAILURE


class JobNotFoundError(ClusterError):
    """Neither squeue nor sacct knows the job id."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec, located in the file that set the value."""

    file: str
    line: int
    column: int
    field: str
    reason: str
    hint: str = ""

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f" {self.field}:" if self.field else ""
        text = f"{where}:{field} {self.reason}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class SpecError(AihpcError):
    """train.yaml (or a layer under it) is invalid; nothing is submitted.

    Carries one or more issues; the first one is exposed as attributes so
    callers can write `err.line`, `err.field`, ... for the common case.
    """

    exit_code = EXIT_USAGE

    def __init__(self, issues: list[SpecIssue] | SpecIssue) -> None:
        self.issues = [issues] if isinstance(issues, SpecIssue) else list(issues)
        if not self.issues:
            raise ValueError("SpecError needs at least one issue")
        super().__init__("\n".join(issue.format() for issue in self.issues))

    @property
    def file(self) -> str:
        return self.issues[0].file

    @property
    def line(self) -> int:
        return self.issues[0].line

    @property
    def column(self) -> int:
        return self.issues[0].column

    @property
    def field(self) -> str:
        return self.issues[0].field

    @property
    def reason(self) -> str:
        return self.issues[0].reason

    @property
    def hint(self) -> str:
        return self.issues[0].hint
