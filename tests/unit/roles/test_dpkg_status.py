"""aihpc.packages.dpkg_status: the one dpkg-query-before-apt check the roles share.

Its parsing runs on a dpkg-query output recorded on Debian 12 and on one shaped
exactly like it for every state dpkg-query(1) documents
(tests/fixtures/dpkg_query/README.md). The module also runs as Ansible runs
it, against a fake dpkg-query that replays the recording, and against this
machine's real dpkg-query; and a localhost play shows the roles' FQCN
resolves through ansible.cfg's collections_path from the repository root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.modload import load_source, run_module, run_module_ok
from tests.unit.conftest import FIXTURES, REPO

COLLECTION = REPO / "collections" / "ansible_collections" / "aihpc" / "packages"
MODULE = COLLECTION / "plugins" / "modules" / "dpkg_status.py"
DATA = FIXTURES / "dpkg_query"
ROLES_USING_IT = ["aihpc", "common", "monitoring", "munge", "slurm"]

dpkg_status = load_source("dpkg_status", MODULE)


def _fake_dpkg_query(tmp: Path, fixture: str, rc: int) -> None:
    """A dpkg-query on PATH that checks its arguments and replays a recording."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dpkg-query"
    stderr = DATA / f"{fixture}.stderr"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = --show ] || { echo "bad args: $*" >&2; exit 2; }\n'
        "[ \"$2\" = '--showformat=${Package} ${db:Status-Status}\\n' ] "
        '|| { echo "bad format: $2" >&2; exit 2; }\n'
        f"cat '{DATA / (fixture + '.stdout')}'\n"
        + (f"cat '{stderr}' >&2\n" if stderr.exists() else "")
        + f"exit {rc}\n"
    )
    script.chmod(0o755)


def test_recorded_output_splits_installed_from_unknown() -> None:
    stdout = (DATA / "recorded-debian12.stdout").read_text()
    assert dpkg_status.split_names(["bash", "no-such-package-aihpc", "coreutils"], stdout) == (
        ["bash", "coreutils"],
        ["no-such-package-aihpc"],
    )


def test_only_the_installed_state_counts() -> None:
    stdout = (DATA / "states.stdout").read_text()
    names = [line.split()[0].split(":")[0] for line in stdout.splitlines()]
    installed, missing = dpkg_status.split_names(names, stdout)
    assert installed == ["munge", "libmunge2"]
    # Removed-but-not-purged, half-done and trigger states go to apt to finish.
    assert missing == [
        "slurmd",
        "slurmctld",
        "sackd",
        "slurm-client",
        "libpmix2",
        "mariadb-server",
        "slurmdbd",
    ]


def test_order_is_kept_and_duplicates_dropped() -> None:
    stdout = "b installed\na installed\n"
    assert dpkg_status.split_names(["a", "c", "b", "a"], stdout) == (["a", "b"], ["c"])


def test_module_replays_the_recording(tmp_path: Path) -> None:
    _fake_dpkg_query(tmp_path, "recorded-debian12", rc=1)
    result = run_module_ok(
        MODULE, {"names": ["bash", "coreutils", "no-such-package-aihpc"]}, tmp_path
    )
    assert result["changed"] is False
    assert result["installed"] == ["bash", "coreutils"]
    assert result["missing"] == ["no-such-package-aihpc"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([], False),
        # What debootstrap leaves: a lock and a partial/ directory, no index.
        (["lock", "partial/"], False),
        (["deb.debian.org_debian_dists_trixie_InRelease"], True),
        (
            ["mirror_debian_dists_bookworm_Release", "mirror_debian_dists_bookworm_Release.gpg"],
            True,
        ),
    ],
)
def test_module_reports_whether_apt_has_any_index(
    files: list[str], expected: bool, tmp_path: Path
) -> None:
    """A fresh image's new lists/ directory satisfies cache_valid_time by its mtime
    alone; apt_indexes is what makes the roles refresh anyway (CI's monitoring
    scenario failed with 'No package matching' on such an image)."""
    _fake_dpkg_query(tmp_path, "recorded-debian12", rc=1)
    lists = tmp_path / "lists"
    lists.mkdir()
    for name in files:
        if name.endswith("/"):
            (lists / name).mkdir()
        else:
            (lists / name).write_text("")
    result = run_module_ok(MODULE, {"names": ["bash"], "lists_dir": str(lists)}, tmp_path)
    assert result["apt_indexes"] is expected


