#!/usr/bin/python
"""Ansible module: which of the named packages dpkg has installed, from dpkg-query."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dpkg_status
short_description: Which of a list of Debian packages are installed, without opening apt
description:
  - Runs one C(dpkg-query --show) for all I(names) and splits them into installed and missing.
  - dpkg-query answers in milliseconds; the apt module needs about a second per node just to
    open its cache. The roles run apt only when I(missing) is not empty (or a version is
    pinned, or a repository was just added).
  - A package counts as installed only in dpkg's C(installed) state. C(config-files)
    (removed, not purged), C(unpacked), C(half-configured) and the rest are missing, so apt
    runs and finishes them.
  - Also reports I(apt_indexes), whether apt has downloaded any index yet. With I(names)
    empty it reports only that, and runs nothing.
  - Never changes anything; supports check mode.
options:
  names:
    description: Package names, as apt takes them without a version (C(slurmd), C(munge)).
    type: list
    elements: str
    required: true
  lists_dir:
    description: Where apt keeps its downloaded indexes; only tests change it.
    type: path
    default: /var/lib/apt/lists
author: aihpc
"""

EXAMPLES = r"""
- name: Find the packages not installed yet
  aihpc.packages.dpkg_status:
    names: [munge, libmunge2]
  register: __munge_dpkg

- name: Install munge (apt)
  ansible.builtin.apt:
    name: [munge, libmunge2]
    update_cache: true
    # A fresh image has no indexes but a new lists/ directory, whose mtime
    # alone would satisfy cache_valid_time.
    cache_valid_time: "{{ 3600 if __munge_dpkg.apt_indexes else 0 }}"
  when: __munge_dpkg.missing | length > 0
"""

RETURN = r"""
installed:
  description: The names dpkg reports in state installed, in the order asked.
  returned: always
  type: list
  elements: str
missing:
  description: The other names (unknown to dpkg, or in any other state), in the order asked.
  returned: always
  type: list
  elements: str
apt_indexes:
  description: >-
    Whether apt has downloaded any repository index (a C(*Release) file in I(lists_dir)).
    A freshly made image has none but a new lists/ directory, whose mtime alone would
    satisfy the apt module's C(cache_valid_time), so the roles refresh at once when false.
  returned: always
  type: bool
"""

import glob  # noqa: E402
import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402  (Ansible puts docs first)

# One line per package dpkg knows: "<name> <state>". Names dpkg does not know
# at all print nothing on stdout and a "no packages found matching" line on
# stderr, with exit status 1.
QUERY = ["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\\n"]
UNKNOWN_RC = 1


def installed_names(stdout: str) -> set[str]:
    """The package names in state `installed` in dpkg-query's output.

    A multi-arch name may print as `name:arch`; it counts for `name` too.
    """
    found: set[str] = set()
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "installed":
            found.add(fields[0])
            found.add(fields[0].split(":", 1)[0])
    return found


def split_names(names: list[str], stdout: str) -> tuple[list[str], list[str]]:
    """(installed, missing), each in the order of `names`, duplicates dropped."""
    have = installed_names(stdout)
    ordered = list(dict.fromkeys(names))
    return [n for n in ordered if n in have], [n for n in ordered if n not in have]


def has_apt_indexes(lists_dir: str) -> bool:
    """Whether apt has fetched any repository's Release or InRelease file."""
    return bool(glob.glob(os.path.join(glob.escape(lists_dir), "*Release")))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "lists_dir": {"type": "path", "default": "/var/lib/apt/lists"},
        },
        supports_check_mode=True,
    )
    names: list[str] = module.params["names"]
    indexes = has_apt_indexes(module.params["lists_dir"])
    if not names:
        module.exit_json(changed=False, installed=[], missing=[], apt_indexes=indexes)
    query = module.get_bin_path("dpkg-query", required=True)
    rc, stdout, stderr = module.run_command([query, *QUERY[1:], *names])
    # 1: some names are unknown to dpkg, that is, not installed.
    if rc not in (0, UNKNOWN_RC):
        module.fail_json(msg=f"dpkg-query failed (exit {rc}): {stderr.strip()}", rc=rc)
    installed, missing = split_names(names, stdout)
    module.exit_json(changed=False, installed=installed, missing=missing, apt_indexes=indexes)


if __name__ == "__main__":
    main()
