"""Checks that the model alone cannot make: cross-field rules, the resolved
workdir and template on disk, and the cluster profile (partition, GPUs,
nodes, GPU type, CPUs, memory, time). All run before anything reaches
sbatch. They only report issues; resolving is `aihpc.spec.resolve`.
"""

from __future__ import annotations

from pathlib import Path

from aihpc.errors import SpecIssue
from aihpc.spec import slurmtime, templates
from aihpc.spec.access import Access, check_access
from aihpc.spec.locate import Locator
from aihpc.spec.model import PLACEHOLDER_RE, TrainSpec
from aihpc.spec.profile import ClusterProfile
from aihpc.spec.records import field, record
from aihpc.spec.resolve import Resolved, launcher_set

# Slurm's default MaxArraySize is 1001 (indices 0..1000).
MAX_SWEEP_POINTS = 1001
BUILTIN_PLACEHOLDERS = frozenset({"name", "user", "job_dir"})


def _mem_mb(value: str) -> int:
    units = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
    if value[-1] in units:
        return int(int(value[:-1]) * units[value[-1]])
    return int(value)


def placeholder_fields(spec: TrainSpec) -> list[tuple[tuple[str | int, ...], str, set[str]]]:
    """(path, value, placeholders NOT allowed there) of every field that takes them."""
    fields: list[tuple[tuple[str | int, ...], str, set[str]]] = [
        (("jobs_dir",), spec.jobs_dir, {"job_dir"})
    ]
    if spec.checkpoint is not None:
        fields.append((("checkpoint", "dir"), spec.checkpoint.dir, set()))
    if spec.container is not None:
        for i, mount in enumerate(spec.container.mounts):
            fields.append((("container", "mounts", i), mount, set()))
    return fields


def profile_placeholders(spec: TrainSpec) -> list[str]:
    """Placeholders a profile would have to supply (e.g. {shared}), in order of use."""
    found: list[str] = []
    for _, value, _ in placeholder_fields(spec):
        for name in PLACEHOLDER_RE.findall(value):
            if name not in BUILTIN_PLACEHOLDERS and name not in found:
                found.append(name)
    return found


def _check_placeholders(
    spec: TrainSpec, profile: ClusterProfile | None, locate: Locator
) -> list[SpecIssue]:
    known = set(BUILTIN_PLACEHOLDERS) | set(profile.shared_dirs if profile else ())
    issues = []
    for path, value, excluded in placeholder_fields(spec):
        allowed = known - excluded
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


@record(frozen=True)
class Resources:
    """What one allocation asks of a partition; train.yaml and shell/jupyter alike."""

    partition: str | None
    nodes: int = 1
    gpus_per_node: int = 0
    gpu_type: str | None = None
    cpus_per_task: int | None = None
    procs_per_node: int = 1
    mem: str | None = None
    time: str | None = None
    # The name each resource has where the user wrote it (`gpus` for --gpus).
    fields: dict[str, str] = field(default_factory=dict)

    def path(self, name: str) -> tuple[str]:
        return (self.fields.get(name, name),)

    @classmethod
    def of(cls, spec: TrainSpec) -> Resources:
        return cls(
            partition=spec.partition,
            nodes=spec.nodes,
            gpus_per_node=spec.gpus_per_node,
            gpu_type=spec.gpu_type,
            cpus_per_task=spec.cpus_per_task,
            procs_per_node=spec.processes_per_node,
            mem=spec.mem,
            time=spec.time,
        )


