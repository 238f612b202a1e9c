"""Load train.yaml through the layers into a validated `TrainSpec`.

`load_spec` is the one entry point of the spec stage. It never submits
anything; every problem becomes a `SpecError` whose issues carry the file,
line, column and field path of the value at fault.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from aihpc.errors import SpecError, SpecIssue, UsageError
from aihpc.request.templates import LAUNCHER_TEMPLATES as LAUNCHERS
from aihpc.spec import checks
from aihpc.spec.layers import Merged, merge_layers
from aihpc.spec.model import Checkpoint, Container, TrainSpec
from aihpc.spec.profile import ClusterProfile, find_profile, load_profile, profile_path
from aihpc.spec.yamlsafe import Origin, format_path
from aihpc.spec.yamlsafe import Path as YPath


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec plus what the request stage needs to know about it."""

    spec: TrainSpec
    spec_file: Path
    workdir: Path
    template: str | Path  # shipped template name, or the user's template file
    profile: ClusterProfile | None
    origins: dict[YPath, Origin]


_SUBMODELS: dict[str, type[BaseModel]] = {"checkpoint": Checkpoint, "container": Container}


def _model_at(path: YPath) -> type[BaseModel] | None:
    if not path:
        return TrainSpec
    if len(path) == 1 and isinstance(path[0], str):
        return _SUBMODELS.get(path[0])
    return None


class Locator:
    """Finds the best origin for a path: exact, else the nearest set ancestor."""

    def __init__(self, merged: Merged, spec_file: Path) -> None:
        self.merged = merged
        self.default = Origin(str(spec_file))

    def value(self, path: YPath) -> Origin:
        for n in range(len(path), 0, -1):
            origin = self.merged.values.get(path[:n]) or self.merged.keys.get(path[:n])
            if origin is not None:
                return origin
        return self.default

    def key(self, path: YPath) -> Origin:
        return self.merged.keys.get(path) or self.value(path)

    def issue(self, path: YPath, reason: str, hint: str = "", at_key: bool = False) -> SpecIssue:
        origin = self.key(path) if at_key else self.value(path)
        return SpecIssue(origin.file, origin.line, origin.column, format_path(path), reason, hint)


def _clean_loc(loc: tuple[Any, ...]) -> tuple[YPath, bool]:
    """Pydantic loc -> our path; the flag says the error is about a mapping key."""
    path: list[str | int] = []
    about_key = False
    for part in loc:
        if part == "[key]":
            about_key = True
            continue
        # union/validator tags such as "function-after[...]" are not user fields
        if isinstance(part, str) and part.startswith(
            ("function-", "constrained-", "nullable[", "list[", "dict[")
        ):
            continue
        path.append(part)
    return tuple(path), about_key


def _reason(error: ErrorDetails) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error["type"] == "missing":
        return "required key is missing"
    return message[0].lower() + message[1:] if message else message


def issues_from_validation(exc: ValidationError, locate: Locator) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for error in exc.errors(include_url=False):
        path, about_key = _clean_loc(tuple(error["loc"]))
        if error["type"] == "extra_forbidden":
            model = _model_at(path[:-1])
            known = sorted(model.model_fields) if model else []
            guess = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.6)
            hint = f"did you mean '{guess[0]}'?" if guess else ""
            if not hint and known:
                hint = "known keys: " + ", ".join(known)
            issues.append(locate.issue(path, "unknown key", hint, at_key=True))
            continue
        issues.append(locate.issue(path, _reason(error), at_key=about_key))
    return sorted(issues, key=lambda i: (i.file, i.line, i.column))


def load_spec(
    spec_file: str | os.PathLike[str],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    environ: dict[str, str] | None = None,
    profile: ClusterProfile | None = None,
    use_profile: bool = True,
) -> LoadedSpec:
    """Read, merge, validate and check a spec. Raises SpecError/UsageError/ProfileError."""
    env = dict(os.environ if environ is None else environ)
    path = Path(spec_file)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if profile is None and use_profile:
        profile = find_profile(env)
    defaults = {"partition": profile.default_partition} if profile else {}
    merged = merge_layers(path, list(overrides), env, defaults, profile.path if profile else "")
    locate = Locator(merged, path)
    try:
        spec = TrainSpec.model_validate(merged.data)
    except ValidationError as exc:
        raise SpecError(issues_from_validation(exc, locate)) from None
    issues, workdir, template = checks.run(spec, locate, profile, merged)
    if issues:
        raise SpecError(sorted(issues, key=lambda i: (i.file, i.line, i.column)))
    if isinstance(template, str) and template != spec.launcher and template in LAUNCHERS:
        # `template: torchrun` without `launcher:` selects the torchrun launcher.
        spec = spec.model_copy(update={"launcher": template})
    if spec.partition is None and profile is not None:
        spec = spec.model_copy(update={"partition": profile.default_partition})
    return LoadedSpec(
        spec=spec,
        spec_file=path,
        workdir=workdir,
        template=template,
        profile=profile,
        origins=dict(merged.values),
    )


__all__ = [
    "LoadedSpec",
    "Locator",
    "load_profile",
    "load_spec",
    "profile_path",
]
