"""Every role's meta/argument_specs.yml accepts every inventory the project ships.

Ansible validates a role's variables against its argument spec before the
role runs, so a spec stricter than an inventory breaks that inventory's
converge. This runs ansible-core's own validator (ArgumentSpecValidator, what
the role-entry validation task uses) over the hostvars `ansible-inventory`
reports for inventories/* and for every role's Molecule scenario inventory,
host by host, and shows that a misspelt key inside a list item fails with its
path.

Values that are still Jinja templates in the inventory are left to their
defaults here: only a play can render them (they need facts or other hosts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.unit.conftest import REPO

ROLES = sorted(p.parent.parent.name for p in REPO.glob("roles/*/meta/argument_specs.yml"))
SITE_INVENTORIES = ["local", "single-node", "example-rack", "kernel-lane"]


def _options(role: str) -> dict[str, Any]:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options: dict[str, Any] = specs["argument_specs"]["main"].get("options", {})
    return options


def _defaults(role: str) -> dict[str, Any]:
    path = REPO / "roles" / role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def _scenario_inventories(role: str) -> list[Path]:
    """The --inventory arguments of a role scenario (its molecule.yml over the base config)."""
    project = REPO / "roles" / role
    scenario = project / "molecule" / "default"
    config = yaml.safe_load((scenario / "molecule.yml").read_text()) or {}
    args = config.get("ansible", {}).get("executor", {}).get("args", {}).get("ansible_playbook")
    if args is None:
        base = yaml.safe_load((REPO / ".config" / "molecule" / "config.yml").read_text())
        args = base["ansible"]["executor"]["args"]["ansible_playbook"]
    paths = []
    for arg in args:
        if arg.startswith("--inventory="):
            value = arg.split("=", 1)[1]
            value = value.replace("${MOLECULE_PROJECT_DIRECTORY}", str(project))
            value = value.replace("${MOLECULE_SCENARIO_DIRECTORY}", str(scenario))
            paths.append(Path(value))
    return paths


INVENTORIES: dict[str, list[Path]] = {
    **{f"inventories/{name}": [REPO / "inventories" / name] for name in SITE_INVENTORIES},
    **{
        f"roles/{role}/molecule/default": _scenario_inventories(role)
        for role in ROLES
        if (REPO / "roles" / role / "molecule" / "default" / "molecule.yml").exists()
    },
}


def _ansible_inventory() -> str:
    search = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    found = shutil.which("ansible-inventory", path=search)
    assert found, "ansible-inventory comes with the dev dependencies"
    return found


@cache
def _hostvars(label: str) -> dict[str, dict[str, Any]]:
    argv = [_ansible_inventory(), "--list"]
    for path in INVENTORIES[label]:
        assert path.exists(), path
        argv += ["-i", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible-harness.cfg"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    hostvars: dict[str, dict[str, Any]] = data["_meta"]["hostvars"]
    # Hosts with no vars of their own are absent from _meta.
    for group in data.values():
        for host in group.get("hosts", []) if isinstance(group, dict) else []:
            hostvars.setdefault(host, {})
    return hostvars


def _templated(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    return False


def _without_templated_defaults(options: dict[str, Any]) -> dict[str, Any]:
    """The spec minus defaults that are Jinja (a play renders them; this test cannot)."""
    out: dict[str, Any] = {}
    for name, spec in options.items():
        spec = dict(spec)
        if _templated(spec.get("default")):
            del spec["default"]
        if spec.get("options"):
            spec["options"] = _without_templated_defaults(spec["options"])
        out[name] = spec
    return out


def _errors(role: str, params: dict[str, Any]) -> list[str]:
    result = ArgumentSpecValidator(_without_templated_defaults(_options(role))).validate(params)
    return list(result.error_messages)


@pytest.mark.parametrize("label", sorted(INVENTORIES))
def test_every_role_spec_accepts_the_inventory(label: str) -> None:
    checked = 0
    problems: list[str] = []
    for host, variables in sorted(_hostvars(label).items()):
        for role in ROLES:
            options = _options(role)
            mine = {k: v for k, v in variables.items() if k in options and not _templated(v)}
            if not mine:
                continue  # nothing of this role set for this host: its defaults apply
            params = {**_defaults(role), **mine}
            params = {k: v for k, v in params.items() if not _templated(v)}
            checked += 1
            problems += [f"{label} {host} {role}: {e}" for e in _errors(role, params)]
    assert not problems, "\n".join(problems)
    assert checked > 0, f"{label}: no role variables found, the test checked nothing"


@pytest.mark.parametrize("role", ROLES)
def test_the_defaults_satisfy_the_spec(role: str) -> None:
    options = _options(role)
    params = {k: v for k, v in _defaults(role).items() if not _templated(v)}
    errors = _errors(role, params)
    # Required options have no default by design: only their absence may be reported.
    required = [n for n, s in options.items() if s.get("required")]
    unexpected = [e for e in errors if not any(n in e for n in required)]
    assert not unexpected, unexpected


def _slurm_params(**overrides: Any) -> dict[str, Any]:
    return {**_defaults("slurm"), "slurm_partitions": [{"name": "gpu"}], **overrides}


def test_slurm_minimal_params_pass() -> None:
    assert _errors("slurm", _slurm_params()) == []


@pytest.mark.parametrize(
    ("variable", "items", "path"),
    [
        ("slurm_partitions", [{"name": "gpu", "defualt": True}], "slurm_partitions.defualt"),
        (
            "slurm_accounting_users",
            [{"name": "alice", "acount": "lab"}],
            "slurm_accounting_users.acount",
        ),
        ("slurm_prolog_scripts", [{"name": "10-x", "contents": "#!/bin/sh"}], "contents"),
        ("slurm_epilog_scripts", [{"name": "10-x", "content": "x", "mode": "0700"}], "mode"),
        ("slurm_accounting_accounts", [{"name": "lab", "parnet": "root"}], "parnet"),
    ],
)
def test_a_misspelt_sub_key_fails_with_its_path(
    variable: str, items: list[dict[str, Any]], path: str
) -> None:
    errors = _errors("slurm", _slurm_params(**{variable: items}))
    assert errors, f"{variable}: {items} was accepted"
    assert any(path in e for e in errors), errors
    assert any(variable in e for e in errors), errors


def test_admin_level_is_a_choice() -> None:
    users = [{"name": "alice", "account": "lab", "admin": "root"}]
    errors = _errors("slurm", _slurm_params(slurm_accounting_users=users))
    assert any("admin must be one of" in e and "slurm_accounting_users" in e for e in errors)
    users[0]["admin"] = "Operator"
    assert _errors("slurm", _slurm_params(slurm_accounting_users=users)) == []


def test_a_missing_required_sub_key_fails() -> None:
    errors = _errors("slurm", _slurm_params(slurm_accounting_users=[{"name": "alice"}]))
    assert any("account" in e and "slurm_accounting_users" in e for e in errors), errors


@pytest.mark.parametrize(
    ("role", "variable", "items", "path"),
    [
        ("common", "common_users", [{"name": "a", "uid": 2001, "shel": "/bin/sh"}], "shel"),
        ("common", "common_users", [{"name": "a", "uid": "many"}], "uid"),
        (
            "common",
            "common_limits",
            [{"domain": "*", "type": "x", "item": "a", "value": 1}],
            "type",
        ),
        ("storage", "storage_nfs_exports", [{"path": "/export", "client": ["x"]}], "client"),
        (
            "storage",
            "storage_nfs_mounts",
            [{"path": "/shared", "src": "s:/e", "nconect": 4}],
            "nconect",
        ),
    ],
)
def test_other_roles_sub_keys_are_checked(
    role: str, variable: str, items: list[dict[str, Any]], path: str
) -> None:
    params = {**_defaults(role), variable: items}
    errors = _errors(role, params)
    assert any(path in e and variable in e for e in errors), errors
