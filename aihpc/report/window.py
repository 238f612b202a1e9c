"""The report window: --since/--until as dates, datetimes, epoch or relative times."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

from aihpc.errors import UsageError

_RELATIVE = re.compile(r"^(?:now)?-?([0-9]+)\s*([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Window:
    start: int
    end: int  # never after "now": the future holds no accounting

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def clip(self, start: int | None, end: int | None) -> tuple[int, int] | None:
        """[start, end) inside the window; an open end runs to the window's end."""
        if start is None:
            return None
        low = max(start, self.start)
        high = min(end if end is not None else self.end, self.end)
        return (low, high) if high > low else None


def parse_when(text: str, now: float, option: str) -> int:
    """``2026-11-01``, ``2026-11-01T08:00``, ``@1767225600``, ``7d`` / ``now-12h``, ``now``."""
    value = text.strip()
    if value == "now":
        return int(now)
    if value.startswith("@") and value[1:].isdigit():
        return int(value[1:])
    match = _RELATIVE.match(value)
    if match:
        return int(now) - int(match.group(1)) * _SECONDS[match.group(2)]
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: expected a date (2026-11-01), a local datetime "
            "(2026-11-01T08:00), @EPOCH, 'now', or a span back from now (7d, 12h, 30m)"
        ) from None


def make_window(since: str, until: str, now: float | None = None) -> Window:
    current = time.time() if now is None else now
    start = parse_when(since, current, "--since")
    end = min(parse_when(until, current, "--until"), int(current))
    if end <= start:
        raise UsageError(
            f"--since {since!r} is not before --until {until!r} (or the window is in the future)"
        )
    return Window(start, end)