def test_every_apt_refresh_notices_a_fresh_image() -> None:
    """Each apt task that trusts cache_valid_time also refreshes when no index
    exists, from dpkg_status's apt_indexes or a find of the lists directory."""
    import yaml

    for tasks_file in sorted((REPO / "roles").glob("*/tasks/*.yml")):
        for task in _tasks(yaml.safe_load(tasks_file.read_text()) or []):
            args = task.get("ansible.builtin.apt")
            if not isinstance(args, dict) or "cache_valid_time" not in args:
                continue
            valid = str(args["cache_valid_time"])
            assert "apt_indexes" in valid or "_apt_lists.matched" in valid, (
                f"{tasks_file.relative_to(REPO)}: {task.get('name')}: cache_valid_time {valid!r} "
                "trusts the mtime of a fresh image's empty lists/ directory"
            )


def _tasks(items: list[dict[str, object]]) -> list[dict[str, object]]:
    """Every task, including those inside block/rescue/always."""
    found: list[dict[str, object]] = []
    for item in items:
        found.append(item)
        for key in ("block", "rescue", "always"):
            inner = item.get(key)
            if isinstance(inner, list):
                found.extend(_tasks(inner))
    return found


def test_module_fails_on_a_dpkg_error(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dpkg-query"
    script.write_text("#!/bin/sh\necho 'dpkg-query: error: database is locked' >&2\nexit 2\n")
    script.chmod(0o755)
    result, rc = run_module(MODULE, {"names": ["munge"]}, tmp_path)
    assert rc != 0
    assert result["failed"] is True
    assert "exit 2" in result["msg"] and "database is locked" in result["msg"]


def test_module_with_no_names_runs_nothing(tmp_path: Path) -> None:
    # No dpkg-query on PATH at all: an empty list must not need one.
    (tmp_path / "bin").mkdir()
    result, rc = run_module(MODULE, {"names": []}, tmp_path, env={"PATH": str(tmp_path / "bin")})
    assert rc == 0, result
    assert (result["installed"], result["missing"]) == ([], [])


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a Debian-family machine")
def test_module_against_this_machines_dpkg(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    result = run_module_ok(MODULE, {"names": ["dpkg", "no-such-package-aihpc"]}, tmp_path)
    assert result["installed"] == ["dpkg"]
    assert result["missing"] == ["no-such-package-aihpc"]


def test_roles_use_the_shared_module_not_a_copy() -> None:
    for role in ROLES_USING_IT:
        tasks = (REPO / "roles" / role / "tasks" / "install.yml").read_text()
        variables = (REPO / "roles" / role / "vars" / "main.yml").read_text()
        assert "aihpc.packages.dpkg_status:" in tasks, role
        assert "dpkg-query" not in variables and "_missing_packages" not in variables, role
    for tasks_file in (REPO / "roles").glob("*/tasks/*.yml"):
        text = tasks_file.read_text()
        assert 'argv: "{{ __' not in text or "dpkg_query" not in text, tasks_file


def _ansible_bin(name: str) -> str:
    found = shutil.which(
        name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    assert found, f"{name} is in the dev dependencies"
    return found


@pytest.mark.parametrize("config", ["ansible.cfg", "ansible-harness.cfg"])
def test_the_fqcn_resolves_from_the_repo_root(config: str, tmp_path: Path) -> None:
    """What playbooks/ and ansible-lint see: collections_path in both configs."""
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - aihpc.packages.dpkg_status:\n"
        "        names: [dpkg, no-such-package-aihpc]\n"
        "      register: out\n"
        "    - ansible.builtin.debug:\n"
        "        msg: \"MISSING={{ out.missing | join(',') }}\"\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(REPO / config),
        HOME=str(tmp_path),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FACT_CACHING_CONNECTION=str(tmp_path / "facts"),
    )
    done = subprocess.run(
        [
            _ansible_bin("ansible-playbook"),
            *("-i", "localhost,", "-c", "local", str(play)),
            # This Python, not whatever interpreter discovery finds on the machine.
            *("-e", f"ansible_python_interpreter={sys.executable}"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    if shutil.which("dpkg-query"):
        assert "MISSING=no-such-package-aihpc" in done.stdout
