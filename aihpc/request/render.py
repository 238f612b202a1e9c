"""Jinja2 rendering where every `{{ value }}` is shell-quoted.

Quoting is not a filter the template author must remember: the
Environment's `finalize` hook runs `shlex.quote` on every expression's
result. The only way out is the explicit `|raw` filter, which the shipped
templates use for `setup` lines alone (a unit test checks that). User
templates get the same Environment, so the same guarantee.

`None` is refused instead of being printed as the word "None": an optional
value must be guarded with `{% if %}` in the template.

The shipped templates are also compiled ahead of time to plain Python
(`aihpc.request.compiled_templates`, written by `aihpc.request.tplcompile`)
with the same quoting (`quote` below), so `aihpc submit` renders them without
importing jinja2 (~35 ms). A compiled function is used only while the .j2
files match what it was compiled from, and whenever it raises, the
template is rendered again with jinja2, which raises the error users always
got. jinja2 is imported only on that path and for user templates.
"""

from __future__ import annotations

import functools
import shlex
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

from aihpc.spec.templates import SUFFIX, template_dir

TYPE_CHECKING = False  # typing and jinja2 for the type checker only (start-up time)
if TYPE_CHECKING:
    from typing import Any

    import jinja2

    Compiled = Callable[[dict[str, Any]], str]

PRINTED_NONE = "a template printed None; guard optional values with {% if ... %}"


class Raw(str):
    """A string the renderer passes through unquoted (only `setup` lines)."""


class NotCompiled(Exception):
    """The compiled template cannot render this context; jinja2 will (or will say why)."""


def raw(value: Any) -> Raw:
    """The `raw` filter."""
    return Raw(str(value))


def join(value: Any, separator: Any = "") -> str:
    """The `join` filter as jinja2 runs it without autoescape."""
    return str(separator).join(map(str, value))


def quote(value: Any) -> str:
    """What every `{{ value }}` prints (jinja2's finalize runs this too)."""
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        raise NotCompiled(PRINTED_NONE)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return shlex.quote(str(value))


def attr(obj: Any, name: str) -> Any:
    """`obj.name` as jinja2 looks it up: the attribute, else the item."""
    try:
        return getattr(obj, name)
    except AttributeError:
        pass
    try:
        return obj[name]
    except (TypeError, LookupError, AttributeError):
        raise NotCompiled(f"{name} is undefined") from None


def _finalize(value: Any) -> str:
    if value is None:
        import jinja2

        raise jinja2.TemplateError(PRINTED_NONE)
    return quote(value)


@functools.lru_cache(maxsize=8)
def environment(extra_dir: Path | None = None) -> jinja2.Environment:
    """The one Environment: user template dir first, then the shipped templates.

    A user template can therefore `{% extends "_base.sbatch.j2" %}` and
    override one block instead of copying the whole script.
    """
    import jinja2

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
    env.filters["raw"] = raw
    return env


@functools.lru_cache(maxsize=8)
def compiled(name: str) -> Compiled | None:
    """The compiled function of a shipped template, if its .j2 files are unchanged."""
    try:
        from aihpc.request.compiled_templates import SOURCES, TEMPLATES
    except ImportError:  # pragma: no cover - a build without the generated module
        return None
    entry = TEMPLATES.get(name)
    if entry is None:
        return None
    function, sources = entry
    directory = template_dir()
    for source in sources:
        try:
            data = (directory / source).read_bytes()
        except OSError:
            return None
        if (len(data), zlib.crc32(data)) != SOURCES.get(source):
            return None  # edited since it was compiled: jinja2 renders the file as it is
    return function


def render_jinja(template: str | Path, context: dict[str, Any]) -> str:
    """Render with jinja2: user templates, and shipped ones the compiled path declined."""
    if isinstance(template, Path):
        env = environment(template.parent)
        tmpl = env.get_template(template.name)
    else:
        env = environment()
        tmpl = env.get_template(template + SUFFIX)
    return tmpl.render(**context)


def render(template: str | Path, context: dict[str, Any]) -> str:
    """Render a shipped template name or a user template file with `context`."""
    if isinstance(template, str):
        function = compiled(template)
        if function is not None:
            try:
                return function(context)
            except Exception:  # jinja2 renders it, or raises the error it always raised
                pass
    return render_jinja(template, context)


def is_template_error(exc: BaseException) -> bool:
    """A jinja2.TemplateError (without importing jinja2 when nothing did)."""
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(exc, jinja2.TemplateError)
