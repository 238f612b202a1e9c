"""Where the shipped job templates are.

Names only, no jinja2: the spec stage checks `template:` against them and
the request stage renders them. The source of truth is the repository's
`job_templates/`; `aihpc/job_templates` is a symlink to it, and MANIFEST.in
grafts it, so a non-editable `pip install` copies the files into the
installed package and this lookup works the same in a checkout, an
editable install and a wheel.
"""

from __future__ import annotations

from pathlib import Path

SUFFIX = ".sbatch.j2"
LAUNCHER_TEMPLATES = ("srun", "torchrun")
NOT_FOR_TRAINING = ("jupyter",)  # rendered by `aihpc jupyter` with its own context


def template_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "job_templates"


def shipped_names() -> list[str]:
    """Names usable in `template:` (file names without `.sbatch.j2`, no partials)."""
    return sorted(
        p.name[: -len(SUFFIX)]
        for p in template_dir().glob(f"*{SUFFIX}")
        if not p.name.startswith("_") and p.name[: -len(SUFFIX)] not in NOT_FOR_TRAINING
    )


def looks_like_path(value: str) -> bool:
    """`template: mine.j2` or `./t/x` is a user file; `torchrun` is a shipped name."""
    return "/" in value or value.endswith(".j2")
