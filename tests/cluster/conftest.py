"""Session setup for the tests on the live cluster: examples/ copied for alice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.jobs import cancel_this_runs_jobs, copy_examples


@pytest.fixture(scope="session", autouse=True)
def workdir() -> Iterator[None]:
    """A fresh copy of examples/ in alice's home; afterwards, jobs of this run
    still in the queue are cancelled (job directories are kept)."""
    copy_examples()
    yield
    cancel_this_runs_jobs()
