"""The common role's /etc/hosts block, run as Ansible runs it (local hosts,
check mode with --diff: this machine's /etc/hosts is never written).

Issue 13, item 4: after `site.yml --limit h100-17` every other host must
resolve h100-17 too, so the block is written on every host of the group,
delegated, not only on the hosts of the play.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import REPO
from tests.unit.test_rendered_config import ANSIBLE_PLAYBOOK

pytestmark = pytest.mark.skipif(ANSIBLE_PLAYBOOK is None, reason="ansible-playbook not found")


def run(
    tmp: Path, hosts: dict[str, dict[str, str]], limit: str
) -> subprocess.CompletedProcess[str]:
    assert ANSIBLE_PLAYBOOK
    inv = tmp / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        "common_manage_etc_hosts": True,
                    },
                    "hosts": hosts,
                }
            }
        )
    )
    play = tmp / "play.yml"
    play.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "The hosts block",
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Write it",
                            "ansible.builtin.include_role": {
                                "name": "common",
                                "tasks_from": "etc_hosts.yml",
                            },
                        }
                    ],
                }
            ]
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible-harness.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CACHE_PLUGIN": "memory",
            "HOME": str(tmp),
        }
    )
    argv = [ANSIBLE_PLAYBOOK, "-i", str(inv), str(play), "--limit", limit, "--check", "--diff"]
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )


RACK = {
    "h100-01": {"ansible_host": "192.0.2.101"},
    "h100-02": {"ansible_host": "192.0.2.102"},
    "h100-17": {"ansible_host": "192.0.2.117"},
}


def test_a_limit_run_writes_the_block_on_every_host(tmp_path: Path) -> None:
    proc = run(tmp_path, RACK, "h100-17")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # One write per host of the group, the two outside the limit included.
    targets = re.findall(
        r"^(?:changed|ok): \[h100-17(?: -> ([\w-]+)\([^)]*\))?\] => \(item=([\w-]+)\)",
        proc.stdout,
        re.MULTILINE,
    )
    assert sorted(item for _, item in targets) == ["h100-01", "h100-02", "h100-17"], proc.stdout
    block = proc.stdout.split("+# BEGIN aihpc inventory hosts\n", 1)[1].split("+# END", 1)[0]
    assert block.splitlines() == [
        "+192.0.2.101 h100-01",
        "+192.0.2.102 h100-02",
        "+192.0.2.117 h100-17",
    ]


def test_a_host_without_an_address_is_named(tmp_path: Path) -> None:
    hosts = {**RACK, "h100-18": {}, "h100-19": {"ansible_host": "h100-19.example.org"}}
    proc = run(tmp_path, hosts, "h100-17")
    assert proc.returncode == 2, proc.stdout
    assert "no IP address in ansible_host for h100-18, h100-19" in proc.stdout, proc.stdout
