"""Compile the shipped job templates to plain Python, ahead of time (issue 14).

    python -m aihpc.request.tplcompile          # rewrite aihpc/request/compiled_templates.py
    python -m aihpc.request.tplcompile --check  # exit 1 if that file is out of date

Importing jinja2 and compiling `_base.sbatch.j2` cost `aihpc submit` about
35 ms, a quarter of a dry run. The shipped templates use a small part of
Jinja2: `extends`/`block`, `include`, `if`/`elif`/`else`, `for` over a
sequence, `{{ value }}`, attribute access, `==`, and the `raw` and `join`
filters. This module parses them with the renderer's own Environment (so
whitespace control is exactly jinja2's: the text between tags is what
jinja2's lexer produced), resolves inheritance and includes statically,
and writes one function per shipped template that builds the script from
those texts and the same quoting rule (`aihpc.request.render.quote`).
Anything else in a template is refused here, at build time.

At run time `aihpc.request.render` uses a compiled function only when the
.j2 files on disk still have the size and CRC-32 recorded in `SOURCES`, and
renders with jinja2 whenever the compiled function cannot (a printed None,
a missing value, ...), so jinja2 reports every error as before and user
templates never take this path. tests/unit/test_compiled_templates.py holds
the compiled output to jinja2's, byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

from jinja2 import nodes

from aihpc.request import render
from aihpc.spec.templates import SUFFIX, template_dir

OUTPUT = Path(__file__).resolve().with_name("compiled_templates.py")
# The Python side of the two filters the shipped templates use (see render.py).
FILTERS = {"raw": "raw", "join": "join"}

HEADER = '''\
"""The shipped job templates, compiled to Python: generated, do not edit.

