"""Resolve what a valid spec points at: its workdir, template and launcher.

Resolving only computes; `aihpc.spec.checks` then judges the result (does
the workdir exist, is the template shipped, ...). Keeping the two apart
means the checks never rewrite the spec and the loader applies the
resolved values in one place.
"""

from __future__ import annotations

from pathlib import Path

from aihpc.spec import templates
from aihpc.spec.locate import Locator
from aihpc.spec.model import TrainSpec
from aihpc.spec.records import record


@record(frozen=True)
class Resolved:
    workdir: Path  # absolute
    template: str | Path  # shipped template name, or the user's template file
    launcher: str  # `template: torchrun` without `launcher:` selects torchrun


def base_dir(locate: Locator, field: str, fallback: Path) -> Path:
    """Relative paths resolve against the file that set them (cwd for -o/$AIHPC_*)."""
    origin = locate.value((field,))
    if origin.is_file and origin.file:
        return Path(origin.file).resolve().parent
    if origin.file.startswith(("<", "$")):
        return Path.cwd()
    return fallback


def launcher_set(spec: TrainSpec) -> bool:
    return "launcher" in spec.model_fields_set


def resolve(spec: TrainSpec, locate: Locator) -> Resolved:
    spec_dir = Path(locate.default.file).resolve().parent
    workdir = (base_dir(locate, "workdir", spec_dir) / spec.workdir).resolve()
    template: str | Path = spec.launcher
    launcher: str = spec.launcher
    if spec.template is not None:
        if templates.looks_like_path(spec.template):
            template = (base_dir(locate, "template", spec_dir) / spec.template).resolve()
        else:
            template = spec.template
            if spec.template in templates.LAUNCHER_TEMPLATES and not launcher_set(spec):
                launcher = spec.template
    return Resolved(workdir=workdir, template=template, launcher=launcher)
