"""The operators' ansible.cfg, the harness's ansible-harness.cfg and the Molecule base config.

ansible.cfg is what docs/sysadmin-guide.md tells a site to use: nothing a test
bed wants (no host-key trust, no fact cache, no profiling). The harness config
is ansible.cfg plus exactly those. Every role scenario, loaded by the installed
Molecule as `cd roles/X && molecule test` loads it, picks up the base config,
and every path it names exists. Role meta claims only the tested platforms.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.conftest import REPO

HARNESS_ONLY = {
    "host_key_checking",
    "fact_caching",
    "fact_caching_connection",
    "fact_caching_timeout",
    "timeout",
    "callbacks_enabled",
}
SCENARIOS = sorted(
    p.parent.parent.parent.name for p in REPO.glob("roles/*/molecule/default/molecule.yml")
)


def _ini(name: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser()
    parser.read(REPO / name)
    return {section: dict(parser[section]) for section in parser.sections()}


def test_operator_config_has_no_harness_settings() -> None:
    operator = _ini("ansible.cfg")
    assert not HARNESS_ONLY & set(operator["defaults"]), "harness settings in ansible.cfg"
    assert operator["defaults"]["collections_path"] == "./collections"


def test_harness_config_is_the_operator_config_plus_harness_settings() -> None:
    operator, harness = _ini("ansible.cfg"), _ini("ansible-harness.cfg")
    for section, values in operator.items():
        for key, value in values.items():
            assert harness[section].get(key) == value, f"[{section}] {key} differs"
    extra = set(harness["defaults"]) - set(operator["defaults"])
    assert extra == HARNESS_ONLY
    assert harness["defaults"]["host_key_checking"] == "False"


def test_the_harness_uses_the_harness_config() -> None:
    for name in ["Makefile", "scripts/cluster.sh", "scripts/test-torchrun.sh"]:
        text = (REPO / name).read_text()
        assert "ansible-harness.cfg" in text and "/ansible.cfg" not in text, name
    for name in [
        "tests/unit/test_rendered_config.py",
        "tests/cluster_scaling/test_add_node.py",
        "bench/converge/bench_converge.py",
    ]:
        text = (REPO / name).read_text()
        assert '"ansible-harness.cfg"' in text and '"ansible.cfg"' not in text, name


def _molecule_config(role: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The scenario's config as the installed Molecule builds it (base config first)."""
    from molecule import config, util

    project = REPO / "roles" / role
    monkeypatch.chdir(project)
    monkeypatch.delenv("MOLECULE_PROJECT_DIRECTORY", raising=False)
    base = util.lookup_config_file(".config/molecule/config.yml")
    assert base == str(REPO / ".config" / "molecule" / "config.yml")
    return config.Config(
        "molecule/default/molecule.yml",
        args={"base_config": [base]},
        command_args={"subcommand": "test"},
    )


@pytest.mark.parametrize("role", SCENARIOS)
def test_role_scenarios_get_the_base_config(role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _molecule_config(role, monkeypatch)
    data = loaded.config_data
    defaults = data["ansible"]["cfg"]["defaults"]
    assert Path(defaults["roles_path"]).resolve() == REPO / "roles"
    assert Path(defaults["collections_path"]).resolve() == REPO / "collections"
    # What ansible-compat exports would otherwise win over the cfg.
    assert (
        Path(data["ansible"]["env"]["ANSIBLE_COLLECTIONS_PATH"]).resolve() == REPO / "collections"
    )
    assert defaults["host_key_checking"] is False
    assert data["ansible"]["env"]["AIHPC_LOCAL_PREFIX"].startswith("aihpc-")
    assert (
        Path(data["ansible"]["env"]["AIHPC_STATE_DIR"]).resolve()
        == REPO / ".cache" / "local-cluster"
    )
    playbooks = loaded.provisioner.playbooks
    for step in ["create", "converge", "verify", "destroy"]:
        assert Path(getattr(playbooks, step)).is_file(), f"{role}: {step}"
    for arg in data["ansible"]["executor"]["args"]["ansible_playbook"]:
        if arg.startswith("--inventory="):
            path = Path(arg.split("=", 1)[1])
            path = path if path.is_absolute() else REPO / "roles" / role / path
            assert path.exists(), f"{role}: {arg}"
    sequence = data["scenario"]["test_sequence"]
    assert sequence[:2] == ["destroy", "create"] and "idempotence" in sequence
    assert "verify" in sequence
    # Prepare steps are declared in the scenario that has a prepare playbook.
    has_prepare = (REPO / "roles" / role / "molecule" / "default" / "prepare.yml").exists()
    assert ("prepare" in sequence) == has_prepare, role


def test_role_scenario_files_keep_only_their_own_settings() -> None:
    for role in SCENARIOS:
        text = (REPO / "roles" / role / "molecule" / "default" / "molecule.yml").read_text()
        config = yaml.safe_load(text)
        assert "driver" not in config and "cfg" not in config.get("ansible", {}), role


def test_meta_claims_only_tested_platforms() -> None:
    for meta in REPO.glob("roles/*/meta/main.yml"):
        platforms = yaml.safe_load(meta.read_text())["galaxy_info"]["platforms"]
        assert platforms == [{"name": "Debian", "versions": ["trixie"]}], meta
