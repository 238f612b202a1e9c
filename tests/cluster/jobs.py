"""Running `aihpc` as alice on the live local cluster's login node, for the cluster tests.

Every command runs over ssh as `su - alice -c ...` on ctl1, from a copy of
examples/ in alice's home (copy_examples, done once per session by
tests/cluster/conftest.py).
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shlex
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from tests.clusterlib import ROOT, SSH_CONFIG

LOGIN = "ctl1"
USER = "alice"
WORK = "aihpc-e2e"  # under alice's home
# Names carry a per-run token: jobs of this run are told apart from any other.
TOKEN = secrets.token_hex(3)
DDP = "examples/ddp/train.yaml"
SWEEP = "examples/sweep/train.yaml"
POLL = 2.0

T = TypeVar("T")


# -- plumbing -------------------------------------------------------------
def ssh_on(host: str, command: str, timeout: float = 120, stdin: bytes | None = None) -> str:
    """Run a shell command as root on a node; its stdout, asserting exit 0."""
    proc = subprocess.run(
        ["ssh", "-F", str(SSH_CONFIG), host, command],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, f"{command!r} on {host}: rc={proc.returncode}\n{out}\n{err}"
    return out


def ssh_root(command: str, timeout: float = 120, stdin: bytes | None = None) -> str:
    """Run a shell command as root on the login node (ctl1)."""
    return ssh_on(LOGIN, command, timeout=timeout, stdin=stdin)


def as_alice(command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a shell command as alice (login shell, in ~/WORK); never raises on rc."""
    remote = f"su - {USER} -c " + shlex.quote(f"cd {WORK} && {command}")
    return subprocess.run(
        ["ssh", "-F", str(SSH_CONFIG), LOGIN, remote],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def aihpc(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return as_alice(shlex.join(["aihpc", *args]), timeout=timeout)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, (
        f"{proc.args[-1]}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Poll `probe` until it returns something other than None (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL)


@dataclass
class Job:
    job_id: str
    name: str
    job_dir: str
    array_size: int


def submit(spec: str, name: str, *overrides: str) -> Job:
    argv = ["submit", spec, "--json", "-o", f"name={name}"]
    for item in overrides:
        argv += ["-o", item]
    data = json.loads(ok(aihpc(*argv)))
    return Job(str(data["job_id"]), data["name"], data["job_dir"], int(data["array_size"]))


def args_override(args: list[str]) -> str:
    return "args=" + json.dumps(args)


def status(job_id: str) -> list[dict[str, Any]]:
    data = json.loads(ok(aihpc("status", job_id, "--json")))
    assert data["job_id"] == job_id
    jobs: list[dict[str, Any]] = data["jobs"]
    return jobs


def wait_ended(job_id: str, timeout: float) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        jobs = status(job_id)
        return jobs if jobs and all(j["terminal"] for j in jobs) else None

    try:
        return wait_for(f"job {job_id} to end", probe, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nlast status: {status(job_id)}\n{batch_log(job_id)}") from None


def sacct_states(job_id: str) -> dict[str, str]:
    out = ok(as_alice(f"sacct -j {job_id} -X -n -P -o JobID,State"))
    return dict(line.split("|", 1) for line in out.splitlines() if line.strip())


def wait_sacct(
    job_id: str, want: Callable[[dict[str, str]], bool], timeout: float = 60
) -> dict[str, str]:
    """sacct lags the controller a little (slurmdbd): poll for the expected rows."""

    def probe() -> dict[str, str] | None:
        rows = sacct_states(job_id)
        return rows if want(rows) else None

    try:
        return wait_for(f"sacct rows of {job_id}", probe, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {sacct_states(job_id)}") from None


def read_log(job_id: str, *extra: str) -> str:
    """`aihpc logs`; a log the job has not written yet reads as empty."""
    proc = aihpc("logs", job_id, *extra)
    if proc.returncode != 0 and "no log yet" in proc.stderr:
        return ""
    return ok(proc)


def rank0_log(job_id: str) -> str:
    return read_log(job_id)


def batch_log(job_id: str) -> str:
    return read_log(job_id, "--batch")


def wait_log(job_id: str, needle: str, timeout: float, batch: bool = False) -> str:
    """Poll a log (rank 0, or the batch script's) until it contains `needle`."""
    read = batch_log if batch else rank0_log

    def probe() -> str | None:
        text = read(job_id)
        return text if needle in text else None

    try:
        return wait_for(f"{needle!r} in the log of job {job_id}", probe, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{read(job_id)}\n{batch_log(job_id)}") from None


def results(log: str) -> list[dict[str, Any]]:
    return [json.loads(m) for m in re.findall(r"^AIHPC_RESULT (\{.*\})$", log, re.MULTILINE)]


def copy_examples() -> None:
    """A fresh copy of examples/ in alice's home; aihpc must be on her PATH."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(
            ROOT / "examples",
            arcname="examples",
            filter=lambda info: None if "__pycache__" in info.name else info,
        )
    home = f"$(getent passwd {USER} | cut -d: -f6)"
    ssh_root(
        f'set -e; d="{home}/{WORK}"; rm -rf "$d"; mkdir -p "$d"; '
        f'tar -C "$d" -xf -; chown -R {USER}: "$d"',
        stdin=buffer.getvalue(),
    )
    found = as_alice("command -v aihpc && aihpc --version")
    if found.returncode != 0:
        pytest.fail(
            f"aihpc is not on {USER}'s PATH on {LOGIN}: converge playbooks/site.yml "
            f"(the aihpc role).\n{found.stdout}{found.stderr}"
        )


def cancel_this_runs_jobs() -> None:
    """Jobs of this run still queued (a failed test) must not hold the nodes."""
    as_alice(
        f"squeue -h -u {USER} -o '%A %j' | awk '$2 ~ /-{TOKEN}$/ {{print $1}}' | xargs -r scancel"
    )


def jobs_root() -> str:
    """<shared>/aihpc/jobs/<user>, <shared> from the cluster profile the CLI reads."""
    shared = ok(
        as_alice(
            "python3 -c 'import yaml; "
            'print(yaml.safe_load(open("/etc/aihpc/cluster.yaml"))["shared_dirs"]["shared"])\''
        )
    ).strip()
    return f"{shared}/aihpc/jobs/{USER}"
