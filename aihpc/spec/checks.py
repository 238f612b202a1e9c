"""Checks that pydantic alone cannot make: cross-field rules, the workdir on
disk, and the cluster profile (partition, GPUs, nodes, GPU type, CPUs,
memory, time). All run before anything reaches sbatch.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from aihpc.errors import SpecIssue
from aihpc.request import templates
from aihpc.spec import slurmtime
from aihpc.spec.model import PLACEHOLDER_RE, TrainSpec
from aihpc.spec.profile import ClusterProfile

if TYPE_CHECKING:
    from aihpc.spec.layers import Merged
    from aihpc.spec.loader import Locator

# Slurm's default MaxArraySize is 1001 (indices 0..1000).
MAX_SWEEP_POINTS = 1001
BUILTIN_PLACEHOLDERS = frozenset({"name", "user", "job_dir"})


def _base_dir(locate: Locator, field: str, fallback: Path) -> Path:
    """Relative paths resolve against the file that set them (cwd for -o/$AIHPC_*)."""
    origin = locate.value((field,))
    if origin.is_file and origin.file:
        return Path(origin.file).resolve().parent
    if origin.file.startswith(("<", "$")):
        return Path.cwd()
    return fallback


def _mem_mb(value: str) -> int:
    units = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
    if value[-1] in units:
        return int(int(value[:-1]) * units[value[-1]])
    return int(value)


def _check_placeholders(
    spec: TrainSpec, profile: ClusterProfile | None, locate: Locator
) -> list[SpecIssue]:
    known = set(BUILTIN_PLACEHOLDERS) | set(profile.shared_dirs if profile else ())
    issues = []
    fields: list[tuple[tuple[str | int, ...], str, set[str]]] = [
        (("jobs_dir",), spec.jobs_dir, known - {"job_dir"})
    ]
    if spec.checkpoint is not None:
        fields.append((("checkpoint", "dir"), spec.checkpoint.dir, known))
    if spec.container is not None:
        for i, mount in enumerate(spec.container.mounts):
            fields.append((("container", "mounts", i), mount, known))
    for path, value, allowed in fields:
        for found in PLACEHOLDER_RE.findall(value):
            if found not in allowed:
                where = "" if profile else " (no cluster profile was found)"
                issues.append(
                    locate.issue(
                        path,
                        f"unknown placeholder {{{found}}}{where}",
                        "known: " + ", ".join(f"{{{k}}}" for k in sorted(allowed)),
                    )
                )
    return issues


def _check_profile(spec: TrainSpec, profile: ClusterProfile, locate: Locator) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    name = spec.partition or profile.default_partition
    part = profile.partitions.get(name)
    if part is None:
        guess = difflib.get_close_matches(name, list(profile.partitions), n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else ""
        hint = hint or "partitions: " + ", ".join(sorted(profile.partitions))
        return [locate.issue(("partition",), f"partition {name!r} does not exist", hint)]
    where = f"partition {name!r}"
    if spec.nodes > part.nodes:
        issues.append(
            locate.issue(("nodes",), f"{spec.nodes} nodes requested, {where} has {part.nodes}")
        )
    if spec.gpus_per_node > part.gpus_per_node:
        issues.append(
            locate.issue(
                ("gpus_per_node",),
                f"{spec.gpus_per_node} GPUs per node requested, {where} nodes have "
                f"{part.gpus_per_node}",
            )
        )
    if spec.gpu_type is not None and spec.gpu_type not in part.gpu_types:
        have = ", ".join(part.gpu_types) if part.gpu_types else "no typed GPUs"
        issues.append(
            locate.issue(("gpu_type",), f"GPU type {spec.gpu_type!r} is not in {where} ({have})")
        )
    if spec.cpus_per_task is not None and part.cpus_per_node:
        wanted = spec.cpus_per_task * spec.processes_per_node
        if wanted > part.cpus_per_node:
            issues.append(
                locate.issue(
                    ("cpus_per_task",),
                    f"{spec.cpus_per_task} CPUs x {spec.processes_per_node} processes = {wanted} "
                    f"CPUs per node, {where} nodes have {part.cpus_per_node}",
                )
            )
    if spec.mem is not None and part.mem_per_node_mb and _mem_mb(spec.mem) > part.mem_per_node_mb:
        issues.append(
            locate.issue(
                ("mem",),
                f"mem {spec.mem} is more than {where} nodes have ({part.mem_per_node_mb}M)",
            )
        )
    if spec.time is not None:
        try:
            limit = slurmtime.parse_minutes(part.max_time)
        except ValueError:
            limit = None  # a max_time we cannot read is Slurm's business, not ours
        wanted_min = slurmtime.parse_minutes(spec.time)
        if limit is not None and (wanted_min is None or wanted_min > limit):
            issues.append(
                locate.issue(("time",), f"time {spec.time} exceeds {where} MaxTime {part.max_time}")
            )
    return issues


def run(
    spec: TrainSpec, locate: Locator, profile: ClusterProfile | None, merged: Merged
) -> tuple[list[SpecIssue], Path, str | Path]:
    """All checks; returns (issues, resolved workdir, template name or file)."""
    issues: list[SpecIssue] = []
    spec_dir = Path(locate.default.file).resolve().parent

    if (spec.script is None) == (spec.module is None):
        both = spec.script is not None
        issues.append(
            locate.issue(
                ("module",) if both else ("script",),
                "give exactly one of `script` or `module`" + (" (both are set)" if both else ""),
            )
        )
    if spec.gpu_type is not None and spec.gpus_per_node == 0:
        issues.append(locate.issue(("gpu_type",), "gpu_type needs gpus_per_node > 0"))

    workdir = (_base_dir(locate, "workdir", spec_dir) / spec.workdir).resolve()
    if not workdir.is_dir():
        issues.append(locate.issue(("workdir",), f"workdir {workdir} is not a directory"))
    elif spec.script is not None:
        script = (workdir / spec.script).resolve()
        if not script.is_relative_to(workdir):
            issues.append(locate.issue(("script",), f"{spec.script} resolves outside workdir"))
        elif not script.is_file():
            issues.append(
                locate.issue(("script",), f"{spec.script} does not exist in workdir {workdir}")
            )

    template: str | Path = spec.launcher
    if spec.template is not None:
        if templates.looks_like_path(spec.template):
            path = (_base_dir(locate, "template", spec_dir) / spec.template).resolve()
            if not path.is_file():
                issues.append(locate.issue(("template",), f"template file {path} does not exist"))
            template = path
        elif spec.template not in templates.shipped_names():
            issues.append(
                locate.issue(
                    ("template",),
                    f"no shipped template named {spec.template!r}",
                    "shipped: " + ", ".join(templates.shipped_names()) + "; or give a path",
                )
            )
        elif spec.template in templates.LAUNCHER_TEMPLATES:
            # `template: torchrun` picks the torchrun launcher unless launcher says otherwise.
            if "launcher" in spec.model_fields_set and spec.launcher != spec.template:
                issues.append(
                    locate.issue(
                        ("template",),
                        f"template {spec.template!r} conflicts with launcher {spec.launcher!r}",
                    )
                )
            template = spec.template
        else:
            template = spec.template

    if spec.sweep:
        points = 1
        for values in spec.sweep.values():
            points *= len(values)
        if points > MAX_SWEEP_POINTS:
            issues.append(
                locate.issue(
                    ("sweep",), f"{points} sweep points; at most {MAX_SWEEP_POINTS} in one array"
                )
            )

    issues.extend(_check_placeholders(spec, profile, locate))
    if profile is not None:
        issues.extend(_check_profile(spec, profile, locate))
    return issues, workdir, template
