"""Every bool argument a role tests goes through `| bool`.

`-e slurm_configless=false` gives the role the *string* "false". The role's
argument spec accepts it (it converts to a bool) but does not change the
variable, so a bare `if slurm_configless` is true. This scans every Jinja
expression in the roles (conditionals, `{{ }}`, `{% %}`, templates) for a
bool-typed argument that is not piped through `bool`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
# Keys whose string value is itself a Jinja expression.
CONDITIONAL_KEYS = {"when", "that", "failed_when", "changed_when", "until"}
INLINE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
SKIP_DIRS = {"meta", "defaults", "molecule", "files", "library", "filter_plugins", "module_utils"}


def bool_args(role: Path) -> set[str]:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return {
        name
        for entry in specs["argument_specs"].values()
        for name, opt in (entry.get("options") or {}).items()
        if opt.get("type") == "bool"
    }


def inline_expressions(text: str) -> Iterator[str]:
    for match in INLINE.finditer(text):
        yield match.group(1) or match.group(2)


def yaml_expressions(node: object, key: str = "") -> Iterator[str]:
    """Jinja expressions in a loaded task, vars or handlers file."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from yaml_expressions(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from yaml_expressions(item, key)
    elif isinstance(node, str):
        if key in CONDITIONAL_KEYS and "{{" not in node:
            yield node
        else:
            yield from inline_expressions(node)


def expressions(path: Path) -> Iterator[str]:
    text = path.read_text()
    if path.suffix == ".j2":
        yield from inline_expressions(text)
    else:
        yield from yaml_expressions(yaml.safe_load(text))


def bare_uses(expr: str, names: set[str]) -> list[str]:
    # Quoted text inside an expression is a message, not a use.
    code = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expr)
    return [
        name
        for name in sorted(names)
        for m in re.finditer(rf"(?<![\w.]){name}\b", code)
        if not re.match(r"\s*\|\s*bool\b", code[m.end() :])
    ]


def role_files(role: Path) -> Iterator[Path]:
    for path in sorted(role.rglob("*")):
        rel = path.relative_to(role)
        if rel.parts[0] in SKIP_DIRS or path.suffix not in (".yml", ".j2"):
            continue
        yield path


ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").exists())


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_bool_arguments_are_coerced(role: Path) -> None:
    names = bool_args(role)
    bad = [
        f"{path.relative_to(ROLES)}: {name} in {{{{ {expr.strip()[:80]} }}}}"
        for path in role_files(role)
        for expr in expressions(path)
        for name in bare_uses(expr, names)
    ]
    assert not bad, "bool arguments used without `| bool`:\n" + "\n".join(bad)


def test_the_scan_finds_a_bare_use() -> None:
    names = {"x_enabled"}
    assert bare_uses("x_enabled and y", names) == ["x_enabled"]
    assert bare_uses("'a' if not x_enabled else 'b'", names) == ["x_enabled"]
    assert bare_uses("x_enabled | bool and y", names) == []
    assert bare_uses("x_enabled|bool", names) == []
    assert bare_uses("'set x_enabled to true'", names) == []
    assert bare_uses("hostvars[h].x_enabled_more", names) == []
    tasks = yaml.safe_load(
        "- name: t\n  when:\n    - x_enabled\n  debug: {msg: '{{ x_enabled }}'}\n"
    )
    found = [n for e in yaml_expressions(tasks) for n in bare_uses(e, names)]
    assert found == ["x_enabled", "x_enabled"]
