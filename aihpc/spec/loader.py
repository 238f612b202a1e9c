"""Load train.yaml through the layers into a validated `TrainSpec`.

`load_spec` is the one entry point of the spec stage. It never submits
anything; every problem becomes a `SpecError` whose issues carry the file,
line, column and field path of the value at fault.
"""

from __future__ import annotations

import os
from pathlib import Path

from aihpc.errors import SpecError, SpecIssue, UsageError
from aihpc.spec import checks
from aihpc.spec.layers import merge_layers
from aihpc.spec.locate import Locator, sort_issues
from aihpc.spec.model import Checkpoint, Container, TrainSpec
from aihpc.spec.profile import ClusterProfile, find_profile, load_profile, profile_path
from aihpc.spec.records import record
from aihpc.spec.resolve import resolve
from aihpc.spec.typed import Invalid, Model, Problem
from aihpc.spec.yamlsafe import Origin
from aihpc.spec.yamlsafe import Path as YPath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record(frozen=True)
class LoadedSpec:
    """A validated spec plus what the request stage needs to know about it."""

    spec: TrainSpec
    spec_file: Path
    workdir: Path
    template: str | Path  # shipped template name, or the user's template file
    profile: ClusterProfile | None
    origins: dict[YPath, Origin]
    # What was assumed instead of failing (a dry run without a profile), one line each.
    notices: tuple[str, ...] = ()


_SUBMODELS: dict[str, type[Model]] = {"checkpoint": Checkpoint, "container": Container}


def _model_at(path: YPath) -> type[Model] | None:
    if not path:
        return TrainSpec
    if len(path) == 1 and isinstance(path[0], str):
        return _SUBMODELS.get(path[0])
    return None


def _reason(problem: Problem) -> str:
    if problem.type == "missing":
        return "required key is missing"
    message = problem.msg
    if problem.type == "value_error":
        return message  # ours, written as it should read (names keep their case)
    # The type and bound messages ("Input should be ...") read as a clause after "field:".
    return message[0].lower() + message[1:] if message else message


def issues_from_validation(exc: Invalid, locate: Locator) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for problem in exc.problems:
        path = problem.path
        if problem.type == "extra_forbidden":
            model = _model_at(path[:-1])
            known = sorted(model.known_keys()) if model else []
            import difflib  # for a hint only: ~1 ms of every submit otherwise

            guess = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.6)
            hint = f"did you mean '{guess[0]}'?" if guess else ""
            if not hint and known:
                hint = "known keys: " + ", ".join(known)
            issues.append(locate.issue(path, "unknown key", hint, at_key=True))
            continue
        issues.append(locate.issue(path, _reason(problem), at_key=problem.about_key))
    return sort_issues(issues)


def _no_profile_notice(spec: TrainSpec, environ: dict[str, str]) -> str:
    missing = checks.profile_placeholders(spec)
    kept = ", ".join(f"{{{name}}}" for name in missing)
    assumed = f"{kept} left as written, " if missing else ""
    return (
        f"no cluster profile at {profile_path(environ)}: preview only: {assumed}"
        "no partition default and no partition limits checked"
    )


def load_spec(
    spec_file: str | os.PathLike[str],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    environ: dict[str, str] | None = None,
    profile: ClusterProfile | None = None,
    use_profile: bool = True,
    preview: bool = False,
    user: str | None = None,
) -> LoadedSpec:
    """Read, merge, validate and check a spec. Raises SpecError/UsageError/ProfileError.

    `user` (who submits; the caller knows, this layer does not ask the OS):
    the account and QOS are checked against the profile's `policy` for them.

    `preview` (submit --dry-run): without a cluster profile, assume instead of
    failing and say what was assumed in `notices`.
    """
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
    except Invalid as exc:
        raise SpecError(issues_from_validation(exc, locate)) from None
    resolved = resolve(spec, locate)
    issues = checks.run(spec, resolved, locate, profile, preview=preview, user=user)
    if issues:
        raise SpecError(sort_issues(issues))
    update: dict[str, Any] = {}
    if resolved.launcher != spec.launcher:
        update["launcher"] = resolved.launcher
    if spec.partition is None and profile is not None:
        update["partition"] = profile.default_partition
    if update:
        spec = spec.model_copy(update=update)
    notices = (_no_profile_notice(spec, env),) if preview and profile is None else ()
    return LoadedSpec(
        spec=spec,
        spec_file=path,
        workdir=resolved.workdir,
        template=resolved.template,
        profile=profile,
        origins=dict(merged.values),
        notices=notices,
    )


__all__ = [
    "LoadedSpec",
    "Locator",
    "load_profile",
    "load_spec",
    "profile_path",
]
