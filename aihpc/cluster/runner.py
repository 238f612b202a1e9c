"""Running one of the project's playbooks through ansible-runner.

ansible-runner is an optional dependency (pip install 'aihpc[cluster]'),
imported only here and only when `aihpc cluster deploy/validate` runs. The
run directory is ansible-runner's private_data_dir: every event of the run
stays in RUN_DIR/artifacts/<ident>/job_events/, with the full stdout beside.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aihpc.cluster.events import RunState
from aihpc.errors import UsageError

SUMMARY = "summary.json"


@dataclass
class Playbook:
    project: Path  # holds playbooks/ and roles/
    name: str  # e.g. site.yml, under project/playbooks/
    inventory: Path
    config: Path | None = None  # ANSIBLE_CONFIG
    limit: str = ""
    tags: str = ""
    extravars: dict[str, Any] = field(default_factory=dict)
    # Stop every host at the first failure anywhere (any_errors_fatal): a bad
    # variable on one host then changes nothing on the others.
    fail_fast: bool = False

    def check(self) -> None:
        """Usage errors before anything runs (exit 2)."""
        path = self.project / "playbooks" / self.name
        if not path.is_file():
            raise UsageError(f"no playbook {path} (--project points at the aihpc checkout)")
        if not self.inventory.exists():
            raise UsageError(f"inventory {self.inventory} does not exist")
        if self.config is not None and not self.config.is_file():
            raise UsageError(f"ansible config {self.config} does not exist")


def run(
    book: Playbook, run_dir: Path, on_event: Callable[[RunState], None] | None = None
) -> tuple[int, RunState]:
    """Run `book`; returns (ansible-playbook's rc, the reduced events)."""
    book.check()
    try:
        import ansible_runner
    except ImportError:
        raise UsageError(
            "ansible-runner is not installed: pip install 'aihpc[cluster]' (or ansible-runner)"
        ) from None
    run_dir.mkdir(parents=True, exist_ok=True)
    state = RunState()

    def handle(event: dict[str, Any]) -> bool:
        state.feed(event)
        if on_event is not None:
            on_event(state)
        return True  # keep the event in artifacts/

    envvars = {"ANSIBLE_CONFIG": str(book.config)} if book.config else {}
    # The roles read their paths relative to the project, not to playbooks/.
    envvars.setdefault("ANSIBLE_ROLES_PATH", str(book.project / "roles"))
    if book.fail_fast:
        envvars["ANSIBLE_ANY_ERRORS_FATAL"] = "True"
    kwargs: dict[str, Any] = {
        "private_data_dir": str(run_dir),
        "project_dir": str(book.project / "playbooks"),
        "playbook": book.name,
        "inventory": str(book.inventory.resolve()),
        "envvars": {**{k: v for k, v in os.environ.items() if k.startswith("AIHPC_")}, **envvars},
        "extravars": book.extravars,
        "quiet": True,
        "event_handler": handle,
    }
    if book.limit:
        kwargs["limit"] = book.limit
    if book.tags:
        kwargs["tags"] = book.tags
    result = ansible_runner.run(**kwargs)
    rc = result.rc if isinstance(result.rc, int) else 1
    (run_dir / SUMMARY).write_text(
        json.dumps({"rc": rc, "status": result.status, **state.summary()}, indent=2) + "\n"
    )
    return rc, state
