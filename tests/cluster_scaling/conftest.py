"""Session setup for the scaling lane: its own copy of examples/ for alice.

The lane runs after tests/cluster in scripts/test-cluster.sh, but must also
run alone (`pytest tests/cluster_scaling` on a live cluster): the examples it
submits are copied here, not borrowed from the other lane's session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.jobs import cancel_this_runs_jobs, copy_examples


@pytest.fixture(scope="session", autouse=True)
def workdir() -> Iterator[None]:
    """A fresh copy of examples/ in alice's home; this run's queued jobs cancelled after."""
    copy_examples()
    yield
    cancel_this_runs_jobs()
