"""Jinja2 rendering where every `{{ value }}` is shell-quoted.

Quoting is not a filter the template author must remember: the
Environment's `finalize` hook runs `shlex.quote` on every expression's
result. The only way out is the explicit `|raw` filter, which the shipped
templates use for `setup` lines alone (a unit test checks that). User
templates get the same Environment, so the same guarantee.

`None` is refused instead of being printed as the word "None": an optional
value must be guarded with `{% if %}` in the template.
"""

from __future__ import annotations

import functools
import shlex
from pathlib import Path
from typing import Any

import jinja2

from aihpc.spec.templates import SUFFIX, template_dir


class Raw(str):
    """A string the renderer passes through unquoted (only `setup` lines)."""


def _raw(value: Any) -> Raw:
    return Raw(str(value))


def _finalize(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        raise jinja2.TemplateError(
            "a template printed None; guard optional values with {% if ... %}"
        )
    if isinstance(value, bool):
        value = "true" if value else "false"
    return shlex.quote(str(value))


@functools.lru_cache(maxsize=8)
def environment(extra_dir: Path | None = None) -> jinja2.Environment:
    """The one Environment: user template dir first, then the shipped templates.

    A user template can therefore `{% extends "_base.sbatch.j2" %}` and
    override one block instead of copying the whole script.
    """
    search = [str(template_dir())]
    if extra_dir is not None:
        search.insert(0, str(extra_dir))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["raw"] = _raw
    return env


def render(template: str | Path, context: dict[str, Any]) -> str:
    """Render a shipped template name or a user template file with `context`."""
    if isinstance(template, Path):
        env = environment(template.parent)
        tmpl = env.get_template(template.name)
    else:
        env = environment()
        tmpl = env.get_template(template + SUFFIX)
    return tmpl.render(**context)
