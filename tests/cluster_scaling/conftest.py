"""Session setup for the scaling lane: the cluster lane's own fixture.

The lane runs after tests/cluster in scripts/test-cluster.sh, but must also
run alone (`pytest tests/cluster_scaling` on a live cluster). Re-exporting
tests/cluster's session fixture gives this directory the same setup: a fresh
copy of examples/ for alice, and this run's queued jobs cancelled afterwards.
"""

from __future__ import annotations

from tests.cluster.conftest import workdir

__all__ = ["workdir"]