Written by `make fix-templates` (python -m aihpc.request.tplcompile) from
job_templates/*.j2; tests/unit/test_compiled_templates.py fails when it is
out of date. aihpc.request.render uses a function here only while the .j2
files match SOURCES, and renders with jinja2 whenever one raises.
"""
# fmt: off
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Callable

from aihpc.request.render import {helpers}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


'''


class Unsupported(Exception):
    """A template uses Jinja2 beyond the compiled subset."""


def _parse(name: str) -> nodes.Template:
    env = render.environment()
    source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    return env.parse(source, name, filename)


def _const(node: nodes.Node, what: str) -> str:
    if not isinstance(node, nodes.Const) or not isinstance(node.value, str):
        raise Unsupported(f"{what} must be a string literal, not {node!r}")
    return node.value


def _blocks(template: nodes.Template) -> dict[str, nodes.Block]:
    return {block.name: block for block in template.find_all(nodes.Block)}


class _Compiler:
    """Emits the Python statements of one shipped template (inheritance resolved)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.text: list[str] = []  # template text not yet written
        self.sources: list[str] = []  # every .j2 file read, in order
        self.helpers: set[str] = set()  # the render.py functions the code calls
        self.loops = 0

    # -- output ------------------------------------------------------------
    def emit(self, line: str, depth: int) -> None:
        self.flush(depth)
        self.lines.append("    " * depth + line)

    def flush(self, depth: int) -> None:
        if not self.text:
            return
        data = "".join(self.text)
        self.text = []
        pad = "    " * depth
        parts = data.splitlines(keepends=True)
        if len(parts) == 1:
            self.lines.append(f"{pad}w({data!r})")
            return
        self.lines.append(f"{pad}w(")
        self.lines += [f"{pad}    {part!r}" for part in parts]
        self.lines.append(f"{pad})")

    # -- templates ---------------------------------------------------------
    def template(self, name: str, overrides: dict[str, nodes.Block], scope: dict[str, str]) -> None:
        """A whole template: its own body, or its parent's with its blocks in."""
        self.sources.append(name)
        tree = _parse(name)
        extends = [n for n in tree.body if isinstance(n, nodes.Extends)]
        if not extends:
            self.body(tree.body, overrides, scope, 1)
            return
        if len(extends) > 1 or len(list(tree.find_all(nodes.Extends))) > 1:
            raise Unsupported(f"{name}: one top-level extends only")
        first = tree.body.index(extends[0])
        # jinja2 writes what comes before `extends`; after it, only blocks count.
        self.body(tree.body[:first], overrides, scope, 1)
        parent = _const(extends[0].template, f"{name}: extends")
        self.template(parent, {**_blocks(tree), **overrides}, scope)

    def body(
        self,
        items: list[nodes.Node],
        overrides: dict[str, nodes.Block],
        scope: dict[str, str],
        depth: int,
    ) -> None:
        for node in items:
            self.node(node, overrides, scope, depth)

    def suite(
        self,
        items: list[nodes.Node],
        overrides: dict[str, nodes.Block],
        scope: dict[str, str],
        depth: int,
    ) -> None:
        """The body of an if/for: `pass` when it writes nothing."""
        before = len(self.lines)
        self.body(items, overrides, scope, depth)
        self.flush(depth)
        if len(self.lines) == before:
            self.lines.append("    " * depth + "pass")

    def node(
        self,
        node: nodes.Node,
        overrides: dict[str, nodes.Block],
        scope: dict[str, str],
        depth: int,
    ) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    self.text.append(child.data)
                else:
                    self.helpers.add("quote")
                    self.emit(f"w(quote({self.expr(child, scope)}))", depth)
        elif isinstance(node, nodes.If):
            self.emit(f"if {self.expr(node.test, scope)}:", depth)
            self.suite(node.body, overrides, scope, depth + 1)
            for elif_ in node.elif_:
                self.emit(f"elif {self.expr(elif_.test, scope)}:", depth)
                self.suite(elif_.body, overrides, scope, depth + 1)
            if node.else_:
                self.emit("else:", depth)
                self.suite(node.else_, overrides, scope, depth + 1)
            self.flush(depth)
        elif isinstance(node, nodes.For):
            if node.else_ or node.test is not None or node.recursive:
                raise Unsupported("for: no else, filter or recursive")
            if not isinstance(node.target, nodes.Name):
                raise Unsupported("for: one loop variable")
            if any(n.name == "loop" for n in node.find_all(nodes.Name)):
                raise Unsupported("for: the `loop` variable")
            self.loops += 1
            var = f"l{self.loops}_{node.target.name}"
            self.emit(f"for {var} in {self.expr(node.iter, scope)}:", depth)
            self.suite(node.body, overrides, {**scope, node.target.name: var}, depth + 1)
            self.flush(depth)
        elif isinstance(node, nodes.Block):
            if scope or node.required:
                raise Unsupported(f"block {node.name}: top level and not required only")
            chosen = overrides.get(node.name, node)
            self.body(chosen.body, overrides, scope, depth)
        elif isinstance(node, nodes.Include):
            if not node.with_context or node.ignore_missing:
                raise Unsupported("include: with context, not ignore missing")
            # An included template sees the includer's variables, not its blocks.
            included = _const(node.template, "include")
            self.sources.append(included)
            self.body(_parse(included).body, {}, scope, depth)
        else:
            raise Unsupported(f"{type(node).__name__} is not in the compiled subset")

    def expr(self, node: nodes.Node, scope: dict[str, str]) -> str:
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            return f"c[{node.name!r}]"
        if isinstance(node, nodes.Getattr):
            self.helpers.add("attr")
            return f"attr({self.expr(node.node, scope)}, {node.attr!r})"
        if isinstance(node, nodes.Const) and isinstance(node.value, str | int):
            return repr(node.value)
        if isinstance(node, nodes.Compare) and len(node.ops) == 1 and node.ops[0].op == "eq":
            return f"{self.expr(node.expr, scope)} == {self.expr(node.ops[0].expr, scope)}"
        if isinstance(node, nodes.Filter) and node.name in FILTERS and node.node is not None:
            if node.kwargs or node.dyn_args or node.dyn_kwargs:
                raise Unsupported(f"filter {node.name}: positional arguments only")
            args = [self.expr(node.node, scope), *(self.expr(a, scope) for a in node.args)]
            self.helpers.add(FILTERS[node.name])
            return f"{FILTERS[node.name]}({', '.join(args)})"
        raise Unsupported(f"expression {node!r} is not in the compiled subset")


def shipped_roots() -> list[str]:
    """Every template a shipped name renders (partials start with `_`)."""
    return sorted(
        p.name[: -len(SUFFIX)] for p in template_dir().glob(f"*{SUFFIX}") if p.name[0] != "_"
    )


def digest(name: str) -> tuple[int, int]:
    """(size, CRC-32) of a template file: what render.py compares before using SOURCES."""
    data = (template_dir() / name).read_bytes()
    return len(data), zlib.crc32(data)


def _functions() -> Iterator[tuple[str, _Compiler]]:
    for root in shipped_roots():
        compiler = _Compiler()
        compiler.template(root + SUFFIX, {}, {})
        compiler.flush(1)
        yield root, compiler


def generate() -> str:
    """The text of compiled_templates.py for the templates as they are on disk."""
    out: list[str] = []
    table: list[str] = []
    all_sources: list[str] = []
    helpers: set[str] = set()
    for root, compiler in _functions():
        lines, sources = compiler.lines, list(dict.fromkeys(compiler.sources))
        helpers |= compiler.helpers
        func = "render_" + root.replace("-", "_")
        out.append(f"def {func}(c: dict[str, Any]) -> str:\n")
        out.append(f'    """{root}{SUFFIX}, with {", ".join(sources[1:]) or "no other file"}."""\n')
        out.append("    o: list[str] = []\n    w = o.append\n")
        out.append("".join(line + "\n" for line in lines))
        out.append('    return "".join(o)\n\n\n')
        table.append(f"    {root!r}: ({func}, {tuple(sources)!r}),\n")
        all_sources += sources
    out.append("# (size, CRC-32) of every .j2 file above, as it was compiled.\n")
    out.append("SOURCES: dict[str, tuple[int, int]] = {\n")
    out += [f"    {name!r}: {digest(name)!r},\n" for name in sorted(set(all_sources))]
    out.append("}\n")
    out.append("# Shipped name -> (function, the .j2 files it was compiled from).\n")
    out.append(
        "TEMPLATES: dict[str, tuple[Callable[[dict[str, Any]], str], tuple[str, ...]]] = {\n"
    )
    out += table
    out.append("}\n")
    return HEADER.replace("{helpers}", ", ".join(sorted(helpers))) + "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = generate()
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if args.check:
        if current != text:
            print(f"{args.output} is out of date: run `make fix-templates`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
