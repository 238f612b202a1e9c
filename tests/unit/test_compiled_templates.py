"""The shipped templates compiled to Python (aihpc/request/compiled_templates.py).

The compiled module must be what `make fix-templates` writes from the .j2
files (like a golden file), and must print what jinja2 prints, byte for
byte, for every kind of job; when it cannot (a printed None, a missing
value) jinja2 renders and raises its usual error.
"""

from __future__ import annotations

import copy
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aihpc.request import compiled_templates, render, tplcompile
from aihpc.request.jupyter import materialize_jupyter
from aihpc.request.materialize import materialize
from aihpc.request.model import SnapshotFiles
from aihpc.spec.model import TrainSpec
from aihpc.spec.profile import load_profile
from aihpc.spec.session import SessionSpec
from tests.unit.conftest import FIXTURES

NOW = datetime(2025, 1, 2, 3, 4, 5)
BASE: dict[str, Any] = {"name": "demo", "script": "train.py", "nodes": 2}
SPECS: dict[str, dict[str, Any]] = {
    "srun-cpu": {"gpus_per_node": 0, "procs_per_node": 2, "args": ["--steps", "60"]},
    "srun-gpu": {"gpus_per_node": 4, "cpus_per_task": 8, "mem": "64G", "time": "1:00:00"},
    "srun-module": {"script": None, "module": "pkg.train", "args": []},
    "torchrun": {"launcher": "torchrun", "gpus_per_node": 4, "cpus_per_task": 4},
    "torchrun-no-cpus": {"launcher": "torchrun", "gpus_per_node": 2},
    "checkpoint": {"checkpoint": {"signal_before": 600, "max_restarts": 0}},
    "sweep": {"sweep": {"lr": ["1e-4", "3e-4"], "seed": ["1"]}, "max_parallel": 1},
    "sweep-checkpoint": {"sweep": {"lr": ["1"]}, "checkpoint": {}},
    "pyxis": {"gpus_per_node": 4, "container": {"image": "nvcr.io#x:1", "mounts": ["/d:/d:ro"]}},
    "pyxis-torchrun": {"launcher": "torchrun", "container": {"image": "img"}},
    "apptainer-gpu": {
        "gpus_per_node": 2,
        "container": {"image": "/i.sif", "runtime": "apptainer", "mounts": ["/a", "/b:/c"]},
    },
    "apptainer-cpu": {"container": {"image": "docker://x", "runtime": "apptainer"}},
    "setup-env-args": {
        "setup": ["source $AIHPC_SUBMIT_DIR/.venv/bin/activate", "echo 'a b' \"$X\""],
        "env": {"A": "it's a $HOME `x`", "B": "", "C": "x,y z"},
        "args": ["a b", "'", "$(touch /tmp/pwned)", "", "--x=1"],
    },
}


def _contexts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(template name, context) that materialize renders, for every kind of job."""
    seen: list[tuple[str, dict[str, Any]]] = []
    real = render.render

    def spy(template: str | Path, context: dict[str, Any]) -> str:
        assert isinstance(template, str)
        seen.append((template, copy.deepcopy(context)))
        return real(template, context)

    monkeypatch.setattr(render, "render", spy)
    profile = load_profile(FIXTURES / "golden-profile.yaml")
    for fields in SPECS.values():
        data = {k: v for k, v in {**BASE, **fields}.items() if v is not None}
        spec = TrainSpec.model_validate(data)
        for with_profile in (profile, None):
            materialize(
                spec,
                with_profile,
                workdir=tmp_path,
                template=spec.launcher,
                user="alice",
                now=NOW,
                token="c0ffee",
                snapshot=SnapshotFiles("git", ("train.py",), 1),
            )
    for setup in ((), ("source ~/lab/bin/activate", "module load x")):
        materialize_jupyter(
            SessionSpec(partition="gpu", gpus=1, setup=setup, notebook_dir="/home/a b"),
            shared_dirs={"shared": "/shared"},
            user="alice",
            now=NOW,
            token="c0ffee",
            login_host="login1",
        )
    return seen


def test_compiled_module_is_up_to_date() -> None:
    """Like a golden file: `make fix-templates` rewrites it after a template change."""
    assert tplcompile.OUTPUT.read_text(encoding="utf-8") == tplcompile.generate(), (
        "aihpc/request/compiled_templates.py is out of date: run `make fix-templates`"
    )


def test_every_shipped_template_is_compiled_and_current() -> None:
    assert sorted(compiled_templates.TEMPLATES) == tplcompile.shipped_roots()
    for name in compiled_templates.TEMPLATES:
        assert render.compiled(name) is not None, name


def test_compiled_prints_what_jinja2_prints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    contexts = _contexts(monkeypatch, tmp_path)
    assert {name for name, _ in contexts} == {"srun", "torchrun", "jupyter"}
    for name, context in contexts:
        function = render.compiled(name)
        assert function is not None
        assert function(context) == render.render_jinja(name, context), name


def test_materialize_renders_without_jinja2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The shipped templates never fall back for a valid job (so jinja2 stays unimported)."""

    def no_jinja(*_args: object) -> str:
        raise AssertionError("rendered with jinja2")

    monkeypatch.setattr(render, "render_jinja", no_jinja)
    assert _contexts(monkeypatch, tmp_path)


