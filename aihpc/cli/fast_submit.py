"""`aihpc submit` without click: the most common command skips ~35 ms of imports.

Only the plain forms are taken here: `submit SPEC [-o K=V | --override K=V |
-oK=V | --override=K=V]... [--dry-run] [--json] [--resume-from ID |
--resume-from=ID]`, in any order. Anything
else (--help, an unknown option, a missing value, a directory as SPEC, two
specs) returns None and goes to click, which prints its usual help or error.
"""

from __future__ import annotations

import os
from pathlib import Path

from aihpc.spec.records import record


@record(frozen=True)
class SubmitArgs:
    spec: Path
    overrides: tuple[str, ...]
    dry_run: bool
    as_json: bool
    resume_from: str | None = None


def parse(args: list[str]) -> SubmitArgs | None:
    """The submit arguments, or None when click should handle them."""
    spec: str | None = None
    overrides: list[str] = []
    resume_from: str | None = None
    flags = {"--dry-run": False, "--json": False}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in flags:
            flags[arg] = True
        elif arg in ("-o", "--override"):
            if i + 1 >= len(args):
                return None
            overrides.append(args[i + 1])
            i += 1
        elif arg == "--resume-from":
            if i + 1 >= len(args) or resume_from is not None:
                return None
            resume_from = args[i + 1]
            i += 1
        elif arg.startswith("--resume-from="):
            if resume_from is not None:
                return None
            resume_from = arg.removeprefix("--resume-from=")
        elif arg.startswith("--override="):
            overrides.append(arg.removeprefix("--override="))
        elif arg.startswith("-o") and len(arg) > 2:
            overrides.append(arg[2:])
        elif arg.startswith("-") or spec is not None:
            return None  # help, an unknown option, `--`, a second argument: click
        else:
            spec = arg
        i += 1
    if not spec or os.path.isdir(spec):
        return None
    return SubmitArgs(
        Path(spec), tuple(overrides), flags["--dry-run"], flags["--json"], resume_from
    )


def run(parsed: SubmitArgs) -> None:
    """Submit as the click command would, with the same failure mapping and exit codes."""
    from aihpc.cli.failures import guarded
    from aihpc.cli.submit_run import plain_echo, submit_job

    guarded(
        lambda: submit_job(
            parsed.spec,
            parsed.overrides,
            parsed.dry_run,
            parsed.as_json,
            plain_echo,
            parsed.resume_from,
        )
    )
