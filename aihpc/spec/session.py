"""The spec of the one-node commands, `aihpc shell` and `aihpc jupyter`.

Their options go through the same value rules as train.yaml (the model's
validators), the same profile checks with the same "did you mean" hints
(`checks.check_resources`), and the same `jobs_dir` (user config and
$AIHPC_JOBS_DIR), so a job directory lands where the user's training jobs do.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from aihpc.errors import SpecError, SpecIssue, UsageError
from aihpc.spec import checks
from aihpc.spec.layers import config_layers
from aihpc.spec.locate import Locator, Origins, sort_issues
from aihpc.spec.model import (
    PLACEHOLDER_RE,
    SLURM_NAME_RE,
    TrainSpec,
    _check_mem,
    _check_time,
    _one_line,
)
from aihpc.spec.profile import ClusterProfile, find_profile
from aihpc.spec.records import record
from aihpc.spec.yamlsafe import Origin

COMMAND_LINE = "<command line>"
# checks.Resources names -> the option the user typed.
OPTION_FIELDS = {"gpus_per_node": "gpus", "cpus_per_task": "cpus"}
DEFAULT_JOBS_DIR = str(TrainSpec.fields()["jobs_dir"].default)
JOBS_DIR_PLACEHOLDERS = frozenset({"name", "user"})


@record(frozen=True)
class SessionSpec:
    """One node, one task: an interactive shell or a JupyterLab job."""

    partition: str  # resolved: the option, else the profile's default
    gpus: int = 0
    cpus: int | None = None
    mem: str | None = None
    time: str | None = None
    setup: tuple[str, ...] = ()
    notebook_dir: str = ""
    jobs_dir: str = DEFAULT_JOBS_DIR


@record(frozen=True)
class LoadedSession:
    spec: SessionSpec
    profile: ClusterProfile | None


def _slurm_name(value: str) -> str:
    _one_line(value)
    if not SLURM_NAME_RE.fullmatch(value):
        raise ValueError(f"must be letters, digits, '.', '_' or '-' (max 64) (got {value!r})")
    return value


def _check(
    issues: list[SpecIssue],
    locate: Locator,
    path: tuple[str | int, ...],
    value: str | None,
    rule: Callable[[str], str],
) -> None:
    if value is None:
        return
    try:
        rule(value)
    except ValueError as exc:
        issues.append(locate.issue(path, str(exc)))


def _jobs_dir(environ: dict[str, str], origins: Origins) -> str:
    merged = config_layers(environ)
    value = merged.data.get("jobs_dir", DEFAULT_JOBS_DIR)
    if ("jobs_dir",) in merged.values:
        origins.values[("jobs_dir",)] = merged.values[("jobs_dir",)]
    if not isinstance(value, str):
        origin = merged.values.get(("jobs_dir",), Origin(COMMAND_LINE))
        raise SpecError(
            SpecIssue(origin.file, origin.line, origin.column, "jobs_dir", "must be a string")
        )
    return value


def load_session(
    *,
    partition: str | None = None,
    gpus: int = 0,
    cpus: int | None = None,
    mem: str | None = None,
    time_limit: str | None = None,
    setup: tuple[str, ...] = (),
    notebook_dir: str = "",
    needs_jobs_dir: bool = False,
    environ: dict[str, str] | None = None,
    profile: ClusterProfile | None = None,
) -> LoadedSession:
    """Check the options of `shell`/`jupyter`; SpecError (exit 2) names each bad one."""
    env = dict(os.environ if environ is None else environ)
    if profile is None:
        profile = find_profile(env)
    origins = Origins()
    locate = Locator(origins, COMMAND_LINE)
    jobs_dir = _jobs_dir(env, origins) if needs_jobs_dir else DEFAULT_JOBS_DIR
    issues: list[SpecIssue] = []
    _check(issues, locate, ("partition",), partition, _slurm_name)
    _check(issues, locate, ("mem",), mem, _check_mem)
    _check(issues, locate, ("time",), time_limit, _check_time)
    for i, line in enumerate(setup):
        _check(issues, locate, ("setup", i), line, _one_line)
    _check(issues, locate, ("notebook_dir",), notebook_dir, _one_line)
    if needs_jobs_dir:
        _check(issues, locate, ("jobs_dir",), jobs_dir, _one_line)
        known = JOBS_DIR_PLACEHOLDERS | set(profile.shared_dirs if profile else ())
        for found in PLACEHOLDER_RE.findall(jobs_dir):
            if found not in known:
                where = "" if profile else " (no cluster profile was found)"
                issues.append(
                    locate.issue(
                        ("jobs_dir",),
                        f"unknown placeholder {{{found}}}{where}",
                        "known: " + ", ".join(f"{{{k}}}" for k in sorted(known)),
                    )
                )
    if issues:
        raise SpecError(sort_issues(issues))
    if profile is None and partition is None:
        raise UsageError("no cluster profile found: give --partition")
    name = partition or (profile.default_partition if profile else "")
    if profile is not None:
        wanted = checks.Resources(
            partition=name,
            gpus_per_node=gpus,
            cpus_per_task=cpus,
            mem=mem,
            time=time_limit,
            fields=OPTION_FIELDS,
        )
        issues = checks.check_resources(wanted, profile, locate)
        if issues:
            raise SpecError(sort_issues(issues))
    spec = SessionSpec(
        partition=name,
        gpus=gpus,
        cpus=cpus,
        mem=mem,
        time=time_limit,
        setup=tuple(setup),
        notebook_dir=notebook_dir,
        jobs_dir=jobs_dir,
    )
    return LoadedSession(spec, profile)