def _outcome(function: Any, *args: Any) -> tuple[str, str]:
    try:
        return "ok", function(*args)
    except Exception as exc:
        return type(exc).__name__, str(exc)


LEAVES = st.one_of(
    st.text(max_size=20), st.integers(-5, 5), st.booleans(), st.none(), st.just(["a", "b"])
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(["srun", "torchrun", "jupyter"]),
    path=st.sampled_from(
        [
            ("job", "name"),
            ("job", "cpus_per_task"),
            ("job", "node_cpus_per_task"),
            ("program", "module"),
            ("program", "script"),
            ("checkpoint",),
            ("sweep",),
            ("container",),
            ("setup",),
            ("notebook_dir",),
            ("layout", "exits"),
        ]
    ),
    value=LEAVES,
    drop=st.booleans(),
)
def test_any_context_renders_as_jinja2_renders_it(
    name: str, path: tuple[str, ...], value: Any, drop: bool
) -> None:
    """Whatever the context holds, render() gives jinja2's output or jinja2's error."""
    context = copy.deepcopy(_CONTEXTS[name])
    target = context
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}  # e.g. jupyter has no `program`: make one up
        target = target[key]
    if drop:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    expected = _outcome(render.render_jinja, name, context)
    assert _outcome(render.render, name, context) == expected
    function = render.compiled(name)
    assert function is not None
    compiled = _outcome(function, context)
    if compiled[0] == "ok":  # when it does not decline, it prints jinja2's bytes
        assert compiled == expected


def test_printed_none_and_missing_values_are_jinja2_errors() -> None:
    context = copy.deepcopy(_CONTEXTS["srun"])
    context["job"]["name"] = None
    with pytest.raises(jinja2.TemplateError, match="printed None"):
        render.render("srun", context)
    del context["job"]["name"]
    with pytest.raises(jinja2.UndefinedError, match="name"):
        render.render("srun", context)


def test_an_edited_template_is_rendered_by_jinja2(monkeypatch: pytest.MonkeyPatch) -> None:
    """A .j2 that differs from what was compiled (an edited checkout) is never skipped."""
    render.compiled.cache_clear()
    monkeypatch.setitem(compiled_templates.SOURCES, "_container.sbatch.j2", (0, 0))
    try:
        assert render.compiled("srun") is None and render.compiled("torchrun") is None
        assert render.compiled("jupyter") is not None
        context = _CONTEXTS["srun"]
        assert render.render("srun", context) == render.render_jinja("srun", context)
    finally:
        render.compiled.cache_clear()


def test_the_compiler_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    env = render.environment(tmp_path)
    for source in (
        "{{ x|upper }}",
        "{% set a = 1 %}",
        "{% for a in b %}{{ loop.index }}{% endfor %}",
    ):
        compiler = tplcompile._Compiler()
        with pytest.raises(tplcompile.Unsupported):
            compiler.body(env.parse(source).body, {}, {}, 1)


def _base_contexts() -> dict[str, dict[str, Any]]:
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
        found = _contexts(mp, Path(tmp))
    out: dict[str, dict[str, Any]] = {}
    for name, context in found:
        if context.get("container") or context.get("checkpoint") or context.get("setup"):
            out.setdefault(name, context)  # one with the optional parts, per template
    for name, context in found:
        out.setdefault(name, context)
    return out


_CONTEXTS = _base_contexts()