def check_resources(res: Resources, profile: ClusterProfile, locate: Locator) -> list[SpecIssue]:
    """The request against the profile's partition: every limit, with hints."""
    issues: list[SpecIssue] = []
    name = res.partition or profile.default_partition
    part = profile.partitions.get(name)
    if part is None:
        import difflib  # for a hint only: ~1 ms of every submit otherwise

        guess = difflib.get_close_matches(name, list(profile.partitions), n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else ""
        hint = hint or "partitions: " + ", ".join(sorted(profile.partitions))
        return [locate.issue(res.path("partition"), f"partition {name!r} does not exist", hint)]
    where = f"partition {name!r}"
    if res.nodes > part.nodes:
        issues.append(
            locate.issue(
                res.path("nodes"), f"{res.nodes} nodes requested, {where} has {part.nodes}"
            )
        )
    if res.gpus_per_node > part.gpus_per_node:
        issues.append(
            locate.issue(
                res.path("gpus_per_node"),
                f"{res.gpus_per_node} GPUs per node requested, {where} nodes have "
                f"{part.gpus_per_node}",
            )
        )
    if res.gpu_type is not None and res.gpu_type not in part.gpu_types:
        have = ", ".join(part.gpu_types) if part.gpu_types else "no typed GPUs"
        issues.append(
            locate.issue(
                res.path("gpu_type"), f"GPU type {res.gpu_type!r} is not in {where} ({have})"
            )
        )
    if res.cpus_per_task is not None and part.cpus_per_node:
        wanted = res.cpus_per_task * res.procs_per_node
        if wanted > part.cpus_per_node:
            issues.append(
                locate.issue(
                    res.path("cpus_per_task"),
                    f"{res.cpus_per_task} CPUs x {res.procs_per_node} processes = {wanted} "
                    f"CPUs per node, {where} nodes have {part.cpus_per_node}",
                )
            )
    if res.mem is not None and part.mem_per_node_mb and _mem_mb(res.mem) > part.mem_per_node_mb:
        issues.append(
            locate.issue(
                res.path("mem"),
                f"mem {res.mem} is more than {where} nodes have ({part.mem_per_node_mb}M)",
            )
        )
    if res.time is not None:
        try:
            limit = slurmtime.parse_minutes(part.max_time)
        except ValueError:
            limit = None  # a max_time we cannot read is Slurm's business, not ours
        wanted_min = slurmtime.parse_minutes(res.time)
        if limit is not None and (wanted_min is None or wanted_min > limit):
            issues.append(
                locate.issue(
                    res.path("time"), f"time {res.time} exceeds {where} MaxTime {part.max_time}"
                )
            )
    return issues


def _check_template(spec: TrainSpec, resolved: Resolved, locate: Locator) -> list[SpecIssue]:
    if spec.template is None:
        return []
    if isinstance(resolved.template, Path):
        if resolved.template.is_file():
            return []
        return [locate.issue(("template",), f"template file {resolved.template} does not exist")]
    if spec.template not in templates.shipped_names():
        return [
            locate.issue(
                ("template",),
                f"no shipped template named {spec.template!r}",
                "shipped: " + ", ".join(templates.shipped_names()) + "; or give a path",
            )
        ]
    if (
        spec.template in templates.LAUNCHER_TEMPLATES
        and launcher_set(spec)
        and spec.launcher != spec.template
    ):
        return [
            locate.issue(
                ("template",),
                f"template {spec.template!r} conflicts with launcher {spec.launcher!r}",
            )
        ]
    return []


def run(
    spec: TrainSpec,
    resolved: Resolved,
    locate: Locator,
    profile: ClusterProfile | None,
    *,
    preview: bool = False,
    user: str | None = None,
) -> list[SpecIssue]:
    """All checks of a validated, resolved spec. `preview` (dry run without a
    profile) lets profile placeholders such as {shared} stay unexpanded. With
    `user`, the account and QOS are checked against the profile's policy."""
    issues: list[SpecIssue] = []
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

    workdir = resolved.workdir
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

    issues.extend(_check_template(spec, resolved, locate))

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

    if spec.resume_from is not None and spec.sweep:
        issues.append(
            locate.issue(
                ("resume_from",), "resume_from starts one run; it cannot be used with sweep"
            )
        )
    if not (preview and profile is None):
        issues.extend(_check_placeholders(spec, profile, locate))
    if profile is not None:
        issues.extend(check_resources(Resources.of(spec), profile, locate))
        if user is not None:
            partition = spec.partition or profile.default_partition
            wanted = Access(user, partition, spec.account, spec.qos, spec.time)
            issues.extend(check_access(wanted, profile, locate))
    return issues
