"""The live view of a playbook run: the current play and task, one row per host.

rich is imported here only (not by `aihpc --help` or `aihpc list`). On a
terminal the table redraws in place; otherwise one line per play and one
per failure is printed, so a CI log or `| tee` stays readable.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from aihpc.cluster.events import RunState

STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "unreachable": "bold red"}


class Progress:
    def __init__(self, title: str) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, soft_wrap=True)  # a failure stays one line
        self.title = title
        self.live: Any = None
        self._plays = 0
        self._failures = 0

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(self._render(RunState()), console=self.console, refresh_per_second=4)
            self.live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.live is not None:
            self.live.__exit__(kind, exc, tb)

    def update(self, state: RunState) -> None:
        if self.live is not None:
            self.live.update(self._render(state))
            return
        while self._plays < len(state.plays):
            self.console.print(f"PLAY [{self._plays + 1}] {state.plays[self._plays]}")
            self._plays += 1
        while self._failures < len(state.failures):
            self.console.print(f"  FAILED {state.failures[self._failures].line()}")
            self._failures += 1

    def _render(self, state: RunState) -> Any:
        from rich.table import Table

        table = Table(title=f"{self.title}: {state.play or 'starting'} / {state.task or '-'}")
        for column in ("host", "status", "ok", "changed", "failed", "skipped", "last task"):
            table.add_column(column)
        for host, tally in sorted(state.hosts.items()):
            style = STYLE.get(tally.status, "")
            table.add_row(
                host,
                f"[{style}]{tally.status}[/]" if style else tally.status,
                str(tally.ok),
                str(tally.changed),
                str(tally.failed + tally.unreachable),
                str(tally.skipped),
                tally.last_task,
            )
        return table
