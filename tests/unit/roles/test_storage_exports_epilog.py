"""The storage role's export lines (sync, root_squash, named admin hosts) and
its scratch epilog, run for real: a job's files in /tmp and /dev/shm (here
two temporary directories standing in for them) are gone after the job, but
not while another process of the same user is still on the node, and never
another user's.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import jinja2
import pytest

from tests.modload import load_source
from tests.unit.conftest import REPO

sf = load_source(
    "storage_filters_exports", REPO / "roles" / "storage" / "filter_plugins" / "storage_filters.py"
)
SAFE = ["rw", "sync", "root_squash", "no_subtree_check"]


def test_networks_get_sync_and_root_squash_admin_hosts_no_root_squash() -> None:
    export = {"path": "/export/shared", "networks": ["198.51.100.0/24"]}
    assert sf.storage_export_clients(export, SAFE, ["198.51.100.10"]) == [
        "198.51.100.10(rw,sync,no_subtree_check,no_root_squash)",
        "198.51.100.0/24(rw,sync,root_squash,no_subtree_check)",
    ]
    own = {**export, "admin_hosts": [], "options": ["ro", "sync", "root_squash"]}
    assert sf.storage_export_clients(own, SAFE, ["198.51.100.10"]) == [
        "198.51.100.0/24(ro,sync,root_squash)"
    ]


@pytest.mark.parametrize(
    "export",
    [
        {"path": "/export/shared", "clients": ["198.51.100.0/24(rw,async,no_subtree_check)"]},
        {"path": "/export/shared", "clients": ["10.0.0.0/8(rw,sync,no_root_squash)"]},
        {"path": "/export/shared", "networks": ["10.0.0.0/8"], "options": ["rw", "async"]},
    ],
)
def test_async_or_no_root_squash_on_a_network_is_refused(export: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"storage_nfs_exports\[/export/shared\]: .* uses"):
        sf.storage_export_clients(export, SAFE, [])
    allowed = sf.storage_export_clients({**export, "unsafe_options": True}, SAFE, [])
    assert allowed and all("(" in spec for spec in allowed)


def test_an_admin_network_is_refused() -> None:
    export = {"path": "/export/home", "networks": ["198.51.100.0/24"]}
    with pytest.raises(ValueError, match="must be one address or name"):
        sf.storage_export_clients(export, SAFE, ["198.51.100.0/24"])


# --- the epilog, for real ------------------------------------------------------
UID = 64917  # no account and no process on this machine has it


def render_epilog(tmp: Path, clean_dirs: list[Path]) -> Path:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["quote"] = lambda s: shlex.quote(str(s))
    source = (REPO / "roles" / "storage" / "templates" / "scratch-epilog.sh.j2").read_text()
    script = tmp / "epilog"
    script.write_text(
        env.from_string(source).render(
            ansible_managed="test",
            storage_scratch_path=str(tmp / "scratch"),
            storage_scratch_epilog_clean_dirs=[str(d) for d in clean_dirs],
        )
    )
    script.chmod(0o755)
    return script


def make_job_files(tmp: Path) -> dict[str, Path]:
    files = {}
    for name in ("tmp", "shm", "scratch"):
        (tmp / name).mkdir(exist_ok=True)
    job_dir = tmp / "scratch" / "job_42"
    (job_dir / "sub").mkdir(parents=True)
    files["scratch"] = job_dir / "sub" / "ckpt.tmp"
    files["tmp"] = tmp / "tmp" / "torch_cache" / "kernels.bin"
    files["tmp"].parent.mkdir()
    files["shm"] = tmp / "shm" / "nccl-XYZ"
    files["other_user"] = tmp / "tmp" / "someone-else.lock"
    for key, path in files.items():
        path.write_text(key)
    for path in (job_dir, job_dir / "sub", files["scratch"], files["tmp"].parent, files["tmp"]):
        os.chown(path, UID, UID)
    os.chown(files["shm"], UID, UID)
    os.chown(files["other_user"], UID + 1, UID + 1)
    return files


def run_epilog(script: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "SLURM_JOB_ID": "42", "SLURM_JOB_UID": str(UID)}
    env["SLURM_JOB_USER"] = "u64917"
    return subprocess.run(
        [str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the epilog runs as root (chown)")


@root_only
def test_epilog_removes_the_jobs_tmp_and_shm_files(tmp_path: Path) -> None:
    files = make_job_files(tmp_path)
    script = render_epilog(tmp_path, [tmp_path / "tmp", tmp_path / "shm"])
    proc = run_epilog(script)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "scratch" / "job_42").exists()
    assert not files["tmp"].exists() and not files["tmp"].parent.exists()
    assert not files["shm"].exists()
    assert files["other_user"].read_text() == "other_user"
    assert (tmp_path / "tmp").is_dir() and (tmp_path / "shm").is_dir()


@root_only
def test_epilog_keeps_tmp_while_the_user_still_runs_something(tmp_path: Path) -> None:
    files = make_job_files(tmp_path)
    script = render_epilog(tmp_path, [tmp_path / "tmp", tmp_path / "shm"])
    other_job = subprocess.Popen(
        ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "sleep", "30"]
    )
    try:
        proc = run_epilog(script)
    finally:
        other_job.kill()
        other_job.wait()
    assert proc.returncode == 0, proc.stderr
    # The job's own scratch directory goes; the user's /tmp and /dev/shm stay.
    assert not (tmp_path / "scratch" / "job_42").exists()
    assert files["tmp"].exists() and files["shm"].exists()
